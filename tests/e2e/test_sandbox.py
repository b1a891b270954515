"""The sandbox cloud through its own CLI (`neutrino sandbox ...`) and the real openstack CLI,
as an operator uses it: hosts with live agents, VMs on VXLAN and flat networks pinging each
other and the internet host, a host joining later, deletions cleaning every host, a killed
agent turning not-alive and bindings failing with the reason. Each test has its own sandbox
(prefix nt-s<pid>-<n>-, any free API port); `down` must leave no namespace behind.
Needs root."""
import os
import signal

import pytest

from nt_e2e import sh, wait_for
from nt_sandbox import Sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-s*)")

@pytest.fixture
def sandbox(tmp_path):
    s = Sandbox(tmp_path)
    try:
        s.run("up", "--port", "0", "--computes", "2", "--gateways", "1", "--agent-down-time", "3")
        yield s
    finally:
        s.run("down", check=False)
        left = s.namespaces()
        assert not left, f"sandbox down left {left}"


def test_hosts_agents_and_status(sandbox):
    assert sorted(sandbox.namespaces()) == sorted(sandbox.ns(h) for h in ("fabric", "internet", "cmp1", "cmp2", "gw1"))
    agents = sandbox.osc_json("network", "agent", "list")
    for host in ("cmp1", "cmp2", "gw1"):
        kinds = {a["Agent Type"] for a in agents if a["Host"] == host and a["Alive"] is True}
        assert {"Linux bridge agent", "L3 agent", "DHCP agent", "Metadata agent"} <= kinds, (host, agents)
    public = sandbox.osc_json("network", "show", "public")
    assert public["router:external"] is True and public["provider:network_type"] == "flat"
    out = sandbox.run("status").stdout
    assert "cmp1" in out and "alive" in out and "NOT" not in out
    # Bad input: clear errors, nothing built.
    r = sandbox.run("vm", "create", "x1", "--host", "cmp9", "--network", "public", check=False)
    assert r.returncode == 1 and "no sandbox host cmp9" in r.stderr
    r = sandbox.run("up", check=False)
    assert r.returncode == 1 and "already up" in r.stderr


def test_vxlan_vms_ping_and_a_third_host_joins_later(sandbox):
    sandbox.osc("network", "create", "--provider-network-type", "vxlan", "--provider-segment", "123", "n1")
    sandbox.osc("subnet", "create", "--subnet-range", "172.16.100.0/24", "--network", "n1", "n1subnet")
    # The given address first: vm1's is a random one of the pool, which could be .50.
    sandbox.run("vm", "create", "vm2", "--host", "cmp2", "--network", "n1", "--fixed-ip", "ip-address=172.16.100.50")
    sandbox.run("vm", "create", "vm1", "--host", "cmp1", "--network", "n1")
    assert sandbox.vm_ip("vm2") == "172.16.100.50"
    assert sandbox.pings("vm1", "172.16.100.50") and sandbox.pings("vm2", sandbox.vm_ip("vm1"))
    ports = {p["Name"]: p for p in sandbox.osc_json("port", "list", "--long")}
    assert ports["vm1"]["Status"] == "ACTIVE" and ports["vm2"]["Status"] == "ACTIVE"

    # A third host joins the running cloud; its VM reaches both, and both know it.
    sandbox.run("host", "add", "cmp3")
    sandbox.run("vm", "create", "vm3", "--host", "cmp3", "--network", "n1")
    vm3 = sandbox.vm_ip("vm3")
    assert sandbox.pings("vm3", sandbox.vm_ip("vm1")) and sandbox.pings("vm3", "172.16.100.50")
    assert sandbox.pings("vm1", vm3)
    for host in ("cmp1", "cmp2"):
        fdb = sh("bridge", "-n", sandbox.ns(host), "fdb", "show", "dev", "vxlan-123").stdout
        assert "00:00:00:00:00:00 dst 198.51.100.13 self permanent" in fdb, fdb

    # A VM deleted: its FDB and neighbour entries leave every other host.
    vm2_mac = next(p["MAC Address"] for p in ports.values() if p["Name"] == "vm2")
    sandbox.run("vm", "delete", "vm2")
    for host in ("cmp1", "cmp3"):
        wait_for(lambda: vm2_mac not in sh("bridge", "-n", sandbox.ns(host), "fdb", "show", "dev", "vxlan-123").stdout, 10,
                 f"{host} to drop vm2's FDB entries")
        assert "172.16.100.50" not in sh("ip", "-n", sandbox.ns(host), "neigh", "show", "dev", "vxlan-123").stdout
    # cmp2 has no port on n1 left: its bridge and VXLAN device go.
    wait_for(lambda: "vxlan-123" not in sh("ip", "-n", sandbox.ns("cmp2"), "-br", "link").stdout, 10, "cmp2 to drop n1")

    # The network deleted: its bridge and VXLAN device leave every host.
    net_id = sandbox.osc_json("network", "show", "n1")["id"]
    for vm in ("vm1", "vm3"):
        sandbox.run("vm", "delete", vm)
    sandbox.osc("network", "delete", "n1")
    for host in ("cmp1", "cmp2", "cmp3"):
        wait_for(lambda: "vxlan-123" not in sh("ip", "-n", sandbox.ns(host), "-br", "link").stdout, 10, f"{host} to drop vxlan-123")
        assert "brq" + net_id[:11] not in sh("ip", "-n", sandbox.ns(host), "-br", "link").stdout


def test_flat_public_network_reaches_the_internet_host(sandbox):
    sandbox.run("vm", "create", "pub1", "--host", "cmp1", "--network", "public")
    sandbox.run("vm", "create", "pub2", "--host", "cmp2", "--network", "public")
    assert sandbox.pings("pub1", "203.0.113.1") and sandbox.pings("pub1", sandbox.vm_ip("pub2"))
    # The internet host is no member of the project's default group: ICMP from it by rule.
    assert sandbox.run("exec", "internet", "ping", "-c", "1", "-W", "1", sandbox.vm_ip("pub2"), check=False).returncode != 0
    sandbox.osc("security", "group", "rule", "create", "default", "--protocol", "icmp")
    sandbox.run("wait")
    assert sandbox.run("exec", "internet", "ping", "-c", "1", "-W", "1", sandbox.vm_ip("pub2"), check=False).returncode == 0
    # The mapped interface ex0 is a port of the network's bridge on both hosts.
    for host in ("cmp1", "cmp2"):
        assert "master brq" in sh("ip", "-n", sandbox.ns(host), "link", "show", "ex0").stdout


def test_killed_agent_turns_not_alive_and_binding_fails_with_the_reason(sandbox):
    gw1 = next(h for h in sandbox.state()["hosts"] if h["name"] == "gw1")
    os.kill(gw1["agent_pid"], signal.SIGKILL)  # started by this sandbox

    def gw1_dead():
        return all(a["Alive"] is False for a in sandbox.osc_json("network", "agent", "list", "--host", "gw1"))
    wait_for(gw1_dead, 15, "gw1's agents to turn not-alive")
    r = sandbox.run("vm", "create", "v1", "--host", "gw1", "--network", "public", check=False)
    assert r.returncode == 1 and "binding_vif_details" in r.stderr
    port = sandbox.osc_json("port", "show", "v1")
    assert port["binding_vif_type"] == "binding_failed"
    assert "not alive" in port["binding_vif_details"]["reason"], port

    # A flat network on a physical network no host maps.
    sandbox.osc("network", "create", "--provider-network-type", "flat", "--provider-physical-network", "extnet0", "ext2")
    sandbox.osc("subnet", "create", "--subnet-range", "198.51.100.0/24", "--network", "ext2", "ext2subnet")
    r = sandbox.run("vm", "create", "v2", "--host", "cmp1", "--network", "ext2", check=False)
    assert r.returncode == 1
    reason = sandbox.osc_json("port", "show", "v2")["binding_vif_details"]["reason"]
    assert "cmp1" in reason and "extnet0" in reason, reason

    # A VLAN network on a host whose kernel has no 8021q (this machine's): the agent's
    # kernel probe is the reason, and the host's other networks are unaffected.
    no_vlan = "vlan networks cannot be served" in (sandbox.state_file.parent / "cmp1.log").read_text()
    sandbox.osc("network", "create", "--provider-network-type", "vlan", "--provider-physical-network", "physnet1",
                "--provider-segment", "150", "v150")
    sandbox.osc("subnet", "create", "--subnet-range", "10.150.0.0/24", "--network", "v150", "v150subnet")
    r = sandbox.run("vm", "create", "v3", "--host", "cmp1", "--network", "v150", check=False)
    if no_vlan:
        assert r.returncode == 1
        reason = sandbox.osc_json("port", "show", "v3")["binding_vif_details"]["reason"]
        assert reason == "host cmp1 cannot serve vlan networks: this kernel has no vlan link type (module 8021q)", reason
    else:  # a kernel with VLANs builds it
        assert r.returncode == 0, r.stderr
    sandbox.run("vm", "create", "v4", "--host", "cmp1", "--network", "public")
    assert sandbox.pings("v4", "203.0.113.1")
