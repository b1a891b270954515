"""Live agents on the real kernel: a real server (Unix socket for agents, as the sandbox
will use), two host namespaces each running `neutrino-agent`, VMs plugged like os-vif
plugs them. Ports created through the API with binding:host_id get built by the agents:
the VMs ping each other over VXLAN (taps plugged after the ports are picked up by the VIF
watcher: the periodic pass is set to 30 s), the ports turn ACTIVE, an agent killed with SIGKILL
and restarted changes nothing on its first reconcile, one stopped with SIGTERM exits cleanly
leaving the data plane up, and a deleted port's entries go.
Needs root; namespaces are nt-e2e-*, removed at the end; processes stopped by their PID."""
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from nt_e2e import sh, start_capture, start_flood, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-e2e-*)")

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NEUTRINO_BUILD_DIR", ROOT / "build")) / "bin"
TAG = f"nt-e2e-{os.getpid()}-a"
VTEP = {"h1": "192.0.2.11", "h2": "192.0.2.12"}


def ns(name):
    return f"{TAG}-{name}"


class Cloud:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = {}
        self.namespaces = [ns(n) for n in ("h1", "h2", "vm1", "vm2")]
        self.sock = tmp / "server.sock"
        self.metrics_bind = None  # agent.ini metrics_bind for the agents started next

    def start_server(self):
        # L2 only: no DHCP ports (their meta namespaces are the sandbox tests' subject; an
        # agent started by `ip netns exec` lives in a mount namespace of its own and cannot
        # publish namespaces under /run/netns).
        (self.tmp / "server.ini").write_text("[DEFAULT]\nagent_down_time = 3\ndhcp_agent_notification = false\n")
        self.starts = getattr(self, "starts", 0) + 1
        out_path = self.tmp / f"server-{self.starts}.out"
        out = open(out_path, "w")
        p = subprocess.Popen([str(BIN / "neutrino-server"), "--config-file", str(self.tmp / "server.ini"),
                              "--database", str(self.tmp / "db"), "--port", str(getattr(self, "port", 0)),
                              "--unix-socket", str(self.sock)], stdout=out, stderr=subprocess.STDOUT)
        self.procs["server"] = p
        text = wait_for(lambda: "listening on" in out_path.read_text() and out_path.read_text(), 10, "the server")
        self.port = int(text.split("listening on 127.0.0.1:")[-1].split()[0])
        self.url = f"http://127.0.0.1:{self.port}"

    def start_agent(self, host, report_interval=30):
        ini = self.tmp / f"{host}.ini"
        ini.write_text(f"[DEFAULT]\nhost = {ns(host)}\nlocal_ip = {VTEP[host]}\nagent_mode = dvr\n"
                       f"server_url = unix://{self.sock}\nreport_interval = {report_interval}\n"
                       f"bridge_mappings = physnet1:ex0\nstate_path = {self.tmp}\n"
                       + (f"metrics_bind = {self.metrics_bind}\n" if self.metrics_bind else ""))
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
        # The physical network physnet1: a second wire between the hosts (mapped as ex0).
        sh("ip", "-n", ns("h1"), "link", "add", "ex0", "type", "veth", "peer", "name", "ex0", "netns", ns("h2"))
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


def vxlan_pair(cloud, prefix, report_interval):
    """Agents on h1 and h2, a VXLAN network <prefix>.0/24, and vm1 (.11) on h1 and vm2
    (.12) on h2 bound and plugged through the API as Nova does; returns (network, ports)
    once vm1 reaches vm2."""
    for h in ("h1", "h2"):
        cloud.start_agent(h, report_interval=report_interval)
    wait_for(lambda: len(cloud.api("GET", "/v2.0/agents?agent_type=Linux+bridge+agent")["agents"]) == 2, 10, "agents")
    net = cloud.api("POST", "/v2.0/networks", {"network": {"name": "e2e"}})["network"]
    cloud.api("POST", "/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4, "cidr": prefix + ".0/24"}})
    ports = {}
    for h, vm, ip in (("h1", "vm1", prefix + ".11"), ("h2", "vm2", prefix + ".12")):
        ports[h] = cloud.api("POST", "/v2.0/ports", {"port": {
            "network_id": net["id"], "fixed_ips": [{"ip_address": ip}], "device_owner": "compute:nova",
            "binding:host_id": ns(h)}})["port"]
        assert ports[h]["binding:vif_type"] == "bridge", ports[h]
        plug_vm(cloud, h, vm, ports[h])
    wait_for(lambda: pings("vm1", prefix + ".12"), 20, "vm1 to reach vm2 over VXLAN")
    return net, ports


def test_agents_build_the_network_the_api_describes(cloud):
    # The periodic pass is 30 s here: only the VIF watcher can pick up the taps in time.
    net, ports = vxlan_pair(cloud, "10.91.0", report_interval=30)
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
    starts = cloud.log("h1").count("registered host")
    cloud.start_agent("h1")
    restarted = lambda: cloud.log("h1").split("registered host")[starts:] and cloud.log("h1").split("registered host")[-1]
    wait_for(lambda: cloud.log("h1").count("registered host") > starts and "first reconcile:" in restarted(), 15,
             "the restarted agent")
    assert "first reconcile: 0 changes" in restarted()
    assert pings("vm1", "10.91.0.12")

    # SIGTERM: the agent stops cleanly (exit 0) at once, and what it built stays in place.
    agent = cloud.procs.pop("h2")
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(10) == 0, cloud.log("h2")
    assert "stopping" in cloud.log("h2") and cloud.log("h2").rstrip().endswith("stopped"), cloud.log("h2")[-500:]
    assert pings("vm1", "10.91.0.12")

    # The remote port goes: its entries leave h1.
    mac2 = ports["h2"]["mac_address"]
    cloud.api("DELETE", f"/v2.0/ports/{ports['h2']['id']}")
    wait_for(lambda: mac2 not in sh("bridge", "-n", ns("h1"), "fdb", "show").stdout, 10, "h1 to drop vm2's FDB entries")
    assert "10.91.0.12" not in sh("ip", "-n", ns("h1"), "neigh", "show").stdout


def test_agent_metrics_and_health(cloud):
    """metrics_bind: each agent's /healthz and /metrics in its host namespace, parsed with the
    Prometheus client's parser; the revision an agent shows applied is the one the server
    shows for its host, and the host view's."""
    from prometheus_client.parser import text_string_to_metric_families

    def values(text):
        return {(s.name, frozenset(s.labels.items())): s.value
                for f in text_string_to_metric_families(text) for s in f.samples}

    def agent_get(host, path):
        return sh("ip", "netns", "exec", ns(host), "curl", "-sf", "http://127.0.0.1:9697" + path).stdout

    def caught_up(host):
        agent = values(agent_get(host, "/metrics"))
        server = values(requests.get(cloud.url + "/metrics", timeout=10).text)
        view = server.get(("neutrino_host_view_revision", frozenset({("host", ns(host))})))
        applied = server.get(("neutrino_host_applied_revision", frozenset({("host", ns(host))})))
        return view and applied == view and agent[("neutrino_agent_applied_revision", frozenset())] == view and agent

    for h in ("h1", "h2"):
        sh("ip", "-n", ns(h), "link", "set", "lo", "up")
    cloud.metrics_bind = "127.0.0.1:9697"
    net, _ = vxlan_pair(cloud, "10.97.0", report_interval=1)
    for h in ("h1", "h2"):
        assert agent_get(h, "/healthz") == "ok\n"
        agent = wait_for(lambda: caught_up(h), 15, f"{h}'s applied revision in both /metrics")
        assert agent[("neutrino_agent_passes_total", frozenset())] >= 1
        assert agent[("neutrino_agent_operations_total", frozenset())] > 0  # the bridge, VXLAN, FDB, ...
        assert agent[("neutrino_agent_pass_seconds_count", frozenset())] >= 1
        assert ("neutrino_agent_bfd_sessions", frozenset({("state", "up")})) in agent

    # A change h1 must apply: a new port on h2 (h1 adds its FDB and neighbour entries). Once
    # h1 shows the new view applied, its counters went up.
    before = wait_for(lambda: caught_up("h1"), 15, "h1 caught up before the change")
    revision = before[("neutrino_agent_applied_revision", frozenset())]
    port = cloud.api("POST", "/v2.0/ports", {"port": {
        "network_id": net["id"], "fixed_ips": [{"ip_address": "10.97.0.13"}], "device_owner": "compute:nova",
        "binding:host_id": ns("h2")}})["port"]
    wait_for(lambda: port["mac_address"] in sh("bridge", "-n", ns("h1"), "fdb", "show").stdout, 15,
             "h1 to add the new port's FDB entry")
    after = wait_for(lambda: (a := caught_up("h1")) and a[("neutrino_agent_applied_revision", frozenset())] > revision
                     and a, 15, "h1's new applied revision in both /metrics")
    for counter in ("neutrino_agent_passes_total", "neutrino_agent_operations_total", "neutrino_agent_pass_seconds_count"):
        assert after[(counter, frozenset())] > before[(counter, frozenset())], counter
    assert "10.97.0.13" in sh("ip", "-n", ns("h1"), "neigh", "show").stdout


def arp_in_vxlan(host, seconds, action):
    """Counts ARP frames inside VXLAN on a host's underlay while `action` runs."""
    cap = start_capture(["ip", "netns", "exec", ns(host), "timeout", str(seconds), "tcpdump", "-i", "ul0", "-n", "-l",
                         "udp port 4789 and udp[28:2] = 0x0806"])
    action()
    out, _ = cap.communicate(timeout=seconds + 5)
    return len([line for line in out.splitlines() if line.strip()])


def test_l2_guarantees_on_the_real_kernel(cloud):
    # Agents heartbeat every second here, well within agent_down_time (3 s).
    vx, _ = vxlan_pair(cloud, "10.92.0", report_interval=1)

    # ARP never crosses a tunnel: the VMs resolve each other from the hosts' neighbour tables.
    def resolve_again():
        for vm in ("vm1", "vm2"):
            sh("ip", "-n", ns(vm), "neigh", "flush", "dev", "eth0")
        assert pings("vm1", "10.92.0.12") and pings("vm2", "10.92.0.11")
    assert arp_in_vxlan("h2", 4, resolve_again) == 0

    # SIGKILL and restart of an agent while vm1 pings vm2 every 10 ms: nothing is lost.
    flood, started = start_flood(["ip", "netns", "exec", ns("vm1"), "ping", "-i", "0.01", "-c", "400", "-W", "1",
                                  "10.92.0.12"])
    cloud.stop("h1", signal.SIGKILL)
    cloud.start_agent("h1", report_interval=1)
    out = started + flood.communicate(timeout=30)[0]
    assert " 0% packet loss" in out, out

    # The server restarts: agents reconnect and resume; the data plane is untouched.
    cloud.stop("server")
    assert pings("vm1", "10.92.0.12")
    cloud.start_server()
    wait_for(lambda: "watch ended" in cloud.log("h2") and cloud.log("h2").count("first reconcile") == 1, 10,
             "h2 to notice the restart")
    assert pings("vm1", "10.92.0.12")

    # A flat network on physnet1 (the ex0 wire): the mapped interface joins the bridge.
    flat = cloud.api("POST", "/v2.0/networks", {"network": {"name": "flat", "provider:network_type": "flat",
                                                            "provider:physical_network": "physnet1"}})["network"]
    cloud.api("POST", "/v2.0/subnets", {"subnet": {"network_id": flat["id"], "ip_version": 4, "cidr": "10.93.0.0/24"}})
    fports = {}
    for h, vm, ip in (("h1", "vm1", "10.93.0.11"), ("h2", "vm2", "10.93.0.12")):
        fports[h] = cloud.api("POST", "/v2.0/ports", {"port": {
            "network_id": flat["id"], "fixed_ips": [{"ip_address": ip}], "binding:host_id": ns(h)}})["port"]
        assert fports[h]["binding:vif_type"] == "bridge", fports[h]
        tap = "tap" + fports[h]["id"][:11]
        sh("ip", "-n", ns(h), "link", "add", tap, "type", "veth", "peer", "name", "eth1", "netns", ns(vm))
        sh("ip", "-n", ns(h), "link", "set", tap, "up")
        sh("ip", "-n", ns(vm), "link", "set", "eth1", "address", fports[h]["mac_address"], "up")
        sh("ip", "-n", ns(vm), "addr", "add", ip + "/24", "dev", "eth1")
    wait_for(lambda: pings("vm1", "10.93.0.12"), 20, "vm1 to reach vm2 on the flat network")
    assert "master brq" + flat["id"][:11] in sh("ip", "-n", ns("h1"), "link", "show", "ex0").stdout

    # A killed agent turns not-alive after agent_down_time (3 s here).
    cloud.stop("h2", signal.SIGKILL)
    wait_for(lambda: not [a for a in cloud.api("GET", f"/v2.0/agents?host={ns('h2')}")["agents"] if a["alive"]], 10,
             "h2's agents to turn not-alive")
    # Binding to a host whose agent is dead fails with the reason.
    p = cloud.api("POST", "/v2.0/ports", {"port": {"network_id": vx["id"], "binding:host_id": ns("h2")}})["port"]
    assert p["binding:vif_type"] == "binding_failed" and "not alive" in p["binding:vif_details"]["reason"]
