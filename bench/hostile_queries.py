#!/usr/bin/python3
"""List queries with thousands of repeated or distinct values in one URL, timed against a
fresh neutrino-server on a SQLite file holding 1,000 shared networks and 20,000 ports with
a fixed IP each (docs/benchmarks.md, "Hostile list queries"). Usage:
bench/hostile_queries.py [SERVER_BINARY]"""
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import requests

binary = sys.argv[1] if len(sys.argv) > 1 else "build/bin/neutrino-server"
d = tempfile.mkdtemp(prefix="qatk")
open(d + "/neutrino.conf", "w").write("[quotas]\nquota_network = 5000\nquota_port = -1\n")
p = subprocess.Popen([binary, "--database", d + "/db.sqlite", "--port", "0", "--config-file", d + "/neutrino.conf"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
url = None  # from the "listening on ..." line
for line in p.stdout:
    if "listening" in line:
        url = "http://127.0.0.1:" + re.search(r"127\.0\.0\.1:(\d+)", line).group(1)
        break
try:
    for k in range(10):
        r = requests.post(url + "/v2.0/networks", json={"networks": [{"name": f"n{k}-{i}", "shared": True} for i in range(100)]}, timeout=60)
        assert r.status_code == 201, r.text[:200]
    net = requests.get(url + "/v2.0/networks?name=n0-0", timeout=60).json()["networks"][0]["id"]
    r = requests.post(url + "/v2.0/subnets", json={"subnet": {"network_id": net, "cidr": "10.0.0.0/16", "ip_version": 4}}, timeout=60)
    assert r.status_code == 201, r.text[:200]
    for k in range(40):
        r = requests.post(url + "/v2.0/ports", json={"ports": [{"network_id": net, "name": f"p{k}-{i}"} for i in range(500)]}, timeout=120)
        assert r.status_code == 201, r.text[:200]
    port_qs = {
        "ports: name distinct x1150": "fields=id&" + "&".join(f"name=nosuch-{i:05d}-xxxxxxxxxxxxxxxxxxxxxxxxxx" for i in range(1150)),
        "ports: tags-any 9000": "fields=id&tags-any=" + ",".join(f"t{i}" for i in range(9000)),
        "ports: not-tags-any 9000": "fields=id&not-tags-any=" + ",".join(f"t{i}" for i in range(9000)),
        "ports: fixed_ips x1500": "fields=id&" + "&".join(f"fixed_ips=ip_address%3D10.0.{i // 250}.{i % 250}" for i in range(1500)),
        "ports: fixed_ips=..1 x2400": "fields=id&" + "&".join(["fixed_ips=ip_address%3D1"] * 2400),
    }
    for name, q in port_qs.items():
        ts = []
        for _ in range(3):
            t = time.monotonic(); r = requests.get(url + "/v2.0/ports?" + q, timeout=120); ts.append(time.monotonic() - t)
            assert r.status_code == 200, (r.status_code, r.text[:200])
        print(f"{name:28s} {statistics.median(ts)*1000:8.1f} ms  ({len(r.json()['ports'])} rows)")
    qs = {
        "sort x2200": "&".join(["sort_key=status&sort_dir=asc"] * 2200),
        "not-tags-any 30k": "not-tags-any=" + ",".join(["a"] * 29000),
        "mtu=zz x8500": "&".join(["mtu=zz"] * 8500),
        "mtu distinct x6000": "&".join([f"mtu=z{i}" for i in range(6000)]),
        "name distinct x6000": "&".join([f"name=x{i}" for i in range(6000)]),
    }
    for name, q in qs.items():
        ts = []
        for _ in range(3):
            t = time.monotonic(); r = requests.get(url + "/v2.0/networks?" + q, timeout=60); ts.append(time.monotonic() - t)
            assert r.status_code == 200, (r.status_code, r.text[:200])
        print(f"{name:28s} {statistics.median(ts)*1000:8.1f} ms  ({len(r.json()['networks'])} rows)")
finally:
    p.terminate(); p.wait()
    shutil.rmtree(d, ignore_errors=True)
