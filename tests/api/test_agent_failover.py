"""An agent with a list of servers (`server_url = A, B`): when A's watch stream ends and A
stops answering, the agent moves to B at once (one log line) and resumes its watch there
with `since=` the last revision it received; its status reports follow it to B.

The real neutrino-agent runs with --dry-run in its own network namespace (it changes
nothing); the two servers are tiny HTTP servers on Unix sockets that record what they see."""
import json
import os
import shutil
import socketserver
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

from neutrino_api import BUILD_DIR

AGENT_BIN = BUILD_DIR / "bin" / "neutrino-agent"
PROTOCOL = 8  # src/channel/entries.h kProtocolVersion

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                reason="needs root and unshare (the agent runs in its own network namespace)")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # a watch stream ends when the connection closes

    def address_string(self):
        return "unix"

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.seen.append(f"POST {self.path}")
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.server.seen.append(f"GET {self.path}")
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        lines = [{"op": "hello", "protocol": PROTOCOL}, {"op": "synced", "rev": self.server.rev}]
        self.wfile.write("".join(json.dumps(x) + "\n" for x in lines).encode())
        self.wfile.flush()
        if not self.server.end_stream:
            self.server.stop.wait(30)  # the stream stays open until the test ends


class FakeServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path, rev, end_stream):
        super().__init__(str(path), Handler)
        self.seen, self.rev, self.end_stream = [], rev, end_stream
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        self.shutdown()
        self.server_close()


def wait_for(what, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if what():
            return True
        time.sleep(0.05)
    return False


def test_agent_moves_to_the_next_server_and_resumes(tmp_path):
    sock_a, sock_b = tmp_path / "a.sock", tmp_path / "b.sock"
    a = FakeServer(sock_a, rev=5, end_stream=True)
    b = FakeServer(sock_b, rev=5, end_stream=False)
    ini = tmp_path / "agent.ini"
    ini.write_text(f"[DEFAULT]\nhost = cmp1\nlocal_ip = 192.0.2.11\nstate_path = {tmp_path}\n"
                   f"server_url = unix://{sock_a}, unix://{sock_b}\n[ha]\nenabled = false\n")
    log = tmp_path / "agent.log"
    with open(log, "w") as out:
        agent = subprocess.Popen(["unshare", "--net", str(AGENT_BIN), "--config-file", str(ini), "--dry-run"],
                                 stdout=out, stderr=subprocess.STDOUT)
    try:
        # A: register, then the first watch (no revision yet), which A ends after rev 5.
        assert wait_for(lambda: any(s.startswith("GET ") for s in a.seen)), log.read_text()
        a.close()  # ... and A stops answering
        assert a.seen[0] == "POST /agent/v1/register", a.seen
        assert "GET /agent/v1/hosts/cmp1/watch" in a.seen, a.seen
        # B: the watch resumes from the revision A delivered, with its view's digest (the
        # empty view's here); reports go to B from now on.
        assert wait_for(lambda: any(s.startswith("GET ") for s in b.seen)), log.read_text()
        assert [s for s in b.seen if s.startswith("GET ")][0] == \
            "GET /agent/v1/hosts/cmp1/watch?since=5&digest=0000000000000000", b.seen
        assert wait_for(lambda: "POST /agent/v1/hosts/cmp1/status" in b.seen), (b.seen, log.read_text())
        text = log.read_text()
        assert f"server unix://{sock_a} unreachable (" in text, text
        assert f"moving to unix://{sock_b}" in text, text
        assert "register" not in " ".join(b.seen)  # no new registration: the agent only moved
        assert "would " not in text, text  # same revision: no kernel operation planned
    finally:
        agent.terminate()
        agent.wait(timeout=10)
        b.close()


def check_config(tmp_path, server_url):
    ini = tmp_path / "check.ini"
    ini.write_text(f"[DEFAULT]\nhost = cmp1\nlocal_ip = 192.0.2.11\nserver_url = {server_url}\n")
    p = subprocess.run([str(AGENT_BIN), "--config-file", str(ini), "--check-config"],
                       capture_output=True, text=True, timeout=20)
    return p, [line for line in (p.stdout + p.stderr).splitlines() if line.strip()]


def test_check_config_probes_every_server(tmp_path):
    up = FakeServer(tmp_path / "up.sock", rev=1, end_stream=True)
    try:
        # One answers: each unreachable one is a warning line of its own, and the file is OK.
        p, lines = check_config(tmp_path, f"http://127.0.0.1:1, unix://{tmp_path}/up.sock unix://{tmp_path}/gone.sock")
        assert p.returncode == 0, lines
        warnings = [line for line in lines if "warning:" in line]
        assert len(warnings) == 2, lines
        assert "check.ini:4:" in warnings[0] and "http://127.0.0.1:1 is unreachable" in warnings[0], lines
        assert f"unix://{tmp_path}/gone.sock is unreachable" in warnings[1], lines
        assert any("configuration OK" in line and "1 of 3 servers answer" in line for line in lines), lines
    finally:
        up.close()
    # None answers: every one is a problem, exit status 2.
    p, lines = check_config(tmp_path, "http://127.0.0.1:1 http://127.0.0.1:2")
    assert p.returncode == 2, lines
    assert len(lines) == 2 and all('option "server_url" in [DEFAULT]' in line for line in lines), lines
    # A bad element is named, with the file and line.
    p, lines = check_config(tmp_path, "http://127.0.0.1:1, ftp://b")
    assert p.returncode == 2 and len(lines) == 1, lines
    assert "check.ini:4:" in lines[0] and "element 2 of 2" in lines[0] and "ftp://b" in lines[0], lines
