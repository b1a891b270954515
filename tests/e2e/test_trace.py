"""`neutrino trace` on a real sandbox (issue 17): east-west on one host and across two
(VNI and remote VTEP), routed by the DVR qrouter, SNAT through the active gateway, a
floating IP out and in, a port whose binding failed, and --live finding an FDB entry
deleted by hand on the host that lost it. Asserted on `-f json`. Each test has its own
sandbox (namespaces nt-s*), removed at the end. Needs root."""
import json
import os
import subprocess

import pytest
import requests

from nt_e2e import sh, wait_for
from nt_sandbox import NEUTRINO, Sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-s*)")


@pytest.fixture
def sb(tmp_path):
    s = Sandbox(tmp_path)
    s.tmp = tmp_path
    try:
        s.run("up", "--port", "0", "--computes", "2", "--gateways", "1", "--agent-down-time", "3")
        yield s
    finally:
        s.run("down", check=False)
        assert not s.namespaces(), f"sandbox down left {s.namespaces()}"


def url(sb):
    return f"http://127.0.0.1:{sb.state()['port']}"


def trace(sb, port, to, *extra):
    """The trace as JSON (the CLI with -f json against the sandbox's server)."""
    r = subprocess.run([str(NEUTRINO), "trace", port, to, "-f", "json", "--url", url(sb), *extra],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)["trace"]


def hops(t, what):
    return [h for h in t["hops"] if h["what"] == what]


def vtep(sb, host):
    return next(h["underlay_ip"] for h in sb.state()["hosts"] if h["name"] == host)


def port_of(sb, vm):
    return next(v["port_id"] for v in sb.state()["vms"] if v["name"] == vm)


def seed(sb, gateway=False):
    """Two VXLAN networks (VNI 1010 and 1011) on one distributed router; VMs a1, a2 on cmp1
    and a3 on cmp2 in net10, b1 on cmp2 in net11."""
    for net, seg, cidr in (("net10", "1010", "192.168.10.0/24"), ("net11", "1011", "10.10.10.0/24")):
        sb.osc("network", "create", "--provider-network-type", "vxlan", "--provider-segment", seg, net)
        sb.osc("subnet", "create", "--subnet-range", cidr, "--network", net, "sub" + net[3:])
    router = sb.osc_json("router", "create", "--distributed", "dvr-r1")["id"]
    sb.osc("router", "add", "subnet", "dvr-r1", "sub10")
    sb.osc("router", "add", "subnet", "dvr-r1", "sub11")
    if gateway:
        sb.osc("router", "set", "--external-gateway", "public", "dvr-r1")
    for vm, host, net in (("a1", "cmp1", "net10"), ("a2", "cmp1", "net10"), ("a3", "cmp2", "net10"), ("b1", "cmp2", "net11")):
        sb.run("vm", "create", vm, "--host", host, "--network", net)
    sb.run("wait")
    return router


def test_trace_east_west_and_binding_failure(sb):
    router = seed(sb)
    a1 = port_of(sb, "a1")

    # Same network, same host: the bridge, no tunnel; security groups of both ends.
    t = trace(sb, "a1", sb.vm_ip("a2"))  # a sandbox VM's name resolves to its port
    assert t["from"]["port"] == a1 and t["from"]["host"] == "cmp1" and t["from"]["ip"] == sb.vm_ip("a1")
    assert t["result"] == "delivered", t
    assert [h["what"] for h in t["hops"]] == ["port", "secgroup", "bridge", "bridge", "secgroup", "deliver"]
    assert not hops(t, "vxlan")
    assert hops(t, "deliver")[0]["device"] == "tap" + port_of(sb, "a2")[:11]
    assert [h["attrs"]["direction"] for h in hops(t, "secgroup")] == ["egress", "ingress"]
    assert all(h["attrs"]["verdict"] == "allow" for h in hops(t, "secgroup"))

    # Same network, two hosts: VXLAN VNI 1010 to cmp2's VTEP, the l2pop FDB entry and neighbour.
    t = trace(sb, a1, sb.vm_ip("a3"))
    assert t["result"] == "delivered", t
    (vx,) = hops(t, "vxlan")
    assert vx["host"] == "cmp1" and vx["device"] == "vxlan-1010"
    assert vx["attrs"]["vni"] == "1010" and vx["attrs"]["remote_vtep"] == vtep(sb, "cmp2")
    assert vx["attrs"]["remote_host"] == "cmp2"
    assert hops(t, "deliver")[0]["host"] == "cmp2"

    # Routed east-west (DVR): cmp1's qrouter, the connected subnet of the destination, then
    # net11's tunnel (VNI 1011) to cmp2.
    t = trace(sb, a1, sb.vm_ip("b1"))
    assert t["result"] == "delivered", t
    (qr,) = hops(t, "qrouter")
    assert qr["host"] == "cmp1" and qr["namespace"] == "qrouter-" + router and qr["device"].startswith("qr-")
    (route,) = hops(t, "route")
    assert route["attrs"]["route"] == "10.10.10.0/24" and route["namespace"] == "qrouter-" + router
    (vx,) = hops(t, "vxlan")
    assert vx["attrs"]["vni"] == "1011" and vx["attrs"]["remote_vtep"] == vtep(sb, "cmp2")
    assert hops(t, "deliver")[0]["host"] == "cmp2"

    # The router's own address answers in the qrouter; an address no port has goes nowhere.
    t = trace(sb, a1, "192.168.10.1")
    assert t["result"] == "delivered" and t["hops"][-1]["namespace"] == "qrouter-" + router, t
    # (a1..a3 have random addresses of the pool: the address asked for is none of theirs)
    taken = {sb.vm_ip(vm) for vm in ("a1", "a2", "a3")}
    nobody = next(ip for ip in (f"192.168.10.{i}" for i in range(250, 240, -1)) if ip not in taken)
    t = trace(sb, a1, nobody)
    assert t["result"].startswith(f"unreachable: no port has {nobody}"), t

    # DHCP and metadata never leave the host.
    t = trace(sb, a1, "169.254.169.254", "--protocol", "tcp", "--dst-port", "80")
    assert t["result"] == "intercepted" and hops(t, "metadata")[0]["host"] == "cmp1"
    t = trace(sb, a1, "255.255.255.255", "--protocol", "udp", "--dst-port", "67")
    assert t["result"] == "intercepted" and hops(t, "dhcp")[0]["attrs"]["address"] == sb.vm_ip("a1")

    # A port whose binding failed (no such host): one hop that says so.
    bad = sb.osc_json("port", "create", "--network", "net10", "--host", "nosuchhost", "bad")
    assert bad["binding_vif_type"] == "binding_failed"
    t = trace(sb, bad["id"], sb.vm_ip("a1"))
    assert [h["what"] for h in t["hops"]] == ["binding"]
    assert t["hops"][0]["attrs"]["vif_type"] == "binding_failed" and t["hops"][0]["host"] == "nosuchhost"
    assert t["result"].startswith("unbound: binding failed on host nosuchhost")

    # The endpoint refuses garbage with a 400, non-admins with a 403.
    base = url(sb) + "/neutrino/v1/trace"
    for q in ("", "?port=" + a1, "?port=" + a1 + "&to=10.0.0", "?port=" + a1 + "&to=10.0.0.1&protocol=gre",
              "?port=" + a1 + "&to=10.0.0.1&dst_port=22", "?port=" + a1 + "&to=10.0.0.1&protocol=tcp&dst_port=0",
              "?port=" + a1 + "&to=10.0.0.1&live=maybe", "?port=" + a1 + "&to=10.0.0.1&x=1", "?port=%00&to=10.0.0.1"):
        r = requests.get(base + q, timeout=10)
        assert r.status_code == 400 and "NeutronError" in r.json(), (q, r.text)
    assert requests.get(base + "?port=nope&to=10.0.0.1", timeout=10).status_code == 404
    assert requests.get(base + "?port=" + a1 + "&to=10.0.0.1", headers={"X-Project-Id": "p1"}, timeout=10).status_code == 403


def test_trace_snat_and_floating_ip(sb):
    router = seed(sb, gateway=True)
    internet = "203.0.113.1"
    sb.run("host", "add", "gw2")  # a standby gateway: the trace names the active one and the order
    # Ready when the router is scheduled on both gateway hosts (what `network agent list
    # --router` shows) and every host applied its view.
    def scheduled():
        _, answer = sb.api("GET", f"/v2.0/routers/{router}/l3-agents")
        return sorted(a["host"] for a in answer["agents"]) == ["gw1", "gw2"]
    wait_for(scheduled, 20, "dvr-r1 scheduled on gw1 and gw2")
    # A new gateway host's BFD daemon starts on the device its first pass makes: no start
    # that fails for want of it, no pass held waiting for a daemon that cannot run yet.
    bfd_log = sb.tmp / "sandbox" / "gw2.bfd.sock.log"
    wait_for(lambda: bfd_log.exists() and "bfd: on ntbfd0" in bfd_log.read_text(), 20, "gw2's BFD daemon")
    gw2_log = (sb.tmp / "sandbox" / "gw2.log").read_text()
    assert "BFD daemon: no answer" not in gw2_log and "deciding without it" not in gw2_log, gw2_log
    # The API can answer a write group before the planner (which the trace reads) has
    # followed it; `wait` waits for the planner too (the convergence report's
    # planned_revision), then for every host to apply what it planned.
    sb.run("wait")

    # SNAT: cmp1's qrouter sends to the subnet's sg- address, through VNI 1010 to gw1, the
    # active gateway, whose snat namespace translates to the qg- address.
    t = trace(sb, "a1", internet)
    assert t["result"] == "forwarded", t
    (vx,) = hops(t, "vxlan")
    assert vx["host"] == "cmp1" and vx["attrs"]["remote_host"] == "gw1" and vx["attrs"]["remote_vtep"] == vtep(sb, "gw1")
    (gw,) = hops(t, "gateway")
    assert gw["host"] == "gw1" and gw["attrs"]["role"] == "active" and gw["attrs"]["active_host"] == "gw1"
    assert gw["attrs"]["gateways"] == "gw1,gw2"
    rows = sb.osc_json("network", "agent", "list", "--router", "dvr-r1", "--long")
    assert {r["Host"]: r["HA State"] for r in rows} == {"gw1": "active", "gw2": "standby"}, rows
    (snat,) = hops(t, "snat")
    assert snat["namespace"] == "snat-" + router and snat["attrs"]["sg_device"].startswith("sg-")
    assert snat["attrs"]["qg_device"].startswith("qg-")
    (nat,) = hops(t, "nat")
    gw_info = sb.osc_json("router", "show", "dvr-r1")["external_gateway_info"]
    qg_ip = gw_info["external_fixed_ips"][0]["ip_address"]
    assert nat["host"] == "gw1" and nat["attrs"]["address"] == qg_ip
    # The hop names the nftables rule it stands for: table ip nt-snat, chain postrouting,
    # the router's internal subnets translated to the qg- address.
    assert nat["namespace"] == "snat-" + router and nat["device"] == snat["attrs"]["qg_device"]
    assert nat["detail"].startswith("SNAT ") and nat["detail"].endswith(f" to {qg_ip} (ip nt-snat postrouting)"), nat
    cidrs = nat["detail"][len("SNAT "):-len(f" to {qg_ip} (ip nt-snat postrouting)")]
    assert sorted(cidrs.split(", ")) == ["10.10.10.0/24", "192.168.10.0/24"], nat
    # and that rule is in gw1's kernel: --live finds "snat to QG_IP" in the table's listing.
    t = trace(sb, "a1", internet, "--live")
    (nat,) = hops(t, "nat")
    assert nat["live"] == "ok", nat
    assert hops(t, "external")[0]["attrs"]["source"] == qg_ip
    assert not hops(t, "fip")

    # A floating IP on b1 (cmp2): its traffic leaves from cmp2's fip namespace as the floating IP.
    fip = sb.osc_json("floating", "ip", "create", "public", "--port", port_of(sb, "b1"))["floating_ip_address"]
    sb.run("wait")
    t = trace(sb, "b1", internet)
    assert t["result"] == "forwarded", t
    assert not hops(t, "snat") and not hops(t, "gateway")
    (nat,) = hops(t, "nat")
    assert nat["host"] == "cmp2" and nat["attrs"]["address"] == fip and nat["namespace"] == "qrouter-" + router
    (f,) = hops(t, "fip")
    public = sb.osc_json("network", "show", "public")["id"]
    assert f["host"] == "cmp2" and f["namespace"] == "fip-" + public and f["device"].startswith("fg-")
    assert hops(t, "route")[0]["attrs"]["table"] == "16"
    assert hops(t, "external")[0]["attrs"]["source"] == fip

    # Inbound from the internet to the floating IP: dropped by the default group (it admits
    # only its members), delivered once ICMP is allowed in.
    t = trace(sb, "b1", fip, "--from", internet)
    assert t["result"].startswith("dropped: ingress security group"), t
    assert hops(t, "secgroup")[0]["attrs"]["verdict"] == "drop"
    icmp_rule = sb.osc_json("security", "group", "rule", "create", "default", "--protocol", "icmp")["id"]
    t = trace(sb, "b1", fip, "--from", internet, "--live")
    assert t["result"] == "delivered", t
    (nat,) = hops(t, "nat")
    assert nat["host"] == "cmp2" and nat["attrs"]["address"] == sb.vm_ip("b1") and nat["attrs"]["floating_ip"] == fip
    assert hops(t, "fip")[0]["device"].startswith("fg-")
    (sg,) = hops(t, "secgroup")
    assert sg["attrs"]["verdict"] == "allow" and sg["attrs"]["direction"] == "ingress"
    assert sg["attrs"]["rule"] == icmp_rule and f"(rule {icmp_rule[:8]})" in sg["detail"], sg
    assert t["live"] == "ok", [h for h in t["hops"] if h["live"] not in (None, "ok")]
    # The trace agrees with the data plane.
    assert sb.run("exec", "internet", "ping", "-c", "1", "-W", "2", fip, check=False).returncode == 0


def test_trace_live_shows_a_deleted_fdb_entry(sb):
    seed(sb)
    a3_mac = sb.osc_json("port", "show", port_of(sb, "a3"))["mac_address"]
    t = trace(sb, "a1", sb.vm_ip("a3"), "--live")
    assert t["live"] == "ok", t
    assert all(h["live"] == "ok" for h in t["hops"] if h["what"] in ("vxlan", "arp")), t

    # The entry for a3's MAC on cmp1's vxlan-1010 deleted by hand: cmp1 shows it missing.
    # (The agent's next periodic pass puts it back: retried if that pass came in between.)
    # The human output, run in the same window (the entry still deleted), names the host
    # and the missing entry on the hop's line and the mismatch on the result line.
    cmp1 = sb.ns("cmp1")
    fdb = ["ip", "netns", "exec", cmp1, "bridge", "fdb"]
    missing = f"missing: fdb {a3_mac} dev vxlan-1010 dst {vtep(sb, 'cmp2')}"

    def human():
        r = subprocess.run([str(NEUTRINO), "trace", "a1", sb.vm_ip("a3"), "--live", "--url", url(sb)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    for _ in range(5):
        sh(*fdb, "del", a3_mac, "dev", "vxlan-1010", "dst", vtep(sb, "cmp2"), check=False)
        t = trace(sb, "a1", sb.vm_ip("a3"), "--live")
        if t["live"] != "mismatch":
            continue
        out = human()
        if "(live: mismatch)" in out:
            break
    assert t["live"] == "mismatch", t
    (vx,) = hops(t, "vxlan")
    assert vx["host"] == "cmp1"
    assert vx["live"] == missing
    assert [h for h in t["hops"] if h["live"] not in (None, "ok")] == [vx]

    lines = out.splitlines()
    assert lines[-1] == "result: delivered (live: mismatch)", out
    marked = [line for line in lines if "[missing" in line]
    assert len(marked) == 1, out
    cols = marked[0].split()
    assert cols[1:3] == ["cmp1", "vxlan"] and marked[0].endswith(f"  [{missing}]"), out
    assert all(line.endswith("  [ok]") for line in lines[1:-1] if "[" in line and line != marked[0]), out
    # The agent repairs it on its next pass, and the trace is clean again.
    wait_for(lambda: a3_mac in sh(*fdb, "show", "dev", "vxlan-1010").stdout, 15, "the agent to restore the FDB entry")
    wait_for(lambda: trace(sb, "a1", sb.vm_ip("a3"), "--live")["live"] == "ok", 15, "a clean live trace")
