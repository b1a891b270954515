"""The agent channel's watch stream (GET /agent/v1/hosts/{host}/watch?since=R): a host's
view as JSON lines: a snapshot ending in "synced", then deltas as the model changes, and
keep-alives; a watch resumes from `since` while the history covers it.
"""
import json
import threading
import time

import requests

from neutrino_api import AgentChannel, host_token, uniq


class Watch:
    def __init__(self, url, host, since=None, token=None, host_token_=None):
        params = {} if since is None else {"since": since}
        headers = {"X-Neutrino-Token": token} if token else {}
        own = host_token_ if host_token_ is not None else host_token(url, host)
        if own:
            headers["X-Neutrino-Host-Token"] = own
        self.r = requests.get(f"{url}/agent/v1/hosts/{host}/watch", params=params, headers=headers,
                              stream=True, timeout=10)
        self.lines = self.r.iter_lines() if self.r.status_code == 200 else iter(())

    def until(self, predicate, timeout=10):
        """Lines read until one satisfies predicate (keep-alives arrive at least every second)."""
        seen, deadline = [], time.monotonic() + timeout
        for raw in self.lines:
            msg = json.loads(raw)
            seen.append(msg)
            if predicate(msg):
                return seen
            if time.monotonic() > deadline:
                break
        raise AssertionError(f"no matching line within {timeout}s; got {seen[-5:]}")

    def close(self):
        self.r.close()


def puts(lines, kind):
    return {m["id"]: m["obj"] for m in lines if m.get("op") == "put" and m.get("kind") == kind}


def test_snapshot_deltas_and_resume(server, admin):
    a, b = uniq("cmp"), uniq("cmp")
    agent = AgentChannel(server.url)
    agent.register(a, mode="dvr", local_ip="192.0.2.101")
    agent.register(b, mode="dvr", local_ip="192.0.2.102")
    net, _ = admin.net_with_subnet("10.71.0.0/24")
    pa = admin.port(net["id"], **{"binding:host_id": a})

    w = Watch(server.url, a)
    snapshot = w.until(lambda m: m["op"] == "synced")
    assert pa["id"] in puts(snapshot, "port")
    assert puts(snapshot, "port")[pa["id"]]["mac_address"] == pa["mac_address"]
    assert net["id"] in puts(snapshot, "network")
    assert puts(snapshot, "flood") == {}
    rev = snapshot[-1]["rev"]

    # A port on the other host: host a learns it (l2pop) and floods to b's VTEP.
    pb = admin.port(net["id"], **{"binding:host_id": b})
    lines = w.until(lambda m: m.get("kind") == "flood" and m["op"] == "put")
    assert puts(lines, "flood") == {f"{net['id']}|{b}": {"network_id": net["id"], "vtep": "192.0.2.102"}}
    lines += w.until(lambda m: m.get("kind") == "l2pop" and m["id"] == pb["id"]) if pb["id"] not in puts(lines, "l2pop") else []
    l2pop = puts(lines, "l2pop")
    assert l2pop[pb["id"]]["vtep"] == "192.0.2.102"
    assert l2pop[pb["id"]]["mac_address"] == pb["mac_address"]
    assert all(m["rev"] > rev for m in lines if m["op"] in ("put", "del"))

    admin.delete("ports", pb["id"])
    gone = w.until(lambda m: m["op"] == "del" and m["id"] == pb["id"])
    assert gone[-1]["kind"] == "l2pop"
    w.close()

    # Resume after `rev`: only what changed since, then synced.
    resumed = Watch(server.url, a, since=rev)
    lines = resumed.until(lambda m: m["op"] == "synced")
    assert {m["id"] for m in lines if m["op"] in ("put", "del")} >= {pb["id"]}
    assert pa["id"] not in puts(lines, "port")  # unchanged since rev: not sent again
    resumed.close()

    # A revision from the future cannot be resumed: full snapshot.
    full = Watch(server.url, a, since=10**9)
    lines = full.until(lambda m: m["op"] == "synced")
    assert pa["id"] in puts(lines, "port")
    full.close()


def test_keepalives_while_idle(server):
    host = uniq("cmp")
    AgentChannel(server.url).register(host, mode="dvr")
    w = Watch(server.url, host)
    w.until(lambda m: m["op"] == "synced")
    assert w.until(lambda m: m["op"] == "keepalive", timeout=5)[-1]["rev"] == 0
    w.close()


def test_a_revision_from_the_future_holds_no_api_thread(server):
    """A watch whose `since` is ahead of the server (an agent from another server sharing
    the store, or garbage) is caught up through the writer's queue: no API thread waits
    for it (the server has two), and a host that is not registered is refused first."""
    hosts = [uniq("cmp") for _ in range(8)]
    agent = AgentChannel(server.url)
    for h in hosts:
        agent.register(h, mode="dvr")
    synced, errors = [], []

    def watch(host):
        try:
            w = Watch(server.url, host, since=2**62)
            synced.append(w.until(lambda m: m["op"] == "synced")[-1])
            w.close()
        except Exception as e:  # reported below
            errors.append(repr(e))

    started = time.monotonic()
    threads = [threading.Thread(target=watch, args=(h,)) for h in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    took = time.monotonic() - started
    assert not errors, errors
    assert len(synced) == len(hosts)
    # Waiting on an API thread (up to a second each, two threads) took 4 s for these.
    assert took < 2.5, f"8 watches from the future took {took:.2f} s"
    assert requests.get(server.url + "/v2.0/networks", timeout=10).status_code == 200
    stranger = Watch(server.url, "never-registered-" + uniq("h"), since=2**62, host_token_="")
    assert stranger.r.status_code == 404
    assert stranger.r.json()["NeutronError"]["type"] == "HostNotFound"


def test_digests_run_one_at_a_time(server, admin):
    """GET /agent/v1/digests recomputes every view under the planner's lock: callers that
    come while one runs are told to retry (503), not queued on the API threads."""
    agent = AgentChannel(server.url)
    hosts = [uniq("cmp") for _ in range(40)]
    for h in hosts:
        agent.register(h, mode="dvr", local_ip="192.0.2.10")
    net, _ = admin.net_with_subnet("10.72.0.0/22")
    for h in hosts:
        admin.port(net["id"], **{"binding:host_id": h})
    answers = []

    def digests():
        answers.append(requests.get(server.url + "/agent/v1/digests", timeout=60))

    threads = [threading.Thread(target=digests) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert len(answers) == 6
    assert any(r.status_code == 200 for r in answers)
    for r in answers:
        assert r.status_code in (200, 503), r.text
        if r.status_code == 503:
            assert r.json()["NeutronError"]["type"] == "ServiceUnavailable", r.text
        else:
            views = r.json()["hosts"]
            assert all(views[h]["view"] == views[h]["recomputed"] for h in hosts)
    again = requests.get(server.url + "/agent/v1/digests", timeout=60)
    assert again.status_code == 200, again.text


def test_watch_errors(server, new_server):
    assert Watch(server.url, "never-registered-" + uniq("h")).r.status_code == 404
    host = uniq("cmp")
    AgentChannel(server.url).register(host, mode="dvr")
    assert Watch(server.url, host, since="abc").r.status_code == 400
    guarded = new_server(config_text="[agent]\ntoken = s3cret\n")
    AgentChannel(guarded.url, token="s3cret").register("cmp1", mode="dvr")
    assert Watch(guarded.url, "cmp1", host_token_="").r.status_code == 401
    # the enrolment token enrols hosts; it opens no host's stream
    assert Watch(guarded.url, "cmp1", token="s3cret", host_token_="").r.status_code == 401
    assert Watch(guarded.url, "cmp1", host_token_="0" * 64).r.status_code == 401
    ok = Watch(guarded.url, "cmp1")
    assert ok.r.status_code == 200
    ok.close()
