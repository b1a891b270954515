"""The L2 reconciler on the real kernel: two "hosts" (network namespaces joined by an
underlay veth) each run `neutrino-agent --once` with its host view; two "VMs" plugged into
the hosts' taps ping each other over VXLAN with L2 population. Then the views shrink and
everything the agent made goes away. Needs root (network namespaces); every namespace is
named nt-e2e-*, and all are removed at the end, also on failure. Traffic stays between
these namespaces (documentation addresses)."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from nt_e2e import sh, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-e2e-*)")

ROOT = Path(__file__).resolve().parents[2]
AGENT = Path(os.environ.get("NEUTRINO_BUILD_DIR", ROOT / "build")) / "bin" / "neutrino-agent"
TAG = f"nt-e2e-{os.getpid()}"
NET = "e2e0000000ab-0000-0000-0000-000000000001"
BRIDGE = "brq" + NET[:11]
PORTS = {"h1": ("p1000000000a", "fa:16:3e:00:10:01", "10.90.0.1"), "h2": ("p2000000000b", "fa:16:3e:00:10:02", "10.90.0.2")}
VTEP = {"h1": "192.0.2.1", "h2": "192.0.2.2"}


def ns(name):
    return f"{TAG}-{name}"


def view_lines(host, with_remote=True, with_network=True):
    other = "h2" if host == "h1" else "h1"
    pid, mac, ip = PORTS[host]
    lines = []
    if with_network:
        lines.append({"rev": 1, "op": "put", "kind": "network", "id": NET, "obj": {
            "network_type": "vxlan", "physical_network": None, "segmentation_id": 4242, "mtu": 1450,
            "bridge": BRIDGE}})
        if with_remote:
            lines.append({"rev": 1, "op": "put", "kind": "flood", "id": NET + "|" + other, "obj": {
                "network_id": NET, "vtep": VTEP[other]}})
        lines.append({"rev": 1, "op": "put", "kind": "port", "id": pid, "obj": {
            "network_id": NET, "mac_address": mac, "fixed_ips": [ip], "device": "tap" + pid[:11], "admin_state_up": True, "mtu": 1450,
            "vm": False}})  # plain L2 ports: --once runs no security pass
        if with_remote:
            opid, omac, oip = PORTS[other]
            lines.append({"rev": 1, "op": "put", "kind": "l2pop", "id": opid, "obj": {
                "network_id": NET, "mac_address": omac, "fixed_ips": [oip], "vtep": VTEP[other], "candidates": [],
                "other_addresses": False}})
    lines.append({"op": "synced", "rev": 1})
    return "\n".join(json.dumps(x) for x in lines) + "\n"


def has_ipv6(name):
    """Whether a namespace's new devices get IPv6 (a kernel booted with ipv6.disable=1, or
    a default of disable_ipv6=1, is a supported host)."""
    r = sh("ip", "netns", "exec", ns(name), "cat", "/proc/sys/net/ipv6/conf/default/disable_ipv6", check=False)
    return r.returncode == 0 and r.stdout.strip() == "0"


def addresses_settled(vm):
    """No tentative IPv6 address left on the VM's eth0 (duplicate address detection done)."""
    out = sh("ip", "-n", ns(vm), "-6", "addr", "show", "dev", "eth0").stdout
    return "inet6 fe80::" in out and "tentative" not in out


def run_agent(tmp_path, host, **kw):
    f = tmp_path / f"{host}.jsonl"
    f.write_text(view_lines(host, **kw))
    r = sh("ip", "netns", "exec", ns(host), str(AGENT), "--view", str(f), "--local-ip", VTEP[host], "--once")
    return int(r.stdout.strip().splitlines()[-1].split()[0]), r.stdout


@pytest.fixture
def topology():
    names = [ns(n) for n in ("h1", "h2", "vm1", "vm2")]
    try:
        for n in names:
            sh("ip", "netns", "add", n)
        # Underlay: one veth between the two hosts.
        sh("ip", "-n", ns("h1"), "link", "add", "ul0", "type", "veth", "peer", "name", "ul0", "netns", ns("h2"))
        for h in ("h1", "h2"):
            sh("ip", "-n", ns(h), "addr", "add", VTEP[h] + "/24", "dev", "ul0")
            sh("ip", "-n", ns(h), "link", "set", "ul0", "up")
        # VMs plugged the way os-vif plugs them: a tap-named host end, eth0 in the VM.
        for h, vm in (("h1", "vm1"), ("h2", "vm2")):
            pid, mac, ip = PORTS[h]
            sh("ip", "-n", ns(h), "link", "add", "tap" + pid[:11], "type", "veth", "peer", "name", "eth0", "netns", ns(vm))
            sh("ip", "-n", ns(vm), "link", "set", "eth0", "address", mac, "mtu", "1450", "up")
            sh("ip", "-n", ns(vm), "addr", "add", ip + "/24", "dev", "eth0")
        yield
    finally:
        for n in names:
            sh("ip", "netns", "del", n, check=False)


def test_two_hosts_vxlan_l2pop_ping_then_teardown(topology, tmp_path):
    assert AGENT.exists(), f"build first: {AGENT}"
    ipv6 = has_ipv6("h1")
    for h in ("h1", "h2"):
        changes, out = run_agent(tmp_path, h)
        # bridge, tap, vxlan, flood entry, 2 fdb entries, the neighbour (and, with IPv6, the
        # remote port's link-local one)
        assert changes == (8 if ipv6 else 7), out
    # What an operator would look at.
    link = json.loads(sh("ip", "-n", ns("h1"), "-d", "-j", "link", "show", "vxlan-4242").stdout)[0]
    info = link["linkinfo"]["info_data"]
    assert info["id"] == 4242 and info["local"] == "192.0.2.1" and info["learning"] is False and info["proxy"] is True
    assert link["master"] == BRIDGE and link["mtu"] == 1450
    fdb = sh("bridge", "-n", ns("h1"), "fdb", "show", "dev", "vxlan-4242").stdout
    assert "fa:16:3e:00:10:02 dst 192.0.2.2 self permanent" in fdb
    assert "00:00:00:00:00:00 dst 192.0.2.2 self permanent" in fdb
    assert "fa:16:3e:00:10:02 master " + BRIDGE + " static" in fdb
    neigh = sh("ip", "-n", ns("h1"), "neigh", "show", "dev", "vxlan-4242").stdout
    assert "10.90.0.2 lladdr fa:16:3e:00:10:02 PERMANENT" in neigh
    # The VMs reach each other across the tunnel.
    ping = sh("ip", "netns", "exec", ns("vm1"), "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.90.0.2", check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    if ipv6:
        # The link-local address the remote port's MAC gives it (EUI-64): the VXLAN device
        # answers neighbour solicitations itself (proxy), so without it fe80:: would not cross.
        assert "fe80::f816:3eff:fe00:1002 lladdr fa:16:3e:00:10:02 PERMANENT" in neigh
        for vm in ("vm1", "vm2"):
            wait_for(lambda: addresses_settled(vm), 10, f"{vm}'s addresses to settle (duplicate address detection)")
        ping6 = sh("ip", "netns", "exec", ns("vm1"), "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2",
                   "fe80::f816:3eff:fe00:1002%eth0", check=False)
        assert ping6.returncode == 0, ping6.stdout + ping6.stderr
    # A restarted agent finds everything right: no change.
    for h in ("h1", "h2"):
        assert run_agent(tmp_path, h)[0] == 0
    # The remote port goes away: its entries go, the network stays.
    changes, out = run_agent(tmp_path, "h1", with_remote=False)
    assert changes == (5 if ipv6 else 4), out  # its 2 fdb entries, the flood entry, its neighbour(s)
    assert "fa:16:3e:00:10:02" not in sh("bridge", "-n", ns("h1"), "fdb", "show", "dev", "vxlan-4242").stdout
    # The network goes away: the bridge and the VXLAN device go, the tap stays.
    changes, out = run_agent(tmp_path, "h1", with_network=False)
    assert changes == 2, out
    links = sh("ip", "-n", ns("h1"), "-br", "link").stdout
    assert BRIDGE not in links and "vxlan-4242" not in links and "tapp1000000000" in links
