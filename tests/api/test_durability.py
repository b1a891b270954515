"""Durability: concurrent creates over keep-alive sessions, SIGKILL mid-load, restart on the
same database file. Every create that was answered 201 must exist afterwards, no IP address,
MAC address or segment id may be allocated twice, and SQLite's integrity check must say ok.
"""
import collections
import signal
import sqlite3
import subprocess
import threading
import time

import pytest
import requests

THREADS = 8
MIN_LOAD_SECONDS = 1.5
MIN_ACKED = 100


class Load:
    """Worker threads creating ports (some in bulk) and networks until the server dies."""

    def __init__(self, url, network_id):
        self.url = url
        self.network_id = network_id
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ports = {}      # id -> (mac, [(subnet_id, ip)]) for answered 201s
        self.networks = {}   # id -> segmentation id for answered 201s
        self.statuses = collections.Counter()
        self.errors = []     # unexpected answers while the server was alive

    def worker(self, n):
        session = requests.Session()  # keep-alive
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                if n == 0 and i % 2 == 0:
                    self.create_network(session)
                elif i % 5 == 0:
                    self.create_ports(session, bulk=4)
                else:
                    self.create_ports(session, bulk=0)
            except requests.RequestException:
                # the server was killed under us: whatever was in flight is unknown
                if self.stop.wait(0.01):
                    return

    def record(self, r):
        with self.lock:
            self.statuses[r.status_code] += 1
            if r.status_code != 201:
                self.errors.append(f"{r.status_code} {r.text[:200]}")

    def create_ports(self, session, bulk):
        if bulk:
            body = {"ports": [{"network_id": self.network_id} for _ in range(bulk)]}
        else:
            body = {"port": {"network_id": self.network_id}}
        r = session.post(self.url() + "/v2.0/ports", json=body, timeout=30)
        self.record(r)
        if r.status_code == 201:
            ports = r.json()["ports"] if bulk else [r.json()["port"]]
            with self.lock:
                for p in ports:
                    self.ports[p["id"]] = (p["mac_address"],
                                           sorted((f["subnet_id"], f["ip_address"]) for f in p["fixed_ips"]))

    def create_network(self, session):
        r = session.post(self.url() + "/v2.0/networks", json={"network": {}}, timeout=30)
        self.record(r)
        if r.status_code == 201:
            net = r.json()["network"]
            with self.lock:
                self.networks[net["id"]] = net["provider:segmentation_id"]

    def run_until_killed(self, server):
        threads = [threading.Thread(target=self.worker, args=(n,), daemon=True) for n in range(THREADS)]
        start = time.monotonic()
        for t in threads:
            t.start()
        deadline = start + 30
        while time.monotonic() < deadline:
            with self.lock:
                acked = len(self.ports)
            if acked >= MIN_ACKED and time.monotonic() - start >= MIN_LOAD_SECONDS:
                break
            time.sleep(0.05)
        server.kill(signal.SIGKILL)  # mid-load: requests are in flight right now
        self.stop.set()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads)


def integrity_check(db):
    out = subprocess.run(["sqlite3", str(db), "PRAGMA integrity_check"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok", out.stdout[:2000]


def check_store(client, load, net_id, sub_id):
    all_ports = client.list("ports")
    by_id = {p["id"]: p for p in all_ports}
    missing = [pid for pid in load.ports if pid not in by_id]
    assert not missing, f"{len(missing)} acknowledged ports lost, e.g. {missing[:5]}"
    for pid, (mac, ips) in load.ports.items():
        p = by_id[pid]
        assert p["mac_address"] == mac
        assert sorted((f["subnet_id"], f["ip_address"]) for f in p["fixed_ips"]) == ips
    # spot-check by id as well (a list could hide a broken show path)
    for pid in list(load.ports)[:50]:
        assert client.show("ports", pid)["id"] == pid
    macs = collections.Counter((p["network_id"], p["mac_address"]) for p in all_ports)
    dup_macs = [m for m, c in macs.items() if c > 1]
    assert not dup_macs, f"MACs allocated twice: {dup_macs[:5]}"
    ips = collections.Counter((f["subnet_id"], f["ip_address"]) for p in all_ports for f in p["fixed_ips"])
    dup_ips = [ip for ip, c in ips.items() if c > 1]
    assert not dup_ips, f"IPs allocated twice: {dup_ips[:5]}"
    assert all(len(p["fixed_ips"]) == 1 and p["fixed_ips"][0]["subnet_id"] == sub_id
               for p in all_ports if p["network_id"] == net_id)

    nets = client.list("networks")
    by_net = {n["id"]: n for n in nets}
    lost = [nid for nid in load.networks if nid not in by_net]
    assert not lost, f"acknowledged networks lost: {lost[:5]}"
    for nid, seg in load.networks.items():
        assert by_net[nid]["provider:segmentation_id"] == seg
    segs = collections.Counter((n["provider:network_type"], n["provider:segmentation_id"]) for n in nets
                               if n["provider:segmentation_id"] is not None)
    dup_segs = [s for s, c in segs.items() if c > 1]
    assert not dup_segs, f"segment ids allocated twice: {dup_segs}"
    return all_ports


@pytest.mark.sqlite_only  # the SQLite file itself
def test_sigkill_under_concurrent_creates(new_server):
    server = new_server(name="durable")
    client = server.client()
    r = client("PUT", "/v2.0/quotas/fake_project_id", json={"quota": {"port": -1, "network": -1}})
    assert r.status_code == 200, r.text
    net = client.network(name="durable")
    sub = client.subnet(net["id"], "10.200.0.0/16")

    loads = []
    for round_ in range(2):
        load = Load(lambda: server.url, net["id"])
        load.run_until_killed(server)
        loads.append(load)
        print(f"round {round_}: {len(load.ports)} ports, {len(load.networks)} networks acked, {dict(load.statuses)}")
        assert len(load.ports) >= MIN_ACKED, load.statuses
        # while the server was alive, every create succeeded (a /16 and 1000 VNIs are plenty)
        assert not load.errors, load.errors[:5]

        integrity_check(server.database)   # the crashed file as it was left
        server.start()                     # same database file, new port
        client = server.client()
        combined = Load(None, None)
        for done in loads:
            combined.ports.update(done.ports)
            combined.networks.update(done.networks)
        ports = check_store(client, combined, net["id"], sub["id"])
        assert len(ports) >= len(combined.ports)

    # the restarted server keeps allocating without collisions
    r = client("POST", "/v2.0/ports", json={"ports": [{"network_id": net["id"]} for _ in range(50)]})
    assert r.status_code == 201, r.text[:300]
    ports = client.list("ports", {"network_id": net["id"]})
    assert len({p["mac_address"] for p in ports}) == len(ports)
    assert len({p["fixed_ips"][0]["ip_address"] for p in ports}) == len(ports)

    server.stop()
    integrity_check(server.database)
    with sqlite3.connect(server.database) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
