#!/usr/bin/python3
"""Convergence in the sandbox (issue 4): from the API's 201 for a port bound to a host to
its FDB entry on every other host of the network. A sandbox of its own (prefix
nt-bconv-, any free port, removed at the end; needs root); `bridge monitor fdb` in each
host timestamps the entries as the kernel reports them. Prints p50/p90/p99 over N ports."""
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
NEUTRINO = str(ROOT / "build" / "bin" / "neutrino")
PORTS = int(os.environ.get("CONVERGENCE_PORTS", "200"))
HOSTS = int(os.environ.get("CONVERGENCE_HOSTS", "4"))


def main():
    state = tempfile.mkdtemp(prefix="nt-bconv-")
    sandbox = [NEUTRINO, "sandbox", "--prefix", "nt-bconv-", "--state-dir", state]
    subprocess.run(sandbox + ["down"], capture_output=True, timeout=60)
    monitors = []
    try:
        subprocess.run(sandbox + ["up", "--port", "0", "--computes", str(HOSTS), "--gateways", "0"], check=True, timeout=120,
                       stdout=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{json.load(open(state + '/sandbox.json'))['port']}/v2.0"
        s = requests.Session()
        net = s.post(url + "/networks", json={"network": {"name": "conv"}}).json()["network"]
        s.post(url + "/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4, "cidr": "10.60.0.0/16"}})
        s.put(url + "/quotas/fake_project_id", json={"quota": {"port": -1}})
        hosts = [f"cmp{i}" for i in range(1, HOSTS + 1)]
        seen = {h: queue.Queue() for h in hosts}
        for h in hosts:  # every host joins the network first
            s.post(url + "/ports", json={"port": {"network_id": net["id"], "binding:host_id": h, "name": "anchor-" + h}})
            mon = subprocess.Popen(["ip", "netns", "exec", "nt-bconv-" + h, "stdbuf", "-oL", "bridge", "monitor", "fdb"],
                                   stdout=subprocess.PIPE, text=True)
            monitors.append(mon)
            threading.Thread(target=follow, args=(mon, seen[h]), daemon=True).start()
        time.sleep(1.0)  # monitors attached; anchors' entries drained below
        for q in seen.values():
            drain(q)
        samples = []
        for i in range(PORTS):
            home = hosts[i % HOSTS]
            r = s.post(url + "/ports", json={"port": {"network_id": net["id"], "binding:host_id": home}})
            t0 = time.monotonic()
            assert r.status_code == 201, r.text
            mac = r.json()["port"]["mac_address"]
            last = t0
            for h in hosts:
                if h != home:
                    last = max(last, wait_entry(seen[h], mac, t0 + 5))
            samples.append((last - t0) * 1000)
        samples.sort()
        q = lambda p: samples[min(len(samples) - 1, int(p * len(samples)))]
        print(f"convergence over {PORTS} ports, {HOSTS} hosts: p50 {statistics.median(samples):.1f} ms, "
              f"p90 {q(0.9):.1f} ms, p99 {q(0.99):.1f} ms, max {samples[-1]:.1f} ms")
    finally:
        for m in monitors:
            m.terminate()
            m.wait(5)
        subprocess.run(sandbox + ["down"], capture_output=True, timeout=60)
        shutil.rmtree(state, ignore_errors=True)


def follow(proc, q):
    for line in proc.stdout:
        if " dst " in line and "self" in line:  # the VXLAN entry: the last of the port's three
            q.put((time.monotonic(), line.split()[0]))


def drain(q):
    while not q.empty():
        q.get_nowait()


def wait_entry(q, mac, deadline):
    while True:
        t, m = q.get(timeout=max(0.01, deadline - time.monotonic()))
        if m == mac:
            return t


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("convergence: needs root (a sandbox of its own)")
    main()
