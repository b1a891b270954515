"""neutrino-server with auth_strategy = keystone against a real Keystone (tests/keystone):
the real openstack CLI and openstacksdk with password auth, project isolation, a reader
that can only read, a policy.yaml changed under a running server, revoked and expired
tokens, Keystone down and back, RBAC to another project by the CLI, forged headers.

Users (nt_keystone.USERS): alice = member of proj-a, rita = reader of proj-a, bob = member
of proj-b, admin = cloud admin. The server runs with [oslo_policy] enforce_new_defaults =
true, which gives readers read-only access as in Neutron."""
import json
import subprocess
import sys
import time
from pathlib import Path

import openstack
import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from neutrino_api import OPENSTACK_BIN, SERVER_BIN, Server, uniq  # noqa: E402

CACHE_TIME = 3  # token_cache_time of the server under test, seconds

CONFIG = """[DEFAULT]
auth_strategy = keystone
[keystone_authtoken]
www_authenticate_uri = {url}
auth_url = {auth_url}
auth_type = password
username = neutron
password = neutron-pw
project_name = service
user_domain_name = Default
project_domain_name = Default
token_cache_time = {cache}
[oslo_policy]
policy_file = policy.yaml
enforce_new_defaults = true
"""


@pytest.fixture(scope="module")
def ks_server(keystone, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ks-server")
    (workdir / "policy.yaml").write_text("# operator overrides; none yet\n")
    server = Server(workdir, config_text=CONFIG.format(url=keystone.url, auth_url=keystone.auth_url, cache=CACHE_TIME))
    server.start()
    keystone.register_network_endpoint(server.url)
    try:
        yield server
    finally:
        server.stop()


class As:
    """Raw HTTP as one Keystone user (a fresh token per instance)."""

    def __init__(self, keystone, server, user, project):
        self.url, self.token = server.url, keystone.token(user, project)
        self.project_id = keystone.ids["project"][project]

    def __call__(self, method, path, body=None, headers=None):
        h = {"X-Auth-Token": self.token, "Content-Type": "application/json"}
        h.update(headers or {})
        return requests.request(method, self.url + path, data=None if body is None else json.dumps(body),
                                headers=h, timeout=30)

    def create(self, collection, singular, **attrs):
        r = self("POST", f"/v2.0/{collection}", {singular: attrs})
        assert r.status_code == 201, f"{collection}: {r.status_code} {r.text}"
        return r.json()[singular]


def osc(keystone, user, project, *args, ok=True):
    """The real openstack CLI with password auth (OS_AUTH_URL...); JSON output when it has any."""
    r = subprocess.run([OPENSTACK_BIN, *args], env=keystone.cli_env(user, project), capture_output=True,
                       text=True, timeout=120)
    if ok:
        assert r.returncode == 0, f"openstack {' '.join(args)}: {r.stderr}"
        return json.loads(r.stdout) if r.stdout.strip().startswith(("{", "[")) else r.stdout
    assert r.returncode != 0, f"openstack {' '.join(args)} should have failed: {r.stdout}"
    return r.stderr


def error_of(r, status):
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    return r.json()["NeutronError"]


def wait_until(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}")


def test_a_token_is_required(ks_server, keystone):
    assert requests.get(ks_server.url + "/", timeout=10).status_code == 200  # the version list is public
    r = requests.get(ks_server.url + "/v2.0/networks", timeout=10)
    assert error_of(r, 401)["type"] == "HTTPUnauthorized"
    assert r.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.url}"'
    r = requests.get(ks_server.url + "/v2.0/networks", headers={"X-Auth-Token": "not-a-token"}, timeout=10)
    error_of(r, 401)


def test_admin_runs_the_seed_sequence_with_the_cli(ks_server, keystone):
    def admin(*args):
        return osc(keystone, "admin", "admin", *args)

    ext = admin("network", "create", "--external", "--share", uniq("public"), "-f", "json")
    admin("subnet", "create", "--network", ext["id"], "--subnet-range", "203.0.113.0/24", "--no-dhcp",
          uniq("public-sub"), "-f", "json")
    net = admin("network", "create", uniq("demo"), "-f", "json")
    sub = admin("subnet", "create", "--network", net["id"], "--subnet-range", "10.61.0.0/24", uniq("demo"), "-f", "json")
    router = admin("router", "create", uniq("r"), "-f", "json")
    admin("router", "set", "--external-gateway", ext["id"], router["id"])
    admin("router", "add", "subnet", router["id"], sub["id"])
    port = admin("port", "create", "--network", net["id"], uniq("vm"), "-f", "json")
    fip = admin("floating", "ip", "create", "--port", port["id"], ext["id"], "-f", "json")
    assert fip["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    sg = admin("security", "group", "create", uniq("web"), "-f", "json")
    admin("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", sg["id"], "-f", "json")
    assert net["id"] in {n["ID"] for n in admin("network", "list", "-f", "json")}


def test_projects_are_isolated_and_a_reader_only_reads(ks_server, keystone):
    alice, bob = As(keystone, ks_server, "alice", "proj-a"), As(keystone, ks_server, "bob", "proj-b")
    rita, admin = As(keystone, ks_server, "rita", "proj-a"), As(keystone, ks_server, "admin", "admin")
    net = alice.create("networks", "network", name=uniq("a-net"))
    assert net["project_id"] == alice.project_id
    alice.create("subnets", "subnet", network_id=net["id"], cidr="10.62.0.0/24", ip_version=4)
    port = alice.create("ports", "port", network_id=net["id"])
    router = alice.create("routers", "router", name=uniq("a-r"))
    sg = alice.create("security-groups", "security_group", name=uniq("a-sg"))
    ext = admin.create("networks", "network", name=uniq("ext"), **{"router:external": True})
    admin.create("subnets", "subnet", network_id=ext["id"], cidr="198.51.100.0/24", ip_version=4, enable_dhcp=False)
    fip = alice.create("floatingips", "floatingip", floating_network_id=ext["id"])
    assert fip["project_id"] == alice.project_id
    owned = [("networks", net), ("ports", port), ("routers", router), ("security-groups", sg), ("floatingips", fip)]

    for collection, obj in owned:
        assert error_of(bob("GET", f"/v2.0/{collection}/{obj['id']}"), 404)
        assert error_of(bob("PUT", f"/v2.0/{collection}/{obj['id']}", {collection.rstrip("s").replace("-", "_"): {"description": "x"}}), 404)
        assert error_of(bob("DELETE", f"/v2.0/{collection}/{obj['id']}"), 404)
        # Not through filters or fields either.
        for query in (f"?project_id={alice.project_id}", f"?id={obj['id']}", "?fields=id&fields=name"):
            listed = bob("GET", f"/v2.0/{collection}{query}").json()[collection.replace("-", "_")]
            assert obj["id"] not in {o.get("id") for o in listed}, query
        # The reader of proj-a sees it, and may not change it.
        assert rita("GET", f"/v2.0/{collection}/{obj['id']}").status_code == 200
        assert obj["id"] in {o["id"] for o in rita("GET", f"/v2.0/{collection}").json()[collection.replace("-", "_")]}
        singular = {"networks": "network", "ports": "port", "routers": "router", "security-groups": "security_group",
                    "floatingips": "floatingip"}[collection]
        body = {"description": "x"} if collection == "floatingips" else {"name": "x"}
        assert error_of(rita("PUT", f"/v2.0/{collection}/{obj['id']}", {singular: body}), 403)["type"] == "PolicyNotAuthorized"
        assert error_of(rita("DELETE", f"/v2.0/{collection}/{obj['id']}"), 403)["type"] == "PolicyNotAuthorized"
        # Admin sees everything, except (as Neutron 21 with enforce_new_defaults) other
        # projects' security groups: its get_security_group default names no admin.
        expected = 404 if collection == "security-groups" else 200
        assert admin("GET", f"/v2.0/{collection}/{obj['id']}").status_code == expected
    refused = rita("POST", "/v2.0/networks", {"network": {"name": "no"}})
    assert error_of(refused, 403)["message"] == "rule:create_network is disallowed by policy"
    assert error_of(rita("POST", "/v2.0/ports", {"port": {"network_id": net["id"]}}), 403)
    # Bob cannot create for another project either.
    assert error_of(bob("POST", "/v2.0/networks", {"network": {"name": "x", "project_id": alice.project_id}}), 400)
    # Tags, quotas and agents: another project's are out of reach, quotas and agents are admin's.
    error_of(bob("PUT", f"/v2.0/networks/{net['id']}/tags/mine"), 404)
    assert alice("PUT", f"/v2.0/networks/{net['id']}/tags/mine").status_code == 201
    assert bob("GET", f"/v2.0/quotas/{alice.project_id}").status_code in (403, 404)
    error_of(bob("PUT", f"/v2.0/quotas/{bob.project_id}", {"quota": {"network": 1000}}), 403)
    assert bob("GET", "/v2.0/agents").json()["agents"] == []
    assert admin("PUT", f"/v2.0/quotas/{bob.project_id}", {"quota": {"network": 50}}).status_code == 200
    # Binding details are admin-only attributes: hidden from the owner, shown to admin.
    assert "binding:vif_type" not in alice("GET", f"/v2.0/ports/{port['id']}").json()["port"]
    assert "binding:vif_type" in admin("GET", f"/v2.0/ports/{port['id']}").json()["port"]


def test_forged_identity_headers_are_ignored(ks_server, keystone):
    alice, bob = As(keystone, ks_server, "alice", "proj-a"), As(keystone, ks_server, "bob", "proj-b")
    net = alice.create("networks", "network", name=uniq("a-net"))
    forged = {"X-Project-Id": alice.project_id, "X-Tenant-Id": alice.project_id, "X-Roles": "admin",
              "X-User-Id": "admin", "X-Identity-Status": "Confirmed", "X-Is-Admin-Project": "True"}
    error_of(bob("GET", f"/v2.0/networks/{net['id']}", headers=forged), 404)
    made = bob("POST", "/v2.0/networks", {"network": {"name": uniq("b")}}, headers=forged)
    assert made.status_code == 201 and made.json()["network"]["project_id"] == bob.project_id
    assert bob("GET", "/v2.0/agents", headers=forged).json()["agents"] == []


@pytest.mark.parametrize("user,project", [("admin", "admin"), ("alice", "proj-a")])
def test_openstacksdk_with_password_auth(ks_server, keystone, user, project):
    conn = openstack.connect(auth_url=keystone.auth_url, username=user, password=f"{user}-pw",
                             project_name=project, user_domain_name="Default", project_domain_name="Default",
                             region_name="RegionOne", identity_api_version="3")
    try:
        net = conn.network.create_network(name=uniq("sdk"))
        assert net.project_id == keystone.ids["project"][project]
        subnet = conn.network.create_subnet(network_id=net.id, cidr="10.64.0.0/24", ip_version=4)
        port = conn.network.create_port(network_id=net.id)
        assert port.fixed_ips[0]["subnet_id"] == subnet.id
        router = conn.network.create_router(name=uniq("sdk-r"))
        conn.network.add_interface_to_router(router, subnet_id=subnet.id)
        sg = conn.network.create_security_group(name=uniq("sdk-sg"))
        conn.network.create_security_group_rule(security_group_id=sg.id, direction="ingress", protocol="tcp",
                                                port_range_min=22, port_range_max=22)
        assert net.id in {n.id for n in conn.network.networks()}
        conn.network.remove_interface_from_router(router, subnet_id=subnet.id)
        for delete, obj in ((conn.network.delete_router, router), (conn.network.delete_port, port),
                            (conn.network.delete_security_group, sg), (conn.network.delete_network, net)):
            delete(obj)
        assert net.id not in {n.id for n in conn.network.networks()}
    finally:
        conn.close()


def test_policy_file_changes_without_a_restart_and_a_broken_one_is_refused(ks_server, keystone):
    policy = ks_server.workdir / "policy.yaml"
    alice, admin = As(keystone, ks_server, "alice", "proj-a"), As(keystone, ks_server, "admin", "admin")

    def alice_may_create():
        r = alice("POST", "/v2.0/networks", {"network": {"name": uniq("p")}})
        assert r.status_code in (201, 403), r.text
        return r.status_code == 201

    assert alice_may_create()
    policy.write_text('# members may not create networks\n"create_network": "rule:admin_only"\n')
    wait_until("the new policy is in force", lambda: not alice_may_create(), 15)
    assert admin("POST", "/v2.0/networks", {"network": {"name": uniq("p")}}).status_code == 201

    policy.write_text('"create_network": "rule:admin_only"\n"get_network": "rule:admin_only orr"\n')
    check = subprocess.run([str(SERVER_BIN), "--check-config", "--config-file", str(ks_server.config_file)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode != 0
    assert 'policy.yaml:2: rule "get_network"' in check.stderr, check.stderr
    try:
        # The server looks at the file when requests come, at most once a second.
        wait_until("the server noticed the broken file",
                   lambda: alice("GET", "/v2.0/networks").ok and "policy file not taken" in ks_server.logs(), 15)
        assert not alice_may_create()  # the last good policy stays
        assert alice("GET", "/v2.0/networks").status_code == 200
    finally:
        policy.write_text("# back to the defaults\n")
    wait_until("the defaults are back", alice_may_create, 15)


def test_revoked_token_is_refused_within_the_cache_time(ks_server, keystone):
    alice = As(keystone, ks_server, "alice", "proj-a")
    assert alice("GET", "/v2.0/networks").status_code == 200
    keystone.revoke(alice.token)
    revoked_at = time.monotonic()
    refused_at = wait_until("revoked token refused", lambda: alice("GET", "/v2.0/networks").status_code == 401,
                            CACHE_TIME + 10)
    assert refused_at - revoked_at <= CACHE_TIME + 2


def test_keystone_down_is_503_and_recovery_needs_no_restart(ks_server, keystone):
    cached = As(keystone, ks_server, "alice", "proj-a")
    assert cached("GET", "/v2.0/networks").status_code == 200
    fresh = As(keystone, ks_server, "bob", "proj-b")  # never shown to the server yet
    keystone.stop_keystone()
    try:
        err = error_of(fresh("GET", "/v2.0/networks"), 503)
        assert err["type"] == "ServiceUnavailable"
        # A token validated moments ago is still believed for token_cache_time.
        assert cached("GET", "/v2.0/networks").status_code in (200, 503)
    finally:
        keystone.start_keystone()
    wait_until("Keystone is asked again", lambda: fresh("GET", "/v2.0/networks").status_code == 200, 30)


def test_rbac_shares_a_network_with_another_project_by_the_cli(ks_server, keystone):
    proj_b = keystone.ids["project"]["proj-b"]
    net = osc(keystone, "alice", "proj-a", "network", "create", uniq("shared-a"), "-f", "json")
    osc(keystone, "alice", "proj-a", "subnet", "create", "--network", net["id"], "--subnet-range", "10.63.0.0/24",
        uniq("s"), "-f", "json")
    assert "No Network found" in osc(keystone, "bob", "proj-b", "network", "show", net["id"], ok=False)
    # The owner shares it (a member may not look projects up in Keystone: it names B by id).
    policy = osc(keystone, "alice", "proj-a", "network", "rbac", "create", "--target-project", proj_b,
                 "--action", "access_as_shared", "--type", "network", net["id"], "-f", "json")
    assert policy["target_project_id"] == proj_b
    shown = osc(keystone, "bob", "proj-b", "network", "show", net["id"], "-f", "json")
    assert shown["shared"] is True
    port = osc(keystone, "bob", "proj-b", "port", "create", "--network", net["id"], uniq("b-port"), "-f", "json")
    assert port["project_id"] == proj_b
    busy = osc(keystone, "alice", "proj-a", "network", "rbac", "delete", policy["id"], ok=False)
    assert "in use" in busy or "cannot be removed" in busy, busy
    osc(keystone, "bob", "proj-b", "port", "delete", port["id"])
    osc(keystone, "alice", "proj-a", "network", "rbac", "delete", policy["id"])
    assert "No Network found" in osc(keystone, "bob", "proj-b", "network", "show", net["id"], ok=False)


def test_expired_token_is_refused(ks_server, keystone):
    """Keystone's tokens here live token_expiration (60 s): a token used at once is refused
    once it expires, although the server believed it a moment before."""
    alice = As(keystone, ks_server, "alice", "proj-a")
    issued = time.monotonic()
    assert alice("GET", "/v2.0/networks").status_code == 200
    wait_until("expired token refused", lambda: alice("GET", "/v2.0/networks").status_code == 401,
               keystone.token_expiration + CACHE_TIME + 15)
    assert time.monotonic() - issued >= keystone.token_expiration - 2


@pytest.mark.parametrize("tls,answer", [("cafile = {ca}", 200), ("", 503), ("insecure = true", 200)])
def test_keystone_over_https(keystone, tmp_path, tls, answer):
    """auth_url https://: the certificate is verified against cafile (a self-signed one
    without it is refused: 503, never admitted), or not at all with insecure = true."""
    config = CONFIG.format(url=keystone.https_url, auth_url=keystone.https_url + "/v3", cache=CACHE_TIME)
    config = config.replace("token_cache_time", tls.format(ca=keystone.cafile) + "\ntoken_cache_time")
    server = Server(tmp_path, config_text=config)
    server.start()
    try:
        r = requests.get(server.url + "/v2.0/networks", timeout=30,
                         headers={"X-Auth-Token": keystone.token("alice", "proj-a")})
        assert r.status_code == answer, r.text
        if answer == 503:
            assert "certificate verify failed" in server.logs(), server.logs()
    finally:
        server.stop()


def test_a_token_for_no_project_is_refused(ks_server, keystone):
    """A domain-scoped token names no project whose objects these are: 401, as for no token."""
    user, role = keystone.ids["user"]["alice"], keystone.ids["role"]["reader"]
    keystone.api("PUT", f"/domains/default/users/{user}/roles/{role}")
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "alice", "domain": {"id": "default"}, "password": "alice-pw"}}},
        "scope": {"domain": {"id": "default"}}}}
    r = requests.post(keystone.auth_url + "/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    domain_token = r.headers["X-Subject-Token"]
    assert "project" not in r.json()["token"]
    answer = requests.get(ks_server.url + "/v2.0/networks", headers={"X-Auth-Token": domain_token}, timeout=30)
    assert error_of(answer, 401)["type"] == "HTTPUnauthorized"
