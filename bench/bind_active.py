#!/usr/bin/python3
"""Port bind -> ACTIVE in the sandbox (issue 17, "applied everywhere"). A sandbox of its own
(prefix nt-bact-, 2 computes, any free port; removed at the end; needs root). For each of N
ports, one after the other: POST the port bound to a compute (t0), plug its tap at once as
os-vif would (a veth in the host's namespace), poll GET /v2.0/ports/{id}?fields=status every
2 ms until ACTIVE (t2). `ip monitor link` in the host timestamps the moment the agent put the
tap in its bridge (t1): before "applied everywhere" the port went ACTIVE one status report
after t1, so t2 - t1 bounds what waiting for the other hosts costs. Then a burst: N ports
created and plugged at once, the time until the last is ACTIVE.
Prints p50/p90/p99 of t2 - t0 and t2 - t1, and the burst's total."""
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
NEUTRINO = str(Path(os.environ.get("NEUTRINO_BUILD_DIR", ROOT / "build")) / "bin" / "neutrino")
PORTS = int(os.environ.get("BIND_ACTIVE_PORTS", "100"))
PREFIX = "nt-bact-"
HOSTS = ["cmp1", "cmp2"]


def plug(host, port_ids):
    cmds = []
    for pid in port_ids:
        cmds += [f"link add tap{pid[:11]} type veth peer name vp{pid[:11]}", f"link set vp{pid[:11]} up",
                 f"link set tap{pid[:11]} up"]
    subprocess.run(["ip", "-n", PREFIX + host, "-batch", "-"], input="\n".join(cmds) + "\n", text=True, check=True,
                   capture_output=True)


def follow(proc, q):
    for line in proc.stdout:  # "N: tapXXXXXXXXXXX@vpXXX: <...> ... master brqXXX ..."
        if " master brq" in line and ": tap" in line:
            q.put((time.monotonic(), line.split(":")[1].strip().split("@")[0]))


def wait_plugged(q, tap, deadline, early):
    if tap in early:
        return early.pop(tap)
    while True:
        t, name = q.get(timeout=max(0.01, deadline - time.monotonic()))
        if name == tap:
            return t
        early[name] = t


def wait_active(s, url, pid, deadline):
    while time.monotonic() < deadline:
        if s.get(f"{url}/ports/{pid}?fields=status").json()["port"]["status"] == "ACTIVE":
            return time.monotonic()
        time.sleep(0.002)
    raise RuntimeError(f"port {pid} not ACTIVE")


def pct(samples, p):
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(p * len(samples)))]


def main():
    state = tempfile.mkdtemp(prefix=PREFIX)
    sandbox = [NEUTRINO, "sandbox", "--prefix", PREFIX, "--state-dir", state]
    subprocess.run(sandbox + ["down"], capture_output=True, timeout=60)
    monitors = []
    try:
        subprocess.run(sandbox + ["up", "--port", "0", "--computes", "2", "--gateways", "0"], check=True, timeout=120,
                       stdout=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{json.load(open(state + '/sandbox.json'))['port']}/v2.0"
        s = requests.Session()
        net = s.post(url + "/networks", json={"network": {"name": "bact"}}).json()["network"]
        s.post(url + "/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4, "cidr": "10.61.0.0/16",
                                                  "enable_dhcp": False}})
        s.put(url + "/quotas/fake_project_id", json={"quota": {"port": -1}})
        plugged = {h: queue.Queue() for h in HOSTS}
        for h in HOSTS:  # both hosts on the network first
            s.post(url + "/ports", json={"port": {"network_id": net["id"], "binding:host_id": h, "name": "anchor-" + h}})
            mon = subprocess.Popen(["ip", "-n", PREFIX + h, "monitor", "link"], stdout=subprocess.PIPE, text=True)
            monitors.append(mon)
            threading.Thread(target=follow, args=(mon, plugged[h]), daemon=True).start()
        time.sleep(1.0)
        bind_active, plugged_active, early = [], [], {h: {} for h in HOSTS}
        for i in range(PORTS):
            home = HOSTS[i % 2]
            t0 = time.monotonic()
            r = s.post(url + "/ports", json={"port": {"network_id": net["id"], "binding:host_id": home,
                                                      "device_owner": "compute:nova", "device_id": f"bact-{i}"}})
            assert r.status_code == 201, r.text
            pid = r.json()["port"]["id"]
            plug(home, [pid])
            t2 = wait_active(s, url, pid, t0 + 10)
            t1 = wait_plugged(plugged[home], "tap" + pid[:11], t0 + 10, early[home])
            bind_active.append((t2 - t0) * 1000)
            plugged_active.append((t2 - t1) * 1000)
        # A burst: every port created and plugged, then all polled.
        t0 = time.monotonic()
        burst = {h: [] for h in HOSTS}
        for i in range(PORTS):
            home = HOSTS[i % 2]
            r = s.post(url + "/ports", json={"port": {"network_id": net["id"], "binding:host_id": home,
                                                      "device_owner": "compute:nova", "device_id": f"burst-{i}"}})
            burst[home].append(r.json()["port"]["id"])
        for h in HOSTS:
            plug(h, burst[h])
        for h in HOSTS:
            for pid in burst[h]:
                wait_active(s, url, pid, t0 + 60)
        total = (time.monotonic() - t0) * 1000
        for name, samples in (("bind -> ACTIVE", bind_active), ("tap in bridge -> ACTIVE", plugged_active)):
            print(f"{name} over {PORTS} ports: p50 {statistics.median(samples):.1f} ms, p90 {pct(samples, 0.9):.1f} ms, "
                  f"p99 {pct(samples, 0.99):.1f} ms, max {max(samples):.1f} ms")
        print(f"burst of {PORTS} ports created and plugged: all ACTIVE after {total:.0f} ms")
    finally:
        for m in monitors:
            m.terminate()
            m.wait(5)
        subprocess.run(sandbox + ["down"], capture_output=True, timeout=60)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("bind_active: needs root (a sandbox of its own)")
    main()
