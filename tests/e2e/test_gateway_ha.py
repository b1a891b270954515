"""Gateway high availability (issue 15) on the real kernel: 2 computes and 3 gateway hosts
in a sandbox of its own per test, BFD inside the tunnels (neutrino-bfd on every host), the
real openstack CLI for the router and `ha_state`. Seed 004 replayed: the active gateway
host's VXLAN traffic is dropped on INPUT and the router moves, counted in lost pings from a
VM pinging the internet host every 10 ms. Needs root."""
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from nt_e2e import read_until, sh, wait_for
from nt_sandbox import Sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-s*)")

INTERNET = "203.0.113.1"


@pytest.fixture
def sandbox(tmp_path):
    s = Sandbox(tmp_path)
    s.tmp = tmp_path
    try:
        s.run("up", "--port", "0", "--computes", "2", "--gateways", "3", "--agent-down-time", "3", timeout=120)
        yield s
    finally:
        s.run("down", check=False, timeout=120)
        assert not s.namespaces(), f"sandbox down left {s.namespaces()}"


def routed_vm(sb):
    """a1 on cmp1 behind a distributed router with a gateway on public (3 gateway hosts)."""
    sb.osc("network", "create", "--provider-network-type", "vxlan", "net1")
    sb.osc("subnet", "create", "--network", "net1", "--subnet-range", "10.50.0.0/24", "sub1")
    router = sb.osc_json("router", "create", "--distributed", "r1")["id"]
    sb.osc("router", "add", "subnet", "r1", "sub1")
    sb.osc("router", "set", "--external-gateway", "public", "r1")
    sb.osc("security", "group", "rule", "create", "default", "--protocol", "icmp")
    sb.run("vm", "create", "a1", "--host", "cmp1", "--network", "net1")
    wait_for(lambda: sb.pings("a1", INTERNET), 20, "a1 to reach the internet host through SNAT")
    return router


def ha_states(sb):
    """host -> ha_state, as `openstack network agent list --router r1 --long` shows them."""
    return {a["Host"]: a.get("HA State") for a in sb.osc_json("network", "agent", "list", "--router", "r1", "--long")}


def api_ha_states(sb, router):
    """host -> ha_state from GET /v2.0/routers/{id}/l3-agents (what the CLI shows, without its start-up time)."""
    url = f"http://127.0.0.1:{sb.state()['port']}/v2.0/routers/{router}/l3-agents"
    with urllib.request.urlopen(url, timeout=5) as r:
        return {a["host"]: a.get("ha_state") for a in json.load(r)["agents"]}


def active_host(sb, router=None):
    states = api_ha_states(sb, router) if router else ha_states(sb)
    active = [h for h, s in states.items() if s == "active"]
    return active[0] if len(active) == 1 else None


def bfd_up(sb, host, peers):
    """Whether the host's BFD daemon has sessions up with at least `peers` hosts."""
    log = sb.tmp / "sandbox" / f"{host}.log"
    return len(set(re.findall(r"BFD session with (\S+): up", log.read_text()))) >= peers if log.exists() else False


def start_pings(sb, count, steady=0):
    """The VM pings the internet host every 10 ms; returns the process once `steady` replies
    came (the flow runs before a fault is injected)."""
    p = subprocess.Popen(sb.args + ["vm", "exec", "a1", "ping", "-n", "-i", "0.01", "-c", str(count), "-W", "1", INTERNET],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    p.head = []
    while sum("bytes from" in l for l in p.head) < steady:
        line = p.stdout.readline()
        assert line, "".join(p.head)
        p.head.append(line)
    return p


def lost(p, timeout):
    out, _ = p.communicate(timeout=timeout)
    out = "".join(p.head) + out
    m = re.search(r"(\d+) packets transmitted, (\d+) (packets )?received", out)
    assert m, out
    return int(m.group(1)) - int(m.group(2))


def block_vxlan(sb, host):
    """Seed 004's fault: the host's tunnel traffic dropped on INPUT (UDP 4789)."""
    for cmd in (["add", "table", "inet", "nt-fault"],
                ["add", "chain", "inet", "nt-fault", "in", "{ type filter hook input priority -10; }"],
                ["add", "rule", "inet", "nt-fault", "in", "udp", "dport", "4789", "drop"]):
        sb.run("exec", host, "nft", *cmd)


def unblock_vxlan(sb, host):
    sb.run("exec", host, "nft", "delete", "table", "inet", "nt-fault")


def start_arp_watch(sb, gw_ip, seconds):
    """The internet host asks for the router's gateway IP every 20 ms (broadcast, -b) while
    tcpdump in the fabric, on each gateway host's cable to the external switch, records
    who answers: (capture processes, arping)."""
    caps = {h: subprocess.Popen(["ip", "netns", "exec", sb.ns("fabric"), "timeout", str(seconds + 2), "tcpdump", "-i",
                                 f"{h}-ex", "-n", "-l", "-tt", f"arp and arp[6:2] == 2 and arp[14:4] == 0x{ip_hex(gw_ip)}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for h in ("gw1", "gw2", "gw3")}
    for h, c in caps.items():  # tcpdump says when it listens
        read_until(c.stderr, "listening", f"tcpdump on {h}-ex")
    arping = subprocess.Popen(sb.args + ["exec", "internet", "python3", "-c", ARP_ASKER, gw_ip, str(int(seconds / 0.02))],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return caps, arping


# Broadcasts an ARP request for argv[1] from the internet host's eth0 every 20 ms, argv[2] times
# (iputils arping takes whole seconds only).
ARP_ASKER = """
import socket, sys, time
ip = bytes(int(x) for x in sys.argv[1].split("."))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
mac = s.getsockname()[4]
me = bytes([203, 0, 113, 1])
frame = b"\\xff" * 6 + mac + b"\\x08\\x06" + bytes([0, 1, 8, 0, 6, 4, 0, 1]) + mac + me + b"\\x00" * 6 + ip
for _ in range(int(sys.argv[2])):
    s.send(frame)
    time.sleep(0.02)
"""


def ip_hex(ip):
    return "".join(f"{int(x):02x}" for x in ip.split("."))


def double_answer_time(caps, arping):
    """The longest time during which two gateway hosts both answered ARP for the gateway IP
    (answers from two hosts within one 20 ms request interval count as both answering)."""
    arping.wait(60)
    times = {}
    for h, c in caps.items():
        out, _ = c.communicate(timeout=30)
        out = getattr(c, "head", "") + out
        times[h] = [float(l.split()[0]) for l in out.splitlines() if l.strip()]
    slots = {h: {int(t / 0.02) for t in ts} for h, ts in times.items()}
    both = sorted(s for s in set().union(*slots.values()) if sum(s in v for v in slots.values()) > 1)
    longest, run = 0, 0
    for a, b in zip([None] + both, both):
        run = run + 1 if a is not None and b == a + 1 else 1
        longest = max(longest, run)
    return longest * 0.02, {h: len(ts) for h, ts in times.items()}


def test_seed_004_blocked_tunnels_move_the_router_in_under_half_a_second_and_it_stays(sandbox):
    sb = sandbox
    router = routed_vm(sb)
    first = wait_for(lambda: active_host(sb), 10, "one active gateway host")
    wait_for(lambda: all(bfd_up(sb, h, 1) for h in ("cmp1", "gw1", "gw2", "gw3")), 20, "BFD sessions up")
    gw_ip = sb.osc_json("router", "show", "r1")["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    pings = start_pings(sb, 1000, steady=100)  # 10 s, the fault after 1 s
    caps, arping = start_arp_watch(sb, gw_ip, 4)
    caps[first].head = caps[first].stdout.readline()  # the active host answers: the watch runs
    block_vxlan(sb, first)
    blocked = time.monotonic()
    second = wait_for(lambda: (lambda a: a if a and a != first else None)(active_host(sb, router)), 10, "a new active host")
    took = time.monotonic() - blocked
    loss = lost(pings, 30)
    overlap, answers = double_answer_time(caps, arping)
    print(f"failover: {loss} pings lost at 10 ms, ha_state showed {second} after {took:.2f} s; "
          f"ARP answers {answers}, two hosts answering for {overlap:.2f} s")
    assert answers[first] > 0 and answers[second] > 0, answers  # both seen answering, one after the other
    assert overlap <= 0.3, f"two hosts answered ARP for the gateway IP for {overlap:.2f} s"
    assert loss <= 50, f"{loss} pings lost (10 ms apart) when {first} lost its tunnels"
    assert took < 2, f"ha_state followed after {took:.1f} s"
    assert active_host(sb) == second  # as the CLI shows it
    # The external side sees the same gateway address: the router's, from the new host.
    assert sb.pings("a1", INTERNET)
    # The tunnels come back: no failover back (preempt off), nothing lost.
    pings = start_pings(sb, 300)
    unblock_vxlan(sb, first)
    wait_for(lambda: bfd_up(sb, first, 1), 10, f"{first}'s sessions back")
    assert lost(pings, 30) == 0
    assert active_host(sb) == second


def test_agent_sigkill_on_the_active_gateway_causes_no_failover(sandbox):
    sb = sandbox
    routed_vm(sb)
    first = wait_for(lambda: active_host(sb), 10, "one active gateway host")
    wait_for(lambda: all(bfd_up(sb, h, 1) for h in ("cmp1", "gw1", "gw2", "gw3")), 20, "BFD sessions up")
    pings = start_pings(sb, 500, steady=50)
    sb.run("host", "restart-agent", first, "--kill")
    sb.run("wait", timeout=60)
    assert lost(pings, 30) == 0
    assert active_host(sb) == first


ECHO_SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("203.0.113.1", 7000)); s.listen(4); s.settimeout(60)
print("listening", flush=True)
c, peer = s.accept(); c.settimeout(30)
print("peer", peer[0], peer[1], flush=True)
while True:
    data = c.recv(65536)
    if not data: break
    c.sendall(data)
print("closed", flush=True)
"""

# Sends a numbered line every 10 ms for `seconds` and reads the echoes; prints how it ended.
ECHO_CLIENT = """
import socket, sys, time
c = socket.create_connection(("203.0.113.1", 7000), timeout=5); c.settimeout(10)
print("connected", flush=True)
sent, got, buf, end, steady = 0, 0, b"", time.monotonic() + float(sys.argv[1]), False
try:
    while time.monotonic() < end:
        c.sendall(b"%d\\n" % sent); sent += 1
        c.setblocking(False)
        try:
            buf += c.recv(65536)
        except BlockingIOError:
            pass
        c.settimeout(10)
        if not steady and buf.count(b"\\n") >= 50:
            steady = True
            print("steady", flush=True)
        time.sleep(0.01)
    c.shutdown(socket.SHUT_WR)
    while True:
        data = c.recv(65536)
        if not data: break
        buf += data
    got = buf.count(b"\\n")
    print("done", sent, got, flush=True)
except OSError as e:
    print("error", type(e).__name__, e, sent, flush=True)
"""


def test_a_tcp_session_through_snat_survives_the_failover_without_reset(sandbox):
    sb = sandbox
    routed_vm(sb)
    gw_ip = sb.osc_json("router", "show", "r1")["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    first = wait_for(lambda: active_host(sb), 10, "one active gateway host")
    wait_for(lambda: all(bfd_up(sb, h, 1) for h in ("cmp1", "gw1", "gw2", "gw3")), 20, "BFD sessions up")
    server = subprocess.Popen(sb.args + ["exec", "internet", "python3", "-u", "-c", ECHO_SERVER],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout.readline().strip() == "listening"
        client = subprocess.Popen(sb.args + ["vm", "exec", "a1", "python3", "-u", "-c", ECHO_CLIENT, "6"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert client.stdout.readline().strip() == "connected"
        peer = server.stdout.readline().split()
        assert peer[:2] == ["peer", gw_ip], peer
        assert client.stdout.readline().strip() == "steady"  # 50 echoes: the session runs
        block_vxlan(sb, first)
        out, _ = client.communicate(timeout=60)
        ended = out.split()
        print(f"tcp across failover: {out.strip()}")
        assert ended[0] == "done" and ended[1] == ended[2], out
        rest, _ = server.communicate(timeout=30)
        assert "closed" in rest and "peer" not in rest, rest  # one connection, never a new one
        assert active_host(sb) != first
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(5)


def crash(sb, host):
    """The host dies: its agent and BFD daemon SIGKILLed, its underlay and external links down."""
    agent = next(h["agent_pid"] for h in sb.state()["hosts"] if h["name"] == host)
    bfd = int((sb.tmp / "sandbox" / f"{host}.bfd.sock.pid").read_text())
    for pid, program in ((agent, "neutrino-agent"), (bfd, "neutrino-bfd")):
        assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(program.encode())
        os.kill(pid, signal.SIGKILL)
    for dev in ("eth0", "ex0"):
        sh("ip", "-n", sb.ns(host), "link", "set", dev, "down")


@pytest.mark.parametrize("fault", ["crash", "underlay_down"])
def test_a_crashed_or_cut_off_active_gateway_moves_the_router(sandbox, fault):
    sb = sandbox
    router = routed_vm(sb)
    first = wait_for(lambda: active_host(sb), 10, "one active gateway host")
    wait_for(lambda: all(bfd_up(sb, h, 1) for h in ("cmp1", "gw1", "gw2", "gw3")), 20, "BFD sessions up")
    pings = start_pings(sb, 800, steady=100)
    if fault == "crash":
        crash(sb, first)
    else:
        sh("ip", "-n", sb.ns(first), "link", "set", "eth0", "down")
    second = wait_for(lambda: (lambda a: a if a and a != first else None)(active_host(sb, router)), 10, "a new active host")
    loss = lost(pings, 30)
    print(f"{fault}: {loss} pings lost at 10 ms, {second} active")
    assert loss <= 50, f"{loss} pings lost (10 ms apart) when {first} failed ({fault})"
    if fault == "underlay_down":
        # Cut off from every peer, the old active holds no gateway address any more.
        snat_ns = sb.ns(first) + "-snat-" + router
        wait_for(lambda: "203.0.113." not in sh("ip", "-n", snat_ns, "-4", "-br", "addr").stdout, 5, f"{first} to step down")


def test_with_preempt_a_recovered_gateway_takes_its_router_back_in_one_planned_switch(tmp_path):
    sb = Sandbox(tmp_path)
    sb.tmp = tmp_path
    try:
        sb.run("up", "--port", "0", "--computes", "2", "--gateways", "3", "--agent-down-time", "3", "--ha-preempt", timeout=120)
        router = routed_vm(sb)
        first = wait_for(lambda: active_host(sb), 10, "one active gateway host")
        wait_for(lambda: all(bfd_up(sb, h, 1) for h in ("cmp1", "gw1", "gw2", "gw3")), 20, "BFD sessions up")
        block_vxlan(sb, first)
        wait_for(lambda: (lambda a: a if a and a != first else None)(active_host(sb, router)), 10, "a new active host")
        pings = start_pings(sb, 500, steady=50)
        unblock_vxlan(sb, first)
        wait_for(lambda: active_host(sb, router) == first, 10, f"{first} to take the router back")
        loss = lost(pings, 30)
        print(f"preempt: switch back to {first} lost {loss} pings at 10 ms")
        assert loss <= 50
    finally:
        sb.run("down", check=False, timeout=120)
        assert not sb.namespaces(), f"sandbox down left {sb.namespaces()}"


def underlay_ip(host):
    n = int(host[2:])
    return f"198.51.100.{100 + n if host.startswith('gw') else 10 + n}"


def holders(sb, router):
    """Gateway hosts whose snat namespace holds an external (203.0.113.x) address now."""
    out = set()
    for h in ("gw1", "gw2", "gw3"):
        r = subprocess.run(["ip", "-n", sb.ns(h) + "-snat-" + router, "-4", "-br", "addr"], capture_output=True, text=True)
        if "203.0.113." in r.stdout:
            out.add(h)
    return out


def test_a_partition_between_gateways_that_all_still_see_the_computes_makes_no_second_active(sandbox):
    sb = sandbox
    router = routed_vm(sb)
    first = wait_for(lambda: active_host(sb), 10, "one active gateway host")
    others = [h for h in ("gw1", "gw2", "gw3") if h != first]
    wait_for(lambda: all(bfd_up(sb, h, 3) for h in ("gw1", "gw2", "gw3")), 20, "every gateway's 3 BFD sessions up")
    pings = start_pings(sb, 400, steady=50)
    # The gateways lose each other (each drops the other's VXLAN); all still reach cmp1.
    sb.run("exec", first, "nft", "add", "table", "inet", "nt-fault")
    sb.run("exec", first, "nft", "add", "chain", "inet", "nt-fault", "in", "{ type filter hook input priority -10; }")
    for o in others:
        sb.run("exec", first, "nft", "add", "rule", "inet", "nt-fault", "in", "ip", "saddr", underlay_ip(o), "udp", "dport", "4789", "drop")
        sb.run("exec", o, "nft", "add", "table", "inet", "nt-fault")
        sb.run("exec", o, "nft", "add", "chain", "inet", "nt-fault", "in", "{ type filter hook input priority -10; }")
        sb.run("exec", o, "nft", "add", "rule", "inet", "nt-fault", "in", "ip", "saddr", underlay_ip(first), "udp", "dport", "4789", "drop")
    # Until the pings end (about 3.5 s, several detection times): one holder only, the same one.
    seen = []
    while pings.poll() is None:
        seen.append(holders(sb, router))
        time.sleep(0.05)  # a sampling interval, not a wait for readiness
    loss = lost(pings, 30)
    assert wait_for(lambda: "neighbor_signaled_session_down" in (sb.tmp / "sandbox" / f"{others[0]}.log").read_text()
                    or "control_detection_time_expired" in (sb.tmp / "sandbox" / f"{others[0]}.log").read_text(), 5,
                    "the partition to be seen by BFD")
    print(f"partition: {len(seen)} samples, holders {set(map(frozenset, seen))}, {loss} pings lost")
    assert all(s == {first} for s in seen), seen
    assert loss == 0
    assert active_host(sb, router) == first
    for h in [first] + others:
        unblock_vxlan(sb, h)


def api(sb, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{sb.state()['port']}/v2.0/{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def test_failing_one_of_three_gateways_moves_only_its_routers_and_the_others_flows_lose_nothing(sandbox):
    sb = sandbox
    public = sb.osc_json("network", "show", "public")["id"]
    sb.osc("security", "group", "rule", "create", "default", "--protocol", "icmp")
    api(sb, "PUT", "quotas/fake_project_id", {"quota": {"router": 50}})  # Neutron's default is 10
    routers = {}
    for i in range(20):
        net = api(sb, "POST", "networks", {"network": {"name": f"n{i}"}})["network"]["id"]
        sub = api(sb, "POST", "subnets", {"subnet": {"network_id": net, "ip_version": 4, "cidr": f"10.60.{i}.0/24"}})["subnet"]["id"]
        r = api(sb, "POST", "routers", {"router": {"name": f"r{i}", "distributed": True,
                                                  "external_gateway_info": {"network_id": public}}})["router"]["id"]
        api(sb, "PUT", f"routers/{r}/add_router_interface", {"subnet_id": sub})
        routers[r] = f"n{i}"
    before = {r: wait_for(lambda r=r: active_host(sb, r), 20, f"router {r}'s active host") for r in routers}
    assert len(set(before.values())) == 3, before  # spread over the three gateways
    failed = before[next(iter(routers))]
    kept = [r for r in routers if before[r] != failed]
    # A VM behind each of two routers that stay where they are, pinging the internet host.
    for vm, (r, host) in zip(("a1", "b1"), ((kept[0], "cmp1"), (kept[-1], "cmp2"))):
        sb.run("vm", "create", vm, "--host", host, "--network", routers[r])
    for vm in ("a1", "b1"):
        wait_for(lambda vm=vm: sb.pings(vm, INTERNET), 20, f"{vm} to reach the internet host")
    wait_for(lambda: all(bfd_up(sb, h, 2) for h in ("cmp1", "cmp2", "gw1", "gw2", "gw3")), 20, "BFD sessions up")
    flows = [subprocess.Popen(sb.args + ["vm", "exec", vm, "ping", "-n", "-i", "0.01", "-c", "500", "-W", "1", INTERNET],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for vm in ("a1", "b1")]
    for p in flows:
        p.head = []
    block_vxlan(sb, failed)
    moved = {r for r in routers if before[r] == failed}
    wait_for(lambda: all(active_host(sb, r) not in (None, failed) for r in moved), 10, f"{failed}'s routers to move")
    after = {r: active_host(sb, r) for r in routers}
    assert all(after[r] == before[r] for r in kept), (before, after)
    losses = [lost(p, 30) for p in flows]
    print(f"20 routers: {len(moved)} moved off {failed}, the others' flows lost {losses}")
    assert losses == [0, 0]
