"""A throwaway PostgreSQL 15 cluster for tests.

    pg = PgCluster().start()
    name, url = pg.create_database()   # postgresql://postgres@/NAME?host=SOCKETDIR
    pg.stop("fast"); pg.start()        # take it away and bring it back (same data, same socket)
    pg.close()                         # stop immediately and remove the directory

The cluster lives in a fresh directory under /tmp (short paths: a Unix socket path must fit in
108 bytes) and listens only on a Unix socket in that directory (listen_addresses is empty: no
TCP). Authentication is `trust`; everything connects as the superuser `postgres`.

Durability is under test, so the server runs with its defaults: fsync on, synchronous_commit
on, full_page_writes on. (Only initdb's final flush of the fresh cluster is skipped.)

PostgreSQL refuses to run as root: when the tests run as root, initdb and the postmaster run as
the `postgres` user (as tests/keystone/nt_keystone.py does). The postmaster is this process's
own child (started directly, not daemonized by pg_ctl), so it is known and stopped by its PID:
SIGTERM, SIGINT and SIGQUIT are pg_ctl's smart, fast and immediate shutdowns. Clusters still
open at interpreter exit are closed (atexit); if the test process is killed outright, the
kernel sends the postmaster SIGQUIT (parent-death signal) so nothing is left behind.
"""
import atexit
import ctypes
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

PG_BIN = Path(os.environ.get("NEUTRINO_PG_BIN", "/usr/lib/postgresql/15/bin"))

_STOP_SIGNAL = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}

_LIVE = set()  # clusters started and not yet closed


@atexit.register
def _close_leftovers():
    for cluster in list(_LIVE):
        cluster.close()


class PgError(RuntimeError):
    pass


def _die_with_parent():
    """Runs in the child before exec (after the uid change, which would clear it)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGQUIT), 0, 0, 0)


class PgCluster:
    """One private PostgreSQL cluster. Attributes once started: workdir, pgdata, socket_dir,
    pid (of the postmaster, None while stopped), log (its log file)."""

    def __init__(self, workdir=None):
        missing = [p for p in ("initdb", "postgres", "pg_isready", "psql") if not (PG_BIN / p).exists()]
        if missing:
            raise PgError(f"PostgreSQL 15 programs missing in {PG_BIN}: {', '.join(missing)} "
                          f"(run scripts/install-deps)")
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="ntpy-pg-"))
        self.pgdata = self.workdir / "data"
        self.socket_dir = self.workdir / "sock"
        self.log = self.workdir / "postgres.log"
        self._proc = None
        self._initialized = False
        pg = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        self._as_pg = dict(user=pg.pw_uid, group=pg.pw_gid, extra_groups=[]) if pg else {}

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    @property
    def pid(self):
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def running(self):
        return self.pid is not None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, timeout=60.0):
        """initdb (the first time), then start the postmaster and wait until it accepts
        connections (pg_isready). Safe to call while running (does nothing)."""
        if self.running():
            return self
        _LIVE.add(self)
        if not self._initialized:
            self._initdb()
        cmd = [str(PG_BIN / "postgres"), "-D", str(self.pgdata), "-k", str(self.socket_dir),
               "-c", "listen_addresses=", "-c", "max_connections=200",
               "-c", "shared_buffers=32MB", "-c", "log_min_messages=warning"]
        with open(self.log, "ab") as log:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                          cwd=self.workdir, preexec_fn=_die_with_parent, **self._as_pg)
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self._proc.poll() is not None:
                raise PgError(f"postgres exited with {self._proc.returncode}:\n{self.logs()}")
            if time.monotonic() > deadline:
                self.stop("immediate")
                raise PgError(f"postgres not ready within {timeout}s:\n{self.logs()}")
            time.sleep(0.05)
        return self

    def stop(self, mode="fast", timeout=30.0):
        """Shut the postmaster down (smart/fast/immediate, as pg_ctl -m) and wait for it to
        exit; SIGKILL if it does not within timeout. Safe when already stopped."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.kill(proc.pid, _STOP_SIGNAL[mode])
                proc.wait(timeout=timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=timeout)
        self._proc = None

    def close(self):
        """Stop immediately and remove the directory. Safe twice."""
        self.stop("immediate")
        _LIVE.discard(self)
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- databases ---------------------------------------------------------------------
    def url(self, name, user="postgres", scheme="postgresql"):
        return f"{scheme}://{user}@/{name}?host={self.socket_dir}"

    def create_database(self):
        """A fresh, empty database: returns (name, url)."""
        name = "nt_" + uuid.uuid4().hex
        self.psql(f'CREATE DATABASE "{name}"')
        return name, self.url(name)

    def psql(self, sql, database="postgres", timeout=60):
        """Run SQL with psql (as the cluster's owner); returns its stdout (unaligned, tuples
        only, '|' between columns). Raises PgError if it fails."""
        r = subprocess.run([str(PG_BIN / "psql"), "-h", str(self.socket_dir), "-U", "postgres",
                            "-d", database, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
                           timeout=timeout)
        if r.returncode != 0:
            raise PgError(f"psql {sql!r} failed ({r.returncode}): {r.stdout}{r.stderr}")
        return r.stdout

    def logs(self, lines=40):
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    # -- internals -----------------------------------------------------------------------
    def _initdb(self):
        self.workdir.chmod(0o711)  # the postgres user must reach its cluster inside
        for d in (self.pgdata, self.socket_dir):
            d.mkdir(mode=0o700, exist_ok=True)
            if self._as_pg:
                os.chown(d, self._as_pg["user"], self._as_pg["group"])
        self.socket_dir.chmod(0o755)
        r = subprocess.run([str(PG_BIN / "initdb"), "-D", str(self.pgdata), "-U", "postgres",
                            "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
                            "--no-instructions"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
                           timeout=120, **self._as_pg)
        if r.returncode != 0:
            raise PgError(f"initdb failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        self._initialized = True

    def _ready(self):
        r = subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", str(self.socket_dir),
                            "-d", "postgres", "-U", "postgres"],
                           stdin=subprocess.DEVNULL, capture_output=True, check=False, timeout=10)
        return r.returncode == 0
