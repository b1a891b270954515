"""Live agents on the real kernel: a real server (Unix socket for agents, as the sandbox
will use), two host namespaces each running `neutrino-agent`, VMs plugged like os-vif
plugs them. Ports created through the API with binding:host_id get built by the agents:
the VMs ping each other over VXLAN (taps plugged after the ports are picked up by the VIF
watcher: the periodic pass is set to 30 s), the ports turn ACTIVE, an agent killed with SIGKILL
and restarted changes nothing on its first reconcile, and a deleted port's entries go.
Needs root; namespaces are nt-e2e-*, removed at the end; processes stopped by their PID."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-e2e-*)")

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NEUTRINO_BUILD_DIR", ROOT / "build")) / "bin"
TAG = f"nt-e2e-{os.getpid()}-a"
VTEP = {"h1": "192.0.2.11", "h2": "192.0.2.12"}


def sh(*args, check=True):
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=check)


def ns(name):
    return f"{TAG}-{name}"


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


class Cloud:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = {}
        self.namespaces = [ns(n) for n in ("h1", "h2", "vm1", "vm2")]
        self.sock = tmp / "server.sock"

    def start_server(self):
        out = open(self.tmp / "server.out", "w")
        p = subprocess.Popen([str(BIN / "neutrino-server"), "--database", str(self.tmp / "db"), "--port", "0",
                              "--unix-socket", str(self.sock)], stdout=out, stderr=subprocess.STDOUT)
        self.procs["server"] = p
        text = wait_for(lambda: "listening on" in (self.tmp / "server.out").read_text() and
                        (self.tmp / "server.out").read_text(), 10, "the server")
        port = int(text.split("listening on 127.0.0.1:")[-1].split()[0])
        self.url = f"http://127.0.0.1:{port}"

    def start_agent(self, host):
        ini = self.tmp / f"{host}.ini"
        ini.write_text(f"[DEFAULT]\nhost = {ns(host)}\nlocal_ip = {VTEP[host]}\nagent_mode = dvr\n"
                       f"server_url = unix://{self.sock}\nreport_interval = 30\n")  # taps: link events only
        log = open(self.tmp / f"{host}.log", "a")
        self.procs[host] = subprocess.Popen(["ip", "netns", "exec", ns(host), str(BIN / "neutrino-agent"),
                                            "--config-file", str(ini)], stdout=log, stderr=subprocess.STDOUT)

    def log(self, host):
        return (self.tmp / f"{host}.log").read_text()

    def api(self, method, path, body=None):
        r = requests.request(method, self.url + path, json=body, timeout=10)
        assert r.status_code < 300, r.text
        return r.json() if r.text else None

    def stop(self, name, sig=signal.SIGTERM):
        p = self.procs.pop(name, None)
        if p and p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    def close(self):
        for name in list(self.procs):
            self.stop(name)
        for n in self.namespaces:
            sh("ip", "netns", "del", n, check=False)


@pytest.fixture
def cloud(tmp_path):
    c = Cloud(tmp_path)
    try:
        for n in c.namespaces:
            sh("ip", "netns", "add", n)
        sh("ip", "-n", ns("h1"), "link", "add", "ul0", "type", "veth", "peer", "name", "ul0", "netns", ns("h2"))
        for h in ("h1", "h2"):
            sh("ip", "-n", ns(h), "addr", "add", VTEP[h] + "/24", "dev", "ul0")
            sh("ip", "-n", ns(h), "link", "set", "ul0", "up")
        c.start_server()
        yield c
    finally:
        c.close()


def plug_vm(cloud, host, vm, port):
    """As os-vif: a tap-named host end in the host, eth0 with the port's MAC in the VM."""
    tap = "tap" + port["id"][:11]
    sh("ip", "-n", ns(host), "link", "add", tap, "type", "veth", "peer", "name", "eth0", "netns", ns(vm))
    sh("ip", "-n", ns(host), "link", "set", tap, "up")
    sh("ip", "-n", ns(vm), "link", "set", "eth0", "address", port["mac_address"], "mtu", "1450", "up")
    sh("ip", "-n", ns(vm), "addr", "add", port["fixed_ips"][0]["ip_address"] + "/24", "dev", "eth0")


def pings(vm, ip):
    return sh("ip", "netns", "exec", ns(vm), "ping", "-c", "1", "-W", "1", ip, check=False).returncode == 0


def test_agents_build_the_network_the_api_describes(cloud):
    for h in ("h1", "h2"):
        cloud.start_agent(h)
    wait_for(lambda: len(cloud.api("GET", "/v2.0/agents?agent_type=Linux+bridge+agent")["agents"]) == 2, 10, "agents")
    net = cloud.api("POST", "/v2.0/networks", {"network": {"name": "e2e"}})["network"]
    cloud.api("POST", "/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4, "cidr": "10.91.0.0/24"}})
    ports = {}
    for h, vm, ip in (("h1", "vm1", "10.91.0.11"), ("h2", "vm2", "10.91.0.12")):
        ports[h] = cloud.api("POST", "/v2.0/ports", {"port": {
            "network_id": net["id"], "fixed_ips": [{"ip_address": ip}], "device_owner": "compute:nova",
            "binding:host_id": ns(h)}})["port"]
        assert ports[h]["binding:vif_type"] == "bridge", ports[h]
        plug_vm(cloud, h, vm, ports[h])
    wait_for(lambda: pings("vm1", "10.91.0.12"), 20, "vm1 to reach vm2 over VXLAN")
    assert pings("vm2", "10.91.0.11")
    for h in ("h1", "h2"):
        wait_for(lambda: cloud.api("GET", f"/v2.0/ports/{ports[h]['id']}")["port"]["status"] == "ACTIVE", 10,
                 f"port on {h} ACTIVE")
    bridge = "brq" + net["id"][:11]
    assert f"vxlan-{net['provider:segmentation_id']}" in sh("ip", "-n", ns("h1"), "-br", "link").stdout
    assert bridge in sh("ip", "-n", ns("h1"), "-br", "link").stdout

    # SIGKILL and restart: the new agent finds everything in place.
    cloud.stop("h1", signal.SIGKILL)
    assert pings("vm1", "10.91.0.12")
    cloud.start_agent("h1")
    wait_for(lambda: "first reconcile:" in cloud.log("h1").split("registered host")[-1], 15, "the restarted agent")
    assert "first reconcile: 0 changes" in cloud.log("h1").split("registered host")[-1]
    assert pings("vm1", "10.91.0.12")

    # The remote port goes: its entries leave h1.
    mac2 = ports["h2"]["mac_address"]
    cloud.api("DELETE", f"/v2.0/ports/{ports['h2']['id']}")
    wait_for(lambda: mac2 not in sh("bridge", "-n", ns("h1"), "fdb", "show").stdout, 10, "h1 to drop vm2's FDB entries")
    assert "10.91.0.12" not in sh("ip", "-n", ns("h1"), "neigh", "show").stdout
