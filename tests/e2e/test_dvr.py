"""Distributed routing on the real kernel, in a sandbox of its own per test, driven by the
real openstack CLI and checked the way an operator would: ping and HTTP between VMs,
the internet host and floating IPs; tcpdump on the underlay for where traffic is routed;
`ip -n`, `bridge fdb` and counters for what the agents built. Needs root."""
import os
import re
import subprocess

import pytest

from nt_e2e import sh, start_capture, start_flood, wait_for
from nt_sandbox import Sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-s*)")


@pytest.fixture
def sandbox(tmp_path):
    s = Sandbox(tmp_path)
    s.tmp = tmp_path
    s.procs = []
    try:
        s.run("up", "--port", "0", "--computes", "2", "--gateways", "1", "--agent-down-time", "3")
        yield s
    finally:
        for p in s.procs:
            p.terminate()
            p.wait(5)
        s.run("down", check=False)
        assert not s.namespaces(), f"sandbox down left {s.namespaces()}"


def seed_002(sb, gateway=False):
    """Seed 002's picture: 192.168.10.0/24 and 10.10.10.0/24 on one distributed router."""
    for net, seg, cidr in (("net10", "1010", "192.168.10.0/24"), ("net11", "1011", "10.10.10.0/24")):
        sb.osc("network", "create", "--provider-network-type", "vxlan", "--provider-segment", seg, net)
        sb.osc("subnet", "create", "--subnet-range", cidr, "--network", net, "sub" + net[3:])
    router = sb.osc_json("router", "create", "--distributed", "dvr-r1")["id"]
    sb.osc("router", "add", "subnet", "dvr-r1", "sub10")
    sb.osc("router", "add", "subnet", "dvr-r1", "sub11")
    if gateway:
        sb.osc("router", "set", "--external-gateway", "public", "dvr-r1")
    return router


def open_default_group(sb, *protocols):
    """Lets the internet host in to the project's VMs (the default group admits only its
    own members, as Neutron's), for the protocols a test uses from outside."""
    for proto in protocols:
        sb.osc("security", "group", "rule", "create", "default", "--protocol", proto)


def qrouter(sb, host, router):
    return sb.ns(host) + "-qrouter-" + router


def port_of(sb, vm):
    return next(v["port_id"] for v in sb.state()["vms"] if v["name"] == vm)


def capture(sb, host, dev, seconds, bpf, action):
    """tcpdump lines seen on a host's device while action() runs."""
    cap = start_capture(["ip", "netns", "exec", host, "timeout", str(seconds), "tcpdump", "-i", dev, "-n", "-l", "-e", bpf])
    action()
    out, _ = cap.communicate(timeout=seconds + 5)
    return [l for l in out.splitlines() if l.strip()]


def vxlan_icmp(lines):
    """(outer source, VNI, request|reply) of each ICMP echo tunnelled in VXLAN (tcpdump -e
    prints the inner frame on the line after the outer one)."""
    out = []
    for outer, inner in zip(lines, lines[1:]):
        m = re.search(r"(\d+\.\d+\.\d+\.\d+)\.\d+ > \S+: VXLAN.* vni (\d+)", outer)
        kind = re.search(r"ICMP echo (request|reply)", inner)
        if m and kind:
            out.append((m.group(1), m.group(2), kind.group(1)))
    return out


def http_server(sb, where, address, port, vm=False):
    """A python HTTP server whose log names each client's address."""
    log = sb.tmp / f"http-{port}.log"
    cmd = ["vm", "exec", where] if vm else ["exec", where]
    p = subprocess.Popen(sb.args + cmd + ["python3", "-u", "-m", "http.server", str(port), "--bind", address],
                         stdout=open(log, "w"), stderr=subprocess.STDOUT)
    sb.procs.append(p)
    wait_for(lambda: "Serving HTTP" in log.read_text() or p.poll() is not None, 10, "the HTTP server")
    assert p.poll() is None, log.read_text()
    return log


def curl(sb, vm, url, where="vm"):
    cmd = ["vm", "exec", vm] if where == "vm" else ["exec", vm]
    return sb.run(*cmd, "curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}", url, check=False).stdout


def test_east_west_is_routed_on_the_senders_host(sandbox):
    sb = sandbox
    router = seed_002(sb)
    sb.run("vm", "create", "a1", "--host", "cmp1", "--network", "net10")
    sb.run("vm", "create", "b1", "--host", "cmp2", "--network", "net11")
    a1, b1 = sb.vm_ip("a1"), sb.vm_ip("b1")
    wait_for(lambda: sb.pings("a1", b1), 10, "a1 to reach b1 through the router")
    assert sb.pings("b1", a1)

    # The request leaves cmp1 already routed (on b1's network, VNI 1011); the reply comes back
    # routed by cmp2 (on a1's network, VNI 1010).
    lines = capture(sb, sb.ns("cmp1"), "eth0", 3, "udp port 4789",
                    lambda: sb.run("vm", "exec", "a1", "ping", "-c", "2", "-i", "0.2", "-W", "1", b1))
    tunnelled = vxlan_icmp(lines)
    assert tunnelled.count(("198.51.100.11", "1011", "request")) >= 2, "\n".join(lines)
    assert tunnelled.count(("198.51.100.12", "1010", "reply")) >= 2, "\n".join(lines)
    assert not [t for t in tunnelled if t[1:] in (("1010", "request"), ("1011", "reply"))], "\n".join(lines)
    # Routed frames cross the tunnel with the sending host's DVR MAC as source, not the
    # gateway MAC every host shares.
    inner = [l for l in lines if "ICMP echo" in l]
    assert inner and all(l.startswith("fa:16:3f:") for l in inner), "\n".join(lines)

    # Both VMs on one host: routed there, nothing on the underlay.
    sb.run("vm", "create", "b2", "--host", "cmp1", "--network", "net11")
    b2 = sb.vm_ip("b2")
    wait_for(lambda: sb.pings("a1", b2), 10, "a1 to reach b2 on the same host")
    lines = capture(sb, sb.ns("cmp1"), "eth0", 3, "udp port 4789",
                    lambda: sb.run("vm", "exec", "a1", "ping", "-c", "3", "-i", "0.2", "-W", "1", b2))
    assert vxlan_icmp(lines) == [], "\n".join(lines)

    # Gateway MACs are pinned to their local qr- taps (static sticky), never learned on a tunnel.
    gw_macs = [p["MAC Address"] for p in sb.osc_json("port", "list", "--router", "dvr-r1", "--long")
               if p["Device Owner"] == "network:router_interface_distributed"]
    assert len(gw_macs) == 2
    for host in ("cmp1", "cmp2"):
        fdb = sh("bridge", "-n", sb.ns(host), "fdb", "show").stdout.splitlines()
        for mac in gw_macs:
            entries = [l for l in fdb if l.startswith(mac)]
            assert entries and all("dev tap" in l and "sticky" in l for l in entries), (host, mac, entries)
    # What the routers are: the same gateway addresses on both hosts, ARP for every port.
    for host in ("cmp1", "cmp2"):
        addrs = sh("ip", "-n", qrouter(sb, host, router), "-br", "addr").stdout
        assert "192.168.10.1/24" in addrs and "10.10.10.1/24" in addrs, addrs
        neigh = sh("ip", "-n", qrouter(sb, host, router), "neigh").stdout
        assert f"{b1} dev qr-" in neigh and "PERMANENT" in neigh, neigh


def test_snat_and_floating_ips(sandbox):
    sb = sandbox
    router = seed_002(sb, gateway=True)
    open_default_group(sb, "icmp", "tcp")
    gw_ip = sb.osc_json("router", "show", "dvr-r1")["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    sb.run("vm", "create", "a1", "--host", "cmp1", "--network", "net10")
    sb.run("vm", "create", "b1", "--host", "cmp2", "--network", "net11")
    web = http_server(sb, "internet", "203.0.113.1", 8080)
    snat_ns = sb.ns("gw1") + "-snat-" + router
    qg = [l.split("@")[0] for l in sh("ip", "-n", snat_ns, "-br", "link").stdout.split() if l.startswith("qg-")][0]

    def qg_packets():
        import json as j
        stats = j.loads(sh("ip", "-n", snat_ns, "-j", "-s", "link", "show", "dev", qg).stdout)[0]["stats64"]
        return stats["rx"]["packets"] + stats["tx"]["packets"]

    # SNAT: a VM without a floating IP reaches the internet host as the router's gateway IP,
    # through the active gateway host.
    before = qg_packets()
    wait_for(lambda: sb.pings("a1", "203.0.113.1"), 10, "a1 to reach the internet host through SNAT")
    assert curl(sb, "a1", "http://203.0.113.1:8080/") == "200"
    assert web.read_text().splitlines()[-1].startswith(gw_ip + " "), web.read_text()
    assert qg_packets() > before + 4

    # A second gateway host joins: it keeps the router's snat namespace warm, ports up and
    # no addresses, while gw1 stays active.
    sb.run("host", "add", "gw2")
    standby = sb.ns("gw2") + "-snat-" + router
    wait_for(lambda: "qg-" in sh("ip", "-n", standby, "-br", "link", check=False).stdout, 15, "gw2's warm snat namespace")
    warm = sh("ip", "-n", standby, "-br", "addr").stdout.splitlines()
    ports = [l for l in warm if l.startswith(("qg-", "sg-"))]
    assert len(ports) == 3 and all(l.split()[1] == "UP" and len(l.split()) == 2 for l in ports), warm
    assert sb.pings("a1", "203.0.113.1")

    # Floating IP on b1 (cmp2): reachable from the internet host, its own traffic leaves as the
    # floating IP, and none of it crosses the gateway host.
    fip = sb.osc_json("floating", "ip", "create", "public", "--port", port_of(sb, "b1"))["floating_ip_address"]
    vm_web = http_server(sb, "b1", "0.0.0.0", 8081, vm=True)
    wait_for(lambda: sb.run("exec", "internet", "ping", "-c", "1", "-W", "1", fip, check=False).returncode == 0, 10,
             "the floating IP to answer")

    def fip_traffic():
        assert sb.run("exec", "internet", "ping", "-c", "3", "-i", "0.2", "-W", "1", fip, check=False).returncode == 0
        assert curl(sb, "internet", f"http://{fip}:8081/", where="host") == "200"
        assert curl(sb, "b1", "http://203.0.113.1:8080/") == "200"
    lines = capture(sb, snat_ns, qg, 4, f"ip and host {fip}", fip_traffic)
    assert lines == [], "\n".join(lines)
    assert vm_web.read_text().splitlines()[-1].startswith("203.0.113.1 "), vm_web.read_text()
    assert web.read_text().splitlines()[-1].startswith(fip + " "), web.read_text()
    fip_ns = sb.ns("cmp2") + "-fip-" + sb.osc_json("network", "show", "public")["id"]
    assert f"{fip} via 169.254." in sh("ip", "-n", fip_ns, "route").stdout

    # Disassociated: unreachable. Re-associated to a VM on another host: reachable there.
    sb.osc("floating", "ip", "unset", "--port", fip)
    wait_for(lambda: sb.run("exec", "internet", "ping", "-c", "1", "-W", "1", fip, check=False).returncode != 0, 10,
             "the floating IP to stop answering")
    sb.run("vm", "create", "b3", "--host", "cmp1", "--network", "net11")
    sb.osc("floating", "ip", "set", "--port", port_of(sb, "b3"), fip)
    wait_for(lambda: sb.run("exec", "internet", "ping", "-c", "1", "-W", "1", fip, check=False).returncode == 0, 10,
             "the floating IP to answer from cmp1")
    cmp1_fip_ns = sb.ns("cmp1") + "-fip-" + sb.osc_json("network", "show", "public")["id"]
    assert f"{fip} via 169.254." in sh("ip", "-n", cmp1_fip_ns, "route").stdout

    # enable_snat=false: the router routes without NAT; the internet host sees the fixed IP.
    sb.osc("router", "set", "--external-gateway", "public", "--disable-snat", "dvr-r1")
    a1 = sb.vm_ip("a1")
    sb.run("wait")
    lines = capture(sb, sb.ns("internet"), "eth0", 3, "icmp",
                    lambda: sb.run("vm", "exec", "a1", "ping", "-c", "2", "-W", "1", "203.0.113.1", check=False))
    assert any(f"{a1} > 203.0.113.1" in l for l in lines), "\n".join(lines)
    assert not any(f"{gw_ip} > 203.0.113.1" in l for l in lines), "\n".join(lines)

    # The hosting agents, as Neutron lists them.
    agents = sb.osc_json("network", "agent", "list", "--router", "dvr-r1", "--long")
    assert {a["Host"]: a["HA State"] for a in agents} == {"gw1": "active", "gw2": "standby"}, agents
    url = f"http://127.0.0.1:{sb.state()['port']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update({"OS_AUTH_TYPE": "none", "OS_ENDPOINT": url, "OS_ENDPOINT_TYPE": "public", "PYTHONWARNINGS": "ignore"})
    legacy = subprocess.run(["neutron", "--os-auth-strategy", "noauth", "--os-url", url, "l3-agent-list-hosting-router", "dvr-r1"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert "gw1" in legacy.stdout, legacy.stdout + legacy.stderr


def test_port_forwarding_reaches_a_vm_port_through_the_gateway(sandbox):
    """floating-ip-port-forwarding: the internet host reaches a1's port 22 as the floating
    IP's port 2222, through the router's active gateway host (centralised, as Neutron does
    for distributed routers); the VM sees the internet host's own address; nothing else of
    the floating IP answers; deleting the forwarding closes it again."""
    sb = sandbox
    router = seed_002(sb, gateway=True)
    open_default_group(sb, "tcp")
    sb.run("vm", "create", "a1", "--host", "cmp1", "--network", "net10")
    a1_ip = sb.vm_ip("a1")
    vm_web = http_server(sb, "a1", "0.0.0.0", 22, vm=True)
    fip = sb.osc_json("floating", "ip", "create", "public")["floating_ip_address"]
    pf = sb.osc_json("floating", "ip", "port", "forwarding", "create", "--internal-ip-address", a1_ip,
                     "--port", port_of(sb, "a1"), "--internal-protocol-port", "22", "--external-protocol-port", "2222",
                     "--protocol", "tcp", "--description", "ssh to a1", fip)
    assert (pf["internal_port"], pf["external_port"], pf["protocol"]) == (22, 2222, "tcp"), pf
    shown = sb.osc_json("floating", "ip", "show", fip)
    assert shown["router_id"] == router and shown["port_id"] is None, shown
    listed = sb.osc_json("floating", "ip", "port", "forwarding", "list", fip)
    assert [(r["ID"], r["Internal IP Address"], r["External Port"]) for r in listed] == [(pf["id"], a1_ip, 2222)], listed

    url = f"http://{fip}:2222/"
    wait_for(lambda: curl(sb, "internet", url, where="host") == "200", 15, "the floating IP's port 2222 to answer")
    assert vm_web.read_text().splitlines()[-1].startswith("203.0.113.1 "), vm_web.read_text()
    snat_ns = sb.ns("gw1") + "-snat-" + router
    assert f"{fip}/32" in sh("ip", "-n", snat_ns, "-br", "addr").stdout
    # Only the forwarded port: 22 of the floating IP itself is not a1's, and a1's own
    # traffic still leaves through SNAT as the router's gateway address.
    assert curl(sb, "internet", f"http://{fip}:22/", where="host") == "000"
    assert sb.pings("a1", "203.0.113.1")

    sb.osc("floating", "ip", "port", "forwarding", "delete", fip, pf["id"])
    wait_for(lambda: curl(sb, "internet", url, where="host") == "000", 15, "the forwarding to close")
    assert f"{fip}/32" not in sh("ip", "-n", snat_ns, "-br", "addr").stdout
    assert sb.osc_json("floating", "ip", "show", fip)["router_id"] is None


def test_restart_changes_nothing_and_removal_cleans_every_host(sandbox):
    sb = sandbox
    router = seed_002(sb, gateway=True)
    sb.run("vm", "create", "a1", "--host", "cmp1", "--network", "net10")
    sb.run("vm", "create", "b1", "--host", "cmp2", "--network", "net11")
    fip = sb.osc_json("floating", "ip", "create", "public", "--port", port_of(sb, "a1"))["floating_ip_address"]
    wait_for(lambda: sb.pings("a1", "203.0.113.1") and sb.pings("a1", sb.vm_ip("b1")), 10, "a1's routes")

    # SIGKILL and restart of cmp1's agent while a1 pings the internet host through its
    # floating IP every 10 ms: nothing lost, and the new agent finds nothing to change.
    flood, started = start_flood(sb.args + ["vm", "exec", "a1", "ping", "-i", "0.01", "-c", "400", "-W", "1", "203.0.113.1"])
    sb.run("host", "restart-agent", "cmp1", "--kill")
    out = started + flood.communicate(timeout=30)[0]
    assert " 0% packet loss" in out, out
    log = (sb.tmp / "sandbox" / "cmp1.log").read_text().split("registered host")[-1]
    wait_for(lambda: "first reconcile:" in (sb.tmp / "sandbox" / "cmp1.log").read_text().split("registered host")[-1], 10,
             "the restarted agent's first pass")
    log = (sb.tmp / "sandbox" / "cmp1.log").read_text().split("registered host")[-1]
    assert "first reconcile: 0 changes" in log, log

    # An interface removed: its qr-, rule and ARP entries leave every host; cmp2 had only
    # b1 on the router's networks, so its qrouter goes.
    sb.osc("router", "remove", "subnet", "dvr-r1", "sub11")
    wait_for(lambda: not sh("ip", "netns", "list").stdout.count(qrouter(sb, "cmp2", router)), 10, "cmp2's qrouter to go")
    wait_for(lambda: "10.10.10.1/24" not in sh("ip", "-n", qrouter(sb, "cmp1", router), "-br", "addr").stdout, 10,
             "cmp1's qr- on 10.10.10.0/24 to go")
    assert "10.10.10.0/24" not in sh("ip", "-n", qrouter(sb, "cmp1", router), "rule").stdout
    assert "10.10.10." not in sh("ip", "-n", qrouter(sb, "cmp1", router), "neigh").stdout
    assert sb.pings("a1", "203.0.113.1")

    # The router deleted: its namespaces leave every host.
    sb.osc("floating", "ip", "delete", fip)
    sb.osc("router", "unset", "--external-gateway", "dvr-r1")
    sb.osc("router", "remove", "subnet", "dvr-r1", "sub10")
    sb.osc("router", "delete", "dvr-r1")
    wait_for(lambda: router not in sh("ip", "netns", "list").stdout, 10, "every namespace of the router to go")
