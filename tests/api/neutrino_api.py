"""Helpers for the API acceptance suite: a real neutrino-server process, a raw HTTP client,
and the real openstack CLI.

Everything here talks to the server over HTTP exactly as a user would; nothing reaches into
the server's internals.
"""
import atexit
import json as jsonlib
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("NEUTRINO_BUILD_DIR", str(REPO_ROOT / "build")))
SERVER_BIN = BUILD_DIR / "bin" / "neutrino-server"
OPENSTACK_BIN = shutil.which("openstack", path="/usr/bin") or "/usr/bin/openstack"
NEUTRON_BIN = shutil.which("neutron", path="/usr/bin") or "/usr/bin/neutron"

# What a collection's body key is in singular form (security groups use '-' in URLs).
SINGULAR = {
    "networks": "network",
    "subnets": "subnet",
    "ports": "port",
    "security-groups": "security_group",
    "security-group-rules": "security_group_rule",
    "routers": "router",
    "floatingips": "floatingip",
    "agents": "agent",
}
BODY_KEY = {
    "networks": "networks",
    "subnets": "subnets",
    "ports": "ports",
    "security-groups": "security_groups",
    "security-group-rules": "security_group_rules",
    "routers": "routers",
    "floatingips": "floatingips",
    "agents": "agents",
}

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def uniq(prefix="t"):
    """A name no other test (or parallel worker) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class ServerError(RuntimeError):
    pass


def is_database_url(database):
    """True for a URL such as postgresql://... or sqlite:///path (not a plain file path)."""
    return "://" in str(database)


_RUNNING = set()  # servers started and not yet killed: a last resort if pytest itself dies


@atexit.register
def _kill_leftovers():
    for server in list(_RUNNING):
        server.kill()


class Server:
    """One neutrino-server process on a database (a SQLite file, or a URL such as
    postgresql://user@/name?host=/socket/dir) and a free port.

    The server prints `listening on 127.0.0.1:PORT` on stdout once ready. Output goes to
    files (not pipes), so a chatty server can never block on a full pipe.
    """

    def __init__(self, workdir, database=None, config_text=None, name="server"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        # A SQLite file (Path) or a database URL (str, e.g. postgresql://...), passed to
        # --database as is.
        if isinstance(database, str) and is_database_url(database):
            self.database = database
        else:
            self.database = Path(database) if database else self.workdir / "neutrino.db"
        self.config_file = None
        if config_text is not None:
            self.config_file = self.workdir / f"{name}.ini"
            self.config_file.write_text(config_text)
        self.name = name
        self.proc = None
        self.port = None
        self.starts = 0
        self.args = []          # extra command-line flags for the next start()
        self.preexec_fn = None  # e.g. to lower a resource limit for the server only

    # -- lifecycle -------------------------------------------------------------------
    def start(self, timeout=30.0):
        if not SERVER_BIN.exists():
            raise ServerError(f"server binary not found: {SERVER_BIN} (set NEUTRINO_BUILD_DIR)")
        self.starts += 1
        self.stdout_path = self.workdir / f"{self.name}.{self.starts}.stdout"
        self.stderr_path = self.workdir / f"{self.name}.{self.starts}.stderr"
        cmd = [str(SERVER_BIN), "--database", str(self.database), "--port", "0"]
        if self.config_file:
            cmd += ["--config-file", str(self.config_file)]
        cmd += self.args
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         cwd=self.workdir, preexec_fn=self.preexec_fn)
        _RUNNING.add(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"listening on [0-9.]+:(\d+)", self.stdout_path.read_text(errors="replace"))
            if m:
                self.port = int(m.group(1))
                DATABASE_AT[self.url] = str(self.database)
                return self
            if self.proc.poll() is not None:
                raise ServerError(f"server exited with {self.proc.returncode} before listening:\n"
                                  f"{self.logs()}")
            time.sleep(0.02)
        self.kill()
        raise ServerError(f"server did not print 'listening' within {timeout}s:\n{self.logs()}")

    def kill(self, sig=signal.SIGKILL):
        """Signal the server by its PID and reap it. Safe to call twice."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None
        _RUNNING.discard(self)

    def stop(self):
        """A clean stop: SIGTERM, and the server must exit 0 (a crash while shutting down
        is a defect, even after every answer was right)."""
        proc = self.proc
        was_running = proc is not None and proc.poll() is None
        self.kill(signal.SIGTERM)
        if was_running and proc.returncode != 0:
            raise ServerError(f"server exited with {proc.returncode} on SIGTERM:\n{self.logs()}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def logs(self):
        parts = []
        for p in (getattr(self, "stdout_path", None), getattr(self, "stderr_path", None)):
            if p and p.exists():
                parts.append(f"--- {p.name} ---\n" + p.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    # -- addresses -------------------------------------------------------------------
    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self):
        """Environment for the real openstack / neutron CLI against this server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update({"OS_AUTH_TYPE": "none", "OS_ENDPOINT": self.url,
                    "OS_ENDPOINT_TYPE": "public", "PYTHONWARNINGS": "ignore"})
        return env

    def client(self, project=None, roles=None):
        return Client(self.url, project=project, roles=roles)

    def osc(self):
        return Osc(self)


class Client:
    """Raw HTTP against the server with requests (one keep-alive session).

    project=None sends no X-Project-Id (noauth admin in `fake_project_id`).
    """

    def __init__(self, url, project=None, roles=None):
        self.url = url
        self.project = project
        self.roles = roles
        self.session = requests.Session()

    def as_project(self, project, roles="member"):
        return Client(self.url, project=project, roles=roles)

    def headers(self, extra=None):
        h = {}
        if self.project is not None:
            h["X-Project-Id"] = self.project
        if self.roles is not None:
            h["X-Roles"] = self.roles
        if extra:
            h.update(extra)
        return h

    def __call__(self, method, path, json=None, headers=None, data=None, params=None, timeout=30):
        url = path if path.startswith("http") else self.url + path
        if json is not None and data is None:
            data = jsonlib.dumps(json)
        h = self.headers(headers)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        return self.session.request(method, url, data=data, headers=h, params=params, timeout=timeout)

    request = __call__

    # -- resource helpers that assert success ----------------------------------------
    def create(self, collection, **attrs):
        r = self("POST", f"/v2.0/{collection}", json={SINGULAR[collection]: attrs})
        assert r.status_code == 201, f"create {collection} {attrs}: {r.status_code} {r.text}"
        return r.json()[SINGULAR[collection]]

    def show(self, collection, rid, **params):
        r = self("GET", f"/v2.0/{collection}/{rid}", params=params or None)
        assert r.status_code == 200, f"show {collection}/{rid}: {r.status_code} {r.text}"
        return r.json()[SINGULAR[collection]]

    def list(self, collection, params=None):
        r = self("GET", f"/v2.0/{collection}", params=params)
        assert r.status_code == 200, f"list {collection} {params}: {r.status_code} {r.text}"
        return r.json()[BODY_KEY[collection]]

    def update(self, collection, rid, **attrs):
        r = self("PUT", f"/v2.0/{collection}/{rid}", json={SINGULAR[collection]: attrs})
        assert r.status_code == 200, f"update {collection}/{rid} {attrs}: {r.status_code} {r.text}"
        return r.json()[SINGULAR[collection]]

    def delete(self, collection, rid):
        r = self("DELETE", f"/v2.0/{collection}/{rid}")
        assert r.status_code == 204, f"delete {collection}/{rid}: {r.status_code} {r.text}"
        return r

    # -- small scenario builders -----------------------------------------------------
    def network(self, **attrs):
        attrs.setdefault("name", uniq("net"))
        return self.create("networks", **attrs)

    def subnet(self, network_id, cidr, **attrs):
        attrs.setdefault("name", uniq("sub"))
        attrs.setdefault("ip_version", 6 if ":" in cidr else 4)
        return self.create("subnets", network_id=network_id, cidr=cidr, **attrs)

    def port(self, network_id, **attrs):
        attrs.setdefault("name", uniq("port"))
        return self.create("ports", network_id=network_id, **attrs)

    def net_with_subnet(self, cidr="10.20.0.0/24", **subnet_attrs):
        net = self.network()
        sub = self.subnet(net["id"], cidr, **subnet_attrs)
        return net, sub


    # -- L3 ---------------------------------------------------------------------------
    def ext_network(self, cidr="203.0.113.0/24", **subnet_attrs):
        """An external network (admin only) with one subnet."""
        net = self.network(**{"router:external": True})
        sub = self.subnet(net["id"], cidr, **subnet_attrs)
        return net, sub

    def router(self, **attrs):
        attrs.setdefault("name", uniq("router"))
        return self.create("routers", **attrs)

    def router_action(self, router_id, action, **body):
        """PUT /v2.0/routers/{id}/{action} with a raw body; returns the response."""
        return self("PUT", f"/v2.0/routers/{router_id}/{action}", json=body)

    def add_interface(self, router_id, **body):
        r = self.router_action(router_id, "add_router_interface", **body)
        assert r.status_code == 200, f"add_router_interface {body}: {r.status_code} {r.text}"
        return r.json()

    def remove_interface(self, router_id, **body):
        r = self.router_action(router_id, "remove_router_interface", **body)
        assert r.status_code == 200, f"remove_router_interface {body}: {r.status_code} {r.text}"
        return r.json()

    def set_gateway(self, router_id, network_id, **info):
        return self.update("routers", router_id, external_gateway_info=dict(network_id=network_id, **info))

    def router_ports(self, router_id, owner=None):
        params = {"device_id": router_id}
        if owner:
            params["device_owner"] = owner
        return self.list("ports", params)

    def floatingip(self, network_id, **attrs):
        return self.create("floatingips", floating_network_id=network_id, **attrs)


# (server url, host) -> the host token the server issued at the host's enrolment; the
# channel's per-host calls present it, as a real agent does.
# Keyed by the server's database, which a restart (on a new port) keeps.
HOST_TOKENS = {}
DATABASE_AT = {}  # server url -> its database (file path or URL)


def token_key(url, host):
    return DATABASE_AT.get(url, url), host


def host_token(url, host):
    return HOST_TOKENS.get(token_key(url, host))


class AgentChannel:
    """The agent side of the agent channel: register a host, post its status (heartbeat)."""

    def __init__(self, url, token=None):
        self.url = url
        self.token = token
        self.session = requests.Session()

    def headers(self, token=None, host=None, host_token=None):
        token = self.token if token is None else token
        h = {"Content-Type": "application/json"}
        if token:
            h["X-Neutrino-Token"] = token
        host_token = host_token if host_token is not None else HOST_TOKENS.get(token_key(self.url, host))
        if host_token:
            h["X-Neutrino-Host-Token"] = host_token
        return h

    def register_raw(self, body, token=None, host_token=None):
        host = body.get("host") if isinstance(body, dict) else None
        r = self.session.post(self.url + "/agent/v1/register", data=jsonlib.dumps(body),
                              headers=self.headers(token, host, host_token), timeout=30)
        if r.status_code == 200 and "host_token" in r.json():
            HOST_TOKENS[token_key(self.url, host)] = r.json()["host_token"]
        return r

    def register(self, host, mode="dvr_snat", local_ip="192.0.2.11", bridge_mappings=None, version="test"):
        body = {"host": host, "agent_mode": mode, "local_ip": local_ip,
                "bridge_mappings": {"physnet1": "eth1"} if bridge_mappings is None else bridge_mappings,
                "version": version}
        r = self.register_raw(body)
        assert r.status_code == 200, f"register {host}: {r.status_code} {r.text}"
        return r.json()

    def status_raw(self, host, body=None, token=None, host_token=None):
        return self.session.post(f"{self.url}/agent/v1/hosts/{host}/status",
                                 data=jsonlib.dumps(body if body is not None else {"routers": {}}),
                                 headers=self.headers(token, host, host_token), timeout=30)

    def status(self, host, routers=None):
        r = self.status_raw(host, {"routers": routers or {}})
        assert r.status_code == 200, f"status {host}: {r.status_code} {r.text}"
        return r.json()


class Heartbeat:
    """A background thread that posts a status for each of its hosts every `interval` seconds,
    as running agents would. `stop(host)` silences one host, `resume(host)` brings it back."""

    def __init__(self, url, hosts, interval=0.3, token=None):
        import threading

        self.channel = AgentChannel(url, token)
        self.hosts = set(hosts)
        self.interval = interval
        self.states = {}  # host -> {router_id: state} reported with every beat
        self.errors = []
        self.last_beat = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            with self._lock:
                hosts = sorted(self.hosts)
                states = {h: dict(self.states.get(h, {})) for h in hosts}
            for h in hosts:
                try:
                    r = self.channel.status_raw(h, {"routers": states[h]})
                    if r.status_code != 200:
                        self.errors.append(f"{h}: {r.status_code} {r.text[:200]}")
                    else:
                        self.last_beat[h] = time.monotonic()
                except requests.RequestException as e:  # server restarting / gone
                    self.errors.append(f"{h}: {e}")
            self._stop.wait(self.interval)

    def stop(self, host):
        """Stop beating for host; returns the monotonic time of its last successful beat."""
        with self._lock:
            self.hosts.discard(host)
        # a beat for it may be in flight: wait one round so none follows
        time.sleep(self.interval + 0.1)
        return self.last_beat.get(host, time.monotonic())

    def resume(self, host):
        with self._lock:
            self.hosts.add(host)

    def report(self, host, routers):
        with self._lock:
            self.states[host] = dict(routers)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=10)


def wait_for(predicate, timeout, interval=0.05, message="condition"):
    """Poll predicate() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}; last value {value!r}")
        time.sleep(interval)


SEED_BASE = [
    ("n1", "network create --provider-network-type vxlan --provider-segment 123 n1"),
    ("n1subnet", "subnet create --subnet-range 172.16.100.0/24 --network n1 n1subnet"),
    ("ext_n2", "network create --provider-network-type flat --provider-physical-network extnet0 ext_n2 --external"),
    ("extsubnet", "subnet create --subnet-range 10.0.2.0/24 --network ext_n2 extsubnet --no-dhcp --gateway 10.0.2.2 "
                  "--allocation-pool start=10.0.2.210,end=10.0.2.220"),
    ("p1", "port create --network n1 p1"),
]


def run_seed_base(server):
    """The issue's seed network/subnet/port commands through the real CLI; returns key -> object."""
    osc = server.osc()
    made = {}
    for key, command in SEED_BASE:
        made[key] = osc(*command.split())
    return made


def expect_error(resp, status, neutron_type=None, message_contains=None):
    """Assert an error answer: status, a NeutronError body, its type and (part of) message."""
    assert resp.status_code == status, (
        f"expected HTTP {status} {neutron_type or ''}, got {resp.status_code}: {resp.text[:500]}")
    if neutron_type is None and message_contains is None:
        return None
    try:
        body = resp.json()
    except ValueError:
        raise AssertionError(f"error body is not JSON: {resp.text[:500]!r}")
    assert "NeutronError" in body, f"no NeutronError in {body}"
    err = body["NeutronError"]
    assert set(err) >= {"type", "message", "detail"}, err
    if neutron_type is not None:
        assert err["type"] == neutron_type, f"expected type {neutron_type}, got {err}"
    if message_contains is not None:
        assert message_contains in err["message"], f"{message_contains!r} not in {err['message']!r}"
    return err


def expect_error_of(resp, status, types):
    """Like expect_error, for answers where Neutron releases differ in the type's name."""
    assert resp.status_code == status, f"expected HTTP {status} {types}, got {resp.status_code}: {resp.text[:500]}"
    err = resp.json().get("NeutronError")
    assert err is not None and err.get("type") in types, f"expected one of {types}, got {resp.text[:500]}"
    return err


class CliError(AssertionError):
    pass


class Osc:
    """The real `openstack` CLI (python3-openstackclient) against one server."""

    def __init__(self, server, binary=OPENSTACK_BIN):
        self.server = server
        self.binary = binary

    def run(self, *args, timeout=120):
        return subprocess.run([self.binary, *map(str, args)], env=self.server.env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def __call__(self, *args, fmt=True):
        """Run a command that must succeed. With fmt, add `-f json` and parse the output."""
        args = list(map(str, args))
        if fmt:
            args += ["-f", "json"]
        p = self.run(*args)
        if p.returncode != 0:
            raise CliError(f"`openstack {' '.join(args)}` exited {p.returncode}\n"
                           f"stdout: {p.stdout}\nstderr: {p.stderr}")
        if not fmt:
            return p.stdout
        return jsonlib.loads(p.stdout) if p.stdout.strip() else None

    def fail(self, *args):
        """Run a command that must fail; return the CompletedProcess (stderr has the message)."""
        p = self.run(*args)
        if p.returncode == 0:
            raise CliError(f"`openstack {' '.join(map(str, args))}` unexpectedly succeeded: {p.stdout}")
        return p


def sdk_connection(server):
    """An openstacksdk connection with no authentication, pointed straight at the server."""
    import openstack

    return openstack.connection.Connection(auth_type="none", auth={"endpoint": server.url},
                                           network_endpoint_override=server.url)


def parse_table(text):
    """Parse the `Field | Value` table `openstack ... create/show` prints by default.

    Continuation lines (empty Field column) are joined to the previous value with '\\n'.
    """
    fields = {}
    last = None
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|", 1)]
        if len(cells) != 2:
            continue
        name, value = cells
        if name == "Field" and value == "Value":
            continue
        if name == "" and last is not None:
            fields[last] += "\n" + value
            continue
        fields[name] = value
        last = name
    return fields


class NeutronCli(Osc):
    """The legacy `neutron` CLI (python3-neutronclient), for what OSC cannot do without
    Keystone/Nova (quotas)."""

    def __init__(self, server):
        super().__init__(server, binary=NEUTRON_BIN)

    def run(self, *args, timeout=120):
        return super().run("--os-auth-strategy", "noauth", "--os-url", self.server.url, *args, timeout=timeout)
