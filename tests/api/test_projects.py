"""Two projects via X-Project-Id (noauth): private resources are invisible to the other
project (404, never 403, and absent from lists), shared networks are visible, and
non-admins cannot use admin-only attributes."""
import pytest

from neutrino_api import expect_error, uniq

PROVIDER = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
BINDING_ADMIN = ("binding:host_id", "binding:vif_type", "binding:vif_details", "binding:profile")


@pytest.fixture
def alice(server):
    return server.client(project=uniq("alice"), roles="member")


@pytest.fixture
def bob(server):
    return server.client(project=uniq("bob"), roles="member")


@pytest.fixture
def alice_things(alice):
    net = alice.network()
    sub = alice.subnet(net["id"], "10.120.0.0/24")
    port = alice.port(net["id"])
    sg = alice.create("security-groups", name=uniq("sg"))
    rule = alice("POST", "/v2.0/security-group-rules", json={"security_group_rule": {
        "security_group_id": sg["id"], "direction": "ingress", "protocol": "tcp",
        "port_range_min": 22, "port_range_max": 22}}).json()["security_group_rule"]
    return {"networks": net, "subnets": sub, "ports": port, "security-groups": sg, "security-group-rules": rule}


def test_owner_sees_own_resources(alice, alice_things):
    for coll, thing in alice_things.items():
        assert alice.show(coll, thing["id"])["id"] == thing["id"]
        assert thing["id"] in {x["id"] for x in alice.list(coll)}
        assert thing["project_id"] == alice.project


@pytest.mark.parametrize("coll,etype", [
    ("networks", "NetworkNotFound"), ("subnets", "SubnetNotFound"), ("ports", "PortNotFound"),
    ("security-groups", "SecurityGroupNotFound"), ("security-group-rules", "SecurityGroupRuleNotFound")])
def test_other_project_cannot_see(bob, alice_things, coll, etype):
    thing = alice_things[coll]
    expect_error(bob("GET", f"/v2.0/{coll}/{thing['id']}"), 404, etype)
    assert thing["id"] not in {x["id"] for x in bob.list(coll)}
    assert bob.list(coll, {"id": thing["id"]}) == []
    assert bob.list(coll, {"project_id": thing["project_id"]}) == []


@pytest.mark.parametrize("coll", ["networks", "subnets", "ports", "security-groups"])
def test_other_project_cannot_change_or_delete(bob, alice, alice_things, coll):
    thing = alice_things[coll]
    singular = {"networks": "network", "subnets": "subnet", "ports": "port", "security-groups": "security_group"}
    r = bob("PUT", f"/v2.0/{coll}/{thing['id']}", json={singular[coll]: {"name": "pwned"}})
    expect_error(r, 404)
    expect_error(bob("DELETE", f"/v2.0/{coll}/{thing['id']}"), 404)
    expect_error(bob("PUT", f"/v2.0/{coll}/{thing['id']}/tags/pwned"), 404)
    shown = alice.show(coll, thing["id"])
    assert shown["name"] != "pwned" and "pwned" not in shown["tags"]


def test_other_project_cannot_use_private_network_or_group(bob, alice_things):
    net = alice_things["networks"]
    expect_error(bob("POST", "/v2.0/ports", json={"port": {"network_id": net["id"]}}), 404, "NetworkNotFound")
    expect_error(bob("POST", "/v2.0/subnets", json={"subnet": {"network_id": net["id"], "cidr": "10.121.0.0/24",
                                                                "ip_version": 4}}), 404, "NetworkNotFound")
    own = bob.network()
    bob.subnet(own["id"], "10.122.0.0/24")
    r = bob("POST", "/v2.0/ports", json={"port": {"network_id": own["id"],
                                                  "security_groups": [alice_things["security-groups"]["id"]]}})
    expect_error(r, 404, "SecurityGroupNotFound")
    r = bob("POST", "/v2.0/security-group-rules", json={"security_group_rule": {
        "security_group_id": alice_things["security-groups"]["id"], "direction": "ingress"}})
    expect_error(r, 404, "SecurityGroupNotFound")


def test_each_project_has_its_own_default_group(alice, bob):
    a = [g for g in alice.list("security-groups") if g["name"] == "default"]
    b = [g for g in bob.list("security-groups") if g["name"] == "default"]
    assert len(a) == 1 and len(b) == 1 and a[0]["id"] != b[0]["id"]
    assert a[0]["project_id"] == alice.project and b[0]["project_id"] == bob.project
    # only their own default group in their lists
    assert all(g["project_id"] == alice.project for g in alice.list("security-groups"))


def test_shared_network_is_visible(server, alice, bob):
    admin = server.client()
    shared = admin.network(shared=True)
    admin.subnet(shared["id"], "10.123.0.0/24")
    for who in (alice, bob):
        assert who.show("networks", shared["id"])["shared"] is True
        assert shared["id"] in {n["id"] for n in who.list("networks")}
        assert shared["id"] in {n["id"] for n in who.list("networks", {"shared": "true"})}
    port = bob.port(shared["id"])
    assert port["project_id"] == bob.project
    # alice does not see bob's port on the shared network
    expect_error(alice("GET", f"/v2.0/ports/{port['id']}"), 404, "PortNotFound")


@pytest.mark.parametrize("action", ["update network", "delete network", "update subnet", "delete subnet",
                                    "create subnet"])
def test_shared_network_cannot_be_changed_by_others(server, alice, action):
    # Visible but not owned: Neutron answers 403 (policy), and nothing changes.
    admin = server.client()
    shared = admin.network(shared=True)
    sub = admin.subnet(shared["id"], "10.126.0.0/24")
    r = {
        "update network": lambda: alice("PUT", f"/v2.0/networks/{shared['id']}", json={"network": {"name": "pwned"}}),
        "delete network": lambda: alice("DELETE", f"/v2.0/networks/{shared['id']}"),
        "update subnet": lambda: alice("PUT", f"/v2.0/subnets/{sub['id']}", json={"subnet": {"name": "pwned"}}),
        "delete subnet": lambda: alice("DELETE", f"/v2.0/subnets/{sub['id']}"),
        "create subnet": lambda: alice("POST", "/v2.0/subnets", json={"subnet": {
            "network_id": shared["id"], "ip_version": 4, "cidr": "10.127.0.0/24"}}),
    }[action]()
    expect_error(r, 403, "PolicyNotAuthorized")
    assert admin.show("networks", shared["id"])["name"] == shared["name"]
    assert admin.show("networks", shared["id"])["subnets"] == [sub["id"]]
    assert admin.show("subnets", sub["id"])["name"] == sub["name"]


def test_non_admin_cannot_set_provider_attributes(alice):
    r = alice("POST", "/v2.0/networks", json={"network": {"provider:network_type": "vxlan",
                                                           "provider:segmentation_id": 4321}})
    expect_error(r, 403, "PolicyNotAuthorized")
    r = alice("POST", "/v2.0/networks", json={"network": {"provider:network_type": "flat",
                                                           "provider:physical_network": uniq("p")}})
    expect_error(r, 403, "PolicyNotAuthorized")
    net = alice.network()
    r = alice("PUT", f"/v2.0/networks/{net['id']}", json={"network": {"provider:segmentation_id": 4322}})
    expect_error(r, 403)


@pytest.mark.parametrize("attrs", [{"shared": True}, {"router:external": True}])
def test_non_admin_cannot_share_or_externalise(alice, attrs):
    expect_error(alice("POST", "/v2.0/networks", json={"network": attrs}), 403, "PolicyNotAuthorized")
    net = alice.network()
    expect_error(alice("PUT", f"/v2.0/networks/{net['id']}", json={"network": attrs}), 403)


def test_admin_only_attributes_are_hidden_from_members(alice):
    net = alice.network()
    for attr in PROVIDER:
        assert attr not in net, f"{attr} shown to a non-admin: {net}"
    alice.subnet(net["id"], "10.124.0.0/24")
    port = alice.port(net["id"])
    for attr in BINDING_ADMIN:
        assert attr not in port, f"{attr} shown to a non-admin: {port}"
    assert port["binding:vnic_type"] == "normal"  # the one binding attribute owners may see


def test_non_admin_cannot_bind(alice):
    net = alice.network()
    r = alice("POST", "/v2.0/ports", json={"port": {"network_id": net["id"], "binding:host_id": "compute-1"}})
    expect_error(r, 403, "PolicyNotAuthorized")


def test_non_admin_cannot_create_for_another_project(alice, bob):
    r = alice("POST", "/v2.0/networks", json={"network": {"project_id": bob.project}})
    expect_error(r, 400, "HTTPBadRequest")
    assert bob.list("networks", {"project_id": bob.project}) == []


def test_admin_creates_for_a_project(server, bob):
    admin = server.client()
    net = admin.network(project_id=bob.project)
    assert net["project_id"] == bob.project
    assert bob.show("networks", net["id"])["id"] == net["id"]
    # and the port admin creates there for bob gets bob's default group
    admin.subnet(net["id"], "10.125.0.0/24", project_id=bob.project)
    port = admin.port(net["id"], project_id=bob.project)
    default = [g for g in bob.list("security-groups") if g["name"] == "default"]
    assert port["security_groups"] == [default[0]["id"]]


def test_admin_sees_everything(server, alice_things):
    admin = server.client()
    for coll, thing in alice_things.items():
        assert admin.show(coll, thing["id"])["id"] == thing["id"]


def test_no_project_header_means_admin_in_fake_project(admin):
    net = admin.network()
    assert net["project_id"] == "fake_project_id"
    assert "provider:network_type" in net
