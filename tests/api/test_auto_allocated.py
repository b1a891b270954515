"""Multi-provider networks (`segments`) and the auto-allocated topology, as a user checks
them: `openstack network auto allocated topology create/delete` (the real CLI), the
default external network (`openstack network create --external --default`), networks with
several segments through the API (the CLI cannot give several), and that both survive a
restart. Each test runs its own server: a default external network and default subnet
pools are global."""
import pytest

CONFIG = """[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
[ml2_type_vxlan]
vni_ranges = 1:1000
[ml2_type_vlan]
network_vlan_ranges = physnet1:100:101,physnet2
[ml2_type_flat]
flat_networks = physnet1,physnet2
"""


def seg(type, physnet=None, segid=None):
    out = {"provider:network_type": type}
    if physnet:
        out["provider:physical_network"] = physnet
    if segid is not None:
        out["provider:segmentation_id"] = segid
    return out


def error(r):
    return r.json()["NeutronError"]


@pytest.fixture
def srv(new_server):
    return new_server(config_text=CONFIG)


def prerequisites(osc):
    """A default external network with a subnet, and a default IPv4 pool (shared)."""
    ext = osc("network", "create", "--external", "--default", "public")
    osc("subnet", "create", "--network", "public", "--subnet-range", "203.0.113.0/24", "public-v4")
    osc("subnet", "pool", "create", "--default", "--share", "--pool-prefix", "10.123.0.0/16",
        "--default-prefix-length", "26", "default-v4")
    return ext


def test_topology_is_built_once_shown_again_and_deleted(srv):
    osc = srv.osc()
    ext = prerequisites(osc)
    assert ext["is_default"] is True and ext["router:external"] is True

    # --check-resources succeeds (the CLI shows no value for it, against Neutron too; without
    # --project it needs a Keystone token to know the project); the
    # API answers the dry run's "dry-run=pass".
    osc("network", "auto", "allocated", "topology", "create", "--project", "pcli", "--check-resources")
    dry = srv.client()("GET", "/v2.0/auto-allocated-topology/pcli", params={"fields": "dry-run"})
    assert dry.json()["auto_allocated_topology"]["id"] == "dry-run=pass"
    assert osc("network", "list", "--name", "auto_allocated_network") == []  # a dry run makes nothing

    topo = osc("network", "auto", "allocated", "topology", "create", "--project", "pcli")
    net = osc("network", "show", topo["id"])
    assert net["name"] == "auto_allocated_network" and net["admin_state_up"] is True
    assert net["project_id"] == topo["project_id"] == "pcli"
    [sub] = osc("subnet", "list", "--network", topo["id"])
    assert sub["Name"] == "auto_allocated_subnet_v4" and sub["Subnet"].startswith("10.123.")
    router = osc("router", "show", "auto_allocated_router")
    assert router["external_gateway_info"]["network_id"] == ext["id"]
    ports = osc("port", "list", "--router", router["id"], "--long")
    assert any(sub["ID"] in str(p["Fixed IP Addresses"]) for p in ports)

    again = osc("network", "auto", "allocated", "topology", "create", "--project", "pcli")
    assert again["id"] == topo["id"]  # the same one

    osc("network", "auto", "allocated", "topology", "delete", "--project", "pcli", fmt=False)
    assert osc.fail("network", "show", topo["id"]).returncode != 0
    assert osc("router", "list", "--name", "auto_allocated_router") == []
    # Deleting again is not an error; asking again builds a new one.
    osc("network", "auto", "allocated", "topology", "delete", "--project", "pcli", fmt=False)
    assert osc("network", "auto", "allocated", "topology", "create", "--project", "pcli")["id"] != topo["id"]


def test_missing_prerequisites_are_named(srv):
    osc = srv.osc()
    p = osc.fail("network", "auto", "allocated", "topology", "create", "--project", "pcli", "--check-resources")
    assert "No default router:external network" in p.stderr
    osc("network", "create", "--external", "--default", "public")
    p = osc.fail("network", "auto", "allocated", "topology", "create", "--project", "pcli", "--check-resources")
    assert "No default subnetpools defined" in p.stderr
    p = osc.fail("network", "auto", "allocated", "topology", "create", "--project", "pcli")
    assert "Unable to provide tenant private network" in p.stderr
    assert osc("network", "list", "--name", "auto_allocated_network") == []  # nothing half-built is left


def test_one_default_external_network(srv):
    osc = srv.osc()
    first = osc("network", "create", "--external", "--default", "public")
    p = osc.fail("network", "create", "--external", "--default", "public2")
    assert "A default external network already exists: " + first["id"] in p.stderr
    second = osc("network", "create", "--external", "public2")
    assert second["is_default"] is False
    assert "already exists" in osc.fail("network", "set", "--default", "public2").stderr
    osc("network", "set", "--no-default", "public", fmt=False)
    osc("network", "set", "--default", "public2", fmt=False)
    assert osc("network", "show", "public2")["is_default"] is True
    assert osc("network", "show", "public")["is_default"] is False
    internal = osc("network", "create", "private")
    assert "is_default" not in osc("network", "show", internal["id"]) or \
        osc("network", "show", internal["id"])["is_default"] in (None, "")


def test_projects_and_policy(srv):
    prerequisites(srv.osc())
    a = srv.client(project="pa", roles="member")
    r = a("GET", "/v2.0/auto-allocated-topology/pb")
    assert r.status_code == 403 and error(r)["type"] == "NotAuthorized"
    r = a("GET", "/v2.0/auto-allocated-topology/pa")
    assert r.status_code == 200 and r.json()["auto_allocated_topology"]["tenant_id"] == "pa"
    net = a.show("networks", r.json()["auto_allocated_topology"]["id"])
    assert net["project_id"] == "pa"
    # An admin builds one for another project; that project sees it as its own.
    admin = srv.client(project="padmin", roles="admin")
    b_net = admin("GET", "/v2.0/auto-allocated-topology/pb").json()["auto_allocated_topology"]["id"]
    b = srv.client(project="pb", roles="member")
    assert b("GET", "/v2.0/auto-allocated-topology/pb").json()["auto_allocated_topology"]["id"] == b_net
    assert b.show("networks", b_net)["name"] == "auto_allocated_network"
    # A member may not set is_default; a port on the network keeps DELETE from tearing it down.
    r = a("POST", "/v2.0/networks", json={"network": {"is_default": True}})
    assert r.status_code == 403
    a.port(net["id"])
    r = a("DELETE", "/v2.0/auto-allocated-topology/pa")
    assert r.status_code == 409 and error(r)["type"] == "NetworkInUse"
    assert a.show("networks", net["id"])["id"] == net["id"]  # nothing was torn down


def test_multi_provider_network(srv):
    admin = srv.client(project="padmin", roles="admin")
    net = admin.create("networks", name="multi", segments=[seg("vxlan"), seg("vlan", "physnet1", 100),
                                                              seg("flat", "physnet2")])
    assert [s["provider:network_type"] for s in net["segments"]] == ["vxlan", "vlan", "flat"]
    assert net["segments"][1]["provider:segmentation_id"] == 100
    assert "provider:network_type" not in net and net["mtu"] == 1450  # the smallest segment MTU
    shown = admin.show("networks", net["id"])
    assert shown["segments"] == net["segments"]
    # Filters match any segment; several provider filters must match the same one.
    names = lambda params: [n["name"] for n in admin.list("networks", params)]  # noqa: E731
    assert names({"provider:network_type": "flat", "name": "multi"}) == ["multi"]
    assert names({"provider:segmentation_id": "100"}) == ["multi"]
    assert names({"provider:network_type": "vxlan", "provider:segmentation_id": "100", "name": "multi"}) == []
    # A member sees neither the segments nor the provider attributes.
    member = srv.client(project="padmin", roles="member")
    assert "segments" not in member.show("networks", net["id"])

    # ML2's refusals.
    for body, status, kind in [
        ({"segments": [seg("vxlan")], "provider:network_type": "vxlan"}, 400, "SegmentsSetInConjunctionWithProviders"),
        ({"segments": [seg("vlan", "physnet2", 7), seg("vlan", "physnet2", 7)]}, 400, "SegmentsContainDuplicateEntry"),
        ({"segments": [seg("vxlan"), seg("vlan", "physnet1", 100)]}, 409, "VlanIdInUse"),
        ({"segments": [seg("vxlan"), seg("flat", "physnet2")]}, 409, "FlatNetworkInUse"),
        ({"segments": [{"provider:physical_network": "physnet1"}]}, 400, "InvalidInput"),
        ({"segments": [seg("vxlan"), {"provider:network_type": "vxlan", "colour": "red"}]}, 400, "HTTPBadRequest"),
    ]:
        r = admin("POST", "/v2.0/networks", json={"network": body})
        assert (r.status_code, error(r)["type"]) == (status, kind), body
    r = member("POST", "/v2.0/networks", json={"network": {"segments": [seg("vxlan")]}})
    assert r.status_code == 403
    # A failed create reserved nothing: VLAN 101 is still free.
    admin.create("networks", segments=[seg("vlan", "physnet1", 101)])
    r = admin("POST", "/v2.0/networks", json={"network": {"segments": [seg("vlan", "physnet1")]}})
    assert r.status_code == 503 or error(r)["type"] == "NoNetworkAvailable"

    r = admin("PUT", f"/v2.0/networks/{net['id']}", json={"network": {"provider:segmentation_id": 101}})
    assert r.status_code == 400 and "single segment" in error(r)["message"]
    assert admin.update("networks", net["id"], name="renamed")["segments"] == net["segments"]

    # Segment ids stay reserved across a restart, and deleting the network frees them all.
    srv.stop()
    srv.start()
    r = admin.__class__(srv.url, project="padmin", roles="admin")
    assert r("POST", "/v2.0/networks", json={"network": {"segments": [seg("vlan", "physnet1", 100)]}}).status_code == 409
    r.delete("networks", net["id"])
    again = r.create("networks", segments=[seg("vlan", "physnet1", 100), seg("flat", "physnet2")])
    assert len(again["segments"]) == 2
