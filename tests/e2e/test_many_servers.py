"""Many API servers on one PostgreSQL database (issue 16) on the real kernel: a sandbox of
three neutrino-servers sharing a throwaway PostgreSQL cluster (tests/nt_postgres.py), real
agents whose server_url lists the three. The server the agents watch is SIGKILLed while two
VMs ping each other every 10 ms and a writer creates ports through the second server: the
agents move to the next server at once and resume their watch there (with since=, as
tests/api/test_agent_failover.py sees on the wire; here: the client's log lines, one watch
disconnect and not one kernel operation in the agents' /metrics), no ping is lost, every
acknowledged write is there, the surviving servers agree and a VM created afterwards gets its address and pings.
(Not its metadata: the agents' one metadata backend is the first server's socket.)
Needs root."""
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from nt_e2e import wait_for
from nt_sandbox import Sandbox

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nt_postgres import PgCluster  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-s*)")

HOSTS = ("cmp1", "cmp2", "gw1")
METRICS = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9180/metrics', timeout=2).read().decode())"


@pytest.fixture
def pg():
    with PgCluster() as cluster:
        yield cluster


def runs_server(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"neutrino-server")
    except OSError:
        return False


@pytest.fixture
def sandbox(tmp_path, pg):
    _, url = pg.create_database()
    s = Sandbox(tmp_path)
    s.tmp = tmp_path
    pids = []
    try:
        s.run("up", "--port", "0", "--computes", "2", "--gateways", "1", "--agent-down-time", "3",
              "--servers", "3", "--database", url, timeout=120)
        pids = [r["pid"] for r in s.state()["servers"]]
        yield s
    finally:
        s.run("down", check=False, timeout=120)
        assert not s.namespaces(), f"sandbox down left {s.namespaces()}"
        assert not [p for p in pids if runs_server(p)], "sandbox down left a neutrino-server running"


def agent_log(sb, host):
    return (sb.tmp / "sandbox" / f"{host}.log").read_text(errors="replace")


COUNTERS = ("neutrino_agent_operations_total", "neutrino_agent_pass_errors_total", "neutrino_agent_watch_disconnects_total")


def counters(sb, host):
    """The agent's kernel operations, failed passes and watch disconnects (its /metrics)."""
    out = sb.run("exec", host, "python3", "-c", METRICS).stdout
    found = dict(re.findall(r"^(neutrino_agent_\w+) (\S+)$", out, re.M))
    assert all(c in found for c in COUNTERS), out
    return {c.removeprefix("neutrino_agent_").removesuffix("_total"): float(found[c]) for c in COUNTERS}


def start_pings(sb, vm, ip, count, steady):
    """`vm` pings `ip` every 10 ms; returns the process once `steady` replies came."""
    p = subprocess.Popen(sb.args + ["vm", "exec", vm, "ping", "-n", "-i", "0.01", "-c", str(count), "-W", "1", ip],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    p.head = []
    while sum("bytes from" in line for line in p.head) < steady:
        line = p.stdout.readline()
        assert line, "".join(p.head)
        p.head.append(line)
    return p


def ping_result(p, timeout):
    out, _ = p.communicate(timeout=timeout)
    out = "".join(p.head) + out
    m = re.search(r"(\d+) packets transmitted, (\d+) (packets )?received", out)
    assert m, out
    return int(m.group(1)), int(m.group(1)) - int(m.group(2))


class Writer(threading.Thread):
    """Creates ports on `network` through one server, one after another, until stopped:
    the ids acknowledged (201), when, and the failures."""

    def __init__(self, sb, network, server):
        super().__init__(daemon=True)
        self.sb, self.network, self.server = sb, network, server
        self.acked, self.failed = [], []  # (monotonic time, id or reason)
        self.stop = threading.Event()

    def run(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                status, body = self.sb.api("POST", "/v2.0/ports", {"port": {"network_id": self.network, "name": f"w{i}"}},
                                           server=self.server, timeout=10)
            except OSError as e:
                status, body = 0, repr(e)
            if status == 201:
                self.acked.append((time.monotonic(), body["port"]["id"]))
            else:
                self.failed.append((time.monotonic(), f"{status} {body}"))

    def acked_after(self, t):
        return sum(1 for at, _ in self.acked if at > t)


def listing(sb, server, collection, query=""):
    status, body = sb.api("GET", f"/v2.0/{collection}{query}", server=server)
    assert status == 200, (server, collection, status, body)
    return sorted(body[collection.replace("-", "_")], key=lambda r: r["id"])


def test_the_watched_server_killed_under_pings_and_writes_costs_nothing(sandbox):
    sb = sandbox
    servers = sb.state()["servers"]
    assert len(servers) == 3 and all(runs_server(r["pid"]) for r in servers), servers
    assert [Path(r["socket"]).name for r in servers] == ["server.sock", "server-2.sock", "server-3.sock"]
    assert servers[0]["port"] == sb.state()["port"] and servers[0]["pid"] == sb.state()["server_pid"]
    ini = (sb.tmp / "sandbox" / "cmp1.ini").read_text()
    assert f"server_url = unix://{servers[0]['socket']}, unix://{servers[1]['socket']}, unix://{servers[2]['socket']}" in ini
    out = sb.run("status").stdout
    assert len(re.findall(r"\brunning\b", out)) == 3 + len(HOSTS) and "NOT" not in out, out

    sb.osc("network", "create", "--provider-network-type", "vxlan", "net1")
    sb.osc("subnet", "create", "--network", "net1", "--subnet-range", "10.60.0.0/24", "sub1")
    sb.run("vm", "create", "a1", "--host", "cmp1", "--network", "net1")
    started = time.monotonic()
    sb.run("vm", "create", "a2", "--host", "cmp2", "--network", "net1")
    created_before = time.monotonic() - started
    a1, a2 = sb.vm_ip("a1"), sb.vm_ip("a2")
    wait_for(lambda: sb.pings("a1", a2), 20, "a1 to reach a2")
    # The writer's network has no subnet and no port bound to a host: no host's view holds
    # it, so its ports change no kernel anywhere.
    status, body = sb.api("POST", "/v2.0/networks", {"network": {"name": "writes"}}, server=1)
    assert status == 201, body
    writes = body["network"]["id"]
    sb.run("wait", timeout=60)
    before = {h: counters(sb, h) for h in HOSTS}
    log_from = {h: len(agent_log(sb, h)) for h in HOSTS}

    pings = start_pings(sb, "a1", a2, 1500, steady=100)  # 15 s; the kill after 1 s
    writer = Writer(sb, writes, server=1)
    writer.start()
    try:
        wait_for(lambda: len(writer.acked) >= 20, 20, "20 ports created through server 2")
        os.kill(servers[0]["pid"], signal.SIGKILL)
        killed, killed_at = time.monotonic(), datetime.now()
        second = f"unix://{servers[1]['socket']}"
        moved = {}

        def all_moved():
            for h in HOSTS:
                # The agent's log line (spdlog: [YYYY-MM-DD HH:MM:SS.mmm], local time) says when.
                m = re.search(rf"^\[([^\]]+)\] \[warning\] watch ended: .*; resuming on {re.escape(second)} now$",
                              agent_log(sb, h)[log_from[h]:], re.M)
                if m and h not in moved:
                    moved[h] = (datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f") - killed_at).total_seconds()
            return len(moved) == len(HOSTS)

        wait_for(all_moved, 10, "every agent to resume its watch on server 2")
        wait_for(lambda: writer.acked_after(killed) >= 30, 20, "30 more ports created through server 2 after the kill")
    finally:
        writer.stop.set()
        writer.join(15)
    sent, lost = ping_result(pings, 60)
    acked = [i for _, i in writer.acked]
    times = [at for at, _ in writer.acked]
    stall = max(b - a for a, b in zip(times, times[1:]))
    print(f"server 1 killed: agents resumed on server 2 {', '.join(f'{h} {t * 1000:.0f} ms' for h, t in moved.items())} "
          f"after the kill; {lost} of {sent} pings lost at 10 ms; {len(acked)} ports acknowledged through server 2 "
          f"({writer.acked_after(killed)} after the kill, longest gap between two acks {stall * 1000:.0f} ms), "
          f"{len(writer.failed)} refused: {writer.failed[:3]}")

    for h in HOSTS:
        text = agent_log(sb, h)[log_from[h]:]
        # The move, as the agent's client logs it, straight to the next server (no backoff).
        assert re.search(rf"server unix://{re.escape(servers[0]['socket'])} unreachable \(.*\), moving to {re.escape(second)}",
                         text), (h, text)
        assert "reconnecting in" not in text, (h, text)
    # The move costs the kernel nothing: no pass made an operation or failed since the
    # baseline, and each agent's watch ended once (the kill), not again on server 2.
    after = {h: counters(sb, h) for h in HOSTS}
    for h in HOSTS:
        assert after[h]["operations"] == before[h]["operations"], (h, before[h], after[h])
        assert after[h]["pass_errors"] == before[h]["pass_errors"], (h, before[h], after[h])
        assert after[h]["watch_disconnects"] == before[h]["watch_disconnects"] + 1, (h, before[h], after[h])
    assert lost == 0, f"{lost} of {sent} pings lost (10 ms apart) when the watched server was killed"
    assert writer.acked_after(killed) >= 30

    # Every acknowledged write is there, through each surviving server (the third replays).
    def present(server):
        ids = {p["id"] for p in listing(sb, server, "ports", f"?network_id={writes}")}
        return set(acked) <= ids

    wait_for(lambda: present(1) and present(2), 10, "every acknowledged port through servers 2 and 3")
    # The surviving servers list the same things.
    for collection in ("networks", "subnets", "ports", "security-groups", "security-group-rules", "routers"):
        wait_for(lambda: listing(sb, 1, collection) == listing(sb, 2, collection), 10,
                 f"servers 2 and 3 to list the same {collection}")

    # The sandbox's own client skips the dead server; a new VM gets its address and pings.
    out = sb.run("status").stdout
    assert out.count("NOT RUNNING") == 1, out
    started = time.monotonic()
    made = sb.run("vm", "create", "a3", "--host", "cmp2", "--network", "net1")
    created = time.monotonic() - started
    assert "DHCP lease" in made.stdout, made.stdout
    a3 = sb.vm_ip("a3")
    wait_for(lambda: sb.pings("a3", a1), 20, "a3 to reach a1")
    assert sb.pings("a1", a3)
    dhcp = sb.run("vm", "exec", "a3", "ip", "-4", "-o", "addr", "show", "eth0").stdout
    assert a3 in dhcp, dhcp
    # Its metadata is not there: the agents' metadata backend (nova_metadata_host, one
    # address) is the first server's Unix socket, and `vm create` waits 5 s for it.
    print(f"{made.stderr.strip()}")
    print(f"new VM a3 ({a3}, DHCP) created in {created:.2f} s (a2 before the kill: {created_before:.2f} s), pinging after {time.monotonic() - started:.2f} s")
