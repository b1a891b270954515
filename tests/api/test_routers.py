"""Routers as Neutron has them: attributes and defaults (server.ini), admin-only `distributed`
and `ha` and the rule that changing them needs the router down, the external gateway
(`ext-gw-mode`), interfaces by subnet and by port with the ports they create (device owners
for legacy and distributed routers, one centralized SNAT port per internal IPv4 subnet of a
distributed router with a gateway), `extraroute` validation, and every error with its
status and NeutronError type. The last test drives the issue's router seed commands through
the real openstack CLI on a server of its own.
"""
import ipaddress

import pytest

from neutrino_api import (AgentChannel, TIMESTAMP_RE, UUID_RE, expect_error, expect_error_of, parse_table,
                          run_seed_base, uniq)

PORT_IN_USE = ("L3PortInUse", "ServicePortInUse")  # the name changed across releases
MISSING = "0d5a7e2c-4f1b-4c3a-9e8d-7b6a5f4e3d21"
INTF = "network:router_interface"
DVR_INTF = "network:router_interface_distributed"
GW = "network:router_gateway"
SNAT = "network:router_centralized_snat"
IFACE_KEYS = {"id", "subnet_id", "subnet_ids", "port_id", "network_id", "tenant_id"}  # as Neutron 21 answers


@pytest.fixture
def member(server):
    return server.client(project=uniq("member"), roles="member")


@pytest.fixture
def ext(api):
    """An external network with a small pool: 203.0.113.10-.40."""
    return api.ext_network("203.0.113.0/24", allocation_pools=[{"start": "203.0.113.10", "end": "203.0.113.40"}])


def in_pool(ip, start, end):
    return ipaddress.ip_address(start) <= ipaddress.ip_address(ip) <= ipaddress.ip_address(end)


def owners(api, router_id):
    return sorted(p["device_owner"] for p in api.router_ports(router_id))


# -- the resource --------------------------------------------------------------------------
def test_create_show_list_update_delete(api):
    name = uniq("r")
    r = api.router(name=name, description="edge")
    assert UUID_RE.match(r["id"])
    assert r["name"] == name and r["description"] == "edge"
    assert r["admin_state_up"] is True and r["status"] == "ACTIVE"
    assert r["external_gateway_info"] is None
    assert r["routes"] == []
    assert r["distributed"] is False and r["ha"] is False  # router_distributed / l3_ha default False
    assert r["availability_zone_hints"] == [] and r["tags"] == []
    assert r["project_id"] == r["tenant_id"] == api.project
    assert TIMESTAMP_RE.match(r["created_at"]) and TIMESTAMP_RE.match(r["updated_at"])
    assert isinstance(r["revision_number"], int)

    assert api.show("routers", r["id"]) == r
    assert [x["id"] for x in api.list("routers", {"name": name})] == [r["id"]]
    assert r["id"] in {x["id"] for x in api.list("routers")}

    upd = api.update("routers", r["id"], name=name + "-2", admin_state_up=False, description="")
    assert upd["name"] == name + "-2" and upd["admin_state_up"] is False and upd["description"] == ""
    assert upd["revision_number"] > r["revision_number"]
    assert [x["id"] for x in api.list("routers", {"admin_state_up": "false", "name": name + "-2"})] == [r["id"]]

    api.delete("routers", r["id"])
    err = expect_error(api("GET", f"/v2.0/routers/{r['id']}"), 404, "RouterNotFound")
    assert r["id"] in err["message"]
    expect_error(api("DELETE", f"/v2.0/routers/{r['id']}"), 404, "RouterNotFound")
    expect_error(api("PUT", f"/v2.0/routers/{r['id']}", json={"router": {"name": "x"}}), 404, "RouterNotFound")
    expect_error(api.router_action(MISSING, "add_router_interface", subnet_id=MISSING), 404, "RouterNotFound")


def test_routes_cannot_be_given_on_create(api):
    r = api("POST", "/v2.0/routers", json={"router": {"routes": [{"destination": "10.0.0.0/8",
                                                                    "nexthop": "10.1.0.5"}]}})
    expect_error(r, 400, "HTTPBadRequest", "not allowed in POST")


def test_defaults_follow_server_ini(new_server):
    server = new_server(config_text="[DEFAULT]\nrouter_distributed = true\nl3_ha = true\n")
    api = server.client()
    r = api.router()
    assert r["distributed"] is True and r["ha"] is True
    r = api.router(distributed=False, ha=False)
    assert r["distributed"] is False and r["ha"] is False
    assert api.show("routers", r["id"])["distributed"] is False


def test_distributed_and_ha_are_admin_only(api, member):
    r = member.router()
    assert "distributed" not in r and "ha" not in r, r
    assert "distributed" not in member.show("routers", r["id"])
    assert api.show("routers", r["id"])["distributed"] is False  # admin sees them
    for attrs in ({"distributed": True}, {"ha": True}, {"distributed": False}):
        expect_error(member("POST", "/v2.0/routers", json={"router": attrs}), 403, "PolicyNotAuthorized")
        expect_error(member("PUT", f"/v2.0/routers/{r['id']}", json={"router": attrs}), 403)
    assert api.show("routers", r["id"])["ha"] is False


def test_changing_distributed_or_ha_needs_the_router_down(api):
    r = api.router()
    err = expect_error(api("PUT", f"/v2.0/routers/{r['id']}", json={"router": {"distributed": True}}),
                       400, "BadRequest")
    assert "Cannot change the 'distributed' attribute of active routers" in err["message"]
    err = expect_error(api("PUT", f"/v2.0/routers/{r['id']}", json={"router": {"ha": True}}), 400, "BadRequest")
    assert "Cannot change HA attribute of active routers" in err["message"]
    shown = api.show("routers", r["id"])
    assert shown["distributed"] is False and shown["ha"] is False and shown["admin_state_up"] is True


def test_distributed_and_ha_change_while_down(api):
    r = api.router()
    # the same value is no change and needs nothing
    assert api.update("routers", r["id"], distributed=False, ha=False)["distributed"] is False
    api.update("routers", r["id"], admin_state_up=False)
    assert api.update("routers", r["id"], distributed=True)["distributed"] is True
    assert api.update("routers", r["id"], ha=True)["ha"] is True
    assert api.update("routers", r["id"], distributed=False)["distributed"] is False
    up = api.update("routers", r["id"], admin_state_up=True)
    assert up["admin_state_up"] is True and up["ha"] is True and up["distributed"] is False


def test_migration_to_distributed_changes_interface_owners(api, ext):
    net, sub = api.net_with_subnet("10.41.1.0/24")
    r = api.router(external_gateway_info={"network_id": ext[0]["id"]})
    port_id = api.add_interface(r["id"], subnet_id=sub["id"])["port_id"]
    assert owners(api, r["id"]) == sorted([GW, INTF])
    api.update("routers", r["id"], admin_state_up=False)
    api.update("routers", r["id"], distributed=True)
    assert api.show("ports", port_id)["device_owner"] == DVR_INTF
    assert owners(api, r["id"]) == sorted([GW, SNAT, DVR_INTF])
    api.update("routers", r["id"], distributed=False)
    assert api.show("ports", port_id)["device_owner"] == INTF
    assert owners(api, r["id"]) == sorted([GW, INTF])


# -- external gateway ----------------------------------------------------------------------
def test_gateway_set_update_clear(api, ext):
    ext_net, ext_sub = ext
    r = api.router(external_gateway_info={"network_id": ext_net["id"]})
    info = r["external_gateway_info"]
    assert info["network_id"] == ext_net["id"] and info["enable_snat"] is True
    [fixed] = info["external_fixed_ips"]
    assert fixed["subnet_id"] == ext_sub["id"] and in_pool(fixed["ip_address"], "203.0.113.10", "203.0.113.40")
    assert api.show("routers", r["id"])["external_gateway_info"] == info

    [gw] = api.router_ports(r["id"], GW)
    assert gw["network_id"] == ext_net["id"] and gw["device_id"] == r["id"]
    assert gw["fixed_ips"] == [{"subnet_id": ext_sub["id"], "ip_address": fixed["ip_address"]}]
    assert gw["admin_state_up"] is True and gw["security_groups"] == []
    assert api.router_ports(r["id"]) == [gw]

    # enable_snat alone keeps the port and its address
    upd = api.set_gateway(r["id"], ext_net["id"], enable_snat=False)
    assert upd["external_gateway_info"]["enable_snat"] is False
    assert upd["external_gateway_info"]["external_fixed_ips"] == [fixed]
    assert [p["id"] for p in api.router_ports(r["id"], GW)] == [gw["id"]]

    # a given address (admin)
    upd = api.set_gateway(r["id"], ext_net["id"], external_fixed_ips=[{"ip_address": "203.0.113.33"}])
    assert upd["external_gateway_info"]["external_fixed_ips"] == [{"subnet_id": ext_sub["id"],
                                                                    "ip_address": "203.0.113.33"}]
    [gw] = api.router_ports(r["id"], GW)
    assert gw["fixed_ips"] == [{"subnet_id": ext_sub["id"], "ip_address": "203.0.113.33"}]

    # clearing: {} and null both remove the gateway and its port
    upd = api.update("routers", r["id"], external_gateway_info={})
    assert upd["external_gateway_info"] is None
    assert api.router_ports(r["id"]) == []
    expect_error(api("GET", f"/v2.0/ports/{gw['id']}"), 404, "PortNotFound")
    api.set_gateway(r["id"], ext_net["id"])
    assert len(api.router_ports(r["id"], GW)) == 1
    assert api.update("routers", r["id"], external_gateway_info=None)["external_gateway_info"] is None
    assert api.router_ports(r["id"]) == []


def test_gateway_moves_to_another_external_network(api, ext):
    other, other_sub = api.ext_network("198.51.100.0/24")
    r = api.router(external_gateway_info={"network_id": ext[0]["id"]})
    [old] = api.router_ports(r["id"], GW)
    upd = api.set_gateway(r["id"], other["id"])
    assert upd["external_gateway_info"]["network_id"] == other["id"]
    assert upd["external_gateway_info"]["external_fixed_ips"][0]["subnet_id"] == other_sub["id"]
    [new] = api.router_ports(r["id"], GW)
    assert new["network_id"] == other["id"] and new["id"] != old["id"]
    expect_error(api("GET", f"/v2.0/ports/{old['id']}"), 404, "PortNotFound")


def test_gateway_errors(api, ext, member):
    ext_net, ext_sub = ext
    internal, _ = api.net_with_subnet("10.42.0.0/24")
    r = api.router()
    err = expect_error(api("PUT", f"/v2.0/routers/{r['id']}",
                           json={"router": {"external_gateway_info": {"network_id": internal["id"]}}}),
                       400, "BadRequest")
    assert f"Network {internal['id']} is not an external network" in err["message"]
    r2 = api("POST", "/v2.0/routers", json={"router": {"external_gateway_info": {"network_id": internal["id"]}}})
    expect_error(r2, 400, "BadRequest", "is not an external network")
    expect_error(api("PUT", f"/v2.0/routers/{r['id']}",
                     json={"router": {"external_gateway_info": {"network_id": MISSING}}}), 404, "NetworkNotFound")
    # the external subnet's own gateway address
    err = expect_error(api("PUT", f"/v2.0/routers/{r['id']}", json={"router": {"external_gateway_info": {
        "network_id": ext_net["id"], "external_fixed_ips": [{"ip_address": ext_sub["gateway_ip"]}]}}}),
        400, "BadRequest")
    assert ext_sub["gateway_ip"] in err["message"]
    # an address someone else has
    taken = api.port(ext_net["id"], fixed_ips=[{"ip_address": "203.0.113.20"}])
    expect_error(api("PUT", f"/v2.0/routers/{r['id']}", json={"router": {"external_gateway_info": {
        "network_id": ext_net["id"], "external_fixed_ips": [{"ip_address": "203.0.113.20"}]}}}),
        409, "IpAddressAlreadyAllocated")
    assert api.show("ports", taken["id"])["device_owner"] == ""
    # an address on no subnet of the network
    expect_error(api("PUT", f"/v2.0/routers/{r['id']}", json={"router": {"external_gateway_info": {
        "network_id": ext_net["id"], "external_fixed_ips": [{"ip_address": "192.0.2.99"}]}}}),
        400, "InvalidIpForNetwork")
    # none of the failures left a gateway or a port behind
    assert api.show("routers", r["id"])["external_gateway_info"] is None
    assert api.router_ports(r["id"]) == []

    # members: the network alone is fine, enable_snat and external_fixed_ips are admin-only
    mr = member.router()
    for info in ({"network_id": ext_net["id"], "enable_snat": False},
                 {"network_id": ext_net["id"], "external_fixed_ips": [{"ip_address": "203.0.113.21"}]}):
        expect_error(member("PUT", f"/v2.0/routers/{mr['id']}", json={"router": {"external_gateway_info": info}}),
                     403, "PolicyNotAuthorized")
    upd = member.set_gateway(mr["id"], ext_net["id"])
    assert upd["external_gateway_info"]["network_id"] == ext_net["id"]


def test_router_with_only_a_gateway_can_be_deleted(api, ext):
    r = api.router(external_gateway_info={"network_id": ext[0]["id"]})
    [gw] = api.router_ports(r["id"], GW)
    api.delete("routers", r["id"])
    expect_error(api("GET", f"/v2.0/ports/{gw['id']}"), 404, "PortNotFound")
    assert api.router_ports(r["id"]) == []


# -- interfaces ----------------------------------------------------------------------------
def test_interface_by_subnet(api):
    net, sub = api.net_with_subnet("10.43.1.0/24")
    r = api.router()
    info = api.add_interface(r["id"], subnet_id=sub["id"])
    assert set(info) == IFACE_KEYS, info
    assert info["id"] == r["id"] and info["subnet_id"] == sub["id"] and info["subnet_ids"] == [sub["id"]]
    assert info["network_id"] == net["id"]
    assert info["tenant_id"] == api.project
    port = api.show("ports", info["port_id"])
    assert port["device_owner"] == INTF and port["device_id"] == r["id"]
    assert port["network_id"] == net["id"]
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.43.1.1"}]  # the subnet's gateway IP
    assert port["admin_state_up"] is True and port["security_groups"] == []
    assert [p["id"] for p in api.router_ports(r["id"])] == [port["id"]]

    gone = api.remove_interface(r["id"], subnet_id=sub["id"])
    assert set(gone) == IFACE_KEYS, gone
    assert gone["id"] == r["id"] and gone["port_id"] == port["id"] and gone["subnet_id"] == sub["id"]
    assert gone["subnet_ids"] == [sub["id"]] and gone["network_id"] == net["id"]
    expect_error(api("GET", f"/v2.0/ports/{port['id']}"), 404, "PortNotFound")
    assert api.router_ports(r["id"]) == []
    # the gateway IP is free again: the subnet can be attached again
    again = api.add_interface(r["id"], subnet_id=sub["id"])
    assert api.show("ports", again["port_id"])["fixed_ips"][0]["ip_address"] == "10.43.1.1"


def test_interface_by_port(api):
    net, sub = api.net_with_subnet("10.43.2.0/24")
    port = api.port(net["id"], fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.43.2.5"}])
    r = api.router()
    info = api.add_interface(r["id"], port_id=port["id"])
    assert set(info) == IFACE_KEYS, info
    assert info["port_id"] == port["id"] and info["subnet_id"] == sub["id"] and info["network_id"] == net["id"]
    shown = api.show("ports", port["id"])
    assert shown["device_owner"] == INTF and shown["device_id"] == r["id"]
    assert shown["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.43.2.5"}]
    # removing by port deletes the port, as Neutron does
    gone = api.remove_interface(r["id"], port_id=port["id"])
    assert gone["port_id"] == port["id"] and gone["subnet_id"] == sub["id"]
    expect_error(api("GET", f"/v2.0/ports/{port['id']}"), 404, "PortNotFound")
    # an interface added by port can be removed by its subnet
    port2 = api.port(net["id"])
    api.add_interface(r["id"], port_id=port2["id"])
    assert api.remove_interface(r["id"], subnet_id=sub["id"])["port_id"] == port2["id"]
    assert api.router_ports(r["id"]) == []


def test_interfaces_on_several_subnets(api):
    r = api.router()
    subs = [api.net_with_subnet(f"10.44.{i}.0/24")[1] for i in range(3)]
    ports = [api.add_interface(r["id"], subnet_id=s["id"])["port_id"] for s in subs]
    assert sorted(p["id"] for p in api.router_ports(r["id"], INTF)) == sorted(ports)
    api.remove_interface(r["id"], subnet_id=subs[1]["id"])
    assert sorted(p["id"] for p in api.router_ports(r["id"])) == sorted([ports[0], ports[2]])


def test_add_interface_errors(api, member):
    net, sub = api.net_with_subnet("10.45.1.0/24")
    r = api.router()
    path = f"/v2.0/routers/{r['id']}/add_router_interface"
    err = expect_error(api("PUT", path, json={}), 400, "BadRequest")
    assert "Either subnet_id or port_id must be specified" in err["message"]
    port = api.port(net["id"])
    err = expect_error(api("PUT", path, json={"subnet_id": sub["id"], "port_id": port["id"]}), 400, "BadRequest")
    assert "Cannot specify both subnet-id and port-id" in err["message"]
    expect_error(api("PUT", path, json={"subnet_id": MISSING}), 404, "SubnetNotFound")
    expect_error(api("PUT", path, json={"port_id": MISSING}), 404, "PortNotFound")

    # a subnet without a gateway IP
    _, nogw = api.net_with_subnet("10.45.2.0/24", gateway_ip=None)
    expect_error(api("PUT", path, json={"subnet_id": nogw["id"]}), 400, "BadRequest",
                 "Subnet for router interface must have a gateway IP")
    # a port that already has a device
    used = api.port(net["id"], device_id="some-vm")
    expect_error(api("PUT", path, json={"port_id": used["id"]}), 409, "PortInUse")
    # a port without fixed IPs
    bare_net = api.network()
    bare = api.port(bare_net["id"])
    assert bare["fixed_ips"] == []
    expect_error(api("PUT", path, json={"port_id": bare["id"]}), 400, "BadRequest")

    api.add_interface(r["id"], subnet_id=sub["id"])
    # the same subnet twice on one router
    expect_error(api("PUT", path, json={"subnet_id": sub["id"]}), 400, "BadRequest")
    # the subnet on a second router: its gateway IP is taken
    r2 = api.router()
    err = expect_error(api.router_action(r2["id"], "add_router_interface", subnet_id=sub["id"]),
                       409, "IpAddressAlreadyAllocated")
    assert "10.45.1.1" in err["message"]
    # overlapping CIDRs on one router
    _, overlap = api.net_with_subnet("10.45.1.128/25")
    err = expect_error(api("PUT", path, json={"subnet_id": overlap["id"]}), 400, "BadRequest")
    assert "overlaps with cidr" in err["message"]
    # ... which another router may have
    api.add_interface(r2["id"], subnet_id=overlap["id"])
    # nothing failed half-way
    assert len(api.router_ports(r["id"])) == 1
    assert api.show("ports", used["id"])["device_owner"] == "" and api.show("ports", bare["id"])["device_id"] == ""
    # a member cannot attach a subnet it cannot see
    mr = member.router()
    expect_error(member.router_action(mr["id"], "add_router_interface", subnet_id=sub["id"]), 404, "SubnetNotFound")


def test_remove_interface_errors(api):
    net, sub = api.net_with_subnet("10.46.1.0/24")
    _, other_sub = api.net_with_subnet("10.46.2.0/24")
    r, r2 = api.router(), api.router()
    api.add_interface(r["id"], subnet_id=sub["id"])
    path = f"/v2.0/routers/{r['id']}/remove_router_interface"
    expect_error(api("PUT", path, json={}), 400, "BadRequest", "Either subnet_id or port_id must be specified")
    err = expect_error(api("PUT", path, json={"subnet_id": other_sub["id"]}), 404, "RouterInterfaceNotFoundForSubnet")
    assert err["message"] == f"Router {r['id']} has no interface on subnet {other_sub['id']}"
    plain = api.port(net["id"])
    err = expect_error(api("PUT", path, json={"port_id": plain["id"]}), 404, "RouterInterfaceNotFound")
    assert err["message"] == f"Router {r['id']} does not have an interface with id {plain['id']}"
    # r's interface is not r2's
    [intf] = api.router_ports(r["id"])
    expect_error(api.router_action(r2["id"], "remove_router_interface", port_id=intf["id"]),
                 404, "RouterInterfaceNotFound")
    expect_error(api.router_action(r2["id"], "remove_router_interface", subnet_id=sub["id"]),
                 404, "RouterInterfaceNotFoundForSubnet")
    expect_error(api("PUT", path, json={"subnet_id": MISSING}), 404)
    assert [p["id"] for p in api.router_ports(r["id"])] == [intf["id"]]
    assert api.show("ports", plain["id"])["device_owner"] == ""


def test_router_in_use_and_router_ports_are_protected(api, ext):
    net, sub = api.net_with_subnet("10.47.1.0/24")
    r = api.router(external_gateway_info={"network_id": ext[0]["id"]})
    port_id = api.add_interface(r["id"], subnet_id=sub["id"])["port_id"]
    err = expect_error(api("DELETE", f"/v2.0/routers/{r['id']}"), 409, "RouterInUse")
    assert r["id"] in err["message"] and port_id in err["message"], err
    assert "has ports still attached" in err["message"]
    assert api.show("routers", r["id"])["id"] == r["id"]

    [gw] = api.router_ports(r["id"], GW)
    for pid in (port_id, gw["id"]):
        # L3PortInUse in older Neutron, ServicePortInUse since; both name the port
        err = expect_error_of(api("DELETE", f"/v2.0/ports/{pid}"), 409, PORT_IN_USE)
        assert pid in err["message"]
        assert api.show("ports", pid)["device_id"] == r["id"]

    # the networks and subnet under the router's ports are in use too
    expect_error(api("DELETE", f"/v2.0/subnets/{sub['id']}"), 409, "SubnetInUse")
    expect_error(api("DELETE", f"/v2.0/networks/{net['id']}"), 409, "NetworkInUse")
    expect_error(api("DELETE", f"/v2.0/networks/{ext[0]['id']}"), 409, "NetworkInUse")
    expect_error(api("PUT", f"/v2.0/networks/{ext[0]['id']}", json={"network": {"router:external": False}}),
                 409, "ExternalNetworkInUse")
    assert api.show("networks", ext[0]["id"])["router:external"] is True

    api.remove_interface(r["id"], subnet_id=sub["id"])
    api.delete("routers", r["id"])
    expect_error(api("GET", f"/v2.0/ports/{gw['id']}"), 404, "PortNotFound")


def test_other_projects_cannot_see_or_touch_a_router(api, member, server):
    other = server.client(project=uniq("other"), roles="member")
    r = member.router()
    net, sub = other.net_with_subnet("10.48.1.0/24")
    expect_error(other("GET", f"/v2.0/routers/{r['id']}"), 404, "RouterNotFound")
    assert other.list("routers", {"id": r["id"]}) == []
    expect_error(other("PUT", f"/v2.0/routers/{r['id']}", json={"router": {"name": "x"}}), 404, "RouterNotFound")
    expect_error(other("DELETE", f"/v2.0/routers/{r['id']}"), 404, "RouterNotFound")
    expect_error(other.router_action(r["id"], "add_router_interface", subnet_id=sub["id"]), 404, "RouterNotFound")
    assert member.show("routers", r["id"])["name"] == r["name"]
    assert api.list("routers", {"id": r["id"]}) == [api.show("routers", r["id"])]  # admin sees all


# -- extraroute ----------------------------------------------------------------------------
def test_routes(api):
    net, sub = api.net_with_subnet("10.49.1.0/24")
    r = api.router()
    api.add_interface(r["id"], subnet_id=sub["id"])
    routes = [{"destination": "192.168.50.0/24", "nexthop": "10.49.1.10"},
              {"destination": "0.0.0.0/0", "nexthop": "10.49.1.254"}]
    upd = api.update("routers", r["id"], routes=routes)
    key = lambda x: (x["destination"], x["nexthop"])  # noqa: E731
    assert sorted(upd["routes"], key=key) == sorted(routes, key=key)
    assert sorted(api.show("routers", r["id"])["routes"], key=key) == sorted(routes, key=key)

    path = f"/v2.0/routers/{r['id']}"
    # a nexthop on no subnet of the router
    err = expect_error(api("PUT", path, json={"router": {"routes": [{"destination": "192.168.51.0/24",
                                                                      "nexthop": "10.99.0.1"}]}}),
                       400, "InvalidRoutes")
    assert "Invalid format for routes" in err["message"]
    # the router's own address as nexthop
    expect_error(api("PUT", path, json={"router": {"routes": [{"destination": "192.168.52.0/24",
                                                                "nexthop": "10.49.1.1"}]}}), 400, "InvalidRoutes")
    expect_error(api("PUT", path, json={"router": {"routes": [{"destination": "banana",
                                                                "nexthop": "10.49.1.10"}]}}), 400)
    # more than max_routes (30)
    many = [{"destination": f"172.20.{i}.0/24", "nexthop": "10.49.1.10"} for i in range(31)]
    expect_error(api("PUT", path, json={"router": {"routes": many}}), 400, "RoutesExhausted")
    assert len(api.update("routers", r["id"], routes=many[:30])["routes"]) == 30
    # an interface a route needs cannot go
    err = expect_error(api.router_action(r["id"], "remove_router_interface", subnet_id=sub["id"]),
                       409, "RouterInterfaceInUseByRoute")
    assert api.update("routers", r["id"], routes=[])["routes"] == []
    api.remove_interface(r["id"], subnet_id=sub["id"])
    # without the interface, no nexthop is reachable
    expect_error(api("PUT", path, json={"router": {"routes": routes[:1]}}), 400, "InvalidRoutes")


# -- distributed routers -------------------------------------------------------------------
def test_distributed_router_ports(api, ext):
    ext_net, _ = ext
    (n1, s1), (n2, s2) = api.net_with_subnet("10.50.1.0/24"), api.net_with_subnet("10.50.2.0/24")
    r = api.router(distributed=True)
    assert r["distributed"] is True
    i1 = api.add_interface(r["id"], subnet_id=s1["id"])
    assert api.show("ports", i1["port_id"])["device_owner"] == DVR_INTF
    assert owners(api, r["id"]) == [DVR_INTF]  # no gateway yet: no SNAT port

    api.set_gateway(r["id"], ext_net["id"])
    assert owners(api, r["id"]) == sorted([GW, SNAT, DVR_INTF])
    [snat1] = api.router_ports(r["id"], SNAT)
    assert snat1["network_id"] == n1["id"] and snat1["device_id"] == r["id"]
    [ip1] = snat1["fixed_ips"]
    assert ip1["subnet_id"] == s1["id"] and ip1["ip_address"] != "10.50.1.1"
    assert ipaddress.ip_address(ip1["ip_address"]) in ipaddress.ip_network("10.50.1.0/24")

    # a second interface gets its own SNAT port while the gateway is there
    api.add_interface(r["id"], subnet_id=s2["id"])
    snats = {p["fixed_ips"][0]["subnet_id"]: p for p in api.router_ports(r["id"], SNAT)}
    assert set(snats) == {s1["id"], s2["id"]}
    assert snats[s1["id"]]["id"] == snat1["id"] and snats[s2["id"]]["network_id"] == n2["id"]
    assert owners(api, r["id"]) == sorted([GW, SNAT, SNAT, DVR_INTF, DVR_INTF])
    expect_error_of(api("DELETE", f"/v2.0/ports/{snat1['id']}"), 409, PORT_IN_USE)

    # removing an interface takes its SNAT port along
    api.remove_interface(r["id"], subnet_id=s1["id"])
    assert [p["fixed_ips"][0]["subnet_id"] for p in api.router_ports(r["id"], SNAT)] == [s2["id"]]
    expect_error(api("GET", f"/v2.0/ports/{snat1['id']}"), 404, "PortNotFound")
    # clearing the gateway removes every SNAT port
    api.update("routers", r["id"], external_gateway_info=None)
    assert owners(api, r["id"]) == [DVR_INTF]
    api.remove_interface(r["id"], subnet_id=s2["id"])
    assert api.router_ports(r["id"]) == []
    api.delete("routers", r["id"])


def test_distributed_router_interface_by_port(api, ext):
    net, sub = api.net_with_subnet("10.50.3.0/24")
    r = api.router(distributed=True, external_gateway_info={"network_id": ext[0]["id"]})
    port = api.port(net["id"])
    api.add_interface(r["id"], port_id=port["id"])
    assert api.show("ports", port["id"])["device_owner"] == DVR_INTF
    [snat] = api.router_ports(r["id"], SNAT)
    assert snat["fixed_ips"][0]["subnet_id"] == sub["id"]
    api.remove_interface(r["id"], port_id=port["id"])
    assert owners(api, r["id"]) == [GW]


def test_ha_router(api, ext):
    net, sub = api.net_with_subnet("10.51.1.0/24")
    r = api.router(ha=True, external_gateway_info={"network_id": ext[0]["id"]})
    assert r["ha"] is True and r["distributed"] is False
    api.add_interface(r["id"], subnet_id=sub["id"])
    assert len(api.router_ports(r["id"], GW)) == 1
    assert api.router_ports(r["id"], SNAT) == []  # centralized SNAT ports are for distributed routers only


# -- the router seed commands through the real CLI ---------------------------------
def test_seed_router_commands(new_server):
    server = new_server(name="routerseed")
    made = run_seed_base(server)
    osc, api = server.osc(), server.client()
    agents = AgentChannel(server.url)
    agents.register("gw1", local_ip="192.0.2.11")
    agents.register("gw2", local_ip="192.0.2.12")

    def run(command):
        p = osc.run(*command.split())
        assert p.returncode == 0, f"`openstack {command}` exited {p.returncode}: {p.stderr}"
        return p

    t = parse_table(run("router create r").stdout)
    assert t["name"] == "r" and t["status"] == "ACTIVE" and t["admin_state_up"] == "UP"
    assert t["distributed"] == "False" and t["ha"] == "False"
    assert t["project_id"] == "fake_project_id" and UUID_RE.match(t["id"])
    rid = t["id"]
    assert api.show("routers", rid)["external_gateway_info"] is None

    p = run("router add subnet r n1subnet")
    assert p.stdout.strip() == ""
    shown = osc("router", "show", "r")
    [iface] = shown["interfaces_info"]
    assert iface["subnet_id"] == made["n1subnet"]["id"] and iface["ip_address"] == "172.16.100.1"
    [port] = osc("port", "list", "--router", "r")
    assert port["ID"] == iface["port_id"]
    assert api.show("ports", port["ID"])["device_owner"] == INTF

    run("router set r --external-gateway ext_n2")
    info = osc("router", "show", "r")["external_gateway_info"]
    assert info["network_id"] == made["ext_n2"]["id"] and info["enable_snat"] is True
    [fixed] = info["external_fixed_ips"]
    assert fixed["subnet_id"] == made["extsubnet"]["id"] and in_pool(fixed["ip_address"], "10.0.2.210", "10.0.2.220")

    t = parse_table(run("router create --distributed dvr-r1").stdout)
    assert t["name"] == "dvr-r1" and t["distributed"] == "True" and t["ha"] == "False"
    t = parse_table(run("router create --ha ha-r1").stdout)
    assert t["name"] == "ha-r1" and t["ha"] == "True" and t["distributed"] == "False"
    assert {x["Name"] for x in osc("router", "list")} == {"r", "dvr-r1", "ha-r1"}

    # r has a gateway: both gateway hosts carry it, the first active
    text = run("network agent list --router r --long").stdout
    assert "HA State" in text.splitlines()[1], text
    hosting = osc("network", "agent", "list", "--router", "r", "--long")
    assert sorted(a["Host"] for a in hosting) == ["gw1", "gw2"], hosting
    assert sorted(a["HA State"] for a in hosting) == ["active", "standby"], hosting
    assert all(a["Agent Type"] == "L3 agent" and a["Alive"] is True for a in hosting)

    p = run("router remove subnet r n1subnet")
    assert p.stdout.strip() == ""
    assert osc("router", "show", "r")["interfaces_info"] == []
    assert osc("port", "list", "--router", "r", "--device-owner", INTF) == []
    run("router delete r")
    p = osc.fail("router", "show", "r")
    assert "No Router found for r" in p.stderr, p.stderr
    assert api.list("ports", {"device_owner": GW}) == []
    assert {x["Name"] for x in osc("router", "list")} == {"dvr-r1", "ha-r1"}
