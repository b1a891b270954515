"""A private, real Keystone (Debian's keystone 22) for tests, on a throwaway PostgreSQL.

    with Keystone(token_expiration=60) as ks:         # or ks = Keystone().start() ... ks.close()
        ks.register_network_endpoint("http://127.0.0.1:9696")
        tok = ks.token("alice", "proj-a")             # an X-Auth-Token for alice in proj-a
        ks.validate(tok).json()["token"]["roles"]     # GET /v3/auth/tokens as neutron
        ks.revoke(tok)                                # from now on validate(tok) is 404
        env = ks.cli_env("alice", "proj-a")           # subprocess.run(["openstack", ...], env=env)

One temporary directory holds everything: a PostgreSQL 15 cluster (its own postmaster, only a
Unix socket in that directory, durability off), keystone.conf, the fernet and credential key
repositories and the logs (keystone.log, postgres.log, server.N.out, manage-*.out). Keystone
serves on 127.0.0.1:<free port>: uwsgi (as Debian runs it) or, with server="wsgiref",
Debian's single-threaded keystone-wsgi-public. Every process is a direct child stopped by its
PID; close() (also via `with`, or atexit as a last resort) stops them and removes the
directory (NT_KEYSTONE_KEEP=1 keeps it for a post-mortem).

Caching (caching=True, the default): without its cache Keystone runs ~1,100 SQL statements to
validate one token (0.5-2 s on 2 cores); with it ~10 ms. The cache is Keystone's in-memory one
in a single server process (1 uwsgi process x `threads` threads), which also handles every
revocation and role change and drops its own entries for them: those are still seen at once,
and expiry is checked on every validation. caching=False reads the database every time and
runs `processes` uwsgi processes.

Accounts in the Default domain (USERS): admin in project admin (bootstrap); the Neutron
service user neutron (roles service and admin in project service, as keystonemiddleware's);
alice (member of proj-a), bob (member of proj-b), rita (reader of proj-a). Bootstrap's roles
imply each other (admin -> member -> reader): alice's tokens list member and reader.
"""
import atexit
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

PG_BIN = Path("/usr/lib/postgresql/15/bin")
KEYSTONE_MANAGE = "/usr/bin/keystone-manage"
KEYSTONE_WSGI = "/usr/bin/keystone-wsgi-public"
UWSGI = "/usr/bin/uwsgi-core"
REGION = "RegionOne"

# name -> (password, project, role); neutron is also admin in service (see _provision).
USERS = {
    "admin": ("admin-pw", "admin", "admin"),  # made by keystone-manage bootstrap
    "neutron": ("neutron-pw", "service", "service"),
    "alice": ("alice-pw", "proj-a", "member"),
    "bob": ("bob-pw", "proj-b", "member"),
    "rita": ("rita-pw", "proj-a", "reader"),
}
PASSWORDS = {name: spec[0] for name, spec in USERS.items()}

_LIVE = set()  # Keystones started and not yet closed: closed at exit if a caller forgot


@atexit.register
def _close_leftovers():
    for ks in list(_LIVE):
        ks.close()


class KeystoneError(RuntimeError):
    pass


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc, sig, timeout=15.0):
    """Signals one child by its PID, waits, SIGKILLs it if it does not go. Safe twice."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, sig)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


class Keystone:
    """One private Keystone. Once started: url (http://127.0.0.1:PORT), auth_url (url + /v3),
    port, workdir, token_expiration, ids (kind -> name -> id for kinds project, user, role
    and service: ids["project"]["proj-a"]) and timings (setup step -> seconds)."""

    def __init__(self, token_expiration=60, caching=True, server="uwsgi", processes=2,
                 threads=4, workdir=None):
        self.token_expiration = int(token_expiration)
        self.caching, self.server, self.threads = caching, server, threads
        self.processes = 1 if caching else processes  # the cache is coherent in one process
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="nt-keystone-"))
        self.conf = self.workdir / "keystone.conf"
        self.port = self.url = self.auth_url = None
        self.ids = {"project": {}, "user": {}, "role": {}, "service": {}}
        self.timings = {}
        self._pg = self._ks = None
        self._manage_procs = []  # keystone-manage runs, stopped too if setup fails midway
        self._ks_starts = 0
        self._reused = {}  # (user, project) -> (token, issued at): admin's and neutron's
        # PostgreSQL refuses to run as root: then its cluster belongs to the postgres user.
        pg = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        self._as_pg = dict(user=pg.pw_uid, group=pg.pw_gid, extra_groups=[]) if pg else {}
        self._me = (pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self):
        _LIVE.add(self)
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    __enter__ = start

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stops Keystone and PostgreSQL (by PID) and removes the directory. Safe twice."""
        self.stop_keystone()
        for proc in self._manage_procs:
            _stop(proc, signal.SIGTERM)
        _stop(self._pg, signal.SIGINT)  # PostgreSQL's "fast" shutdown
        self._pg = None
        if os.environ.get("NT_KEYSTONE_KEEP") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)
        _LIVE.discard(self)

    def stop_keystone(self):
        """Stops only the Keystone server (PostgreSQL stays): its port refuses connections."""
        _stop(self._ks, signal.SIGTERM)
        self._ks = None

    def start_keystone(self, timeout=60.0):
        """Starts the Keystone server again on the same port; returns once GET /v3 is 200.
        Tokens issued before still validate (same database and fernet keys)."""
        if self._ks is None or self._ks.poll() is not None:
            self._spawn_server()
            self._wait_server(timeout)

    def _setup(self):
        t0 = time.monotonic()

        def timed(step, since):
            self.timings[step] = round(time.monotonic() - since, 2)

        self.workdir.chmod(0o711)  # the postgres user must reach its cluster inside
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.auth_url = self.url + "/v3"
        # The same Keystone over HTTPS too (uwsgi only), with a self-signed certificate for
        # 127.0.0.1: `cafile` is what a client must trust.
        self.https_port = free_port()
        self.https_url = f"https://127.0.0.1:{self.https_port}"
        self.cafile = self.workdir / "keystone-cert.pem"
        self._keyfile = self.workdir / "keystone-key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(self._keyfile), "-out", str(self.cafile)],
                       check=True, capture_output=True, timeout=60)
        self.conf.write_text(self._keystone_conf())
        # The key repositories need no database: they are made while PostgreSQL starts and
        # db_sync runs (2 cores; each keystone-manage spends ~2 s importing Keystone).
        who = ("--keystone-user", self._me[0], "--keystone-group", self._me[1])
        keys = [self._manage_async(cmd, *who) for cmd in ("fernet_setup", "credential_setup")]
        self._start_postgres()
        timed("postgres", t0)
        t = time.monotonic()
        self._manage("db_sync")
        timed("db_sync", t)
        for name, proc in keys:
            if proc.wait(timeout=300) != 0:
                raise KeystoneError(f"keystone-manage {name} failed:\n{self.logs()}")
        # The server's start (mostly imports) overlaps bootstrap: it is asked nothing that
        # needs the database before bootstrap is done.
        t = time.monotonic()
        self._spawn_server()
        self._manage("bootstrap", "--bootstrap-username", "admin",
                     "--bootstrap-project-name", "admin", "--bootstrap-role-name", "admin",
                     "--bootstrap-service-name", "keystone", "--bootstrap-region-id", REGION,
                     "--bootstrap-admin-url", self.auth_url,
                     "--bootstrap-internal-url", self.auth_url,
                     "--bootstrap-public-url", self.auth_url,
                     env_extra={"OS_BOOTSTRAP_PASSWORD": PASSWORDS["admin"]})
        self._wait_server(60.0)
        timed("bootstrap+server", t)
        t = time.monotonic()
        self._provision()
        timed("provision", t)
        timed("total", t0)

    def logs(self, lines=40):
        """The last lines of every log in the directory, for error messages."""
        out = []
        for f in sorted(self.workdir.glob("*.log")) + sorted(self.workdir.glob("*.out")):
            text = f.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {f.name}\n" + "\n".join(text))
        return "\n".join(out)

    # -- PostgreSQL ----------------------------------------------------------------------
    def _pg_run(self, program, *args):
        """Runs a PostgreSQL program as the cluster's owner; raises if it fails."""
        r = subprocess.run([str(PG_BIN / program), *args], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, check=False, **self._as_pg)
        if r.returncode != 0:
            raise KeystoneError(f"{program} {' '.join(args)} failed:\n{r.stdout}{r.stderr}")

    def _start_postgres(self, timeout=60.0):
        pgdata, sock = self.workdir / "pgdata", self.workdir / "pgsock"
        for d in (pgdata, sock):
            d.mkdir(mode=0o700)
            if self._as_pg:
                os.chown(d, self._as_pg["user"], self._as_pg["group"])
        sock.chmod(0o755)  # Keystone, running as this user, connects through the socket
        self._pg_run("initdb", "-D", str(pgdata), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                     "--locale=C.UTF-8", "--no-sync", "--no-instructions")
        # A throwaway cluster: no fsync, asynchronous commits, no full-page writes; no TCP at
        # all (listen_addresses empty), only the Unix socket in pgsock/.
        cmd = [str(PG_BIN / "postgres"), "-D", str(pgdata), "-k", str(sock),
               "-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
               "-c", "full_page_writes=off"]
        with open(self.workdir / "postgres.log", "ab") as log:
            self._pg = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                        cwd=self.workdir, **self._as_pg)
        self._wait(self._pg, "postgres", timeout, lambda: subprocess.run(
            [str(PG_BIN / "pg_isready"), "-q", "-h", str(sock)], capture_output=True,
            check=False, **self._as_pg).returncode == 0)
        self._pg_run("psql", "-h", str(sock), "-U", "postgres", "-d", "postgres",
                     "-v", "ON_ERROR_STOP=1", "-c", "CREATE ROLE keystone LOGIN",
                     "-c", "CREATE DATABASE keystone OWNER keystone")

    # -- keystone-manage and the server ------------------------------------------------------
    def _keystone_conf(self):
        w = self.workdir
        cache = ("# In-memory, in one server process: see nt_keystone.py.\nenabled = true\n"
                 "backend = dogpile.cache.memory") if self.caching else "enabled = false"
        return f"""\
# Written by tests/keystone/nt_keystone.py for a throwaway test Keystone.
[DEFAULT]
log_file = {w}/keystone.log
use_stderr = false
[database]
connection = postgresql+psycopg2://keystone@/keystone?host={w}/pgsock
[cache]
{cache}
[token]
provider = fernet
expiration = {self.token_expiration}
[fernet_tokens]
key_repository = {w}/fernet-keys
[fernet_receipts]
key_repository = {w}/fernet-keys
[credential]
key_repository = {w}/credential-keys
[identity]
# The fewest bcrypt rounds: a password check (a token issue) costs ms instead of ~0.3 s.
password_hash_rounds = 4
"""

    def _env(self, extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["OS_KEYSTONE_CONFIG_FILES"] = str(self.conf)  # read by the WSGI application
        env.update(extra or {})
        return env

    def _manage_async(self, command, *args, env_extra=None):
        cmd = [KEYSTONE_MANAGE, "--config-file", str(self.conf), command, *args]
        with open(self.workdir / f"manage-{command}.out", "wb") as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, cwd=self.workdir,
                                    env=self._env(env_extra))
        self._manage_procs.append(proc)
        return command, proc

    def _manage(self, command, *args, env_extra=None):
        _, proc = self._manage_async(command, *args, env_extra=env_extra)
        rc = proc.wait(timeout=300)  # on a time-out, close() stops it
        if rc != 0:
            raise KeystoneError(f"keystone-manage {command} exited {rc}:\n{self.logs()}")

    def _spawn_server(self):
        if self.server == "uwsgi":
            # As Debian's keystone-uwsgi.ini, with fewer workers and no apparmor. lazy-apps:
            # each worker has its own DB pool; die-on-term, no-orphans: one SIGTERM to the
            # master (our child) ends all. The plain http-socket closes each connection after
            # one response without saying so: the header stops clients reusing it.
            # (--http11-socket keeps them, but an idle one holds a thread till its time-out.)
            cmd = [UWSGI, "--plugin", "python3", "--http-socket", f"127.0.0.1:{self.port}",
                   "--wsgi-file", KEYSTONE_WSGI, "--master", "--processes",
                   str(self.processes), "--threads", str(self.threads), "--lazy-apps",
                   "--die-on-term", "--no-orphans", "--need-app", "--buffer-size", "65535",
                   "--disable-logging", "--add-header", "Connection: close",
                   "--https-socket", f"127.0.0.1:{self.https_port},{self.cafile},{self._keyfile}"]
        else:
            cmd = [KEYSTONE_WSGI, "--host", "127.0.0.1", "--port", str(self.port)]
        self._ks_starts += 1
        with open(self.workdir / f"server.{self._ks_starts}.out", "wb") as out:
            self._ks = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, cwd=self.workdir,
                                        env=self._env())

    def _wait_server(self, timeout):
        def answers():  # ready = GET /v3 answers 200
            try:
                return requests.get(self.auth_url, timeout=5).status_code == 200
            except requests.RequestException:
                return False
        self._wait(self._ks, "keystone", timeout, answers)

    def _wait(self, proc, what, timeout, ready):
        """Polls ready() until true; raises if proc exits first or timeout seconds pass."""
        deadline = time.monotonic() + timeout
        while not ready():
            if proc.poll() is not None:
                raise KeystoneError(f"{what} exited with {proc.returncode}:\n{self.logs()}")
            if time.monotonic() > deadline:
                raise KeystoneError(f"{what} not ready in {timeout}s:\n{self.logs()}")
            time.sleep(0.05)

    # -- the v3 API --------------------------------------------------------------------------
    def token(self, user, project):
        """A new token (X-Subject-Token of POST /v3/auth/tokens) for `user` (a name in USERS)
        scoped to the project named `project`, both in the Default domain."""
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": PASSWORDS[user]}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        r = requests.post(self.auth_url + "/auth/tokens", json=body, timeout=30)
        if r.status_code != 201:
            raise KeystoneError(f"token for {user} in {project}: {r.status_code} {r.text}")
        return r.headers["X-Subject-Token"]

    def _reused_token(self, user, project):  # reused while less than half its life is gone
        tok, at = self._reused.get((user, project), (None, 0.0))
        if tok is None or time.monotonic() - at > self.token_expiration / 2:
            tok, at = self.token(user, project), time.monotonic()
            self._reused[(user, project)] = (tok, at)
        return tok

    def admin_token(self):
        """admin's token in project admin (cloud admin under Keystone 22's default policy)."""
        return self._reused_token("admin", "admin")

    def service_token(self):
        """The neutron service user's token in project service, as keystonemiddleware's."""
        return self._reused_token("neutron", "service")

    def validate(self, subject_token, auth_token=None):
        """GET /v3/auth/tokens as neutron (or with auth_token): the requests.Response."""
        headers = {"X-Auth-Token": auth_token or self.service_token(),
                   "X-Subject-Token": subject_token}
        return requests.get(self.auth_url + "/auth/tokens", headers=headers, timeout=30)

    def revoke(self, token):
        """DELETE /v3/auth/tokens with admin's token; validating it then answers 404."""
        r = requests.delete(self.auth_url + "/auth/tokens", timeout=30, headers={
            "X-Auth-Token": self.admin_token(), "X-Subject-Token": token})
        if r.status_code != 204:
            raise KeystoneError(f"revoke: {r.status_code} {r.text}")

    def api(self, method, path, body=None):
        """One call to the v3 API (path after /v3) as admin: the decoded JSON, or None."""
        r = requests.request(method, self.auth_url + path, json=body, timeout=30,
                             headers={"X-Auth-Token": self.admin_token()})
        if r.status_code not in (200, 201, 204):
            raise KeystoneError(f"{method} /v3{path}: {r.status_code} {r.text}")
        return r.json() if r.content else None

    def _find_or_create(self, kind, name, body):
        """GET /v3/<kind>s?name=...; POST it if absent. Its id, also in self.ids[kind]."""
        found = self.api("GET", f"/{kind}s?name={name}")[f"{kind}s"]
        obj = found[0] if found else self.api("POST", f"/{kind}s", {kind: body})[kind]
        self.ids[kind][name] = obj["id"]
        return obj["id"]

    def _provision(self):
        for role in ("admin", "member", "reader", "service"):  # service is not bootstrap's
            self._find_or_create("role", role, {"name": role})
        for project in ("admin", "service", "proj-a", "proj-b"):
            self._find_or_create("project", project, {"name": project, "domain_id": "default"})
        grants = [(u, p, r) for u, (_, p, r) in USERS.items() if u != "admin"]
        grants.append(("neutron", "service", "admin"))
        for user, project, role in grants:
            project_id = self.ids["project"][project]
            user_id = self._find_or_create("user", user, {
                "name": user, "domain_id": "default", "password": PASSWORDS[user],
                "default_project_id": project_id})
            self.api("PUT", f"/projects/{project_id}/users/{user_id}"
                            f"/roles/{self.ids['role'][role]}")

    def register_network_endpoint(self, url):
        """The catalog entry for Neutron: service type network named neutron with public,
        internal and admin endpoints at `url` in RegionOne. Called again, it moves them.
        Returns the service's id."""
        service = self._find_or_create("service", "neutron",
                                       {"type": "network", "name": "neutron"})
        have = self.api("GET", f"/endpoints?service_id={service}")["endpoints"]
        for interface in ("public", "internal", "admin"):
            mine = [e for e in have if e["interface"] == interface]
            if mine:
                self.api("PATCH", f"/endpoints/{mine[0]['id']}", {"endpoint": {"url": url}})
            else:
                self.api("POST", "/endpoints", {"endpoint": {
                    "service_id": service, "interface": interface, "url": url,
                    "region_id": REGION}})
        return service

    def cli_env(self, user, project):
        """The environment for the real openstack CLI with password auth as `user` in
        `project`: this process's environment less any OS_* variable, plus these."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(OS_AUTH_URL=self.auth_url, OS_USERNAME=user, OS_PASSWORD=PASSWORDS[user],
                   OS_PROJECT_NAME=project, OS_USER_DOMAIN_NAME="Default",
                   OS_PROJECT_DOMAIN_NAME="Default", OS_IDENTITY_API_VERSION="3",
                   OS_REGION_NAME=REGION, OS_INTERFACE="public")
        return env
