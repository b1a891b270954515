#!/usr/bin/python3
"""What BFD costs (issue 15): CPU and RSS of one neutrino-bfd process holding BFD_PEERS (200)
sessions at BFD_MS (100) ms x 3, every peer really answering (root).

Two namespaces nt-bfdcpu-a and nt-bfdcpu-b joined by a veth pair (nothing in the root
namespace). a: 10.98.0.1/16 on the veth, the VXLAN device ntbfd0 the way the agent makes it
(VNI 16777215, local 10.98.0.1, MAC 02:bf:0a:62:00:01, nolearning, one FDB entry per peer:
02:bf:<peer VTEP> -> peer VTEP) and the daemon under test on it. b: the 200 peer VTEPs
10.98.1.1..10.98.1.200 on its veth, one VXLAN device ntbfd0 (same VNI, no local address,
FDB 02:bf:0a:62:00:01 -> 10.98.0.1) and a peer emulator (this script with --emulate, a
process of its own) on an AF_PACKET socket on that device: each control packet from a is
answered at once by the VTEP its destination MAC names, with a frame built as
src/bfd/packet.cc builds it (inner source = that VTEP, destination 127.0.0.1, TTL 255, TOS
CS6, UDP 49152+i -> 3784), your_discr = their my_discr, state Init when they are Down and
Up when they are Init or Up, Final when they Poll. So the daemon receives one packet per
packet it sends, as from a real peer with the same timers.

The daemon is configured over its control socket with the 200 peers; once every session
is up, user+sys CPU (utime+stime of /proc/PID/stat) per wall second of the daemon and of
the emulator are sampled over BFD_SECONDS (30), with the daemon's RSS and the packets it
counted (tx/rx from its states line) and any session leaving Up.

  flock /tmp/nt-build.lock bench/bfd_cpu.py

Environment: BFD_PEERS (200), BFD_MS (100), BFD_MULT (3), BFD_SECONDS (30). Both namespaces
are removed at the end, also on failure; only the two processes started here are stopped,
by PID.
"""
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BFD = ROOT / "build" / "bin" / "neutrino-bfd"
NS_A, NS_B = "nt-bfdcpu-a", "nt-bfdcpu-b"
DEV = "ntbfd0"
LOCAL = "10.98.0.1"
PEERS = int(os.environ.get("BFD_PEERS", "200"))
MS = int(os.environ.get("BFD_MS", "100"))
MULT = int(os.environ.get("BFD_MULT", "3"))
SECONDS = float(os.environ.get("BFD_SECONDS", "30"))
TICK = os.sysconf("SC_CLK_TCK")


def peer_ip(i):
    return f"10.98.{1 + i // 250}.{1 + i % 250}"


def mac(ip):
    return "02:bf:" + ":".join(f"{int(x):02x}" for x in ip.split("."))


def sh(*args, input=None):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=True, input=input)


# ---------------------------------------------------------------- the peer emulator (in b)

def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def emulate(count):
    ETH_P_IP = 0x0800
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sock.bind((DEV, ETH_P_IP))
    vteps = {socket.inet_aton(peer_ip(i)): i for i in range(count)}
    print("ready", flush=True)
    while True:
        f = sock.recv(2048)
        if len(f) < 14 + 20 + 8 + 24 or f[12:14] != b"\x08\x00" or f[23] != 17:
            continue
        ihl = (f[14] & 0xf) * 4
        udp = 14 + ihl
        if f[udp + 2:udp + 4] != b"\x0e\xc8":  # 3784
            continue
        me = f[2:6]  # the destination MAC 02:bf:<VTEP>
        i = vteps.get(me)
        if i is None or f[0:2] != b"\x02\xbf":
            continue
        bfd = f[udp + 8:udp + 8 + 24]
        their_state = bfd[1] >> 6
        poll = bfd[1] & 0x20
        their_disc = bfd[4:8]
        if their_state == 0:  # AdminDown
            state = 1
        elif their_state == 1:  # Down
            state = 2  # Init
        else:
            state = 3  # Up
        us = MS * 1000
        body = struct.pack("!BBBB4s4sIII", 1 << 5, state << 6 | (0x10 if poll else 0), MULT, 24,
                           struct.pack("!I", i + 1), their_disc, us, us, 0)
        u = struct.pack("!HHHH", 49152 + i, 3784, 8 + 24, 0) + body
        ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0xc0, 20 + len(u), 0, 0, 255, 17, 0, me, b"\x7f\0\0\1"))
        ip[10:12] = struct.pack("!H", checksum(bytes(ip)))
        sock.send(f[6:12] + f[0:6] + b"\x08\x00" + bytes(ip) + u)


# ---------------------------------------------------------------- the benchmark (root ns)

class Control:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(path))
        self.buf = b""
        self.events = []

    def send(self, obj):
        self.sock.sendall(json.dumps(obj).encode() + b"\n")

    def line(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = max(0.0, deadline - time.monotonic())
            if not select.select([self.sock], [], [], left)[0]:
                return None
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("the daemon closed its control socket")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        obj = json.loads(line)
        if obj.get("op") == "state":
            self.events.append(obj)
        return obj

    def states(self):
        self.send({"op": "get"})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            obj = self.line(deadline - time.monotonic())
            if obj and obj.get("op") == "states":
                return obj
        raise RuntimeError("no states line")


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def exe_is(pid, name):
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(name.encode())


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    if "--emulate" in sys.argv:
        return emulate(int(sys.argv[sys.argv.index("--emulate") + 1]))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # cleanup runs (finally)
    if os.geteuid() != 0:
        sys.exit("bfd_cpu: needs root (network namespaces)")
    if not BFD.exists():
        sys.exit(f"bfd_cpu: {BFD} is missing (build it first)")
    tmp = Path(tempfile.mkdtemp(prefix="nt-bfdcpu-"))
    daemon = emulator = None
    peers = [peer_ip(i) for i in range(PEERS)]
    try:
        for ns in (NS_A, NS_B):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", NS_A, "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", NS_B)
        sh("ip", "-n", NS_A, "addr", "add", LOCAL + "/16", "dev", "veth0")
        sh("ip", "-n", NS_B, "-batch", "-", input="".join(f"addr add {p}/16 dev veth0\n" for p in peers))
        for ns in (NS_A, NS_B):
            sh("ip", "-n", ns, "link", "set", "veth0", "up")
        sh("ip", "-n", NS_A, "link", "add", DEV, "type", "vxlan", "id", "16777215", "local", LOCAL, "dstport", "4789", "nolearning")
        sh("ip", "-n", NS_A, "link", "set", DEV, "address", mac(LOCAL), "up")
        sh("ip", "netns", "exec", NS_A, "bridge", "-batch", "-",
           input="".join(f"fdb append {mac(p)} dev {DEV} dst {p}\n" for p in peers))
        sh("ip", "-n", NS_B, "link", "add", DEV, "type", "vxlan", "id", "16777215", "dstport", "4789", "nolearning")
        sh("ip", "-n", NS_B, "link", "set", DEV, "address", "02:bf:00:00:00:01", "up")
        sh("ip", "netns", "exec", NS_B, "bridge", "fdb", "append", mac(LOCAL), "dev", DEV, "dst", LOCAL)

        emulator = subprocess.Popen(["ip", "netns", "exec", NS_B, sys.executable, "-u", __file__, "--emulate", str(PEERS)],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if emulator.stdout.readline().strip() != "ready":
            raise RuntimeError("the emulator did not start")
        path = tmp / "a.sock"
        daemon = subprocess.Popen(["ip", "netns", "exec", NS_A, str(BFD), "--device", DEV, "--control", str(path)],
                                  stdout=open(tmp / "a.log", "w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not path.exists():
            if time.monotonic() > deadline or daemon.poll() is not None:
                raise RuntimeError("the daemon's control socket did not appear: " + (tmp / "a.log").read_text())
            time.sleep(0.05)
        assert exe_is(daemon.pid, "neutrino-bfd") and exe_is(emulator.pid, Path(sys.executable).name), "unexpected PIDs"
        ctl = Control(path)
        assert ctl.line(5)["op"] == "hello"
        ctl.send({"op": "config", "local": LOCAL, "min_tx_ms": MS, "min_rx_ms": MS, "detect_mult": MULT, "peers": peers})
        t_config = time.monotonic()
        while (answer := ctl.line(5)) and answer.get("op") not in ("states", "error"):
            pass
        if not answer or answer["op"] != "states":
            raise RuntimeError(f"the config was refused: {answer}")
        deadline = t_config + 60
        while True:
            st = ctl.states()
            up = sum(p["state"] == "up" for p in st["peers"].values())
            if up == PEERS:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {up}/{PEERS} sessions up after 60 s")
            time.sleep(0.2)
        all_up = time.monotonic() - t_config
        time.sleep(2)  # past the slow start (1 s rate while down) for every session
        ctl.events.clear()
        before = ctl.states()["peers"]
        w0, d0, e0 = time.monotonic(), cpu_seconds(daemon.pid), cpu_seconds(emulator.pid)
        rss = []
        while time.monotonic() - w0 < SECONDS:
            time.sleep(1)
            rss.append(rss_kib(daemon.pid))
            while ctl.line(0) is not None:
                pass
        w1, d1, e1 = time.monotonic(), cpu_seconds(daemon.pid), cpu_seconds(emulator.pid)
        after = ctl.states()["peers"]
        wall = w1 - w0
        tx = sum(after[p]["tx"] - before[p]["tx"] for p in peers) / wall
        rx = sum(after[p]["rx"] - before[p]["rx"] for p in peers) / wall
        down = [e for e in ctl.events if e.get("state") != "up"]
        print(f"== {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} neutrino-bfd, {PEERS} sessions at {MS} ms x {MULT}, "
              f"{wall:.1f} s measured, {os.cpu_count()} cores")
        print(f"all {PEERS} sessions up {all_up:.1f} s after the config line")
        print(f"daemon:   {100 * (d1 - d0) / wall:.2f}% of one core (user+sys), RSS {max(rss) / 1024:.1f} MiB "
              f"(min {min(rss) / 1024:.1f}), tx {tx:.0f} pkt/s, rx {rx:.0f} pkt/s")
        print(f"emulator: {100 * (e1 - e0) / wall:.2f}% of one core (user+sys), Python, one process in {NS_B}")
        print(f"sessions leaving Up during the measurement: {len(down)} {down[:3]}")
        if os.environ.get("BFD_DEBUG"):
            print((tmp / "a.log").read_text()[-3000:])
    finally:
        stop(daemon)
        stop(emulator)
        for ns in (NS_A, NS_B):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()


if __name__ == "__main__":
    main()
