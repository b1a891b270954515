"""neutrino-bfd on the real kernel: two "gateway hosts" (network namespaces nt-bfd<pid>-a
and -b joined by a veth pair, 10.99.0.1/24 and 10.99.0.2/24), each with the VXLAN device
ntbfd0 (VNI 16777215, MAC 02:bf:<its VTEP>, an FDB entry sending the peer's MAC to the
peer's VTEP) and a daemon on it. The sessions come up, go down within the detection time
when VXLAN is dropped at b, come back when it is let through again; a client reconnecting
with the same configuration changes nothing; garbage on the control socket is answered
and the daemon goes on. Needs root; both namespaces are removed at the end, also on
failure; only the daemons started here are stopped, by PID."""
import json
import os
import select
import socket
import subprocess
import time
from pathlib import Path

import pytest

from nt_e2e import sh, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-bfd*)")

ROOT = Path(__file__).resolve().parents[2]
BFD = Path(os.environ.get("NEUTRINO_BUILD_DIR", ROOT / "build")) / "bin" / "neutrino-bfd"
TAG = f"nt-bfd{os.getpid()}"
NS = {"a": f"{TAG}-a", "b": f"{TAG}-b"}
IP = {"a": "10.99.0.1", "b": "10.99.0.2"}
OTHER = {"a": "b", "b": "a"}
DEV = "ntbfd0"


def peer_mac(ip):
    return "02:bf:" + ":".join(f"{int(x):02x}" for x in ip.split("."))


def config(host, peers=None, ms=100, mult=3):
    return {"op": "config", "local": IP[host], "min_tx_ms": ms, "min_rx_ms": ms, "detect_mult": mult,
            "peers": [IP[OTHER[host]]] if peers is None else peers}


class Control:
    """One connection to a daemon's control socket: JSON lines with deadlines."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(path))
        self.buf = b""
        self.closed = False
        self.events = []  # every {"op":"state"} line seen, with its monotonic arrival time
        self.hello = self.next_line(5)
        assert self.hello and self.hello["op"] == "hello" and self.hello["protocol"] == 1, self.hello

    def send(self, obj):
        self.sock.sendall(obj if isinstance(obj, bytes) else json.dumps(obj).encode() + b"\n")

    def next_line(self, timeout):
        """The next line as JSON, None at the deadline or when the daemon closed."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return None
            if not select.select([self.sock], [], [], left)[0]:
                return None
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        obj = json.loads(line)
        if obj.get("op") == "state":
            self.events.append((time.monotonic(), obj))
        return obj

    def until(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(max(0.0, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"timed out after {timeout}s waiting for {what} (closed={self.closed})")
            if predicate(line):
                return line

    def states(self, timeout=5):
        self.send({"op": "get"})
        return self.until(lambda l: l["op"] == "states", timeout, "a states line")

    def close(self):
        self.sock.close()


def peer_state(ctl, host):
    return ctl.states()["peers"].get(IP[OTHER[host]], {}).get("state")


def wait_both(ctls, state, timeout):
    for host, ctl in ctls.items():
        wait_for(lambda: peer_state(ctl, host) == state, timeout, f"{host}'s session {state}")


def make_device(host):
    """What the agent makes on a gateway host: the BFD VXLAN device and the peer's FDB entry."""
    n, other = NS[host], OTHER[host]
    sh("ip", "-n", n, "link", "add", DEV, "type", "vxlan", "id", "16777215", "local", IP[host], "dstport", "4789", "nolearning")
    sh("ip", "-n", n, "link", "set", DEV, "address", peer_mac(IP[host]), "up")
    sh("ip", "netns", "exec", n, "bridge", "fdb", "append", peer_mac(IP[other]), "dev", DEV, "dst", IP[other])


@pytest.fixture(scope="module")
def daemons(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bfd")
    procs = {}
    try:
        for host in NS:
            sh("ip", "netns", "add", NS[host])
            sh("ip", "-n", NS[host], "link", "set", "lo", "up")
        sh("ip", "-n", NS["a"], "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", NS["b"])
        for host in NS:
            sh("ip", "-n", NS[host], "addr", "add", IP[host] + "/24", "dev", "veth0")
            sh("ip", "-n", NS[host], "link", "set", "veth0", "up")
            make_device(host)
        for host in NS:
            path = tmp / f"{host}.sock"
            log = open(tmp / f"{host}.log", "w")
            procs[host] = subprocess.Popen(["ip", "netns", "exec", NS[host], str(BFD), "--device", DEV, "--control", str(path)],
                                           stdout=log, stderr=subprocess.STDOUT)
            wait_for(lambda: path.exists(), 10, f"{host}'s control socket")
        # Configured 100 ms x 3 and up before any test (whose clients then get states after hello).
        ctls = {host: Control(tmp / f"{host}.sock") for host in NS}
        for host, ctl in ctls.items():
            ctl.send(config(host))
            answer = ctl.until(lambda l: l["op"] in ("states", "error"), 5, "the config's answer")
            assert answer["op"] == "states" and answer["local"] == IP[host], answer
        wait_both(ctls, "up", 15)
        for host, ctl in ctls.items():
            # Down -> Init -> Up, or Down -> Up for the side that hears Init first (§6.2).
            assert [e["state"] for _, e in ctl.events] in (["init", "up"], ["up"]), ctl.events
            ctl.close()
        yield {host: tmp / f"{host}.sock" for host in NS}, procs, tmp
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for n in NS.values():
            sh("ip", "netns", "del", n, check=False)


def test_sessions_follow_the_underlay(daemons):
    paths, procs, tmp = daemons
    ctls = {}
    # The clients that configured the daemons are gone; new ones send the same
    # configuration: no session moves.
    for host in NS:
        ctls[host] = Control(paths[host])
        assert ctls[host].next_line(5)["op"] == "states"  # configured: states follow hello
        ctls[host].send(config(host))
        assert ctls[host].until(lambda l: l["op"] in ("states", "error"), 5, "the config's answer")["op"] == "states"
    quiet_until = time.monotonic() + 1.0  # the one bounded wait: nothing may happen in it
    for ctl in ctls.values():
        while ctl.next_line(max(0.0, quiet_until - time.monotonic())) is not None:
            pass
    for host, ctl in ctls.items():
        assert ctl.events == [], ctl.events
        assert peer_state(ctl, host) == "up"

    # VXLAN dropped at b: both go down, a within 600 ms of the rule.
    nft = ["ip", "netns", "exec", NS["b"], "nft"]
    sh(*nft, "add", "table", "inet", "t")
    sh(*nft, "add", "chain", "inet", "t", "in", "{ type filter hook input priority 0; }")
    start = time.monotonic()
    sh(*nft, "add", "rule", "inet", "t", "in", "udp", "dport", "4789", "drop")
    down = {}
    for host, ctl in ctls.items():
        line = ctl.until(lambda l: l["op"] == "state" and l["state"] == "down", 5, f"{host} down")
        down[host] = [t for t, e in ctl.events if e is line][0] - start
    (tmp / "detection.txt").write_text(json.dumps(down))
    print(f"\nBFD 100 ms x 3: down after the drop rule: a {down['a'] * 1000:.0f} ms, b {down['b'] * 1000:.0f} ms")
    assert down["a"] < 0.6, down
    assert [e["diag"] for _, e in ctls["b"].events if e["state"] == "down"] == ["control_detection_time_expired"]
    assert [e["diag"] for _, e in ctls["a"].events if e["state"] == "down"] == ["neighbor_signaled_session_down"]

    sh(*nft, "delete", "table", "inet", "t")
    wait_both(ctls, "up", 15)

    # b's device deleted and made again (a new index): b's daemon takes a new socket.
    sh("ip", "-n", NS["b"], "link", "del", DEV)
    ctls["a"].until(lambda l: l["op"] == "state" and l["state"] == "down", 5, "a down without b's device")
    make_device("b")
    wait_both(ctls, "up", 15)
    for host, proc in procs.items():
        assert proc.poll() is None, host


GARBAGE_CLOSING = [
    b"{not json\n",
    b'{"op":"get","x":"\xff\xfe"}\n',
    b"[" * 100000 + b"\n",
    b"x" * (2 << 20),  # no newline: longer than 1 MiB
    b'{"op":"config","peers":[' + b'"1.2.3.4",' * 200000 + b'"1.2.3.4"]}\n',  # one 2 MiB line
]


def bad_configs():
    good = config("a")
    yield "not an object", [1, 2, 3]
    yield "no op", {"local": "10.99.0.1"}
    yield "op not a string", {"op": 5}
    yield "unknown op", {"op": "reboot"}
    for key, value in [("local", 1), ("local", "10.99.0"), ("local", "300.1.1.1"), ("local", None),
                       ("min_tx_ms", "100"), ("min_tx_ms", 100.5), ("min_tx_ms", 9), ("min_tx_ms", 60001),
                       ("min_rx_ms", -1), ("min_rx_ms", 2 ** 64 - 1), ("detect_mult", 0), ("detect_mult", 256),
                       ("detect_mult", True), ("peers", "10.99.0.2"), ("peers", [1]), ("peers", ["10.99.0.1"]),
                       ("peers", ["10.99.0.2", "10.99.0.2"]), ("peers", [f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}" for i in range(10000)]),
                       ("surplus", 1)]:
        yield f"{key}={str(value)[:40]}", {**good, key: value}
    for key in ("local", "min_tx_ms", "min_rx_ms", "detect_mult", "peers"):
        yield f"without {key}", {k: v for k, v in good.items() if k != key}


def test_garbage_on_the_control_socket(daemons):
    paths, procs, _ = daemons
    path = paths["a"]
    ctl = Control(path)
    assert ctl.next_line(5)["op"] == "states"  # configured by the test before: states follow hello
    ctl.send(config("a"))
    ctl.until(lambda l: l["op"] == "states", 5, "the config's answer")
    wait_for(lambda: peer_state(ctl, "a") == "up", 15, "a's session up")
    for what, obj in bad_configs():
        ctl.send(obj)
        answer = ctl.until(lambda l: l["op"] in ("error", "states"), 5, f"an answer to {what}")
        assert answer["op"] == "error", (what, answer)
    assert peer_state(ctl, "a") == "up"  # the configuration stayed
    for garbage in GARBAGE_CLOSING:
        bad = Control(path)
        try:
            bad.send(garbage)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon may close before reading it all
        answer = bad.until(lambda l: l["op"] == "error", 5, f"an error for {garbage[:20]!r}")
        assert answer["op"] == "error"
        assert bad.next_line(5) is None and bad.closed, f"still open after {garbage[:20]!r}"
        bad.close()
        assert procs["a"].poll() is None
        assert peer_state(ctl, "a") == "up"
    assert ctl.events == [], ctl.events  # nothing moved for any of it


def test_control_socket_ownership(daemons):
    paths, procs, tmp = daemons
    # A second daemon on a live daemon's socket refuses to start and leaves it alone.
    second = subprocess.run(["ip", "netns", "exec", NS["a"], str(BFD), "--device", DEV, "--control", str(paths["a"])],
                            capture_output=True, text=True, timeout=30)
    assert second.returncode == 1, second
    assert "another daemon answers" in second.stdout + second.stderr
    ctl = Control(paths["a"])
    assert ctl.next_line(5)["op"] == "states"
    assert procs["a"].poll() is None
    # A stale socket file (nobody listening) is replaced; SIGTERM removes it again.
    stale = tmp / "stale.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(stale))
    dead.close()
    third = subprocess.Popen(["ip", "netns", "exec", NS["b"], str(BFD), "--device", DEV, "--control", str(stale)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        hello = wait_for(lambda: _try_hello(stale), 10, "the daemon on the stale socket")
        assert hello["pid"] == third.pid
    finally:
        third.terminate()
        assert third.wait(timeout=10) == 0
    assert not stale.exists()


def _try_hello(path):
    try:
        ctl = Control(path)
    except (ConnectionRefusedError, FileNotFoundError):
        return None
    ctl.close()
    return ctl.hello


def test_sigterm_sends_admin_down(daemons):
    """Last in the module: stops b (SIGTERM, by PID)."""
    paths, procs, _ = daemons
    ctl = Control(paths["a"])
    assert ctl.next_line(5)["op"] == "states"
    wait_for(lambda: peer_state(ctl, "a") == "up", 15, "a's session up")
    procs["b"].terminate()
    line = ctl.until(lambda l: l["op"] == "state" and l["state"] == "down", 5, "a down after b's AdminDown")
    assert line["diag"] == "neighbor_signaled_session_down", line
    assert procs["b"].wait(timeout=10) == 0
    assert not paths["b"].exists()
    assert procs["a"].poll() is None
