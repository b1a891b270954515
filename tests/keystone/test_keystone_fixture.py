"""The `keystone` fixture against the real Keystone: tokens, roles, revocation, the catalog
as the real openstack CLI sees it, and stopping/starting the server."""
import json
import subprocess
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

OPENSTACK = "/usr/bin/openstack"


def role_names(body):
    return sorted(r["name"] for r in body["token"]["roles"])


@pytest.mark.parametrize("user,project,roles", [
    ("alice", "proj-a", ["member", "reader"]),  # member implies reader
    ("bob", "proj-b", ["member", "reader"]),
    ("rita", "proj-a", ["reader"]),
])
def test_user_tokens_validate_with_project_and_roles(keystone, user, project, roles):
    token = keystone.token(user, project)
    r = keystone.validate(token)  # X-Auth-Token: neutron's service token
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token"]["user"]["name"] == user
    assert body["token"]["project"]["name"] == project
    assert body["token"]["project"]["id"] == keystone.ids["project"][project]
    assert role_names(body) == roles
    assert r.headers["X-Subject-Token"] == token
    # The configured lifetime (the fixture's 60 s, for expiry tests).
    issued, expires = (datetime.fromisoformat(body["token"][k].replace("Z", "+00:00"))
                       for k in ("issued_at", "expires_at"))
    assert round((expires - issued).total_seconds()) == keystone.token_expiration


def test_service_user_has_service_and_admin_roles(keystone):
    token = keystone.service_token()
    r = keystone.validate(token, auth_token=token)
    assert r.status_code == 200, r.text
    assert r.json()["token"]["project"]["name"] == "service"
    assert {"service", "admin"} <= set(role_names(r.json()))


def test_scope_to_a_project_without_a_role_is_refused(keystone):
    r = requests.post(keystone.auth_url + "/auth/tokens", timeout=30, json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "bob", "domain": {"id": "default"}, "password": "bob-pw"}}},
        "scope": {"project": {"name": "proj-a", "domain": {"id": "default"}}}}})
    assert r.status_code == 401


def test_revoked_token_is_404_at_once(keystone):
    token = keystone.token("alice", "proj-a")
    assert keystone.validate(token).status_code == 200
    keystone.revoke(token)
    assert keystone.validate(token).status_code == 404
    # Other tokens of the same user are untouched.
    assert keystone.validate(keystone.token("alice", "proj-a")).status_code == 200


class _FakeNeutron(BaseHTTPRequestHandler):
    """Just enough of a Neutron for `openstack network list`; records the tokens it got."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.tokens.append(self.headers.get("X-Auth-Token"))
        base = f"http://127.0.0.1:{self.server.server_port}"
        if self.path.rstrip("/") == "":
            body = {"versions": [{"id": "v2.0", "status": "CURRENT",
                                  "links": [{"href": base + "/v2.0/", "rel": "self"}]}]}
        elif self.path.startswith("/v2.0/networks"):
            body = {"networks": [{"id": "11111111-2222-3333-4444-555555555555",
                                  "name": "from-fake-neutron", "subnets": []}]}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_neutron():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeNeutron)
    server.tokens = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_catalog_has_network_endpoint_and_cli_uses_it(keystone, fake_neutron):
    url = f"http://127.0.0.1:{fake_neutron.server_port}"
    keystone.register_network_endpoint(url)
    # The catalog in alice's token.
    r = requests.get(keystone.auth_url + "/auth/catalog", timeout=30,
                     headers={"X-Auth-Token": keystone.token("alice", "proj-a")})
    assert r.status_code == 200, r.text
    network = [s for s in r.json()["catalog"] if s["type"] == "network"]
    assert len(network) == 1 and network[0]["name"] == "neutron"
    assert sorted((e["interface"], e["url"], e["region_id"]) for e in network[0]["endpoints"]) \
        == [(i, url, "RegionOne") for i in ("admin", "internal", "public")]
    # The real openstack CLI, password auth from the environment, finds and calls it.
    out = subprocess.run([OPENSTACK, "network", "list", "-f", "json"], capture_output=True,
                         text=True, timeout=120, env=keystone.cli_env("alice", "proj-a"))
    assert out.returncode == 0, out.stderr
    assert [n["Name"] for n in json.loads(out.stdout)] == ["from-fake-neutron"]
    # ... with a token that Keystone says is alice's in proj-a.
    sent = [t for t in fake_neutron.tokens if t]
    assert sent, fake_neutron.tokens
    body = keystone.validate(sent[-1]).json()
    assert (body["token"]["user"]["name"], body["token"]["project"]["name"]) == ("alice", "proj-a")


def test_stop_and_start_keystone(keystone):
    before = keystone.token("bob", "proj-b")
    revoked = keystone.token("bob", "proj-b")
    keystone.revoke(revoked)
    keystone.stop_keystone()
    with pytest.raises(requests.ConnectionError):
        requests.get(keystone.auth_url, timeout=5)
    keystone.start_keystone()
    assert requests.get(keystone.auth_url, timeout=5).status_code == 200
    # Same database and fernet keys: earlier tokens still validate, revocations still hold.
    assert keystone.validate(before).status_code == 200
    assert keystone.validate(revoked).status_code == 404
    assert keystone.validate(keystone.token("rita", "proj-a")).status_code == 200
