#!/usr/bin/python3
"""Gateway HA failover time (issue 15) in a sandbox of its own (prefix nt-bfo-, state in
/tmp/nt-bfo, API on a free port; removed at the end, also on failure; root).

2 computes, 3 gateway hosts, the topology of tests/e2e/test_gateway_ha.py's routed_vm():
net1/sub1 behind a distributed router r1 with its gateway on `public`, ICMP allowed in
`default`, VM a1 on cmp1. Then FO_COUNT failovers in a row: a1 pings the internet host
203.0.113.1 every 10 ms (`ping -D -n -i 0.01`, one ping process per failover), and after 50
replies seed 004's fault is put on the active gateway host (nft table inet nt-fault, an
input chain dropping UDP 4789, as block_vxlan() in the e2e test). Measured per failover:

  failover time = first reply after the gap - the moment the drop rule was in place
                  (the `nft add rule` command returned; its own duration is printed too)
  pings lost    = echo requests without a reply in that ping run (10 ms apart)
  api           = when GET /v2.0/routers/{id}/l3-agents first showed another host active

Then the fault is removed (the old host comes back as standby: preempt is off), every BFD
session of every host is waited for to be up again (each daemon's control socket,
{"op":"get"}), and the new active host is failed, and so on.

  flock /tmp/nt-build.lock bench/gateway_failover.py --interval-ms 100 --detect-mult 3
  flock /tmp/nt-build.lock bench/gateway_failover.py --interval-ms 300 --detect-mult 3

Options: --failovers N (20), --budget S (seconds for the failover loop, 240: the run,
sandbox up and down included, stays under ~5 min of the build lock), --json FILE (every
sample). Every wait is bounded; a failover that does not happen is reported, not retried.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEUTRINO = str(ROOT / "build" / "bin" / "neutrino")
PREFIX, STATE = "nt-bfo-", Path("/tmp/nt-bfo")
SB = [NEUTRINO, "sandbox", "--prefix", PREFIX, "--state-dir", str(STATE)]
INTERNET = "203.0.113.1"
GATEWAYS = ("gw1", "gw2", "gw3")
REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from [\d.]+: icmp_seq=(\d+)")


def run(*argv, timeout=120, check=True):
    env = dict(os.environ, OS_AUTH_TYPE="none")
    if (STATE / "sandbox.json").exists():
        env["OS_ENDPOINT"] = f"http://127.0.0.1:{port()}"
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, env=env)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stdout}{r.stderr}")
    return r.stdout


def port():
    return json.loads((STATE / "sandbox.json").read_text())["port"]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def ha_states(router):
    url = f"http://127.0.0.1:{port()}/v2.0/routers/{router}/l3-agents"
    with urllib.request.urlopen(url, timeout=5) as r:
        return {a["host"]: a.get("ha_state") for a in json.load(r)["agents"]}


def active_host(router):
    active = [h for h, s in ha_states(router).items() if s == "active"]
    return active[0] if len(active) == 1 else None


def bfd_states(host):
    """peer -> state from the host's neutrino-bfd (the states line a configured daemon sends
    on connect, after hello); None when it has no socket or no configuration yet."""
    path = STATE / f"{host}.bfd.sock"
    if not path.exists():
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(str(path))
        buf = b""
        try:
            while buf.count(b"\n") < 2:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except socket.timeout:
            pass
    for line in buf.split(b"\n"):
        if line and (obj := json.loads(line)).get("op") == "states":
            return {p: v["state"] for p, v in obj["peers"].items()}
    return None


def all_bfd_up():
    """Every session of cmp1 and the gateway hosts up (cmp2, with no VM, has no peer and no daemon)."""
    for host in ("cmp1",) + GATEWAYS:
        states = bfd_states(host)
        if states is None or any(s != "up" for s in states.values()):
            return False
    return True


def nft(host, *args):
    subprocess.run(["ip", "netns", "exec", PREFIX + host, "nft", *args], check=True, capture_output=True, timeout=30)


def routed_vm():
    run("openstack", "network", "create", "--provider-network-type", "vxlan", "net1")
    run("openstack", "subnet", "create", "--network", "net1", "--subnet-range", "10.50.0.0/24", "sub1")
    router = json.loads(run("openstack", "router", "create", "--distributed", "r1", "-f", "json"))["id"]
    run("openstack", "router", "add", "subnet", "r1", "sub1")
    run("openstack", "router", "set", "--external-gateway", "public", "r1")
    run("openstack", "security", "group", "rule", "create", "default", "--protocol", "icmp")
    run(*SB, "vm", "create", "a1", "--host", "cmp1", "--network", "net1")
    wait_for(lambda: subprocess.run(SB + ["vm", "exec", "a1", "ping", "-c", "1", "-W", "1", INTERNET],
                                    capture_output=True, timeout=30).returncode == 0, 30, "a1 to reach the internet")
    return router


def one_failover(router, active, count):
    """Fails `active`; returns the sample (a dict) and the new active host (None if none)."""
    ping = subprocess.Popen(SB + ["vm", "exec", "a1", "ping", "-D", "-n", "-i", "0.01", "-c", str(count), "-W", "1", INTERNET],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        deadline = time.monotonic() + 10
        while sum(bool(REPLY.match(l)) for l in lines) < 50:
            line = ping.stdout.readline()
            if not line or time.monotonic() > deadline:
                raise RuntimeError("no steady ping before the fault: " + "".join(lines[-5:]))
            lines.append(line)
        nft(active, "add", "table", "inet", "nt-fault")
        nft(active, "add", "chain", "inet", "nt-fault", "in", "{ type filter hook input priority -10; }")
        t0 = time.time()
        nft(active, "add", "rule", "inet", "nt-fault", "in", "udp", "dport", "4789", "drop")
        t1 = time.time()
        api_started = time.monotonic()
        new = None
        try:
            new = wait_for(lambda: (lambda a: a if a and a != active else None)(active_host(router)), 15, "a new active host")
            api = time.monotonic() - api_started
        except TimeoutError:
            api = None
        out, _ = ping.communicate(timeout=count * 0.01 + 30)
    finally:
        if ping.poll() is None:
            ping.kill()
            ping.wait()
    lines += out.splitlines(keepends=True)
    replies = sorted((int(m.group(2)), float(m.group(1))) for m in map(REPLY.match, lines) if m)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", "".join(lines))
    transmitted, received = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    # The gap the fault made: the largest run of missing sequence numbers ending after t0.
    gap_end, gap_missing = None, 0
    for (s0, _), (s1, ts1) in zip(replies, replies[1:]):
        if ts1 > t0 and s1 - s0 - 1 > gap_missing:
            gap_end, gap_missing = ts1, s1 - s0 - 1
    sample = {"failed": active, "new_active": new, "nft_rule_s": round(t1 - t0, 4),
              "failover_s": round(gap_end - t1, 4) if gap_end else None,
              "gap_pings": gap_missing, "lost": None if transmitted is None else transmitted - received,
              "transmitted": transmitted, "api_s": None if api is None else round(api, 3),
              "last_reply_after_fault": replies[-1][1] > t1 if replies else False}
    return sample, new


def pct(values, q):
    """Nearest-rank percentile (q in 0..100)."""
    v = sorted(values)
    return v[max(0, min(len(v) - 1, -(-q * len(v) // 100) - 1))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--interval-ms", type=int, default=100)
    ap.add_argument("--detect-mult", type=int, default=3)
    ap.add_argument("--failovers", type=int, default=20)
    ap.add_argument("--budget", type=float, default=240)
    ap.add_argument("--json")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # cleanup runs (finally)
    if os.geteuid() != 0:
        sys.exit("gateway_failover: needs root (network namespaces)")
    # Enough pings per run to cover 50 steady replies, the detection time 3 times over and 2 s.
    count = 50 + (3 * a.interval_ms * a.detect_mult + 2000) // 10
    samples, notes = [], []
    shutil.rmtree(STATE, ignore_errors=True)
    started = time.monotonic()
    try:
        run(*SB, "up", "--port", "0", "--computes", "2", "--gateways", "3", "--bfd-interval-ms", str(a.interval_ms),
            "--bfd-detect-mult", str(a.detect_mult), timeout=180)
        router = routed_vm()
        active = wait_for(lambda: active_host(router), 20, "one active gateway host")
        wait_for(all_bfd_up, 30, "every BFD session up")
        loop_end = time.monotonic() + a.budget
        for i in range(a.failovers):
            if time.monotonic() > loop_end:
                notes.append(f"budget of {a.budget:.0f} s used up after {i} failovers")
                break
            sample, new = one_failover(router, active, count)
            samples.append(sample)
            print(json.dumps(sample), flush=True)
            # The tunnels come back: pinged too (nothing should be lost: no failback, preempt off).
            rping = subprocess.Popen(["ip", "netns", "exec", PREFIX + "vm-a1", "ping", "-D", "-n", "-i", "0.01", "-w", "40", INTERNET],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            time.sleep(0.3)
            nft(active, "delete", "table", "inet", "nt-fault")
            seen = set()
            try:
                wait_for(lambda: seen.add(active_host(router)) or all_bfd_up(), 30,
                         f"every BFD session up after {active} got its tunnels back")
                time.sleep(1)
            except TimeoutError as e:
                notes.append(f"failover {i + 1}: {e}")
            finally:
                rping.send_signal(signal.SIGINT)
                rout, _ = rping.communicate(timeout=10)
            m = re.search(r"(\d+) packets transmitted, (\d+) received", rout)
            sample["recovery_lost"] = int(m.group(1)) - int(m.group(2)) if m else None
            sample["recovery_active_seen"] = sorted(h for h in seen if h)
            print(json.dumps({"recovery": i + 1, "lost": sample["recovery_lost"], "active_seen": sample["recovery_active_seen"]}), flush=True)
            if new is None:
                notes.append(f"failover {i + 1}: no other host became active within 15 s of failing {active}")
                new = wait_for(lambda: active_host(router), 20, "one active gateway host")
            now = active_host(router)
            if now != new:
                notes.append(f"failover {i + 1}: after recovery {now} is active, not {new}")
            active = now or new
    finally:
        subprocess.run(SB + ["down"], capture_output=True, timeout=180)
        left = [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
                if n.startswith(PREFIX)]
        if left:
            print(f"LEFT OVER namespaces: {left}", file=sys.stderr)
        shutil.rmtree(STATE, ignore_errors=True)
    done = [s for s in samples if s["failover_s"] is not None and s["new_active"]]
    print(f"== {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} BFD {a.interval_ms} ms x {a.detect_mult}, "
          f"{len(done)}/{len(samples)} failovers measured, {time.monotonic() - started:.0f} s in all, {os.cpu_count()} cores")
    if done:
        ms = [s["failover_s"] * 1000 for s in done]
        lost = [s["lost"] for s in done]
        api = [s["api_s"] * 1000 for s in done if s["api_s"] is not None]
        print(f"failover (fault -> first reply): median {statistics.median(ms):.0f} ms, p99 {pct(ms, 99):.0f} ms, "
              f"max {max(ms):.0f} ms, min {min(ms):.0f} ms")
        print(f"pings lost (10 ms apart): median {statistics.median(lost):.0f}, p99 {pct(lost, 99)}, max {max(lost)}, "
              f"min {min(lost)}")
        print(f"ha_state in the API moved after: median {statistics.median(api):.0f} ms, max {max(api):.0f} ms")
        rec = [s["recovery_lost"] for s in samples if s.get("recovery_lost") is not None]
        back = sum(s["failed"] in s.get("recovery_active_seen", []) for s in samples)
        print(f"tunnels back (old active recovers): pings lost median {statistics.median(rec):.0f}, max {max(rec)}; "
              f"old host seen active again in {back}/{len(samples)} recoveries")
        print(f"nft add rule took: median {statistics.median(s['nft_rule_s'] for s in done) * 1000:.0f} ms")
    for n in notes:
        print("NOTE:", n)
    if a.json:
        Path(a.json).write_text(json.dumps({"interval_ms": a.interval_ms, "detect_mult": a.detect_mult,
                                            "samples": samples, "notes": notes}, indent=1))


if __name__ == "__main__":
    main()
