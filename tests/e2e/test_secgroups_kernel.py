"""Security groups enforced on every host (issue 14), on the real kernel in a sandbox of its
own per test, driven by the real openstack CLI and checked the way a user would: TCP
connects, pings and UDP datagrams between VMs and from the internet host, counted at the
receiver. Needs root."""
import os
import signal
import subprocess
import time

import pytest
import requests

from nt_e2e import sh, start_capture, start_flood, wait_for
from nt_sandbox import start_sandbox, stop_sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-s*)")

# One TCP connect attempt: prints "open" or why not.
CONNECT = """import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
    print("open")
except OSError as e:
    print("closed", e)
"""

# A TCP session sending a byte every 20 ms for argv[3] seconds; prints the wall-clock time of
# every echo it gets back, one per line, then "ended <time>".
SESSION = """import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
s.settimeout(0.2)
end = time.time() + float(sys.argv[3])
print("connected", flush=True)
while time.time() < end:
    try:
        s.sendall(b"x")
        if s.recv(64):
            print(time.time(), flush=True)
    except OSError:
        pass
    time.sleep(0.02)
print("ended", time.time(), flush=True)
"""

# Prints the source address of every UDP datagram to argv[1] for argv[2] seconds.
UDP_SINK = """import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.settimeout(0.2)
print("listening", flush=True)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        data, (ip, port) = s.recvfrom(64)
        print(ip, data.decode(errors="replace"), flush=True)
    except OSError:
        pass
"""

# Sends argv[4] datagrams to argv[1]:argv[2] from address argv[3].
UDP_SEND = """import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[3], 0))
for i in range(int(sys.argv[4])):
    s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
"""


@pytest.fixture
def sandbox(tmp_path):
    s = start_sandbox(tmp_path)
    try:
        yield s
    finally:
        stop_sandbox(s)


def vm_ns(sb, vm):
    return sb.ns("vm-" + vm) if vm != "internet" else sb.ns("internet")


def in_ns(sb, where, *argv, timeout=20):
    return subprocess.run(["ip", "netns", "exec", vm_ns(sb, where), *argv], capture_output=True, text=True,
                          timeout=timeout)


def background(sb, where, *argv):
    p = subprocess.Popen(["ip", "netns", "exec", vm_ns(sb, where), *argv], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    sb.procs.append(p)
    return p


def tcp_open(sb, where, ip, port, timeout=1.0):
    return in_ns(sb, where, "python3", "-c", CONNECT, ip, str(port), str(timeout)).stdout.startswith("open")


def pings(sb, where, ip):
    return in_ns(sb, where, "ping", "-c", "1", "-W", "1", ip).returncode == 0


def echo_server(sb, vm, port):
    """socat echoing every connection to `port` in the VM, for at most 5 minutes."""
    background(sb, vm, "timeout", "300", "socat", f"TCP-LISTEN:{port},reuseaddr,fork", "EXEC:cat")
    wait_for(lambda: f":{port} " in in_ns(sb, vm, "ss", "-ltn").stdout, 10, f"{vm} to listen on {port}")


def port_of(sb, vm):
    return next(v["port_id"] for v in sb.state()["vms"] if v["name"] == vm)


def network(sb, name, cidr, router=False):
    sb.osc("network", "create", name)
    sb.osc("subnet", "create", "--subnet-range", cidr, "--network", name, name + "-sub")
    if router:
        sb.osc("router", "create", "--distributed", "r-" + name)
        sb.osc("router", "add", "subnet", "r-" + name, name + "-sub")
        sb.osc("router", "set", "--external-gateway", "public", "r-" + name)


def vm(sb, name, host, net):
    sb.run("vm", "create", name, "--host", host, "--network", net)
    return sb.vm_ip(name)


def api(sb):
    s = requests.Session()
    s.base = f"http://127.0.0.1:{sb.state()['port']}/v2.0"
    return s


def test_default_group_lets_the_project_in_and_the_internet_only_by_rule(sandbox):
    sb = sandbox
    network(sb, "n1", "10.61.0.0/24", router=True)
    a_ip, b_ip = vm(sb, "a", "cmp1", "n1"), vm(sb, "b", "cmp2", "n1")
    # Two VMs of one project in `default` reach each other, across hosts.
    assert pings(sb, "a", b_ip) and pings(sb, "b", a_ip)
    fip = sb.osc_json("floating", "ip", "create", "public", "--port", port_of(sb, "b"))["floating_ip_address"]
    echo_server(sb, "b", 22)
    sb.run("wait")
    assert not tcp_open(sb, "internet", fip, 22), "the internet host reached b before any rule allowed it"
    assert not pings(sb, "internet", fip)
    sb.osc("security", "group", "rule", "create", "default", "--protocol", "tcp", "--dst-port", "22")
    sb.run("wait")
    assert tcp_open(sb, "internet", fip, 22)
    # Only TCP 22: ICMP still not, until it is allowed too.
    assert not pings(sb, "internet", fip)
    assert not tcp_open(sb, "internet", fip, 23)
    sb.osc("security", "group", "rule", "create", "default", "--protocol", "icmp")
    sb.run("wait")
    assert pings(sb, "internet", fip)
    # What the host built: one table per family for the whole host, a zone per network.
    tables = sh("ip", "netns", "exec", sb.ns("cmp2"), "nft", "list", "tables").stdout
    assert "table bridge nt-sg" in tables and "table inet nt-sg" in tables, tables


def session_result(out):
    """(echo times, end time) of a SESSION's output."""
    lines = out.splitlines()
    ended = [float(l.split()[1]) for l in lines if l.startswith("ended ")]
    assert ended, f"the session did not run to its end: {out}"
    return [float(l) for l in lines if l[:1].isdigit()], ended[0]


def start_session(sb, ip, port, seconds):
    session = background(sb, "internet", "python3", "-u", "-c", SESSION, ip, str(port), str(seconds))
    wait_for(lambda: session.stdout.readline().startswith("connected"), 10, f"the session to {port} to connect")
    assert session.stdout.readline()[:1].isdigit(), f"the session to {port} echoes nothing"
    return session


def test_stateful_replies_pass_and_a_removed_rule_cuts_its_connections(sandbox):
    sb = sandbox
    network(sb, "n1", "10.62.0.0/24", router=True)
    vm(sb, "a", "cmp1", "n1")
    # No ingress rule lets the internet in, but the replies to a's own connection come back.
    background(sb, "internet", "timeout", "300", "socat", "TCP-LISTEN:8080,reuseaddr,fork", "EXEC:cat")
    wait_for(lambda: ":8080 " in in_ns(sb, "internet", "ss", "-ltn").stdout, 10, "the internet host to listen")
    assert tcp_open(sb, "a", "203.0.113.1", 8080)

    fip = sb.osc_json("floating", "ip", "create", "public", "--port", port_of(sb, "a"))["floating_ip_address"]
    echo_server(sb, "a", 5000)
    echo_server(sb, "a", 5001)
    rule = sb.osc_json("security", "group", "rule", "create", "default", "--protocol", "tcp", "--dst-port", "5000")
    sb.osc("security", "group", "rule", "create", "default", "--protocol", "tcp", "--dst-port", "5001")
    sb.run("wait")
    # Two sessions: one the rule that goes allows, one another rule allows.
    cut = start_session(sb, fip, 5000, 6)
    kept = start_session(sb, fip, 5001, 6)
    # The rule goes (straight to the API, so the CLI's start-up does not count; the clock
    # starts before the request): its session is cut within 1 s, the other one goes on.
    http = api(sb)
    deleted_at = time.time()
    r = http.delete(f"{http.base}/security-group-rules/{rule['id']}", timeout=10)
    assert r.status_code == 204, r.text
    echoes, ended = session_result(cut.communicate(timeout=20)[0])
    assert [t for t in echoes if deleted_at - 0.3 <= t <= deleted_at], "the session was not echoing when the rule went"
    assert ended > deleted_at + 1.5, f"the session ended {ended - deleted_at:.2f} s after the delete: too soon to show a cut"
    late = [round(t - deleted_at, 2) for t in echoes if t > deleted_at + 1.0]
    assert not late, f"echoes {late} s after the rule was deleted"
    echoes, ended = session_result(kept.communicate(timeout=20)[0])
    assert ended > deleted_at + 1.5
    around = [deleted_at - 0.3] + [t for t in echoes if t >= deleted_at - 0.3] + [ended]
    gaps = [b - a for a, b in zip(around, around[1:])]
    assert max(gaps) < 0.5, f"the session another rule allows stalled {max(gaps):.2f} s around the cut"
    assert not tcp_open(sb, "internet", fip, 5000)
    assert tcp_open(sb, "internet", fip, 5001)


def set_groups(sb, vm_name, *groups):
    args = ["port", "set", "--no-security-group"]
    for g in groups:
        args += ["--security-group", g]
    sb.osc(*args, port_of(sb, vm_name))


def test_remote_group_admits_members_only_and_new_members_at_once(sandbox):
    sb = sandbox
    network(sb, "n1", "10.63.0.0/24")
    for g in ("web", "db"):
        sb.osc("security", "group", "create", g)
    rule = sb.osc_json("security", "group", "rule", "create", "db", "--protocol", "tcp", "--dst-port", "5432",
                       "--remote-group", "web")
    vm(sb, "w1", "cmp1", "n1")
    vm(sb, "w2", "cmp1", "n1")
    d1 = vm(sb, "d1", "cmp2", "n1")
    set_groups(sb, "w1", "web")
    set_groups(sb, "d1", "db")
    echo_server(sb, "d1", 5432)
    sb.run("wait")
    assert tcp_open(sb, "w1", d1, 5432)
    assert not tcp_open(sb, "w2", d1, 5432), "w2 is not in web yet"
    assert not tcp_open(sb, "w1", d1, 5433), "only 5432 is allowed"
    set_groups(sb, "w2", "web")
    sb.run("wait")
    assert tcp_open(sb, "w2", d1, 5432), "w2 joined web: it must get in at once"
    sb.osc("security", "group", "rule", "delete", rule["id"])
    sb.run("wait")
    assert not tcp_open(sb, "w1", d1, 5432)


def udp_received(sb, receiver, sends, port=7000):
    """The source addresses `receiver` got while `sends` ran."""
    sink = background(sb, receiver, "python3", "-u", "-c", UDP_SINK, str(port), "3")
    assert sink.stdout.readline().startswith("listening")
    sends()
    out, _ = sink.communicate(timeout=10)
    return [l.split()[0] for l in out.splitlines() if l.strip()]


def udp_from(sb, vm_name, dst, src, count=5, port=7000):
    r = in_ns(sb, vm_name, "python3", "-c", UDP_SEND, dst, str(port), src, str(count))
    assert r.returncode == 0, r.stdout + r.stderr


def test_spoofing_is_dropped_and_allowed_address_pairs_move(sandbox):
    sb = sandbox
    network(sb, "n1", "10.64.0.0/24")
    a, b = vm(sb, "a", "cmp1", "n1"), vm(sb, "b", "cmp2", "n1")
    c = vm(sb, "c", "cmp2", "n1")
    d = vm(sb, "d", "cmp1", "n1")
    # Two addresses no VM has (theirs are random ones of the pool).
    vip, fake = [ip for ip in (f"10.64.0.{i}" for i in range(200, 210)) if ip not in {a, b, c, d}][:2]
    # The receiver accepts any source of the network (so only the sender's host can drop it).
    sb.osc("security", "group", "rule", "create", "default", "--protocol", "udp", "--remote-ip", "10.64.0.0/24")
    sb.run("wait")
    in_ns(sb, "a", "ip", "addr", "add", fake + "/24", "dev", "eth0")

    def sends():
        udp_from(sb, "a", c, a)
        udp_from(sb, "a", c, fake)
    got = udp_received(sb, "c", sends)
    assert a in got and fake not in got, got
    # A changed MAC: nothing from it arrives, whatever the address.
    mac = in_ns(sb, "a", "cat", "/sys/class/net/eth0/address").stdout.strip()
    in_ns(sb, "a", "ip", "link", "set", "eth0", "address", "fa:16:3e:00:00:99")
    in_ns(sb, "a", "ip", "neigh", "replace", c, "lladdr", in_ns(sb, "c", "cat", "/sys/class/net/eth0/address").stdout.strip(),
          "dev", "eth0")
    assert udp_received(sb, "c", lambda: udp_from(sb, "a", c, a)) == []
    in_ns(sb, "a", "ip", "link", "set", "eth0", "address", mac)

    # A VIP moved between a (cmp1) and b (cmp2), keepalived-style: allowed on both ports,
    # announced with a gratuitous ARP by the holder; clients on both hosts follow it (ARP for
    # the VIP crosses the tunnels: the hosts' ARP tables cannot know who holds it).
    in_ns(sb, "a", "ip", "addr", "add", vip + "/24", "dev", "eth0")
    in_ns(sb, "a", "arping", "-U", "-c", "1", "-I", "eth0", vip)
    assert not pings(sb, "d", vip), "the VIP answered before it was an allowed address pair"
    # First a alone holds the pair: its own host must let its ARP replies out too.
    sb.osc("port", "set", "--allowed-address", f"ip-address={vip}", port_of(sb, "a"))
    sb.run("wait")
    in_ns(sb, "a", "arping", "-U", "-c", "1", "-I", "eth0", vip)
    wait_for(lambda: pings(sb, "d", vip), 10, "d to reach the VIP on a")
    wait_for(lambda: pings(sb, "c", vip), 10, "c on the other host to reach the VIP on a")
    assert pings(sb, "c", a), "a's own address from the other host"
    sb.osc("port", "set", "--allowed-address", f"ip-address={vip}", port_of(sb, "b"))
    sb.run("wait")
    in_ns(sb, "a", "ip", "addr", "del", vip + "/24", "dev", "eth0")
    in_ns(sb, "b", "ip", "addr", "add", vip + "/24", "dev", "eth0")
    in_ns(sb, "b", "arping", "-U", "-c", "1", "-I", "eth0", vip)
    wait_for(lambda: pings(sb, "d", vip), 10, "d to reach the VIP on b, across hosts")
    wait_for(lambda: pings(sb, "c", vip), 10, "c to reach the VIP on b")
    assert udp_received(sb, "c", lambda: udp_from(sb, "b", c, vip)) == [vip] * 5


def test_a_rogue_dhcp_server_gets_no_client(sandbox):
    sb = sandbox
    network(sb, "n1", "10.65.0.0/24")
    vm(sb, "rogue", "cmp1", "n1")
    vm(sb, "victim", "cmp1", "n1")
    # Whoever runs a DHCP server opens its port (else the requests never reach it).
    sb.osc("security", "group", "rule", "create", "default", "--protocol", "udp", "--dst-port", "67")
    sb.run("wait")
    conf = sb.tmp / "udhcpd.conf"
    conf.write_text(f"start 10.65.0.150\nend 10.65.0.160\ninterface eth0\nlease_file {sb.tmp}/rogue.leases\n"
                    "option subnet 255.255.255.0\noption router 10.65.0.99\n")
    (sb.tmp / "rogue.leases").write_text("")
    background(sb, "rogue", "timeout", "120", "busybox", "udhcpd", "-f", str(conf))
    tap = "tap" + port_of(sb, "rogue")[:11]
    # What the rogue sends, on its tap (before the bridge), and what the victim receives.
    sent = start_capture(["ip", "netns", "exec", sb.ns("cmp1"), "timeout", "6", "tcpdump", "-i", tap, "-n", "-l",
                          "udp src port 67"])
    seen = start_capture(["ip", "netns", "exec", vm_ns(sb, "victim"), "timeout", "6", "tcpdump", "-i", "eth0", "-n",
                          "-l", "-e", "udp src port 67"])
    # A fresh DISCOVER from the victim (a one-shot client; the sandbox's own keeps its lease).
    in_ns(sb, "victim", "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "3", "-T", "1", "-s", "/bin/true",
          timeout=20)
    sent_out, _ = sent.communicate(timeout=15)
    seen_out, _ = seen.communicate(timeout=15)
    rogue_mac = in_ns(sb, "rogue", "cat", "/sys/class/net/eth0/address").stdout.strip()
    assert "BOOTP/DHCP" in sent_out, f"the rogue server never answered: {sent_out}"
    assert rogue_mac not in seen_out, seen_out
    assert "BOOTP/DHCP" in seen_out, f"the host's own DHCP server did not answer: {seen_out}"


def test_port_security_disabled_passes_everything(sandbox):
    sb = sandbox
    network(sb, "n1", "10.66.0.0/24")
    x, y = vm(sb, "x", "cmp1", "n1"), vm(sb, "y", "cmp2", "n1")
    for name in ("x", "y"):
        sb.osc("port", "set", "--no-security-group", "--disable-port-security", port_of(sb, name))
    # Neutron's API rule: no security group on a port without port security.
    r = sb.osc("port", "set", "--security-group", "default", port_of(sb, "x"), check=False)
    assert r.returncode != 0 and "security" in r.stderr.lower(), r.stderr
    sb.run("wait")
    assert pings(sb, "x", y) and pings(sb, "y", x)
    spare = next(ip for ip in (f"10.66.0.{i}" for i in range(222, 230)) if ip not in {x, y})  # no VM's address
    in_ns(sb, "x", "ip", "addr", "add", spare + "/24", "dev", "eth0")
    assert udp_received(sb, "y", lambda: udp_from(sb, "x", y, spare)) == [spare] * 5
    # A MAC the port does not have passes too, from its own address and from another.
    in_ns(sb, "x", "ip", "link", "set", "eth0", "address", "fa:16:3e:00:00:98")
    assert mac_of(sb, "x") == "fa:16:3e:00:00:98"
    got = udp_received(sb, "y", lambda: (udp_from(sb, "x", y, x), udp_from(sb, "x", y, spare)))
    assert got == [x] * 5 + [spare] * 5, got


def test_agent_sigkill_drops_no_packet_of_an_allowed_flow(sandbox):
    sb = sandbox
    network(sb, "n1", "10.67.0.0/24")
    vm(sb, "a", "cmp1", "n1")
    b = vm(sb, "b", "cmp2", "n1")
    # Tables edited in place since they were made: the restarted agent must adopt them as they are.
    sb.osc("security", "group", "rule", "create", "default", "--protocol", "tcp", "--dst-port", "8080")
    sb.run("wait")
    for host in ("cmp1", "cmp2"):
        assert "change nftables table inet nt-sg" in (sb.tmp / "sandbox" / f"{host}.log").read_text(), host
    flood, started = start_flood(["ip", "netns", "exec", vm_ns(sb, "a"), "ping", "-i", "0.01", "-c", "500", "-W", "1", b])
    for host in ("cmp2", "cmp1"):
        sb.run("host", "restart-agent", host, "--kill")
    out = started + flood.communicate(timeout=30)[0]
    assert " 0% packet loss" in out, out
    for host in ("cmp1", "cmp2"):
        log = (sb.tmp / "sandbox" / f"{host}.log").read_text().split("registered host")[-1]
        wait_for(lambda: "first reconcile:" in (sb.tmp / "sandbox" / f"{host}.log").read_text().split("registered host")[-1],
                 15, f"{host}'s agent to reconcile")
        log = (sb.tmp / "sandbox" / f"{host}.log").read_text().split("registered host")[-1]
        assert "first reconcile: 0 changes" in log, log[-2000:]


def test_remote_address_group_admits_its_addresses_and_a_removed_one_is_cut(sandbox):
    sb = sandbox
    network(sb, "n1", "10.68.0.0/24", router=True)
    vm(sb, "a", "cmp1", "n1")
    fip = sb.osc_json("floating", "ip", "create", "public", "--port", port_of(sb, "a"))["floating_ip_address"]
    echo_server(sb, "a", 5000)
    sb.osc("address", "group", "create", "--address", "198.51.100.0/24", "partners")
    sb.osc("security", "group", "rule", "create", "default", "--protocol", "tcp", "--dst-port", "5000",
           "--remote-address-group", "partners")
    sb.run("wait")
    assert not tcp_open(sb, "internet", fip, 5000), "203.0.113.1 got in before it was in the address group"
    # The internet host's address joins the group: it gets in (to 5000 only).
    sb.osc("address", "group", "set", "--address", "203.0.113.1/32", "partners")
    sb.run("wait")
    assert tcp_open(sb, "internet", fip, 5000)
    assert not tcp_open(sb, "internet", fip, 5001)
    session = background(sb, "internet", "python3", "-u", "-c", SESSION, fip, "5000", "15")
    wait_for(lambda: session.stdout.readline().startswith("connected"), 10, "the session to connect")
    assert session.stdout.readline()[:1].isdigit(), "the session echoes nothing"
    # The address leaves the group (straight to the API, so the CLI's start-up does not
    # count; the clock starts before the request): the session is cut, and no new one gets in.
    http = api(sb)
    group = sb.osc_json("address", "group", "show", "partners")["id"]
    removed_at = time.time()
    r = http.put(f"{http.base}/address-groups/{group}/remove_addresses", timeout=10,
                 json={"addresses": ["203.0.113.1/32"]})
    assert r.status_code == 200, r.text
    echoes, ended = session_result(session.communicate(timeout=30)[0])
    assert ended > removed_at + 1.5, f"the session ended {ended - removed_at:.2f} s after the change: too soon to show a cut"
    late = [t - removed_at for t in echoes if t > removed_at + 1.0]
    assert not late, f"echoes {late} s after the address left the group"
    assert not tcp_open(sb, "internet", fip, 5000)


def v6_address(sb, vm_name):
    port = sb.osc_json("port", "show", port_of(sb, vm_name))
    return next(f["ip_address"] for f in port["fixed_ips"] if ":" in f["ip_address"])


def enable_ipv6(sb, vm_name, address):
    """The sandbox's VMs boot with IPv6 off (DHCPv6 is not served): turn it on, static address."""
    in_ns(sb, vm_name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.eth0.disable_ipv6=0")
    r = in_ns(sb, vm_name, "ip", "-6", "addr", "add", address + "/64", "dev", "eth0", "nodad")
    assert r.returncode == 0, r.stderr


def test_dual_stack_network_converges_and_ipv6_is_filtered_too(sandbox):
    sb = sandbox
    network(sb, "n1", "10.68.0.0/24")
    sb.osc("subnet", "create", "--ip-version", "6", "--subnet-range", "2001:db8:68::/64", "--network", "n1", "n1-sub6")
    # The hosts have IPv6 off: a dual-stack network still converges (every VM becomes ACTIVE
    # with every host applied, which `vm create` waits for).
    vm(sb, "a", "cmp1", "n1")
    vm(sb, "b", "cmp1", "n1")
    c4 = vm(sb, "c", "cmp2", "n1")
    assert pings(sb, "a", c4)
    a6, b6 = v6_address(sb, "a"), v6_address(sb, "b")
    enable_ipv6(sb, "a", a6)
    enable_ipv6(sb, "b", b6)
    # The default group lets its members in over IPv6 as over IPv4 (neighbour discovery passes).
    assert in_ns(sb, "a", "ping", "-6", "-c", "1", "-W", "2", b6).returncode == 0
    # From an address the port does not have: dropped on a's host.
    in_ns(sb, "a", "ip", "-6", "addr", "add", "2001:db8:68::999/64", "dev", "eth0", "nodad")
    assert in_ns(sb, "a", "ping", "-6", "-c", "1", "-W", "2", "-I", "2001:db8:68::999", b6).returncode != 0
    # A group with no IPv6 ingress rule: b is no longer reachable over IPv6.
    sb.osc("security", "group", "create", "v4only")
    sb.osc("security", "group", "rule", "create", "v4only", "--protocol", "icmp", "--ethertype", "IPv4")
    set_groups(sb, "b", "v4only")
    sb.run("wait")
    assert in_ns(sb, "a", "ping", "-6", "-c", "1", "-W", "2", b6).returncode != 0
    assert pings(sb, "a", sb.vm_ip("b"))


# Sends a gratuitous ARP (a request, then a reply, both broadcast) on argv[1] saying that
# IPv4 address argv[3] is at MAC argv[2]: a raw frame, whatever the interface's addresses.
GARP_SEND = """import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
mac, ip, bcast = bytes.fromhex(sys.argv[2].replace(":", "")), socket.inet_aton(sys.argv[3]), b"\\xff" * 6
for op, tha in ((1, bytes(6)), (2, bcast)):
    s.send(bcast + mac + b"\\x08\\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + mac + ip + tha + ip)
"""

# Prints the sender MAC and IPv4 address of every ARP frame eth0 gets for argv[1] seconds.
ARP_SINK = """import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind(("eth0", 0))
s.settimeout(0.2)
print("listening", flush=True)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    try:
        frame = s.recv(128)
    except OSError:
        continue
    print(frame[22:28].hex(":"), socket.inet_ntoa(frame[28:32]), flush=True)
"""


def mac_of(sb, vm_name):
    return in_ns(sb, vm_name, "cat", "/sys/class/net/eth0/address").stdout.strip()


def neighbour_mac(sb, vm_name, ip):
    out = in_ns(sb, vm_name, "ip", "neigh", "show", ip, "dev", "eth0").stdout.split()
    return out[out.index("lladdr") + 1] if "lladdr" in out else None


def test_arp_spoofing_never_reaches_a_neighbour(sandbox):
    sb = sandbox
    network(sb, "n1", "10.69.0.0/24")
    a, c = vm(sb, "a", "cmp1", "n1"), vm(sb, "c", "cmp2", "n1")
    vm(sb, "d", "cmp1", "n1")
    a_mac, c_mac = mac_of(sb, "a"), mac_of(sb, "c")
    # d knows c; and an outdated MAC for a, which a's own announcement must correct.
    assert pings(sb, "d", c) and neighbour_mac(sb, "d", c) == c_mac
    in_ns(sb, "d", "ip", "neigh", "replace", a, "lladdr", "02:00:00:00:00:01", "dev", "eth0", "nud", "stale")
    sink = background(sb, "d", "python3", "-u", "-c", ARP_SINK, "3")
    assert sink.stdout.readline().startswith("listening")
    # a claims c's address (a gratuitous ARP with its own MAC), then announces its own.
    for ip in (c, a):
        r = in_ns(sb, "a", "python3", "-c", GARP_SEND, "eth0", a_mac, ip)
        assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: neighbour_mac(sb, "d", a) == a_mac, 5, "d to learn a's MAC from a's own announcement")
    seen = sink.communicate(timeout=10)[0].split("\n")
    assert f"{a_mac} {a}" in seen, f"a's own gratuitous ARP never reached d: {seen}"
    assert f"{a_mac} {c}" not in seen, f"d got a's claim on c's address: {seen}"
    assert neighbour_mac(sb, "d", c) == c_mac, in_ns(sb, "d", "ip", "neigh").stdout
    assert pings(sb, "d", c)


# Sends one ICMPv6 message of type argv[2] (134: a router advertisement, 128: an echo request)
# from eth0 to ff02::1 (argv[1]: eth0's index), with hop limit 255 as routers send them.
ICMP6_SEND = """import socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, int(sys.argv[1]))
kind = int(sys.argv[2])
if kind == 134:  # hop limit 64, no flags, router lifetime 1800 s: "I am your default router"
    body = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
else:
    body = struct.pack("!BBHHH", 128, 0, 0, 0x4e54, 1) + b"neutrino"
s.sendto(body, ("ff02::1", 0, 0, int(sys.argv[1])))
"""

# Prints the type and source of every ICMPv6 message the VM gets for argv[1] seconds.
ICMP6_SINK = """import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.settimeout(0.2)
print("listening", flush=True)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    try:
        data, addr = s.recvfrom(1500)
    except OSError:
        continue
    print(data[0], addr[0].split("%")[0], flush=True)
"""


def link_local(sb, vm_name):
    """Turns IPv6 on in the VM (no duplicate address detection, so the address is usable at
    once) and returns its link-local address, the one SLAAC derives from its MAC."""
    in_ns(sb, vm_name, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0")
    in_ns(sb, vm_name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.eth0.disable_ipv6=0")
    out = wait_for(lambda: in_ns(sb, vm_name, "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link").stdout,
                   5, f"{vm_name}'s link-local address")
    return out.split()[3].split("/")[0]


def allow_icmp6(sb):
    """ICMPv6 into the default group from anywhere (link-local included: its remote group
    lists the members' fixed IPs only)."""
    sb.osc("security", "group", "rule", "create", "default", "--ethertype", "IPv6", "--protocol", "ipv6-icmp")
    sb.run("wait")


def test_a_vm_sending_router_advertisements_reaches_no_one(sandbox):
    sb = sandbox
    network(sb, "n1", "10.70.0.0/24")
    vm(sb, "a", "cmp1", "n1")
    vm(sb, "b", "cmp1", "n1")
    vm(sb, "c", "cmp2", "n1")
    allow_icmp6(sb)
    a_ll = link_local(sb, "a")
    for v in ("b", "c"):
        link_local(sb, v)
    index = in_ns(sb, "a", "cat", "/sys/class/net/eth0/ifindex").stdout.strip()
    sinks = {v: background(sb, v, "python3", "-u", "-c", ICMP6_SINK, "3") for v in ("b", "c")}
    for s in sinks.values():
        assert s.stdout.readline().startswith("listening")
    for kind in ("134", "128"):
        r = in_ns(sb, "a", "python3", "-c", ICMP6_SEND, index, kind)
        assert r.returncode == 0, r.stdout + r.stderr
    for v, s in sinks.items():
        seen = s.communicate(timeout=10)[0].split("\n")
        assert f"128 {a_ll}" in seen, f"{v} did not get a's echo request to all nodes: {seen}"
        assert f"134 {a_ll}" not in seen, f"{v} got a's router advertisement: {seen}"
        # What a would have made of it: the default route of every VM of the network.
        assert in_ns(sb, v, "ip", "-6", "route", "show", "default").stdout == ""


def test_ipv6_link_local_only_from_the_ports_mac(sandbox):
    sb = sandbox
    network(sb, "n1", "10.71.0.0/24")
    # One host: across hosts the VXLAN devices answer neighbour solicitations themselves and
    # know no IPv6 neighbour (see "Known limits" in docs/architecture.md).
    vm(sb, "a", "cmp1", "n1")
    vm(sb, "b", "cmp1", "n1")
    allow_icmp6(sb)
    a_ll, b_ll = link_local(sb, "a"), link_local(sb, "b")
    # SLAAC's address: the MAC with its universal/local bit flipped and ff:fe in the middle.
    mac = bytearray.fromhex(mac_of(sb, "a").replace(":", ""))
    mac[0] ^= 2
    eui = mac[:3] + b"\xff\xfe" + mac[3:]
    assert a_ll == "fe80::" + ":".join(f"{eui[i]:x}{eui[i + 1]:02x}".lstrip("0") or "0" for i in range(0, 8, 2))
    assert in_ns(sb, "a", "ping", "-6", "-c", "1", "-W", "2", f"{b_ll}%eth0").returncode == 0
    assert in_ns(sb, "b", "ping", "-6", "-c", "1", "-W", "2", f"{a_ll}%eth0").returncode == 0
    # Another link-local address on a (not its MAC's): dropped on a's host.
    r = in_ns(sb, "a", "ip", "-6", "addr", "add", "fe80::99/64", "dev", "eth0", "nodad")
    assert r.returncode == 0, r.stderr
    spoofed = in_ns(sb, "a", "ping", "-6", "-c", "2", "-W", "1", "-I", "fe80::99%eth0", f"{b_ll}%eth0")
    assert spoofed.returncode == 1 and " 0 received" in spoofed.stdout, spoofed.stdout + spoofed.stderr
    assert in_ns(sb, "a", "ping", "-6", "-c", "1", "-W", "2", "-I", f"{a_ll}%eth0", f"{b_ll}%eth0").returncode == 0


def group_without_egress(sb, name, *flags):
    sb.osc("security", "group", "create", *flags, name)
    for r in sb.osc_json("security", "group", "rule", "list", name, "--egress"):
        sb.osc("security", "group", "rule", "delete", r["ID"])
    sb.osc("security", "group", "rule", "create", name, "--protocol", "tcp", "--dst-port", "5000")


def test_a_stateless_group_lets_no_reply_out_without_an_egress_rule(sandbox):
    sb = sandbox
    network(sb, "n1", "10.72.0.0/24")
    s = vm(sb, "s", "cmp2", "n1")
    vm(sb, "near", "cmp2", "n1")
    vm(sb, "far", "cmp1", "n1")
    # The same rules, TCP 5000 in and nothing out, in a stateful and a stateless group.
    group_without_egress(sb, "full")
    group_without_egress(sb, "bare", "--stateless")
    assert sb.osc_json("security", "group", "show", "bare")["stateful"] is False
    echo_server(sb, "s", 5000)
    set_groups(sb, "s", "full")
    sb.run("wait")
    # Stateful: the SYN-ACK is a reply, conntrack lets it out.
    assert tcp_open(sb, "near", s, 5000) and tcp_open(sb, "far", s, 5000)
    set_groups(sb, "s", "bare")
    sb.run("wait")
    # Stateless: no conntrack, no egress rule: the SYN-ACK stays in.
    assert not tcp_open(sb, "near", s, 5000) and not tcp_open(sb, "far", s, 5000)
    # With an egress rule for it, the stateless group lets the replies out too (to a client
    # on another host: on s's own host the replies are untracked for its neighbours too, so
    # near's ingress rules judge them, see "Known limits" in docs/architecture.md).
    sb.osc("security", "group", "rule", "create", "bare", "--egress", "--protocol", "tcp")
    sb.run("wait")
    assert tcp_open(sb, "far", s, 5000)


def test_a_vm_without_security_groups_still_gets_dhcp_and_metadata(sandbox):
    sb = sandbox
    sb.osc("network", "create", "n1")
    sb.osc("subnet", "create", "--network", "n1", "--subnet-range", "10.73.0.0/24", "--gateway", "none", "n1-sub")
    x, y = vm(sb, "x", "cmp1", "n1"), vm(sb, "y", "cmp2", "n1")
    sb.osc("security", "group", "rule", "create", "default", "--protocol", "tcp", "--dst-port", "5000")
    echo_server(sb, "y", 5000)
    echo_server(sb, "x", 5000)
    sb.run("wait")
    assert tcp_open(sb, "x", y, 5000) and tcp_open(sb, "y", x, 5000)
    sb.osc("port", "set", "--no-security-group", port_of(sb, "x"))
    sb.run("wait")
    assert sb.osc_json("port", "show", port_of(sb, "x"))["security_group_ids"] == []
    # No group: nothing in or out...
    assert not tcp_open(sb, "x", y, 5000)
    assert not tcp_open(sb, "y", x, 5000)
    # ... but DHCP (a fresh one-shot client: the sandbox's own keeps its lease) and metadata.
    r = in_ns(sb, "x", "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "3", "-T", "1", "-s", "/bin/true")
    assert r.returncode == 0 and f"lease of {x} obtained" in r.stdout + r.stderr, r.stdout + r.stderr
    r = in_ns(sb, "x", "curl", "-s", "-m", "3", "-w", "\n%{http_code}",
              "http://169.254.169.254/openstack/latest/meta_data.json")
    body, _, code = r.stdout.rpartition("\n")
    assert code == "200", r.stdout + r.stderr
    assert sb.osc_json("port", "show", port_of(sb, "x"))["device_id"] in body


def test_flows_are_undisturbed_by_changes_elsewhere(sandbox):
    sb = sandbox
    network(sb, "n1", "10.74.0.0/24")
    vm(sb, "a", "cmp1", "n1")
    b = vm(sb, "b", "cmp2", "n1")
    vm(sb, "c", "cmp1", "n1")
    sb.osc("security", "group", "create", "other")
    sb.run("wait")
    # a and b ping each other through default's rules (its remote group: its members'
    # addresses, which change below as c leaves and comes back and e joins).
    # 6,000 pings (a minute): long enough for the changes on a loaded machine, and a count
    # ping finishes by itself, so no request is in flight when it reports.
    other = sb.osc_json("security", "group", "show", "other")["id"]
    flood, started = start_flood(["ip", "netns", "exec", vm_ns(sb, "a"), "timeout", "150", "ping", "-i", "0.01",
                                  "-c", "6000", "-W", "1", b])
    sb.procs.append(flood)  # stopped with the sandbox if the test fails first
    began = time.time()
    http = api(sb)
    for port in (5000, 5001, 5002):
        r = http.post(f"{http.base}/security-group-rules", timeout=10, json={"security_group_rule": {
            "security_group_id": other, "direction": "ingress",
            "protocol": "tcp", "port_range_min": port, "port_range_max": port}})
        assert r.status_code == 201, r.text
    sb.run("wait")
    rules = sb.osc_json("security", "group", "rule", "list", "other", "--protocol", "tcp")
    sb.osc("security", "group", "rule", "delete", rules[0]["ID"])
    set_groups(sb, "c", "other")
    sb.run("wait")
    set_groups(sb, "c", "default")
    sb.run("wait")
    vm(sb, "e", "cmp1", "n1")
    vm(sb, "f", "cmp2", "n1")
    assert flood.poll() is None, "the ping ended before the changes did"
    changed_at = time.time()
    out = started + flood.communicate(timeout=160)[0]
    print(f"changes took {changed_at - began:.1f} s")
    assert "6000 packets transmitted, 6000 received" in out, out
