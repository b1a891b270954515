#!/usr/bin/python3
"""DHCP and metadata in the sandbox (issue 13). A sandbox of its own (prefix nt-bdm-, API on
127.0.0.1:9793, state in /tmp/nt-bdm, removed at the end, also on failure; root):

 1. DHCP on one host: N VMs on cmp1 (a routed network). In a VM's namespace a worker runs
    `busybox udhcpc -i eth0 -n -q -f -t 3 -T 1 -s /bin/true` (a no-op script: the exchange
    is timed, not the configuration) R times and times
      - each run's wall clock (process start included), next to the start cost of
        `busybox true` spawned the same way;
      - on the wire: an AF_PACKET socket on eth0 with kernel timestamps (SO_TIMESTAMPNS)
        sees the client's DISCOVER and REQUEST leave and the OFFER and ACK arrive.
    First sequentially (one VM at a time: latency), then every VM at once (leases/s).
    Then the same exchange from a raw-socket client in Python (no process per lease: the
    server's turnaround), from 1, 8 and N VMs at once; the clients also get every other VM's
    flooded broadcasts, so with many VMs they bound the rate. Frames dropped by the agent's
    packet sockets (`ss -0 -m`) and by the clients' (PACKET_STATISTICS) are reported.
 2. Metadata: GET http://169.254.169.254/openstack/latest/meta_data.json from VMs on cmp1,
    on a routed network (qrouter redirect to the agent's proxy) and on an isolated one
    (no gateway: routed by DHCP option 121 to the network's meta- namespace); 1 client and
    8 concurrent clients (one process in each of 8 VMs), keep-alive off and on.

Every worker and loop is bounded in count and time. Environment: DM_VMS (40), DM_ISO_VMS (8),
DM_ROUNDS (200 sequential leases in all), DM_PAR_ROUNDS (10 per VM at once), DM_RAW_N
(2,000 raw-socket exchanges per run, split over the clients), DM_META_N (4,000 requests for
1 client; per client 1/4 of it with 8), DM_RUNS (3).
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEUTRINO = str(ROOT / "build" / "bin" / "neutrino")
PREFIX, STATE, PORT = "nt-bdm-", "/tmp/nt-bdm", 9793
VMS = int(os.environ.get("DM_VMS", "40"))
ISO_VMS = int(os.environ.get("DM_ISO_VMS", "8"))
ROUNDS = int(os.environ.get("DM_ROUNDS", "200"))
PAR_ROUNDS = int(os.environ.get("DM_PAR_ROUNDS", "10"))
META_N = int(os.environ.get("DM_META_N", "4000"))
RAW_N = int(os.environ.get("DM_RAW_N", "2000"))
RUNS = int(os.environ.get("DM_RUNS", "3"))
UDHCPC = ["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "3", "-T", "1", "-s", "/bin/true"]
META_URL_PATH = "/openstack/latest/meta_data.json"


def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(p * len(s)))] if s else float("nan")


def fmt(samples):
    return f"p50 {pct(samples, 0.5):.2f} ms, p99 {pct(samples, 0.99):.2f} ms (n={len(samples)})" if samples else "no samples"


# ---------------------------------------------------------------- workers (run inside a VM namespace)

DHCP_NAMES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 5: "ACK", 6: "NAK"}


class Capture:
    """DHCP frames on eth0 with kernel timestamps (CLOCK_REALTIME, ns), by xid."""

    def __init__(self, ifname="eth0"):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.sock.setsockopt(socket.SOL_SOCKET, 35, 1)  # SO_TIMESTAMPNS
        self.sock.bind((ifname, 0))
        self.sock.settimeout(0.2)
        self.events = {}  # xid -> [(type, ns)]
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                data, anc, _, _ = self.sock.recvmsg(2048, 64)
            except socket.timeout:
                continue
            except OSError:
                return
            ns = None
            for level, kind, value in anc:
                if level == socket.SOL_SOCKET and kind == 35 and len(value) >= 16:
                    sec, nsec = struct.unpack("qq", value[:16])
                    ns = sec * 1_000_000_000 + nsec
            if ns is None or len(data) < 14 + 20 + 8 + 240 or data[12:14] != b"\x08\x00" or data[23] != 17:
                continue
            ihl = (data[14] & 0x0F) * 4
            udp = 14 + ihl
            sport, dport = struct.unpack("!HH", data[udp:udp + 4])
            if {sport, dport} != {67, 68}:
                continue
            bootp = data[udp + 8:]
            if len(bootp) < 240 or bootp[236:240] != b"\x63\x82\x53\x63":
                continue
            xid = bootp[4:8].hex()
            i, kind = 240, None
            while i < len(bootp) and bootp[i] != 255:
                if bootp[i] == 0:
                    i += 1
                    continue
                if i + 1 >= len(bootp):
                    break
                if bootp[i] == 53 and i + 2 < len(bootp):
                    kind = bootp[i + 2]
                i += 2 + bootp[i + 1]
            if kind in DHCP_NAMES:
                with self.lock:
                    self.events.setdefault(xid, []).append((DHCP_NAMES[kind], ns))

    def take(self):
        with self.lock:
            ev, self.events = self.events, {}
        return ev

    def stop(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()


def wire_times(events, spawned_ns, exited_ns):
    """DISCOVER->OFFER, REQUEST->ACK, first DISCOVER->ACK (ms) of the one exchange that got an ACK;
    process spawn -> first DISCOVER and ACK -> process exit (ms, CLOCK_REALTIME like the kernel's stamps)."""
    for xid, ev in events.items():
        first = lambda name: next((ns for k, ns in ev if k == name), None)
        last = lambda name: next((ns for k, ns in reversed(ev) if k == name), None)
        d, o, r, a = first("DISCOVER"), first("OFFER"), last("REQUEST"), first("ACK")
        if d and a:
            return {"offer": (o - d) / 1e6 if o else None, "ack": (a - r) / 1e6 if r and a > r else None,
                    "total": (a - d) / 1e6, "discovers": sum(1 for k, _ in ev if k == "DISCOVER"),
                    "to_discover": (d - spawned_ns) / 1e6, "to_exit": (exited_ns - a) / 1e6}
    return None


def dhcp_worker(rounds, start_at, baseline):
    cap = Capture()
    time.sleep(0.05)
    out = {"baseline": [], "runs": []}
    for _ in range(baseline):
        t0 = time.monotonic()
        subprocess.run(["busybox", "true"], timeout=5)
        out["baseline"].append((time.monotonic() - t0) * 1000)
    while time.monotonic() < start_at:
        time.sleep(min(0.01, max(0.0, start_at - time.monotonic())))
    out["start"] = time.monotonic()
    for _ in range(rounds):
        cap.take()
        t0, spawned = time.monotonic(), time.time_ns()
        try:
            rc = subprocess.run(UDHCPC, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
        wall, exited = (time.monotonic() - t0) * 1000, time.time_ns()
        time.sleep(0.02)  # the ACK's frame reaches the capture thread
        out["runs"].append({"rc": rc, "wall": wall, "wire": wire_times(cap.take(), spawned, exited)})
    out["end"] = time.monotonic()
    cap.stop()
    json.dump(out, sys.stdout)


def checksum(data):
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def dhcp_frame(mac, xid, kind, requested=None, server=None):
    """A broadcast DHCP DISCOVER (1) or REQUEST (3) from mac, as Ethernet/IPv4/UDP (checksum 0)."""
    opts = bytes([53, 1, kind])
    if requested:
        opts += bytes([50, 4]) + requested
    if server:
        opts += bytes([54, 4]) + server
    opts += bytes([55, 8, 1, 3, 6, 15, 26, 28, 51, 121, 255])
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s4s", 1, 1, 6, 0, xid, 0, 0x8000, bytes(4), bytes(4), bytes(4), bytes(4),
                        mac, b"", b"", b"\x63\x82\x53\x63") + opts
    bootp += bytes(max(0, 300 - len(bootp)))
    udp = struct.pack("!HHHH", 68, 67, 8 + len(bootp), 0) + bootp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(4), b"\xff" * 4)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\xff" * 6 + mac + b"\x08\x00" + ip + udp


def dhcp_answer(data, xid):
    """(message type, yiaddr, server id) of a server's answer to xid, or None."""
    if len(data) < 14 + 20 + 8 + 240 or data[12:14] != b"\x08\x00" or data[23] != 17:
        return None
    udp = 14 + (data[14] & 0x0F) * 4
    if struct.unpack("!H", data[udp:udp + 2])[0] != 67:
        return None
    bootp = data[udp + 8:]
    if len(bootp) < 240 or bootp[0] != 2 or struct.unpack("!I", bootp[4:8])[0] != xid:
        return None
    i, kind, server = 240, None, None
    while i + 1 < len(bootp) and bootp[i] != 255:
        if bootp[i] == 0:
            i += 1
            continue
        if bootp[i] == 53:
            kind = bootp[i + 2]
        elif bootp[i] == 54:
            server = bootp[i + 2:i + 6]
        i += 2 + bootp[i + 1]
    return kind, bootp[16:20], server


def raw_worker(n, start_at, limit):
    """n DISCOVER/OFFER/REQUEST/ACK exchanges from eth0's MAC over an AF_PACKET socket: the DHCP
    server's turnaround without a client process per lease. Each answer waited for at most 1 s."""
    mac = bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":", ""))
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    sock.bind(("eth0", 0))
    out = {"offer": [], "ack": [], "total": [], "errors": {}}
    err = lambda k: out["errors"].__setitem__(k, out["errors"].get(k, 0) + 1)

    def wait(xid, want, deadline):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            sock.settimeout(left)
            try:
                data = sock.recv(2048)
            except socket.timeout:
                return None
            a = dhcp_answer(data, xid)
            if a and a[0] in want:
                return a

    while time.monotonic() < start_at:
        time.sleep(min(0.01, max(0.0, start_at - time.monotonic())))
    out["start"] = time.monotonic()
    stop = out["start"] + limit
    for _ in range(n):
        if time.monotonic() > stop:
            err("time limit")
            break
        xid = int.from_bytes(os.urandom(4), "big")
        t0 = time.monotonic()
        sock.send(dhcp_frame(mac, xid, 1))
        offer = wait(xid, (2,), t0 + 1)
        if not offer:
            err("no OFFER in 1 s")
            continue
        t1 = time.monotonic()
        sock.send(dhcp_frame(mac, xid, 3, offer[1], offer[2]))
        ack = wait(xid, (5, 6), t1 + 1)
        t2 = time.monotonic()
        if not ack:
            err("no ACK in 1 s")
        elif ack[0] == 6:
            err("NAK")
        else:
            out["offer"].append((t1 - t0) * 1000)
            out["ack"].append((t2 - t1) * 1000)
            out["total"].append((t2 - t0) * 1000)
    out["end"] = time.monotonic()
    packets, drops = struct.unpack("II", sock.getsockopt(263, 6, 8))  # SOL_PACKET, PACKET_STATISTICS
    out["client_drops"], out["client_frames"] = drops, packets
    sock.close()
    json.dump(out, sys.stdout)


def meta_worker(n, keepalive, start_at, limit):
    out = {"lat": [], "errors": {}, "connections": 0}
    err = lambda k: out["errors"].__setitem__(k, out["errors"].get(k, 0) + 1)
    conn = None
    while time.monotonic() < start_at:
        time.sleep(min(0.01, max(0.0, start_at - time.monotonic())))
    out["start"] = time.monotonic()
    deadline = out["start"] + limit
    for _ in range(n):
        if time.monotonic() > deadline:
            err("time limit")
            break
        t0 = time.monotonic()
        for attempt in range(2):  # a kept-alive connection the proxy closed (100 requests) is reopened once
            if conn is None:
                conn = http.client.HTTPConnection("169.254.169.254", 80, timeout=5)
                out["connections"] += 1
            try:
                conn.request("GET", META_URL_PATH, headers={} if keepalive else {"Connection": "close"})
                r = conn.getresponse()
                body = r.read()
                if r.status != 200:
                    err(f"HTTP {r.status}: {body[:80]!r}")
                elif not body.startswith(b"{"):
                    err("not JSON")
                else:
                    out["lat"].append((time.monotonic() - t0) * 1000)
                if not keepalive or r.getheader("Connection", "").lower() == "close" or r.will_close:
                    conn.close()
                    conn = None
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                conn.close()
                conn = None
                if attempt or not keepalive:
                    err(type(e).__name__)
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                conn = None
                err(type(e).__name__ + ": " + str(e)[:60])
                break
    out["end"] = time.monotonic()
    if conn:
        conn.close()
    json.dump(out, sys.stdout)


# ---------------------------------------------------------------- the driver

class Sandbox:
    def __init__(self):
        self.cli = [NEUTRINO, "sandbox", "--prefix", PREFIX, "--state-dir", STATE]

    def run(self, *args, timeout=120):
        r = subprocess.run(self.cli + list(args), capture_output=True, text=True, timeout=timeout)
        if r.returncode:
            raise RuntimeError(f"sandbox {' '.join(args)}: {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r.stdout + r.stderr

    def state(self):
        return json.load(open(STATE + "/sandbox.json"))

    def api(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        c.request(method, "/v2.0" + path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        text = r.read()
        c.close()
        assert r.status < 300, f"{method} {path}: {r.status} {text[:300]}"
        return json.loads(text) if text else None


def in_vm(vm, *args):
    return ["ip", "netns", "exec", f"{PREFIX}vm-{vm}", "/usr/bin/python3", str(Path(__file__).resolve())] + list(args)


def run_workers(cmds, timeout):
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in cmds]
    outs = []
    try:
        for p in procs:
            o, e = p.communicate(timeout=timeout)
            if p.returncode:
                raise RuntimeError(f"worker {p.args}: exit {p.returncode}: {e[-2000:]}")
            outs.append(json.loads(o))
    finally:
        for p in procs:  # our own children only
            if p.poll() is None:
                p.kill()
                p.wait(5)
    return outs


def cpu_ms(sb):
    """utime + stime (ms) of cmp1's agent and of the server, from /proc (clock ticks)."""
    st = sb.state()
    pids = {"agent": next(h["agent_pid"] for h in st["hosts"] if h["name"] == "cmp1"), "server": st["server_pid"]}
    out = {}
    for k, pid in pids.items():
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        out[k] = (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    return out


def dhcp_bench(sb, vms, results):
    print(f"\n== DHCP on cmp1: {len(vms)} VMs, {ROUNDS} sequential leases, then {PAR_ROUNDS} per VM at once, {RUNS} runs")
    per_vm = max(1, ROUNDS // len(vms))
    for run in range(RUNS):
        walls, total, offer, ack, baseline, fails, retrans, to_d, to_x = [], [], [], [], [], {}, 0, [], []
        cpu0 = cpu_ms(sb)
        for i, vm in enumerate(vms):  # sequential: one VM at a time
            (o,) = run_workers([in_vm(vm, "dhcp-worker", str(per_vm), "0", "20" if i < 3 else "0")], timeout=60 + 12 * per_vm)
            baseline += o["baseline"]
            for r in o["runs"]:
                if r["rc"] != 0 or not r["wire"]:
                    key = f"rc {r['rc']}" + ("" if r["wire"] else ", no ACK seen")
                    fails[key] = fails.get(key, 0) + 1
                    continue
                walls.append(r["wall"])
                w = r["wire"]
                total.append(w["total"])
                to_d.append(w["to_discover"])
                to_x.append(w["to_exit"])
                retrans += w["discovers"] > 1
                if w["offer"] is not None:
                    offer.append(w["offer"])
                if w["ack"] is not None:
                    ack.append(w["ack"])
        cpu1 = cpu_ms(sb)
        start_at = time.monotonic() + 1.5  # every worker's Python is up and capturing by then
        outs = run_workers([in_vm(vm, "dhcp-worker", str(PAR_ROUNDS), str(start_at), "0") for vm in vms],
                           timeout=60 + 12 * PAR_ROUNDS)
        ok = [r for o in outs for r in o["runs"] if r["rc"] == 0]
        pwire = [r["wire"]["total"] for r in ok if r["wire"]]
        pfail = sum(1 for o in outs for r in o["runs"] if r["rc"] != 0)
        span = max(o["end"] for o in outs) - start_at
        rate = len(ok) / span
        cpu2 = cpu_ms(sb)
        res = {"seq_to_discover": to_d, "seq_to_exit": to_x,
               "seq_agent_cpu": (cpu1["agent"] - cpu0["agent"]) / max(1, len(walls)),
               "par_agent_cpu": (cpu2["agent"] - cpu1["agent"]) / max(1, len(ok)),"seq_wall": walls, "seq_wire": total, "seq_offer": offer, "seq_ack": ack, "baseline": baseline,
               "seq_fail": fails, "seq_retrans": retrans, "par_rate": rate, "par_ok": len(ok), "par_fail": pfail,
               "par_span": span, "par_wall": [r["wall"] for r in ok], "par_wire": pwire}
        results.append(res)
        print(f"run {run + 1}: sequential {len(walls)} leases ok, failures {fails or 0}, DISCOVER retransmitted in {retrans}")
        print(f"  udhcpc wall clock      {fmt(walls)}")
        print(f"  busybox true (start)   {fmt(baseline)}")
        print(f"  wire DISCOVER->ACK     {fmt(total)}")
        print(f"  wire DISCOVER->OFFER   {fmt(offer)}")
        print(f"  wire REQUEST->ACK      {fmt(ack)}")
        print(f"  spawn->DISCOVER        {fmt(to_d)}")
        print(f"  ACK->udhcpc exit       {fmt(to_x)}")
        print(f"  cmp1 agent CPU per lease {res['seq_agent_cpu']:.2f} ms sequential, {res['par_agent_cpu']:.2f} ms at once "
              "(the whole agent: includes its idle work over the same time)")
        print(f"  at once: {len(ok)} leases ({pfail} failed) in {span:.2f} s = {rate:.0f} leases/s; "
              f"wall {fmt(res['par_wall'])}; wire DISCOVER->ACK {fmt(pwire)}")


def packet_socket_drops(ns):
    """Frames dropped by the AF_PACKET sockets in namespace ns (`ss -0 -m`: skmem's d counter)."""
    out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-0", "-a", "-m"], capture_output=True, text=True, timeout=10).stdout
    found = re.findall(r"skmem:\([^)]*,d(\d+)\)", out)
    if not found:
        print(f"  (no packet sockets with skmem in {ns}: drops unknown)")
    return sum(int(d) for d in found)


def raw_dhcp_bench(sb, vms, results):
    n_total = RAW_N
    print(f"\n== DHCP on cmp1 with a raw-socket client (no process per lease): {n_total} exchanges per run, {RUNS} runs")
    for clients in sorted({1, min(8, len(vms)), len(vms)}):
        rows = []
        for run in range(RUNS):
            start_at = time.monotonic() + 1.5
            cpu0, sdrops0 = cpu_ms(sb), packet_socket_drops(PREFIX + "cmp1")
            outs = run_workers([in_vm(vms[i], "raw-worker", str(n_total // clients), str(start_at), "60")
                                for i in range(clients)], timeout=120)
            cpu1 = cpu_ms(sb)
            total = [x for o in outs for x in o["total"]]
            offer = [x for o in outs for x in o["offer"]]
            ack = [x for o in outs for x in o["ack"]]
            errors = {}
            for o in outs:
                for k, v in o["errors"].items():
                    errors[k] = errors.get(k, 0) + v
            span = max(o["end"] for o in outs) - start_at
            sdrops = packet_socket_drops(PREFIX + "cmp1") - sdrops0
            cdrops, cframes = sum(o["client_drops"] for o in outs), sum(o["client_frames"] for o in outs)
            row = {"server_drops": sdrops, "client_drops": cdrops, "rate": len(total) / span, "p50": pct(total, 0.5), "p99": pct(total, 0.99), "offer50": pct(offer, 0.5),
                   "ack50": pct(ack, 0.5), "errors": errors, "agent_cpu": (cpu1["agent"] - cpu0["agent"]) / max(1, len(total))}
            rows.append(row)
            print(f"  {clients} VMs at once: run {run + 1}: {len(total)} leases in {span:.2f} s = {row['rate']:.0f} leases/s; "
                  f"DISCOVER->ACK {fmt(total)}; DISCOVER->OFFER p50 {row['offer50']:.2f} ms, REQUEST->ACK p50 "
                  f"{row['ack50']:.2f} ms; errors {errors or 0}; cmp1 agent CPU per lease {row['agent_cpu']:.3f} ms; "
                  f"frames dropped by the agent's packet sockets {sdrops}, by the clients' {cdrops} (of {cframes} they took)")
        results[clients] = rows


def meta_bench(sb, label, vms, results):
    print(f"\n== metadata, {label} network, from cmp1")
    for keepalive in (0, 1):
        for clients in (1, 8):
            n = META_N if clients == 1 else META_N // 4
            rows = []
            for run in range(RUNS):
                start_at = time.monotonic() + 1.0
                cpu0 = cpu_ms(sb)
                outs = run_workers([in_vm(vms[i % len(vms)], "meta-worker", str(n), str(keepalive), str(start_at), "60")
                                    for i in range(clients)], timeout=90)
                lat = [x for o in outs for x in o["lat"]]
                errors = {}
                for o in outs:
                    for k, v in o["errors"].items():
                        errors[k] = errors.get(k, 0) + v
                span = max(o["end"] for o in outs) - start_at
                cpu1 = cpu_ms(sb)
                per = {k: (cpu1[k] - cpu0[k]) / max(1, len(lat)) for k in cpu0}
                rows.append({"agent_cpu": per["agent"], "server_cpu": per["server"], "rps": len(lat) / span, "p50": pct(lat, 0.5), "p99": pct(lat, 0.99), "ok": len(lat),
                             "errors": errors, "connections": sum(o["connections"] for o in outs)})
                print(f"  keep-alive {'on ' if keepalive else 'off'} clients {clients}: run {run + 1}: {len(lat)} ok in "
                      f"{span:.2f} s = {len(lat) / span:.0f} req/s, {fmt(lat)}, errors {errors or 0}"
                      + f", {rows[-1]['connections']} connections; CPU per request: agent {per['agent']:.3f} ms, "
                      f"server {per['server']:.3f} ms")
            results[(label, keepalive, clients)] = rows


def summary(dhcp, raw, meta):
    med = lambda xs: statistics.median(xs) if xs else float("nan")
    print("\n== summary (medians over runs)")
    print("| what | p50 | p99 | rate | failures |")
    print("|---|---|---|---|---|")
    for key, name in (("baseline", "`busybox true` spawned in a VM namespace"), ("seq_wall", "udhcpc -q wall clock, sequential"),
                      ("seq_wire", "DISCOVER→ACK on the wire, sequential"), ("seq_offer", "DISCOVER→OFFER on the wire"),
                      ("seq_ack", "REQUEST→ACK on the wire"), ("seq_to_discover", "udhcpc spawned → its DISCOVER on the wire"),
                      ("seq_to_exit", "ACK on the wire → udhcpc exited"), ("par_wall", "udhcpc wall clock, all VMs at once"),
                      ("par_wire", "DISCOVER→ACK on the wire, all VMs at once")):
        rate = f"{med([r['par_rate'] for r in dhcp]):.0f} leases/s" if key == "par_wall" else ""
        fails = ""
        if key == "seq_wall":
            fails = str(sum(sum(r["seq_fail"].values()) for r in dhcp))
        elif key == "par_wall":
            fails = str(sum(r["par_fail"] for r in dhcp))
        print(f"| {name} | {med([pct(r[key], 0.5) for r in dhcp]):.2f} ms | {med([pct(r[key], 0.99) for r in dhcp]):.2f} ms "
              f"| {rate} | {fails} |")
    for c, rows in raw.items():
        errs = sum(sum(r["errors"].values()) for r in rows)
        print(f"| raw-socket client DISCOVER→ACK, {c} VM{'s' if c > 1 else ''} at once | {med([r['p50'] for r in rows]):.2f} ms "
              f"| {med([r['p99'] for r in rows]):.2f} ms | {med([r['rate'] for r in rows]):.0f} leases/s "
              f"({'/'.join('%.0f' % r['rate'] for r in rows)}) | {errs} |")
    for (label, ka, c), rows in meta.items():
        errs = sum(sum(r["errors"].values()) for r in rows)
        print(f"| metadata GET, {label}, keep-alive {'on' if ka else 'off'}, {c} client{'s' if c > 1 else ''} "
              f"| {med([r['p50'] for r in rows]):.2f} ms | {med([r['p99'] for r in rows]):.2f} ms "
              f"| {med([r['rps'] for r in rows]):.0f} req/s ({'/'.join('%.0f' % r['rps'] for r in rows)}) | {errs} |")
    print(f"\ncmp1 agent CPU per lease (median): {med([r['seq_agent_cpu'] for r in dhcp]):.2f} ms sequential, "
          f"{med([r['par_agent_cpu'] for r in dhcp]):.2f} ms at once")
    for (label, ka, c), rows in meta.items():
        print(f"CPU per metadata request, {label}, keep-alive {'on' if ka else 'off'}, c={c}: agent "
              f"{med([r['agent_cpu'] for r in rows]):.3f} ms, server {med([r['server_cpu'] for r in rows]):.3f} ms")


def main():
    sb = Sandbox()
    subprocess.run(sb.cli + ["down"], capture_output=True, timeout=120)  # leftovers of a crashed run
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # so that the finally below runs
    t_begin = time.monotonic()
    try:
        sb.run("up", "--port", str(PORT), "--gateways", "1", timeout=180)
        sb.api("PUT", "/quotas/fake_project_id", {"quota": {"port": -1, "network": -1, "subnet": -1}})
        public = sb.api("GET", "/networks?name=public")["networks"][0]["id"]
        routed = sb.api("POST", "/networks", {"network": {"name": "dm-routed"}})["network"]
        rsub = sb.api("POST", "/subnets", {"subnet": {"network_id": routed["id"], "ip_version": 4, "cidr": "10.81.0.0/24"}})["subnet"]
        router = sb.api("POST", "/routers", {"router": {"name": "dm-r", "distributed": True,
                                                       "external_gateway_info": {"network_id": public}}})["router"]
        sb.api("PUT", f"/routers/{router['id']}/add_router_interface", {"subnet_id": rsub["id"]})
        iso = sb.api("POST", "/networks", {"network": {"name": "dm-iso"}})["network"]
        sb.api("POST", "/subnets", {"subnet": {"network_id": iso["id"], "ip_version": 4, "cidr": "10.82.0.0/24", "gateway_ip": None}})
        routed_vms, iso_vms, boot_notes = [f"d{i}" for i in range(VMS)], [f"i{i}" for i in range(ISO_VMS)], []
        t0 = time.monotonic()
        for name, net in [(v, "dm-routed") for v in routed_vms] + [(v, "dm-iso") for v in iso_vms]:
            out = sb.run("vm", "create", name, "--host", "cmp1", "--network", net)
            if "metadata uuid" not in out or "NOT its own" in out:
                boot_notes.append(out.strip().splitlines()[-1])
        print(f"{VMS + ISO_VMS} VMs created and booted on cmp1 in {time.monotonic() - t0:.1f} s"
              + (f"; boot notes: {boot_notes}" if boot_notes else " (each got a lease and its own metadata)"))
        for vm in (routed_vms[0], iso_vms[0]):  # the path a metadata request takes
            route = subprocess.run(["ip", "netns", "exec", f"{PREFIX}vm-{vm}", "ip", "route", "get", "169.254.169.254"],
                                   capture_output=True, text=True, timeout=10).stdout.split("\n")[0]
            print(f"VM {vm}: {route}")
        dhcp_results, meta_results = [], {}
        dhcp_bench(sb, routed_vms, dhcp_results)
        raw_results = {}
        raw_dhcp_bench(sb, routed_vms, raw_results)
        meta_bench(sb, "routed", routed_vms, meta_results)
        meta_bench(sb, "isolated", iso_vms, meta_results)
        summary(dhcp_results, raw_results, meta_results)
        for log in ("server.log", "cmp1.log"):
            lines = [l for l in Path(STATE, log).read_text(errors="replace").splitlines()
                     if any(w in l.lower() for w in ("error", "warn", "fail"))]
            print(f"\n{log}: {len(lines)} warning/error lines" + "".join("\n  " + l for l in lines[-15:]))
        print(f"\ntotal {time.monotonic() - t_begin:.0f} s")
    finally:
        try:
            sb.run("down", timeout=180)
        finally:
            if os.environ.get("DM_KEEP_LOGS"):
                shutil.copytree(STATE, os.environ["DM_KEEP_LOGS"], dirs_exist_ok=True)
            shutil.rmtree(STATE, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "dhcp-worker":
        dhcp_worker(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "raw-worker":
        raw_worker(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "meta-worker":
        meta_worker(int(sys.argv[2]), bool(int(sys.argv[3])), float(sys.argv[4]), float(sys.argv[5]))
    else:
        if os.geteuid() != 0:
            sys.exit("dhcp_metadata: needs root (a sandbox of its own)")
        main()
