"""The server's health and metrics: /healthz, /readyz, and /metrics in the Prometheus text
format, parsed with the Prometheus client's own parser (python3-prometheus-client).
Counters must move with requests, histograms must be consistent, and each host's view and
applied revisions must be there (docs/operator-guide.md, "Metrics and health").
"""
import math
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from neutrino_api import AgentChannel, Server, ServerError, uniq
from test_watch import Watch


def scrape(url):
    r = requests.get(url + "/metrics", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return list(text_string_to_metric_families(r.text))


def samples(families):
    """{(sample name, frozenset of labels): value}"""
    return {(s.name, frozenset(s.labels.items())): s.value for f in families for s in f.samples}


def value(url, name, **labels):
    return samples(scrape(url)).get((name, frozenset(labels.items())), 0.0)


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_healthz_and_readyz(server):
    r = requests.get(server.url + "/healthz", timeout=10)
    assert (r.status_code, r.text) == (200, "ok\n")
    r = requests.get(server.url + "/readyz", timeout=10)
    assert (r.status_code, r.text) == (200, "ready\n")
    assert requests.head(server.url + "/readyz", timeout=10).status_code == 200
    assert requests.post(server.url + "/healthz", timeout=10).status_code == 405


def test_every_family_is_named_typed_and_parses(server):
    families = scrape(server.url)
    names = {f.name for f in families}
    for f in families:
        assert f.name.startswith("neutrino_"), f.name
        assert f.documentation, f.name
        assert f.type in ("counter", "gauge", "histogram"), (f.name, f.type)
    # The parser drops a counter's _total from the family's name.
    for expected in ("neutrino_api_requests", "neutrino_api_request_duration_seconds", "neutrino_revision",
                     "neutrino_writer_group_size", "neutrino_writer_commit_seconds", "neutrino_writer_locked_seconds",
                     "neutrino_writer_commit_failures", "neutrino_planner_apply_seconds",
                     "neutrino_planner_node_seconds", "neutrino_planner_node_entries", "neutrino_watchers",
                     "neutrino_host_view_revision", "neutrino_host_applied_revision", "neutrino_host_alive",
                     "neutrino_process_start_time_seconds"):
        assert expected in names, expected


def test_requests_are_counted_by_resource_method_and_status(server, api):
    created = dict(resource="networks", method="POST", status="201")
    missing = dict(resource="networks", method="GET", status="404")
    before = samples(scrape(server.url))
    api.network(name=uniq("m"))
    api.network(name=uniq("m"))
    assert api("GET", "/v2.0/networks/" + "0" * 32).status_code == 404
    assert api("GET", "/v2.0/no-such-collection").status_code == 404
    after = samples(scrape(server.url))

    def moved(name, labels):
        key = (name, frozenset(labels.items()))
        return after.get(key, 0) - before.get(key, 0)

    assert moved("neutrino_api_requests_total", created) == 2
    assert moved("neutrino_api_request_duration_seconds_count", created) == 2
    assert moved("neutrino_api_requests_total", missing) == 1
    assert moved("neutrino_api_requests_total", dict(resource="other", method="GET", status="404")) == 1
    # The counter and the histogram's count are one number.
    for (name, labels), v in after.items():
        if name == "neutrino_api_requests_total":
            assert after[("neutrino_api_request_duration_seconds_count", labels)] == v


def test_histograms_are_consistent(server, api):
    api.network(name=uniq("h"))
    for family in scrape(server.url):
        if family.type != "histogram":
            continue
        series = {}
        for s in family.samples:
            labels = frozenset((k, v) for k, v in s.labels.items() if k != "le")
            series.setdefault(labels, {"buckets": []})
            if s.name.endswith("_bucket"):
                series[labels]["buckets"].append((float(s.labels["le"]), s.value))
            else:
                series[labels][s.name[len(family.name) + 1:]] = s.value
        for labels, h in series.items():
            les = [le for le, _ in h["buckets"]]
            counts = [c for _, c in h["buckets"]]
            assert les == sorted(les) and math.isinf(les[-1]), (family.name, labels, les)
            assert counts == sorted(counts), (family.name, labels, counts)
            assert counts[-1] == h["count"], (family.name, labels)
            assert h["sum"] >= 0, (family.name, labels)


def test_writer_and_planner_metrics_move_with_writes(server, admin):
    before = samples(scrape(server.url))
    host = uniq("cmp")
    AgentChannel(server.url).register(host, mode="dvr", local_ip="192.0.2.151")
    net, _ = admin.net_with_subnet("10.72.0.0/24")
    admin.port(net["id"], **{"binding:host_id": host})
    after = samples(scrape(server.url))

    def moved(name, **labels):
        key = (name, frozenset(labels.items()))
        return after.get(key, 0) - before.get(key, 0)

    assert moved("neutrino_writer_group_size_count") >= 4
    assert moved("neutrino_writer_commit_seconds_count") >= 4
    assert moved("neutrino_planner_apply_seconds_count") >= 4
    assert moved("neutrino_planner_node_entries_total", node="l2") >= 2  # the network and the port
    assert moved("neutrino_planner_node_seconds_total", node="l2") > 0
    assert moved("neutrino_revision") >= 4


def test_each_hosts_view_and_applied_revision(server, admin):
    host = uniq("cmp")
    channel = AgentChannel(server.url)
    channel.register(host, mode="dvr", local_ip="192.0.2.152")
    net = admin.network(name=uniq("v"))
    admin.port(net["id"], **{"binding:host_id": host})
    view = value(server.url, "neutrino_host_view_revision", host=host)
    assert view > 0
    assert value(server.url, "neutrino_host_alive", host=host) == 1
    assert ("neutrino_host_applied_revision", frozenset({("host", host)})) not in samples(scrape(server.url))
    r = channel.status_raw(host, {"routers": {}, "applied": int(view)})
    assert r.status_code == 200, r.text
    assert value(server.url, "neutrino_host_applied_revision", host=host) == view


def test_watchers(new_server):
    # A server of its own: the session server's other tests open and close watches of their own.
    server = new_server()
    host = uniq("cmp")
    AgentChannel(server.url).register(host, mode="dvr", local_ip="192.0.2.153")
    before = value(server.url, "neutrino_watchers")
    assert before == 0
    w = Watch(server.url, host)
    try:
        w.until(lambda m: m["op"] == "synced")
        assert value(server.url, "neutrino_watchers") == before + 1
        assert value(server.url, "neutrino_api_requests_total", resource="agent_watch", method="GET", status="200") >= 1
    finally:
        w.close()
    # The server notices a closed stream when it next writes to it (keep-alives).
    assert wait_for(lambda: value(server.url, "neutrino_watchers") == before)


def test_metrics_only_for_allowed_addresses(new_server):
    s = new_server(config_text="[DEFAULT]\nmetrics_allowed_cidrs = 10.0.0.0/8, 2001:db8::/32\n")
    r = requests.get(s.url + "/metrics", timeout=10)
    assert r.status_code == 403
    assert "metrics_allowed_cidrs" in r.json()["NeutronError"]["message"]
    assert requests.get(s.url + "/healthz", timeout=10).status_code == 200
    assert requests.get(s.url + "/readyz", timeout=10).status_code == 200


def test_a_bad_allowed_cidr_stops_the_server(tmp_path):
    s = Server(tmp_path, config_text="[DEFAULT]\nmetrics_allowed_cidrs = 127.0.0.0/8, localhost\n")
    try:
        s.start()
        raise AssertionError("the server started with metrics_allowed_cidrs = localhost")
    except ServerError as e:
        assert "metrics_allowed_cidrs" in str(e) and "localhost" in str(e), str(e)
    finally:
        s.kill()


def test_probes_and_metrics_need_no_token_in_keystone_mode(new_server):
    """auth_strategy = keystone (a Keystone that is never reached): the API wants a token,
    /healthz, /readyz and /metrics do not."""
    s = new_server(config_text="[DEFAULT]\nauth_strategy = keystone\n[keystone_authtoken]\n"
                               "www_authenticate_uri = http://127.0.0.1:9/\nauth_url = http://127.0.0.1:9/v3\n"
                               "auth_type = password\nusername = neutron\npassword = x\nproject_name = service\n")
    assert requests.get(s.url + "/v2.0/networks", timeout=10).status_code == 401
    assert requests.get(s.url + "/healthz", timeout=10).status_code == 200
    assert requests.get(s.url + "/readyz", timeout=10).status_code == 200
    assert value(s.url, "neutrino_api_requests_total", resource="networks", method="GET", status="401") == 1
