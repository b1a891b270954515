"""neutrino-server on PostgreSQL: configuration checks, an outage of the database, migration
from SQLite, and several servers on one database (directly and behind HAProxy).

Every test here runs on a real PostgreSQL 15 cluster of this module's own (tests/nt_postgres.py:
the outage test stops and starts it, which the suite's shared cluster must never see), with a
fresh database per test. Servers are started with Server(...) directly, so these tests are not
parametrized by the store. Processes (servers, HAProxy, PostgreSQL) are stopped by PID.
"""
import collections
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
import requests

from neutrino_api import SERVER_BIN, Osc, Server, expect_error, uniq, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nt_postgres import PgCluster  # noqa: E402

# All on one worker: they start up to three servers, HAProxy and PostgreSQL on 2 cores.
pytestmark = pytest.mark.xdist_group("postgres")

HAPROXY_BIN = "/usr/sbin/haproxy"
VISIBLE_WITHIN = 0.100  # a create through one server is seen by the others within this (s)


@pytest.fixture(scope="module")
def pg():
    with PgCluster() as cluster:
        yield cluster


@pytest.fixture
def pg_up(pg):
    """The cluster, running (a test that stopped it and failed midway leaves it stopped)."""
    pg.start()
    return pg


@pytest.fixture
def servers(tmp_path):
    """make(database, name=None): a server on `database`; every one is killed at teardown."""
    started = []

    def make(database, name=None, config_text=None, start=True):
        name = name or f"pgsrv{len(started)}"
        s = Server(tmp_path / name, database=database, name=name, config_text=config_text)
        started.append(s)
        if start:
            s.start()
        return s

    try:
        yield make
    finally:
        for s in started:
            s.kill()


def run_server(*args, timeout=60):
    p = subprocess.run([str(SERVER_BIN), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return p, p.stdout + p.stderr


def assert_clean_failure(p, out):
    assert p.returncode > 0, f"exit {p.returncode} (a signal?): {out}"
    for bad in ("Traceback", "terminate called", "Segmentation", "listening on"):
        assert bad not in out, out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a. --check-config connects --------------------------------------------------------------

def test_check_config_connects_and_names_the_option_when_the_database_does_not_answer(pg_up, tmp_path, servers):
    _, url = pg_up.create_database()
    ini = tmp_path / "server.ini"
    ini.write_text(f"[DEFAULT]\nbind_host = 127.0.0.1\n[database]\nconnection = {url}\n")
    p, out = run_server("--config-file", ini, "--check-config")
    assert p.returncode == 0, out
    assert "empty database" in out, out
    s = servers(url, name="schema")  # creates the schema
    s.stop()
    p, out = run_server("--config-file", ini, "--check-config")
    assert p.returncode == 0, out
    assert "version" in out.lower(), f"--check-config should say the schema version: {out!r}"

    nobody = Path(tmp_path / "nosock")  # a socket directory no server listens in
    nobody.mkdir()
    ini.write_text(f"[DEFAULT]\nbind_host = 127.0.0.1\n[database]\n"
                   f"connection = postgresql://postgres@/nt_none?host={nobody}\n")
    t0 = time.monotonic()
    p, out = run_server("--config-file", ini, "--check-config", timeout=30)
    took = time.monotonic() - t0
    assert_clean_failure(p, out)
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {lines}"
    assert "connection" in lines[0] and "database" in lines[0] and "server.ini" in lines[0], lines[0]
    assert took < 20, f"--check-config took {took:.1f}s to find nobody answers"


# -- b. URL spellings ----------------------------------------------------------------------------

def test_psycopg2_spelling_works_and_a_bad_url_is_named_with_file_and_line(pg_up, tmp_path, servers):
    name, _ = pg_up.create_database()
    url = pg_up.url(name, scheme="postgresql+psycopg2")
    ini = tmp_path / "server.ini"
    ini.write_text(f"[database]\nconnection = {url}\n")
    p, out = run_server("--config-file", ini, "--check-config")
    assert p.returncode == 0, out

    s = servers(url, name="psycopg2")
    net = s.client().network()
    assert s.client().show("networks", net["id"])["id"] == net["id"]

    ini.write_text("[DEFAULT]\nbind_host = 127.0.0.1\n[database]\nconnection = postgresql://host:notaport/db\n")
    for extra in (["--check-config"], ["--port", "0"]):
        p, out = run_server("--config-file", ini, *extra, timeout=30)
        assert_clean_failure(p, out)
        assert "server.ini:4" in out and "connection" in out, out


# -- c. the database goes away for a while -----------------------------------------------------

class CreateLoop:
    """A thread creating networks through one client until stopped (bounded in count)."""

    def __init__(self, client, limit=3000):
        self.client, self.limit = client, limit
        self.acked = []                       # ids answered 201
        self.statuses = collections.Counter()
        self.errors = []                      # (monotonic time, what) of every non-201
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        for i in range(self.limit):
            if self.stop.is_set():
                return
            try:
                r = self.client("POST", "/v2.0/networks", json={"network": {"name": f"load-{i}"}}, timeout=20)
                self.statuses[r.status_code] += 1
                if r.status_code == 201:
                    self.acked.append(r.json()["network"]["id"])
                    continue
                self.errors.append((time.monotonic(), f"{r.status_code} {r.text[:200]}"))
            except requests.RequestException as e:
                self.statuses["exception"] += 1
                self.errors.append((time.monotonic(), repr(e)))
            self.stop.wait(0.02)  # do not spin while writes fail

    def finish(self):
        self.stop.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()


def wait_until(predicate, timeout, interval=0.02, what="condition"):
    return wait_for(predicate, timeout, interval=interval, message=what)


def test_database_outage_answers_503_for_writes_reads_from_memory_and_recovers(pg_up, servers):
    _, url = pg_up.create_database()
    s = servers(url, name="outage")
    admin = s.client()
    known = admin.network()
    load = CreateLoop(s.client())
    def readyz():
        return requests.get(s.url + "/readyz", timeout=20)
    try:
        wait_until(lambda: len(load.acked) >= 20, 30, what="20 creates before the outage")
        r = readyz()
        assert (r.status_code, r.text) == (200, "ready\n"), r.text
        pg_up.stop("fast")
        down_at = time.monotonic()
        # writes: 503 with a NeutronError while the database is away
        def refused():  # a Response is falsy when not ok: return it in a tuple
            r = admin("POST", "/v2.0/networks", json={"network": {"name": "while-down"}}, timeout=20)
            return (r,) if r.status_code != 201 else None
        r, = wait_until(refused, 15, what="a write refused while PostgreSQL is down")
        expect_error(r, 503)
        err = r.json()["NeutronError"]
        assert err["type"] and err["message"], err
        # /readyz: 503 while the store does not answer (the writer's empty transaction fails),
        # and /healthz still 200 (the process answers)
        r = readyz()
        assert r.status_code == 503, (r.status_code, r.text)
        assert r.text.startswith("not ready: ") and len(r.text.strip()) > len("not ready:"), r.text
        assert requests.get(s.url + "/healthz", timeout=5).status_code == 200
        # reads: from memory, for the 10 s of the outage (the figure)
        reads = 0
        while time.monotonic() - down_at < 10.0:
            assert admin("GET", f"/v2.0/networks/{known['id']}").status_code == 200
            assert admin("GET", "/v2.0/networks").status_code == 200
            reads += 1
            time.sleep(0.05)
        assert s.alive(), s.logs()
        acked_while_down = len(load.acked)
        pg_up.start()
        up_at = time.monotonic()
        wait_until(lambda: admin("POST", "/v2.0/networks", json={"network": {"name": "after"}}).status_code == 201,
                   30, interval=0.05, what="a write to succeed after PostgreSQL is back")
        recovered_in = time.monotonic() - up_at
        r = readyz()
        assert (r.status_code, r.text) == (200, "ready\n"), r.text
        wait_until(lambda: len(load.acked) >= acked_while_down + 20, 30, what="20 creates after the outage")
    finally:
        load.finish()
    assert s.alive(), s.logs()
    assert load.statuses[500] == 0, load.errors[:5]
    assert set(load.statuses) <= {201, 503}, (load.statuses, load.errors[:5])
    listed = {n["id"] for n in admin.list("networks")}
    missing = set(load.acked) - listed
    assert not missing, f"{len(missing)} acknowledged creates missing on the server"
    # and in PostgreSQL itself: a new server on the same database sees them all
    other = servers(url, name="outage-check")
    listed = {n["id"] for n in other.client().list("networks")}
    missing = set(load.acked) - listed
    assert not missing, f"{len(missing)} acknowledged creates missing in the database"
    print(f"outage: {reads} read rounds while down, writes back {recovered_in:.2f}s after start, "
          f"statuses {dict(load.statuses)}")


# -- d. --migrate-from sqlite:///path --------------------------------------------------------------

COLLECTIONS = ["networks", "subnets", "ports", "routers", "floatingips", "security-groups",
               "security-group-rules"]
BODY = {"security-groups": "security_groups", "security-group-rules": "security_group_rules"}


def everything(server):
    admin = server.client()
    out = {}
    for c in COLLECTIONS:
        r = admin("GET", f"/v2.0/{c}")
        assert r.status_code == 200, (c, r.text)
        out[c] = sorted(r.json()[BODY.get(c, c)], key=lambda x: x["id"])
    return out


def test_migrate_from_sqlite(pg_up, servers, tmp_path):
    db = tmp_path / "source.db"
    src = servers(db, name="sqlite-source")
    api = src.client(project="projmigrate", roles="admin")
    ext, _ = api.ext_network(cidr="203.0.113.0/24")
    net, sub = api.net_with_subnet("10.77.0.0/24")
    net6 = api.network()
    api.subnet(net6["id"], "2001:db8:77::/64")
    ports = [api.port(net["id"]) for _ in range(5)]
    api.update("ports", ports[0]["id"], name="renamed")     # revision_number 2
    api.update("networks", net["id"], description="moved")
    router = api.router()
    api.add_interface(router["id"], subnet_id=sub["id"])
    api.set_gateway(router["id"], ext["id"])
    fip = api.floatingip(ext["id"], port_id=ports[1]["id"])
    assert fip["fixed_ip_address"]
    before = everything(src)
    src.stop()

    _, url = pg_up.create_database()
    p, out = run_server("--database", url, "--migrate-from", f"sqlite:///{db}", timeout=120)
    assert p.returncode == 0, out
    assert "listening" not in out, out

    dst = servers(url, name="pg-target")
    after = everything(dst)
    for c in COLLECTIONS:
        assert [x["id"] for x in after[c]] == [x["id"] for x in before[c]], c
        for a, b in zip(after[c], before[c]):
            assert a == b, f"{c} {a['id']} differs after the migration:\nsqlite: {b}\npostgresql: {a}"
    used = {ip["ip_address"] for p in after["ports"] for ip in p["fixed_ips"]}
    macs = {p["mac_address"] for p in after["ports"]}
    new = dst.client(project="projmigrate", roles="admin").port(net["id"])
    assert new["fixed_ips"][0]["ip_address"] not in used
    assert new["mac_address"] not in macs

    # a second migration into a database that is no longer empty is refused
    p, out = run_server("--database", url, "--migrate-from", f"sqlite:///{db}", timeout=120)
    assert_clean_failure(p, out)


# -- e. three servers on one database -------------------------------------------------------------

def visible_delay(servers_, path, since, timeout=5.0):
    """(proven, seen): seconds after `since` at which the last GET that still answered 404 was
    sent (the path was provably invisible then; 0 if none), and at which every server's 200 had
    arrived (an upper bound that includes the GETs' own time)."""
    proven = seen = 0.0
    for s in servers_:
        session = requests.Session()
        deadline = time.monotonic() + timeout
        while True:
            sent = time.monotonic()
            r = session.get(s.url + path, timeout=10)
            if r.status_code == 200:
                seen = max(seen, time.monotonic() - since)
                break
            assert r.status_code == 404, r.text
            proven = max(proven, sent - since)
            assert time.monotonic() < deadline, f"{path} not visible on {s.name} after {timeout}s"
            time.sleep(0.002)
    return proven, seen


@pytest.fixture
def three(pg_up, servers):
    _, url = pg_up.create_database()
    quotas = "[DEFAULT]\ndhcp_agent_notification = false\n[quotas]\nquota_port = 5000\nquota_network = 1000\nquota_subnet = 1000\n"
    return [servers(url, name=f"pg{i}", config_text=quotas) for i in (1, 2, 3)]


@pytest.mark.alone
def test_three_servers_see_each_others_writes(three):
    s1, s2, s3 = three
    c1 = s1.client()
    delays = []
    for _ in range(10):
        t0 = time.monotonic()
        net = c1.network()
        acked = time.monotonic()
        delays.append(visible_delay([s2, s3], f"/v2.0/networks/{net['id']}", acked))
        assert time.monotonic() - t0 < 10
    print("a 200 from the other servers after (ms):", [round(d[1] * 1000, 1) for d in delays],
          "; still 404 after (ms):", [round(d[0] * 1000, 1) for d in delays])
    assert max(d[0] for d in delays) <= VISIBLE_WITHIN, f"(still 404, 200 seen) after (s): {delays}"


def test_racing_creates_of_one_fixed_ip_through_two_servers(three):
    s1, s2, _ = three
    net, sub = s1.client().net_with_subnet("10.88.0.0/24")
    wait_until(lambda: s2.client()("GET", f"/v2.0/subnets/{sub['id']}").status_code == 200, 5,
               what="the subnet on server 2")
    clients = [s1.client(), s2.client()]
    for i in range(20):
        ip = f"10.88.0.{100 + i}"
        barrier = threading.Barrier(2)
        answers = [None, None]

        def post(k):
            barrier.wait(timeout=10)
            answers[k] = clients[k]("POST", "/v2.0/ports", json={"port": {
                "network_id": net["id"], "fixed_ips": [{"subnet_id": sub["id"], "ip_address": ip}]}})

        threads = [threading.Thread(target=post, args=(k,)) for k in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        codes = sorted(a.status_code for a in answers)
        assert codes == [201, 409], f"{ip}: {[(a.status_code, a.text[:300]) for a in answers]}"
        loser = next(a for a in answers if a.status_code == 409)
        expect_error(loser, 409, "IpAddressAlreadyAllocated")


def test_if_match_on_another_server_sees_the_latest_revision(three):
    s1, s2, _ = three
    c1, c2 = s1.client(), s2.client()
    net = c1.network()
    wait_until(lambda: c2("GET", f"/v2.0/networks/{net['id']}").status_code == 200, 5, what="the network on s2")
    rev = net["revision_number"]
    updated = c1.update("networks", net["id"], description="through s1")
    assert updated["revision_number"] > rev
    r = c2("PUT", f"/v2.0/networks/{net['id']}", json={"network": {"description": "stale"}},
           headers={"If-Match": f"revision_number={rev}"})
    expect_error(r, 412)
    r = c2("PUT", f"/v2.0/networks/{net['id']}", json={"network": {"description": "current"}},
           headers={"If-Match": f"revision_number={updated['revision_number']}"})
    assert r.status_code == 200, r.text


# -- f. and g. HAProxy in front of three servers -----------------------------------------------------

class HAProxy:
    def __init__(self, workdir, backends):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cfg = Path(workdir) / "haproxy.cfg"
        lines = [
            "global", "    maxconn 2000",
            "defaults", "    mode http", "    timeout connect 2s", "    timeout client 60s",
            "    timeout server 60s", "    retries 3", "    option redispatch",
            "frontend api", f"    bind 127.0.0.1:{self.port}", "    default_backend neutrino",
            "backend neutrino", "    balance roundrobin", "    option httpchk GET /healthz",
            "    http-check expect status 200",
        ]
        lines += [f"    server {s.name} 127.0.0.1:{s.port} check inter 200ms fall 2 rise 1" for s in backends]
        self.cfg.write_text("\n".join(lines) + "\n")
        self.log = Path(workdir) / "haproxy.log"
        if not os.path.exists(HAPROXY_BIN):
            raise RuntimeError(f"{HAPROXY_BIN} missing: run scripts/install-deps")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([HAPROXY_BIN, "-f", str(self.cfg), "-db"], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited {self.proc.returncode}: {self.log.read_text()}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"haproxy not answering: {self.log.read_text()}")
            time.sleep(0.05)

    def close(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


@pytest.fixture
def haproxy(three, tmp_path):
    h = HAProxy(tmp_path, three)
    try:
        yield h
    finally:
        h.close()


def port_key(p):
    return (p["id"], tuple(sorted(ip["ip_address"] for ip in p["fixed_ips"])), p["mac_address"],
            p["revision_number"])


def listed_ports(server, network_id):
    r = requests.get(f"{server.url}/v2.0/ports", params={"network_id": network_id}, timeout=30)
    assert r.status_code == 200, r.text
    return sorted(port_key(p) for p in r.json()["ports"])


@pytest.mark.alone
def test_sixteen_clients_through_haproxy(three, haproxy):
    lb = types.SimpleNamespace(url=haproxy.url)
    setup = requests.Session()
    net = setup.post(lb.url + "/v2.0/networks", json={"network": {"name": uniq("lb")}}, timeout=30)
    assert net.status_code == 201, net.text
    net = net.json()["network"]
    sub = setup.post(lb.url + "/v2.0/subnets", json={"subnet": {
        "network_id": net["id"], "cidr": "10.60.0.0/21", "ip_version": 4}}, timeout=30)
    assert sub.status_code == 201, sub.text
    wait_until(lambda: all(requests.get(f"{s.url}/v2.0/subnets/{sub.json()['subnet']['id']}", timeout=10)
                           .status_code == 200 for s in three), 5, what="the subnet everywhere")

    THREADS, EACH = 16, 40
    acked, failures, delays = [], [], []
    lock = threading.Lock()
    deadline = time.monotonic() + 240

    def worker(k):
        session = requests.Session()
        direct = [requests.Session() for _ in three]
        for i in range(EACH):
            if time.monotonic() > deadline:
                failures.append("deadline")
                return
            try:
                r = session.post(lb.url + "/v2.0/ports", json={"port": {"network_id": net["id"],
                                                                        "name": f"c{k}-{i}"}}, timeout=30)
            except requests.RequestException as e:
                failures.append(repr(e))
                continue
            if r.status_code != 201:
                failures.append(f"{r.status_code} {r.text[:200]}")
                continue
            at = time.monotonic()
            port = r.json()["port"]
            with lock:
                acked.append(port)
            # Under this load one GET takes tens of ms, so the time a 200 arrives overstates
            # the lag. A 404 to a GET *sent* at t proves the port was still invisible at t:
            # `proven` is that lower bound, `seen` the upper one (a 200 received).
            proven = seen = 0.0
            for j in range(len(three)):
                s, d = three[(k + i + j) % 3], direct[(k + i + j) % 3]
                limit = time.monotonic() + 5
                while True:
                    sent = time.monotonic()
                    g = d.get(f"{s.url}/v2.0/ports/{port['id']}", timeout=30)
                    if g.status_code == 200:
                        break
                    proven = max(proven, sent - at)
                    if time.monotonic() > limit:
                        failures.append(f"{port['id']} not on {s.name} after 5 s: {g.status_code}")
                        break
                    time.sleep(0.002)
                seen = max(seen, time.monotonic() - at)
            with lock:
                delays.append((proven, seen))

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(THREADS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    took = time.monotonic() - t0
    assert not any(t.is_alive() for t in threads)
    assert not failures, failures[:10]
    assert len(acked) == THREADS * EACH
    ips = [ip["ip_address"] for p in acked for ip in p["fixed_ips"]]
    macs = [p["mac_address"] for p in acked]
    assert len(set(ips)) == len(ips), [x for x, n in collections.Counter(ips).items() if n > 1][:10]
    assert len(set(macs)) == len(macs), [x for x, n in collections.Counter(macs).items() if n > 1][:10]

    lists = [listed_ports(s, net["id"]) for s in three]
    assert lists[0] == lists[1] == lists[2]
    assert {p[0] for p in lists[0]} == {p["id"] for p in acked}
    proven = sorted(d[0] for d in delays)
    seen = sorted(d[1] for d in delays)
    print(f"{len(acked)} ports in {took:.1f}s through HAProxy; a 200 from every server after: "
          f"median {seen[len(seen) // 2] * 1000:.1f} ms, max {seen[-1] * 1000:.1f} ms; still 404 at most "
          f"{proven[-1] * 1000:.1f} ms after the ack ({sum(p > 0 for p in proven)} creates seen 404 at all)")
    assert proven[-1] <= VISIBLE_WITHIN, (
        f"{sum(p > VISIBLE_WITHIN for p in proven)} of {len(proven)} creates were still invisible on a "
        f"server more than {VISIBLE_WITHIN * 1000:.0f} ms after the ack (max {proven[-1] * 1000:.0f} ms)")

    # the real openstack CLI through HAProxy
    env_holder = types.SimpleNamespace(env={**{k: v for k, v in os.environ.items() if not k.startswith("OS_")},
                                            "OS_AUTH_TYPE": "none", "OS_ENDPOINT": lb.url,
                                            "OS_ENDPOINT_TYPE": "public", "PYTHONWARNINGS": "ignore"})
    osc = Osc(env_holder)
    assert net["id"] in {n["ID"] for n in osc("network", "list")}
    made = osc("network", "create", uniq("osc-lb"))
    for s in three:
        wait_until(lambda: requests.get(f"{s.url}/v2.0/networks/{made['id']}", timeout=10).status_code == 200,
                   5, what=f"the CLI's network on {s.name}")


def test_a_server_killed_mid_load_behind_haproxy(three, haproxy, servers):
    s1, s2, s3 = three
    setup = s1.client()
    net, _ = setup.net_with_subnet("10.61.0.0/21")
    wait_until(lambda: all(requests.get(f"{s.url}/v2.0/networks/{net['id']}", timeout=10).status_code == 200
                           for s in three), 5, what="the network everywhere")
    acked, failures = [], []
    lock = threading.Lock()
    stop = threading.Event()

    def worker(k):
        session = requests.Session()
        for i in range(400):
            if stop.is_set():
                return
            try:
                r = session.post(haproxy.url + "/v2.0/ports",
                                 json={"port": {"network_id": net["id"], "name": f"k{k}-{i}"}}, timeout=30)
                if r.status_code == 201:
                    with lock:
                        acked.append(r.json()["port"])
                    continue
                failures.append((time.monotonic(), f"{r.status_code} {r.text[:200]}"))
            except requests.RequestException as e:
                failures.append((time.monotonic(), repr(e)))
                session = requests.Session()
            stop.wait(0.01)

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(8)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(acked) >= 60, 60, what="60 creates before the kill")
        killed_at = time.monotonic()
        s3.kill(signal.SIGKILL)
        n = len(acked)
        wait_until(lambda: len(acked) >= n + 120, 60, what="120 creates after the kill")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    late = [(round(t - killed_at, 2), what) for t, what in failures if t - killed_at > 3.0 or t < killed_at]
    assert not late, f"failures outside the 3 s after the kill: {late[:10]}"
    assert len(failures) <= 32, failures[:10]
    want = {p["id"] for p in acked}
    caught_up = {}
    for s in (s1, s2):
        t0 = time.monotonic()
        # the last acks are only milliseconds old: allow the other server's catch-up (bounded)
        deadline = time.monotonic() + 5
        while True:
            missing = want - {p[0] for p in listed_ports(s, net["id"])}
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        caught_up[s.name] = round(time.monotonic() - t0, 3)
        if missing:
            fresh = servers(s1.database, name=f"fresh-{s.name}")
            in_db = missing & {p[0] for p in listed_ports(fresh, net["id"])}
            raise AssertionError(f"{len(missing)} acknowledged creates missing on {s.name} 5 s after the load "
                                 f"({len(in_db)} of them in the database for a fresh server): {sorted(missing)}")
    assert listed_ports(s1, net["id"]) == listed_ports(s2, net["id"])
    ips = [ip["ip_address"] for p in acked for ip in p["fixed_ips"]]
    assert len(set(ips)) == len(ips)
    assert len({p["mac_address"] for p in acked}) == len(acked)
    print(f"kill: {len(acked)} acked, every one listed after (s) {caught_up}, {len(failures)} failures: "
          f"{[w for _, w in failures][:5]}")
