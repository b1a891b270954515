"""Fixtures for the API acceptance suite.

- `server`: one real neutrino-server per test session (per xdist worker) on a fresh SQLite
  file and a free port; always killed by PID at the end. It runs with
  `dhcp_agent_notification = false`, as a Neutron without DHCP agents (the one tests/compat
  compares with): no network:dhcp ports take addresses, ports and quota from these tests.
  test_dhcp_port.py has a server of its own with them.
- `new_server`: a factory for tests that need their own server (seed commands with fixed
  names, config variants, durability); every server it starts is killed at teardown.
- `api`: raw HTTP (requests) as admin of a fresh project unique to the test, so tests never
  see each other's project-scoped state (default security group, quotas).
- `admin`: raw HTTP with no X-Project-Id (noauth admin in `fake_project_id`).
- `osc`: the real openstack CLI; `osc(...)` parses `-f json`, `osc.fail(...)` expects failure.
- `conn`: an openstacksdk connection.

Both stores: every test that uses `server` (directly or through `api`, `admin`, `osc`, `conn`)
or `new_server` runs twice, on embedded SQLite and on PostgreSQL, with ids `test_x[sqlite]` and
`test_x[postgresql]` (the session-scoped `store` parameter, set in pytest_generate_tests). On
PostgreSQL each xdist worker has one throwaway cluster (`pg_cluster`, tests/nt_postgres.py,
started on first use) and every server gets a fresh database in it.
Not parametrized (SQLite only, ids unchanged):
- tests marked `@pytest.mark.sqlite_only`: they are about the SQLite file itself (damaged or
  edited with sqlite3, integrity_check after SIGKILL, --rebuild-allocations on a file);
- `new_server(database=PATH)`: a server on that SQLite file, whatever the store;
- servers a test builds with Server(...) itself, and tests that use none of the fixtures above.
"""
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from neutrino_api import Server, sdk_connection  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nt_postgres import PgCluster  # noqa: E402

STORES = ("sqlite", "postgresql")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sqlite_only: about the SQLite file itself; runs once, on SQLite, not per store")
    config.addinivalue_line(
        "markers", "alone: asserts a latency bound under its own load; scripts/test runs it after the parallel "
        "run, with no other test loading the machine's two cores")


def pytest_generate_tests(metafunc):
    if "store" in metafunc.fixturenames and metafunc.definition.get_closest_marker("sqlite_only") is None:
        metafunc.parametrize("store", STORES, indirect=True, scope="session")


@pytest.fixture(scope="session")
def store(request):
    """'sqlite' or 'postgresql' (the parameter); 'sqlite' for tests marked sqlite_only."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL cluster per session (per xdist worker)."""
    with PgCluster() as cluster:
        yield cluster


def database_for(store, request):
    """None (a SQLite file in the server's directory) or the URL of a fresh PostgreSQL database."""
    if store == "postgresql":
        return request.getfixturevalue("pg_cluster").create_database()[1]
    return None


@pytest.fixture(scope="session")
def server(tmp_path_factory, store, request):
    s = Server(tmp_path_factory.mktemp(f"neutrino-session-{store}"), name="session",
               database=database_for(store, request),
               config_text="[DEFAULT]\ndhcp_agent_notification = false\n")
    try:
        s.start()
        yield s
    finally:
        s.kill()


@pytest.fixture
def new_server(tmp_path, store, request):
    """make(config_text=None, database=None, name=None): a server of the test's own on the
    test's store (a fresh PostgreSQL database, or a SQLite file); database=PATH: on that
    SQLite file."""
    started = []

    def make(config_text=None, database=None, name=None):
        if database is None:
            database = database_for(store, request)
        s = Server(tmp_path / (name or f"srv{len(started)}"), database=database, config_text=config_text,
                   name=name or f"srv{len(started)}")
        started.append(s)
        s.start()
        return s

    try:
        yield make
    finally:
        for s in started:
            s.kill()


@pytest.fixture
def project():
    return "proj" + uuid.uuid4().hex[:12]


@pytest.fixture
def api(server, project):
    """Admin of a project of its own."""
    return server.client(project=project, roles="admin")


@pytest.fixture
def admin(server):
    """No X-Project-Id: noauth admin in fake_project_id."""
    return server.client()


@pytest.fixture
def osc(server):
    return server.osc()


@pytest.fixture(scope="session")
def conn(server):
    c = sdk_connection(server)
    try:
        yield c
    finally:
        c.close()
