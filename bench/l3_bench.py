#!/usr/bin/python3
"""L3 benchmarks in a sandbox of their own (prefix nt-bl3-, removed at the end; root):
 1. floating IP associate -> first echo reply from the internet host, over N associations
    (10 VMs on two hosts, a floating IP moved on each round);
 2. a router with 50 subnets and 2,000 ports on the hosts: the time for cmp1's agent to
    build its qrouter from nothing (namespace deleted, agent restarted) and an idle pass."""
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
NEUTRINO = str(ROOT / "build" / "bin" / "neutrino")
FIPS = int(os.environ.get("L3_BENCH_FIPS", "100"))
SUBNETS = int(os.environ.get("L3_BENCH_SUBNETS", "50"))
PORTS = int(os.environ.get("L3_BENCH_PORTS", "2000"))


class Cloud:
    def __init__(self, state):
        self.state_dir = state
        self.cli = [NEUTRINO, "sandbox", "--prefix", "nt-bl3-", "--state-dir", state]
        self.s = requests.Session()

    def sandbox(self, *args, **kw):
        return subprocess.run(self.cli + list(args), check=True, capture_output=True, text=True, timeout=120, **kw)

    def state(self):
        return json.load(open(self.state_dir + "/sandbox.json"))

    def api(self, method, path, body=None):
        r = self.s.request(method, self.url + path, json=body, timeout=30)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.text else None

    def start(self):
        self.sandbox("up", "--port", "0", "--computes", "2", "--gateways", "1")
        self.url = f"http://127.0.0.1:{self.state()['port']}/v2.0"
        self.api("PUT", "/quotas/fake_project_id", {"quota": {"port": -1, "network": -1, "subnet": -1, "floatingip": -1}})
        self.public = self.api("GET", "/networks?name=public")["networks"][0]["id"]

    def network(self, name, cidr):
        net = self.api("POST", "/networks", {"network": {"name": name}})["network"]
        sub = self.api("POST", "/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4, "cidr": cidr}})["subnet"]
        return net, sub


def fip_latency(c):
    net, sub = c.network("fipnet", "10.77.0.0/16")
    router = c.api("POST", "/routers", {"router": {"name": "rf", "distributed": True,
                                                    "external_gateway_info": {"network_id": c.public}}})["router"]
    c.api("PUT", f"/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]})
    vms = []
    for i in range(10):
        c.sandbox("vm", "create", f"f{i}", "--host", f"cmp{1 + i % 2}", "--network", "fipnet")
        vms.append(next(v["port_id"] for v in c.state()["vms"] if v["name"] == f"f{i}"))
    fips = [c.api("POST", "/floatingips", {"floatingip": {"floating_network_id": c.public}})["floatingip"] for _ in range(FIPS)]
    probe = subprocess.Popen(c.cli + ["exec", "internet", "python3", str(ROOT / "bench" / "icmp_probe.py")],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    samples, holder = [], {}
    for i, fip in enumerate(fips):
        port = vms[i % len(vms)]
        if port in holder:  # the VM's previous floating IP goes first (one per fixed IP)
            c.api("PUT", f"/floatingips/{holder[port]}", {"floatingip": {"port_id": None}})
        probe.stdin.write(fip["floating_ip_address"] + "\n")
        probe.stdin.flush()
        assert probe.stdout.readline().strip() == "started"
        c.api("PUT", f"/floatingips/{fip['id']}", {"floatingip": {"port_id": port}})
        t0 = time.monotonic()
        answer = probe.stdout.readline().split()
        holder[port] = fip["id"]
        if answer[0] == "reply":
            samples.append(max(0.0, float(answer[1]) - t0) * 1000)
        elif os.environ.get("L3_BENCH_DEBUG"):
            print("no reply from", fip["floating_ip_address"], "on", port, file=sys.stderr)
            input("inspect, then press enter")
    probe.stdin.close()
    probe.wait(10)
    samples.sort()
    lost = FIPS - len(samples)
    pct = lambda p: samples[min(len(samples) - 1, int(p * len(samples)))]
    print(f"floating IP associate -> first reply, {len(samples)} of {FIPS} answered: p50 {statistics.median(samples):.1f} ms, "
          f"p90 {pct(0.9):.1f} ms, p99 {pct(0.99):.1f} ms, max {samples[-1]:.1f} ms" + (f", {lost} never answered" if lost else ""))


def router_scale(c):
    router = c.api("POST", "/routers", {"router": {"name": "big", "distributed": True,
                                                    "external_gateway_info": {"network_id": c.public}}})["router"]
    nets = []
    for i in range(SUBNETS):
        net, sub = c.network(f"big{i}", f"172.20.{i}.0/24")
        c.api("PUT", f"/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]})
        nets.append(net["id"])
    per_net = PORTS // SUBNETS
    started = time.monotonic()
    for i, net in enumerate(nets):
        c.api("POST", "/ports", {"ports": [{"network_id": net, "device_owner": "compute:nova",
                                            "binding:host_id": f"cmp{1 + (i + j) % 2}"} for j in range(per_net)]})
    ns = f"nt-bl3-cmp1-qrouter-{router['id']}"
    count = lambda: len(subprocess.run(["ip", "-n", ns, "neigh"], capture_output=True, text=True).stdout.splitlines())
    created = time.monotonic() - started
    deadline = time.monotonic() + 120
    while count() < PORTS and time.monotonic() < deadline:
        time.sleep(0.2)
    arp, converged = count(), time.monotonic() - started
    print(f"{PORTS} ports created through the API in {created:.1f} s; cmp1's qrouter had {arp} ARP entries after {converged:.1f} s")
    builds = []
    for _ in range(3):
        host = next(h for h in c.state()["hosts"] if h["name"] == "cmp1")
        os.kill(host["agent_pid"], signal.SIGKILL)  # started by this sandbox
        time.sleep(0.3)
        subprocess.run(["ip", "netns", "del", ns], check=True)
        log = Path(c.state_dir) / "cmp1.log"
        before = log.read_text().count("first reconcile")
        c.sandbox("host", "restart-agent", "cmp1")
        deadline = time.monotonic() + 60
        while log.read_text().count("first reconcile") == before and time.monotonic() < deadline:
            time.sleep(0.1)
        m = re.findall(r"first reconcile: (\d+) changes in ([\d.]+) ms", log.read_text())[-1]
        builds.append((int(m[0]), float(m[1])))
    idles = []
    for _ in range(5):
        out = subprocess.run(["ip", "netns", "exec", "nt-bl3-cmp1", str(ROOT / "build" / "bin" / "neutrino-agent"), "--config-file",
                              c.state_dir + "/cmp1.ini", "--once"], capture_output=True, text=True, timeout=60).stdout
        m = re.findall(r"first reconcile: (\d+) changes in ([\d.]+) ms", out)
        idles.append((int(m[-1][0]), float(m[-1][1])))
    print(f"router with {SUBNETS} subnets and {PORTS} ports ({arp} permanent ARP entries on cmp1): build of cmp1's qrouter "
          f"from nothing {statistics.median(b[1] for b in builds):.0f} ms median ({[b[0] for b in builds]} changes), "
          f"idle pass {statistics.median(i[1] for i in idles):.1f} ms median ({[i[0] for i in idles]} changes)")


def main():
    state = tempfile.mkdtemp(prefix="nt-bl3-")
    c = Cloud(state)
    subprocess.run(c.cli + ["down"], capture_output=True, timeout=60)
    try:
        c.start()
        fip_latency(c)
        router_scale(c)
    finally:
        subprocess.run(c.cli + ["down"], capture_output=True, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("l3 bench: needs root (a sandbox of its own)")
    main()
