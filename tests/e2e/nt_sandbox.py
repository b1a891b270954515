"""The sandbox driven through its own CLI, as the e2e tests use it: each test gets a sandbox
of its own (prefix nt-s<pid>-<n>-, any free API port) that `down` must remove entirely."""
import itertools
import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from nt_e2e import sh

ROOT = Path(__file__).resolve().parents[2]
NEUTRINO = Path(os.environ.get("NEUTRINO_BUILD_DIR", ROOT / "build")) / "bin" / "neutrino"
_count = itertools.count()


class Sandbox:
    def __init__(self, tmp):
        self.prefix = f"nt-s{os.getpid()}-{next(_count)}-"
        self.args = [str(NEUTRINO), "sandbox", "--prefix", self.prefix, "--state-dir", str(tmp / "sandbox")]
        self.state_file = tmp / "sandbox" / "sandbox.json"

    def run(self, *args, check=True, timeout=60):
        r = subprocess.run(self.args + list(args), capture_output=True, text=True, timeout=timeout)
        if check:
            assert r.returncode == 0, f"neutrino sandbox {' '.join(args)}: {r.stdout}{r.stderr}"
        return r

    def state(self):
        return json.loads(self.state_file.read_text())

    def server_port(self, server=0):
        """The API port of server `server` (0: the first; `up --servers N` starts several)."""
        servers = self.state().get("servers") or [{"port": self.state()["port"]}]
        return servers[server]["port"]

    def api(self, method, path, body=None, server=0, timeout=10):
        """(status, JSON answer) of one Neutron API request to server `server`."""
        req = urllib.request.Request(f"http://127.0.0.1:{self.server_port(server)}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                data = r.read()
                return r.status, json.loads(data) if data else None
        except urllib.error.HTTPError as e:
            data = e.read()
            try:
                return e.code, json.loads(data)
            except ValueError:
                return e.code, data.decode(errors="replace")

    def osc(self, *args, check=True, server=0):
        env = dict(os.environ, OS_AUTH_TYPE="none", OS_ENDPOINT=f"http://127.0.0.1:{self.server_port(server)}")
        r = subprocess.run(["openstack", *args], capture_output=True, text=True, timeout=60, env=env)
        if check:
            assert r.returncode == 0, f"openstack {' '.join(args)}: {r.stderr}"
        return r

    def osc_json(self, *args, server=0):
        return json.loads(self.osc(*args, "-f", "json", server=server).stdout)

    def vm_ip(self, name):
        return next(v["ip"] for v in self.state()["vms"] if v["name"] == name)

    def pings(self, vm, ip):
        return self.run("vm", "exec", vm, "ping", "-c", "1", "-W", "1", ip, check=False).returncode == 0

    def ns(self, host):
        return self.prefix + host

    def namespaces(self):
        return [n.split()[0] for n in sh("ip", "netns", "list").stdout.splitlines() if n.startswith(self.prefix)]



def start_sandbox(tmp, *extra):
    """A sandbox of 2 computes and 1 gateway for one test; `procs` are stopped by stop_sandbox."""
    s = Sandbox(tmp)
    s.tmp = tmp
    s.procs = []
    s.run("up", "--port", "0", "--computes", "2", "--gateways", "1", "--agent-down-time", "3", *extra)
    return s


def stop_sandbox(s):
    for p in s.procs:
        if p.poll() is None:
            p.terminate()
            p.wait(5)
    s.run("down", check=False)
    assert not s.namespaces(), f"sandbox down left {s.namespaces()}"
