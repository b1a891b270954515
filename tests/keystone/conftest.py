"""Fixtures for the tests that need a real Keystone (tests/keystone).

- `keystone`: one private Keystone (nt_keystone.Keystone: its own PostgreSQL, uwsgi on a free
  127.0.0.1 port, the accounts in nt_keystone.USERS, token expiry 60 s) for the whole session
  of one xdist worker, closed (processes stopped by PID, directory removed) at the end.
  Starting it takes ~15 s, so it is started at most once per worker, and only on a worker
  that runs a test asking for it.

Every test under tests/keystone is put in the xdist group "keystone": with
`--dist loadgroup` they all run on one worker, so one Keystone serves them all (without it,
each worker that gets such a test starts its own).
"""
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from nt_keystone import Keystone  # noqa: E402


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups in its own hook
def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.xdist_group("keystone"))


@pytest.fixture(scope="session")
def keystone():
    expiration = int(os.environ.get("NT_KEYSTONE_TOKEN_EXPIRATION", "60"))
    with Keystone(token_expiration=expiration) as ks:
        yield ks
