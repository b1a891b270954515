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
"""
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from neutrino_api import Server, sdk_connection  # noqa: E402


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("neutrino-session"), name="session",
               config_text="[DEFAULT]\ndhcp_agent_notification = false\n")
    try:
        s.start()
        yield s
    finally:
        s.kill()


@pytest.fixture
def new_server(tmp_path):
    started = []

    def make(config_text=None, database=None, name=None):
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
