"""Applied everywhere (issue 17, part 4): a port's ACTIVE comes only after the remote hosts'
FDB entries for it exist. On the sandbox (2 computes, 1 gateway), 50 ports are created and
bound across the two computes, their taps plugged as os-vif plugs them; at the moment each
port's status is seen ACTIVE (the API polled tightly), `bridge fdb show dev vxlan-<vni>` in
the other compute's namespace must hold the port's MAC behind its host's VTEP.

To show that the wait is real, cmp2's agent is stopped (SIGSTOP, alive for the server: the
agent_down_time is 30 s) while most ports are created and plugged: cmp1's ports stay DOWN
although cmp1 reports their taps up, until cmp2's agent runs again and applies their entries.
Needs root; the sandbox's namespaces are nt-s*, removed at the end.
"""
import os
import signal
import subprocess
import time

import pytest
import requests

from nt_e2e import sh, wait_for
from nt_sandbox import Sandbox, stop_sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-s*)")

VNI = 3301
VTEP = {"cmp1": "198.51.100.11", "cmp2": "198.51.100.12"}
OTHER = {"cmp1": "cmp2", "cmp2": "cmp1"}


class Api:
    def __init__(self, port):
        self.url = f"http://127.0.0.1:{port}"
        self.s = requests.Session()

    def __call__(self, method, path, body=None):
        r = self.s.request(method, self.url + path, json=body, timeout=30)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.text else None


@pytest.fixture
def sb(tmp_path):
    s = Sandbox(tmp_path)
    s.procs = []
    s.run("up", "--port", "0", "--computes", "2", "--gateways", "1", "--agent-down-time", "30", timeout=120)
    try:
        yield s
    finally:
        for h in s.state()["hosts"]:  # never leave an agent stopped
            try:
                os.kill(h["agent_pid"], signal.SIGCONT)
            except ProcessLookupError:
                pass
        stop_sandbox(s)


def plug(sb, host, ports):
    """Taps for the ports in the host's namespace, up (a veth pair: both ends in the host)."""
    cmds = []
    for p in ports:
        tap, peer = "tap" + p["id"][:11], "vp" + p["id"][:11]
        cmds += [f"link add {tap} type veth peer name {peer}", f"link set {peer} up", f"link set {tap} up"]
    subprocess.run(["ip", "-n", sb.ns(host), "-batch", "-"], input="\n".join(cmds) + "\n", text=True, check=True,
                   capture_output=True, timeout=60)


def fdb(sb, host):
    """MAC -> dst of the host's VXLAN device's FDB entries."""
    out = sh("ip", "netns", "exec", sb.ns(host), "bridge", "fdb", "show", "dev", f"vxlan-{VNI}").stdout
    entries = {}
    for line in out.splitlines():
        words = line.split()
        if "dst" in words:
            entries[words[0].lower()] = words[words.index("dst") + 1]
    return entries


def create_ports(api, net_id, hosts):
    made = []
    for i, host in enumerate(hosts):
        body = {"port": {"network_id": net_id, "name": f"aw{i}", "device_owner": "compute:nova",
                         "device_id": f"vm-aw-{host}-{i}", "binding:host_id": host}}
        made.append(api("POST", "/v2.0/ports", body)["port"])
    return made


def converged(api, host):
    report = api("GET", "/agent/v1/convergence")
    return any(h["host"] == host and h["converged"] for h in report["hosts"])


def held_for(api, ports):
    """The hosts the server says these ports wait for; None while one of them is not waiting."""
    waiting = {w["port"]: w["waiting_for"] for w in api("GET", "/agent/v1/convergence")["waiting_ports"]}
    if any(p["id"] not in waiting for p in ports):
        return None
    return {h for p in ports for h in waiting[p["id"]]}


def watch_until_active(sb, api, net_id, ports, timeout):
    """Polls the ports' status tightly; at each port's first ACTIVE, reads the other
    compute's FDB and checks the port's MAC is there behind its host's VTEP. Returns
    port id -> seconds from the start to ACTIVE."""
    by_id = {p["id"]: p for p in ports}
    seen, deadline, started = {}, time.monotonic() + timeout, time.monotonic()
    while len(seen) < len(by_id):
        assert time.monotonic() < deadline, f"only {len(seen)} of {len(by_id)} ports ACTIVE after {timeout}s"
        listed = api("GET", f"/v2.0/ports?network_id={net_id}&fields=id&fields=status")["ports"]
        fresh = [p["id"] for p in listed if p["id"] in by_id and p["status"] == "ACTIVE" and p["id"] not in seen]
        if not fresh:
            time.sleep(0.01)
            continue
        tables = {h: fdb(sb, h) for h in VTEP}
        for pid in fresh:
            p = by_id[pid]
            host = p["binding:host_id"]
            remote = tables[OTHER[host]]
            assert remote.get(p["mac_address"]) == VTEP[host], (
                f"port {pid} on {host} is ACTIVE but {OTHER[host]} has no FDB entry for {p['mac_address']} "
                f"behind {VTEP[host]}: {remote}")
            seen[pid] = time.monotonic() - started
    return seen


def test_active_only_after_the_remote_fdb_entries_exist(sb):
    api = Api(sb.state()["port"])
    net = api("POST", "/v2.0/networks", {"network": {"name": "aw", "provider:network_type": "vxlan",
                                                      "provider:segmentation_id": VNI}})["network"]
    api("POST", "/v2.0/subnets", {"subnet": {"network_id": net["id"], "cidr": "10.123.0.0/24", "ip_version": 4,
                                             "enable_dhcp": False}})
    # Two ports first, one per compute: both hosts are on the network from now on.
    first = create_ports(api, net["id"], ["cmp1", "cmp2"])
    for p in first:
        plug(sb, p["binding:host_id"], [p])
    watch_until_active(sb, api, net["id"], first, timeout=30)

    # cmp2's agent stops (alive for the server): cmp1's ports wait for it.
    cmp2 = next(h for h in sb.state()["hosts"] if h["name"] == "cmp2")
    os.kill(cmp2["agent_pid"], signal.SIGSTOP)
    try:
        on_cmp1 = create_ports(api, net["id"], ["cmp1"] * 24)
        plug(sb, "cmp1", on_cmp1)
        # cmp1 applied its view and reported every tap up: still DOWN, cmp2 has no entry.
        wait_for(lambda: converged(api, "cmp1"), 30, "cmp1's agent to apply its view")
        # The server has cmp1's reports of every tap up, and holds each port for cmp2 only.
        wait_for(lambda: held_for(api, on_cmp1) == {"cmp2"}, 30, "cmp1's ports to wait for cmp2")
        states = {p["id"]: api("GET", f"/v2.0/ports/{p['id']}?fields=status")["port"]["status"] for p in on_cmp1}
        assert set(states.values()) == {"DOWN"}, states
        missing = fdb(sb, "cmp2")
        assert not any(p["mac_address"] in missing for p in on_cmp1)
        on_cmp2 = create_ports(api, net["id"], ["cmp2"] * 24)
        plug(sb, "cmp2", on_cmp2)
    finally:
        os.kill(cmp2["agent_pid"], signal.SIGCONT)
    times = watch_until_active(sb, api, net["id"], on_cmp1 + on_cmp2, timeout=60)
    assert len(times) == 48
    print(f"48 ports ACTIVE {min(times.values()):.2f}..{max(times.values()):.2f} s after cmp2's agent resumed")
    # And the one-line readiness signal agrees.
    r = subprocess.run([str(sb.args[0]), "wait", "--port", on_cmp1[0]["id"], "--url", api.url, "--timeout", "5"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith(f"port {on_cmp1[0]['id']} is ACTIVE"), r
