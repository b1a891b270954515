"""`neutrino-server --migrate-from` of a real sandbox database (issue 16): a sandbox cloud
(agents registered, ports bound and ACTIVE, a distributed router with its gateway
scheduled, a floating IP) is copied with SQLite's online backup while it runs; the copy is
migrated into a throwaway PostgreSQL database (tests/nt_postgres.py); then one server on the
SQLite copy and one on PostgreSQL answer the same GETs identically, and both allocate the
same next address. Needs root (the sandbox)."""
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from nt_sandbox import Sandbox

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from neutrino_api import SERVER_BIN as SERVER, Server  # noqa: E402
from nt_postgres import PgCluster  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-s*)")

# What a Neutron client reads; agents' heartbeat times move by themselves and are left out.
COLLECTIONS = ("networks", "subnets", "ports", "routers", "floatingips", "security-groups",
               "security-group-rules", "subnetpools", "address-scopes")


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.load(r)


def post(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def answers(port):
    out = {c: get(port, f"/v2.0/{c}") for c in COLLECTIONS}
    agents = get(port, "/v2.0/agents")["agents"]
    out["agents"] = sorted(({k: v for k, v in a.items() if k not in ("heartbeat_timestamp", "alive")} for a in agents),
                           key=lambda a: a["id"])
    return out


def test_migrate_from_a_sandbox_database_answers_identically(tmp_path):
    sb = Sandbox(tmp_path)
    copy = tmp_path / "copy.db"
    try:
        sb.run("up", "--port", "0", "--computes", "2", "--gateways", "1", timeout=120)
        sb.osc("network", "create", "net1")
        sb.osc("subnet", "create", "--network", "net1", "--subnet-range", "10.60.0.0/24", "sub1")
        sb.osc("router", "create", "--distributed", "r1")
        sb.osc("router", "add", "subnet", "r1", "sub1")
        sb.osc("router", "set", "--external-gateway", "public", "r1")
        sb.run("vm", "create", "a1", "--host", "cmp1", "--network", "net1", timeout=60)
        sb.run("vm", "create", "a2", "--host", "cmp2", "--network", "net1", timeout=60)
        port = next(v["port_id"] for v in sb.state()["vms"] if v["name"] == "a1")
        sb.osc("floating", "ip", "create", "--port", port, "public")
        # SQLite's online backup: a consistent copy of the running server's file.
        subprocess.run(["sqlite3", str(tmp_path / "sandbox" / "neutrino.db"), f".backup {copy}"], check=True, timeout=60)
    finally:
        sb.run("down", check=False, timeout=120)
        assert not sb.namespaces(), f"sandbox down left {sb.namespaces()}"

    with PgCluster() as pg:
        _, url = pg.create_database()
        migrated = subprocess.run([str(SERVER), "--database", url, "--migrate-from", f"sqlite:///{copy}"],
                                  capture_output=True, text=True, timeout=120)
        assert migrated.returncode == 0, migrated.stderr
        assert "copied" in migrated.stdout
        # A second migration into the now non-empty database is refused, and changes nothing.
        again = subprocess.run([str(SERVER), "--database", url, "--migrate-from", f"sqlite:///{copy}"],
                               capture_output=True, text=True, timeout=120)
        assert again.returncode != 0 and "not empty" in again.stderr

        servers = [Server(tmp_path / "on-sqlite", database=copy, name="sqlite"),
                   Server(tmp_path / "on-pg", database=url, name="pg")]
        try:
            sqlite, postgres = (s.start() for s in servers)
            before, after = answers(sqlite.port), answers(postgres.port)
            ports = before["ports"]["ports"]
            assert len(ports) >= 6 and any(p["status"] == "ACTIVE" for p in ports)
            assert before["floatingips"]["floatingips"] and before["agents"]
            for c in before:
                assert after[c] == before[c], f"{c} differ after --migrate-from"
            # The allocations came along: new ports on PostgreSQL get none of the copied
            # addresses or MACs (the allocator picks at random, as Neutron's does), and a copied
            # address asked for by hand is refused as taken.
            net = next(n["id"] for n in before["networks"]["networks"] if n["name"] == "net1")
            sub = next(s["id"] for s in before["subnets"]["subnets"] if s["name"] == "sub1")
            taken = {ip["ip_address"] for p in ports for ip in p["fixed_ips"]}
            for _ in range(20):
                made = post(postgres.port, "/v2.0/ports", {"port": {"network_id": net}})["port"]
                assert made["fixed_ips"][0]["ip_address"] not in taken
                assert made["mac_address"] not in {p["mac_address"] for p in ports}
            used = next(ip["ip_address"] for p in ports for ip in p["fixed_ips"] if ip["subnet_id"] == sub)
            req = urllib.request.Request(
                f"http://127.0.0.1:{postgres.port}/v2.0/ports", method="POST", headers={"Content-Type": "application/json"},
                data=json.dumps({"port": {"network_id": net, "fixed_ips": [{"subnet_id": sub, "ip_address": used}]}}).encode())
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(req, timeout=10)
            assert refused.value.code == 409
            assert json.load(refused.value)["NeutronError"]["type"] == "IpAddressAlreadyAllocated"
        finally:
            for s in servers:
                s.kill()
