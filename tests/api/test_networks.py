"""Networks over raw HTTP: defaults, provider attributes and segment allocation, MTU per
type, updates, deletes, revisions and timestamps, and the version documents."""
import time

import pytest

from neutrino_api import TIMESTAMP_RE, UUID_RE, expect_error, uniq

MAX_VNI = 16777215


def test_version_documents(api, server):
    r = api("GET", "/")
    assert r.status_code == 200
    versions = r.json()["versions"]
    assert [v["id"] for v in versions] == ["v2.0"] and versions[0]["status"] == "CURRENT"
    assert versions[0]["links"][0]["rel"] == "self"
    assert versions[0]["links"][0]["href"].rstrip("/") == server.url + "/v2.0"

    r = api("GET", "/v2.0/")
    assert r.status_code == 200
    resources = {res["collection"]: res for res in r.json()["resources"]}
    for coll, name in (("networks", "network"), ("subnets", "subnet"), ("ports", "port"),
                       ("security_groups", "security_group"), ("security_group_rules", "security_group_rule")):
        assert coll in resources, resources.keys()
        assert resources[coll]["name"] == name
        assert resources[coll]["links"] and resources[coll]["links"][0]["rel"] == "self"


def test_create_defaults(api, project):
    r = api("POST", "/v2.0/networks", json={"network": {}})
    assert r.status_code == 201, r.text
    net = r.json()["network"]
    assert UUID_RE.match(net["id"])
    assert net["name"] == "" and net["description"] == ""
    assert net["admin_state_up"] is True and net["status"] == "ACTIVE"
    assert net["shared"] is False and net["router:external"] is False
    assert net["subnets"] == [] and net["tags"] == []
    assert net["project_id"] == net["tenant_id"] == project
    assert net["port_security_enabled"] is True
    assert net["provider:network_type"] == "vxlan"
    assert net["provider:physical_network"] is None
    assert 1 <= net["provider:segmentation_id"] <= 1000  # [ml2_type_vxlan] vni_ranges default 1:1000
    assert net["mtu"] == 1450
    assert TIMESTAMP_RE.match(net["created_at"]) and TIMESTAMP_RE.match(net["updated_at"])
    assert isinstance(net["revision_number"], int) and net["revision_number"] >= 0
    # As Neutron 21: the create answer shows is_default; a network that is not external does not keep it.
    assert net.pop("is_default") is False
    assert api.show("networks", net["id"]) == net


def test_json_suffix_is_accepted(api):
    net = api.network()
    r = api("GET", f"/v2.0/networks/{net['id']}.json")
    assert r.status_code == 200 and r.json()["network"]["id"] == net["id"]
    r = api("GET", "/v2.0/networks.json", params={"id": net["id"]})
    assert r.status_code == 200 and [n["id"] for n in r.json()["networks"]] == [net["id"]]


def test_auto_allocated_segments_are_distinct(api):
    nets = [api.network() for _ in range(5)]
    ids = [n["provider:segmentation_id"] for n in nets]
    assert len(set(ids)) == 5, ids
    # a deleted network gives its id back: it can be requested explicitly again
    api.delete("networks", nets[0]["id"])
    again = api.network(**{"provider:network_type": "vxlan", "provider:segmentation_id": ids[0]})
    assert again["provider:segmentation_id"] == ids[0]


@pytest.mark.parametrize("ntype,mtu", [("vxlan", 1450), ("geneve", 1450), ("gre", 1458)])
def test_tunnel_types_mtu(api, ntype, mtu):
    seg = 1000 + int(uniq("")[-6:], 16) % 400_000  # outside the default ranges is fine for admins
    net = api.network(**{"provider:network_type": ntype, "provider:segmentation_id": seg})
    assert net["provider:network_type"] == ntype
    assert net["provider:segmentation_id"] == seg
    assert net["provider:physical_network"] is None
    assert net["mtu"] == mtu


def test_tunnel_id_in_use(api):
    seg = 2_000_000 + int(uniq("")[-6:], 16) % 1_000_000
    first = api.network(**{"provider:network_type": "vxlan", "provider:segmentation_id": seg})
    r = api("POST", "/v2.0/networks", json={"network": {"name": uniq("dup"), "provider:network_type": "vxlan",
                                                         "provider:segmentation_id": seg}})
    expect_error(r, 409, "TunnelIdInUse")
    # the same id for another tunnel type is a different pool
    api.network(**{"provider:network_type": "geneve", "provider:segmentation_id": seg})
    api.delete("networks", first["id"])
    api.network(**{"provider:network_type": "vxlan", "provider:segmentation_id": seg})


def test_flat_network(api):
    physnet = uniq("phys")
    net = api.network(**{"provider:network_type": "flat", "provider:physical_network": physnet})
    assert net["provider:physical_network"] == physnet
    assert net["provider:segmentation_id"] is None
    assert net["mtu"] == 1500
    r = api("POST", "/v2.0/networks", json={"network": {"provider:network_type": "flat",
                                                         "provider:physical_network": physnet}})
    err = expect_error(r, 409, "FlatNetworkInUse")
    assert physnet in err["message"]
    api.delete("networks", net["id"])
    api.network(**{"provider:network_type": "flat", "provider:physical_network": physnet})


@pytest.mark.parametrize("provider", [
    {"provider:network_type": "flat"},                                                   # physnet missing
    {"provider:network_type": "flat", "provider:physical_network": "p", "provider:segmentation_id": 5},
    {"provider:network_type": "vxlan", "provider:segmentation_id": 0},
    {"provider:network_type": "vxlan", "provider:segmentation_id": MAX_VNI + 1},
    {"provider:network_type": "geneve", "provider:segmentation_id": MAX_VNI + 1},
    {"provider:network_type": "gre", "provider:segmentation_id": 4294967296},
    {"provider:network_type": "vxlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 7},
    {"provider:network_type": "vlan", "provider:physical_network": "unknownphys", "provider:segmentation_id": 4095},
    {"provider:network_type": "bogus"},
])
def test_provider_validation(api, provider):
    r = api("POST", "/v2.0/networks", json={"network": dict(provider, name=uniq("bad"))})
    # ids beyond 32 bits may already fail the attribute's integer validator (HTTPBadRequest)
    expect_error(r, 400, None if provider.get("provider:segmentation_id", 0) > 2**32 - 1 else "InvalidInput")


def test_max_vni_is_valid(api):
    net = api.network(**{"provider:network_type": "vxlan", "provider:segmentation_id": MAX_VNI})
    assert net["provider:segmentation_id"] == MAX_VNI
    api.delete("networks", net["id"])


def test_mtu_writable_and_bounded(api):
    net = api.network(mtu=1400)
    assert net["mtu"] == 1400
    assert api.update("networks", net["id"], mtu=1300)["mtu"] == 1300
    r = api("POST", "/v2.0/networks", json={"network": {"mtu": 9000}})
    expect_error(r, 400, "InvalidInput", "MTU")
    r = api("POST", "/v2.0/networks", json={"network": {"mtu": -1}})
    expect_error(r, 400)


def test_update_and_revision(api):
    net = api.network(description="one")
    time.sleep(1.05)  # timestamps have whole seconds
    upd = api.update("networks", net["id"], name=net["name"] + "-2", description="two", admin_state_up=False,
                     port_security_enabled=False)
    assert upd["name"] == net["name"] + "-2" and upd["description"] == "two"
    assert upd["admin_state_up"] is False and upd["port_security_enabled"] is False
    assert upd["revision_number"] > net["revision_number"]
    assert upd["updated_at"] > net["updated_at"] and upd["created_at"] == net["created_at"]
    assert api.show("networks", net["id"]) == upd
    # read-only attributes cannot be set
    for attr, value in (("status", "DOWN"), ("subnets", []), ("id", net["id"])):
        r = api("PUT", f"/v2.0/networks/{net['id']}", json={"network": {attr: value}})
        expect_error(r, 400)


def test_subnet_create_bumps_network_revision(api):
    net = api.network()
    sub = api.subnet(net["id"], "10.31.0.0/24")
    after = api.show("networks", net["id"])
    assert after["subnets"] == [sub["id"]]
    assert after["revision_number"] > net["revision_number"]


def test_external_flag(api):
    net = api.network(**{"router:external": True})
    assert net["router:external"] is True
    assert net["id"] in {n["id"] for n in api.list("networks", {"router:external": "true"})}
    assert net["id"] not in {n["id"] for n in api.list("networks", {"router:external": "false"})}
    assert api.update("networks", net["id"], **{"router:external": False})["router:external"] is False


def test_delete_with_ports_is_refused(api):
    net, sub = api.net_with_subnet("10.32.0.0/24")
    port = api.port(net["id"])
    r = api("DELETE", f"/v2.0/networks/{net['id']}")
    err = expect_error(r, 409, "NetworkInUse")
    assert err["message"].startswith(f"Unable to complete operation on network {net['id']}.")
    assert "There are one or more ports still in use on the network" in err["message"]
    api.delete("ports", port["id"])
    # with no ports left, the network goes, and its subnets with it
    api.delete("networks", net["id"])
    expect_error(api("GET", f"/v2.0/subnets/{sub['id']}"), 404, "SubnetNotFound")
    expect_error(api("GET", f"/v2.0/networks/{net['id']}"), 404, "NetworkNotFound")


def test_delete_with_only_dhcp_ports(api):
    # ports of network:dhcp are the network's own service ports: deleted with it (Neutron's
    # AUTO_DELETE_PORT_OWNERS), they never block a subnet or network delete
    net, sub = api.net_with_subnet("10.33.0.0/24")
    dhcp = api.port(net["id"], device_owner="network:dhcp")
    api.delete("subnets", sub["id"])
    assert api.show("ports", dhcp["id"])["fixed_ips"] == []
    api.delete("networks", net["id"])
    expect_error(api("GET", f"/v2.0/ports/{dhcp['id']}"), 404, "PortNotFound")


def test_tags_on_create(api):
    net = api.network(tags=["a", "b"])
    sub = api.subnet(net["id"], "10.34.0.0/24", tags=["c"])
    port = api.port(net["id"], tags=["d"])
    sg = api.create("security-groups", name=uniq("sg"), tags=["e"])
    assert sorted(net["tags"]) == ["a", "b"] and sub["tags"] == ["c"] and port["tags"] == ["d"]
    assert sg["tags"] == ["e"]
    assert api.show("ports", port["id"])["tags"] == ["d"]


def test_delete_twice_is_404(api):
    net = api.network()
    api.delete("networks", net["id"])
    err = expect_error(api("DELETE", f"/v2.0/networks/{net['id']}"), 404, "NetworkNotFound")
    assert err["message"] == f"Network {net['id']} could not be found."


@pytest.mark.parametrize("bad", [
    {"admin_state_up": "perhaps"},
    {"name": 42},
    {"name": "x" * 256},
    {"description": "d" * 256},
    {"shared": "sometimes"},
    {"mtu": "big"},
    {"provider:segmentation_id": "ten", "provider:network_type": "vxlan"},
    {"availability_zone_hints": "nova"},
    {"tags": "a,b"},
])
def test_wrong_types(api, bad):
    r = api("POST", "/v2.0/networks", json={"network": bad})
    # As Neutron 21: a value its converters cannot convert (booleans, integers) is
    # InvalidInput, any other invalid value HTTPBadRequest (tests/compat checks both).
    converted = set(bad) & {"admin_state_up", "shared", "mtu", "provider:segmentation_id"}
    expect_error(r, 400, "InvalidInput" if converted else "HTTPBadRequest")


def test_boolean_conversions(api):
    net = api.network(admin_state_up="false", shared="True")
    assert net["admin_state_up"] is False and net["shared"] is True
    net = api.network(admin_state_up=0)
    assert net["admin_state_up"] is False


def test_project_id_and_tenant_id(api, project):
    other = uniq("proj")
    net = api.network(project_id=other)
    assert net["project_id"] == net["tenant_id"] == other
    net = api.network(tenant_id=other)
    assert net["project_id"] == other
    r = api("POST", "/v2.0/networks", json={"network": {"project_id": other, "tenant_id": project}})
    expect_error(r, 400, None, None)
