"""Applied everywhere (Neutron's provisioning blocks, OVN's hv_cfg): a port bound to host A
goes ACTIVE only when A reports its tap up AND every host that must act on it (A and the
other hosts on its network, which got its l2pop entry) has reported applied a view revision
that includes it. Hosts whose agents are dead hold nothing up. Fake agents here speak the
agent channel: register, post status with `ports` and `applied`.
"""
import subprocess
import threading
import time

import requests

from neutrino_api import BUILD_DIR, AgentChannel, uniq, wait_for

NEUTRINO_BIN = BUILD_DIR / "bin" / "neutrino"


def view_revisions(url):
    """host -> its view revision, from GET /agent/v1/convergence (live hosts with a view)."""
    r = requests.get(url + "/agent/v1/convergence", timeout=10)
    assert r.status_code == 200, r.text
    return {h["host"]: h["view_revision"] for h in r.json()["hosts"]}


def report(agent, host, ports=None, applied=None):
    body = {"ports": ports or {}}
    if applied is not None:
        body["applied"] = applied
    r = agent.status_raw(host, body)
    assert r.status_code == 200, r.text


def status(client, port_id):
    r = client("GET", f"/v2.0/ports/{port_id}", params={"fields": "status"})
    assert r.status_code == 200, r.text
    assert list(r.json()["port"]) == ["status"], r.json()  # ?fields=status: only the status
    return r.json()["port"]["status"]


def two_hosts_on_a_network(server, admin, cidr):
    """Hosts a and b, both with a port on one network; b up to date. Returns a, b, net, pb."""
    a, b = uniq("cmp"), uniq("cmp")
    agent = AgentChannel(server.url)
    agent.register(a, mode="dvr", local_ip="192.0.2.121")
    agent.register(b, mode="dvr", local_ip="192.0.2.122")
    net, _ = admin.net_with_subnet(cidr)
    pb = admin.port(net["id"], **{"binding:host_id": b})
    report(agent, b, applied=view_revisions(server.url)[b])
    return agent, a, b, net, pb


def test_a_port_waits_for_the_other_host_on_its_network(server, admin):
    agent, a, b, net, _ = two_hosts_on_a_network(server, admin, "10.91.0.0/24")
    before = view_revisions(server.url)[b]
    pa = admin.port(net["id"], **{"binding:host_id": a})
    revs = view_revisions(server.url)
    assert revs[b] > before  # b got pa's l2pop entry: its view moved
    # a plugged the tap and applied its own view; b has not applied pa's entry yet.
    report(agent, a, {pa["id"]: "up"}, applied=revs[a])
    report(agent, b, applied=before)
    time.sleep(0.3)
    report(agent, a, {pa["id"]: "up"}, applied=revs[a])
    assert status(admin, pa["id"]) == "DOWN"
    assert admin.show("ports", pa["id"])["status"] == "DOWN"
    # The convergence report names the host it waits for.
    waiting = requests.get(server.url + "/agent/v1/convergence", timeout=10).json()["waiting_ports"]
    assert {"port": pa["id"], "host": a, "waiting_for": [b]} in waiting
    # b catches up: the same status write makes pa ACTIVE, visible at once.
    report(agent, b, applied=revs[b])
    assert status(admin, pa["id"]) == "ACTIVE"
    assert admin.show("ports", pa["id"])["status"] == "ACTIVE"
    waiting = requests.get(server.url + "/agent/v1/convergence", timeout=10).json()["waiting_ports"]
    assert pa["id"] not in [w["port"] for w in waiting]
    # Unplugged: DOWN at once (no wait), and up again waits anew.
    report(agent, a, {pa["id"]: "down"}, applied=revs[a])
    assert status(admin, pa["id"]) == "DOWN"
    report(agent, a, {pa["id"]: "up"}, applied=revs[a])
    assert status(admin, pa["id"]) == "ACTIVE"


def test_its_own_host_must_have_applied_it(server, admin):
    host = uniq("cmp")
    agent = AgentChannel(server.url)
    agent.register(host, mode="dvr")
    net, _ = admin.net_with_subnet("10.92.0.0/24")
    port = admin.port(net["id"], **{"binding:host_id": host})
    rev = view_revisions(server.url)[host]
    report(agent, host, {port["id"]: "up"})  # nothing applied yet
    assert status(admin, port["id"]) == "DOWN"
    report(agent, host, {port["id"]: "up"}, applied=rev - 1)
    assert status(admin, port["id"]) == "DOWN"
    report(agent, host, {port["id"]: "up"}, applied=rev)
    assert status(admin, port["id"]) == "ACTIVE"


def test_admin_down_port_stays_down(server, admin):
    host = uniq("cmp")
    agent = AgentChannel(server.url)
    agent.register(host, mode="dvr")
    net, _ = admin.net_with_subnet("10.93.0.0/24")
    port = admin.port(net["id"], **{"binding:host_id": host, "admin_state_up": False})
    report(agent, host, {port["id"]: "up"}, applied=view_revisions(server.url)[host])
    assert status(admin, port["id"]) == "DOWN"


def test_a_dead_agent_holds_nothing_up(new_server):
    server = new_server("[DEFAULT]\nagent_down_time = 2\ndhcp_agent_notification = false\n")
    admin = server.client()
    agent, a, b, net, _ = two_hosts_on_a_network(server, admin, "10.94.0.0/24")
    pa = admin.port(net["id"], **{"binding:host_id": a})
    rev_a = view_revisions(server.url)[a]
    report(agent, a, {pa["id"]: "up"}, applied=rev_a)
    assert status(admin, pa["id"]) == "DOWN"  # b is alive and behind
    # b falls silent; once it is dead, a's next report lets the port go.
    def released():
        report(agent, a, {pa["id"]: "up"}, applied=rev_a)
        return status(admin, pa["id"]) == "ACTIVE"
    started = time.monotonic()
    wait_for(released, timeout=10, interval=0.2, message="the port ACTIVE once b's agent is dead")
    assert time.monotonic() - started > 1.0


def test_neutrino_wait(server, admin):
    agent, a, b, net, _ = two_hosts_on_a_network(server, admin, "10.95.0.0/24")
    pa = admin.port(net["id"], **{"binding:host_id": a})
    revs = view_revisions(server.url)
    report(agent, a, {pa["id"]: "up"}, applied=revs[a])
    cmd = [str(NEUTRINO_BIN), "wait", "--port", pa["id"], "--url", server.url]
    late = subprocess.run(cmd + ["--timeout", "0.5"], capture_output=True, text=True, timeout=30)
    assert late.returncode == 1, late
    assert late.stderr.strip() == f"neutrino wait: port {pa['id']} is not ACTIVE after 0.5 s (status DOWN)"
    waiting = subprocess.Popen(cmd + ["--timeout", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    assert waiting.poll() is None
    report(agent, b, applied=revs[b])
    out, err = waiting.communicate(timeout=20)
    assert waiting.returncode == 0, (out, err)
    assert out.startswith(f"port {pa['id']} is ACTIVE (waited ") and out.count("\n") == 1
    gone = subprocess.run([str(NEUTRINO_BIN), "wait", "--port", "no-such-port", "--url", server.url],
                          capture_output=True, text=True, timeout=30)
    assert gone.returncode == 2 and "no-such-port" in gone.stderr and gone.stderr.count("\n") == 1, gone
    # Nothing but an id's characters reaches the request line.
    for bad in ("a\r\nX-Injected: 1", "../networks", "p\u00e9", ""):
        r = subprocess.run([str(NEUTRINO_BIN), "wait", "--port", bad, "--url", server.url], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 2 and r.stderr == "neutrino wait: --port: not a port id\n", (bad, r)


def test_a_deleted_host_takes_its_ports_waits_with_it(server, admin):
    agent, a, b, net, _ = two_hosts_on_a_network(server, admin, "10.96.0.0/24")
    before = view_revisions(server.url)[b]
    pa = admin.port(net["id"], **{"binding:host_id": a})
    report(agent, a, {pa["id"]: "up"}, applied=view_revisions(server.url)[a])
    report(agent, b, applied=before)

    def waiting():
        r = requests.get(server.url + "/agent/v1/convergence", timeout=10)
        return [w["port"] for w in r.json()["waiting_ports"]]
    assert pa["id"] in waiting()
    for ag in admin.list("agents", {"host": a}):
        assert admin("DELETE", f"/v2.0/agents/{ag['id']}").status_code == 204
    assert pa["id"] not in waiting()
    # b's later report cannot make the port of a host that no longer exists ACTIVE.
    report(agent, b, applied=view_revisions(server.url)[b])
    assert status(admin, pa["id"]) == "DOWN"


def test_convergence_is_not_claimed_before_the_planner_has_followed(server, admin):
    """The model commits before the planner follows it: a report taken in between must not
    say converged for views older than its revision."""
    agent, a, b, net, _ = two_hosts_on_a_network(server, admin, "10.97.0.0/24")
    idle = requests.get(server.url + "/agent/v1/convergence", timeout=10).json()
    assert idle["planned_revision"] == idle["revision"], idle
    stop = threading.Event()

    def writer():
        for i in range(150):
            if stop.is_set():
                return
            admin.port(net["id"], **{"binding:host_id": (a, b)[i % 2]})

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    reports, deadline = 0, time.monotonic() + 60
    try:
        while t.is_alive() and time.monotonic() < deadline:
            # Both hosts claim to have applied whatever their views say now.
            revs = view_revisions(server.url)
            for host in (a, b):
                if host in revs:
                    report(agent, host, applied=revs[host])
            conv = requests.get(server.url + "/agent/v1/convergence", timeout=10).json()
            reports += 1
            assert not conv["converged"] or conv["planned_revision"] >= conv["revision"], conv
    finally:
        stop.set()
        t.join(timeout=60)
    assert reports > 0
    idle = requests.get(server.url + "/agent/v1/convergence", timeout=10).json()
    assert idle["planned_revision"] == idle["revision"], idle
