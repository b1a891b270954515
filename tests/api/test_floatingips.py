"""Floating IPs as Neutron has them: allocation on an external network (random free address
or a given one), the hidden backing port, association with a port's fixed IP through a
router that has a gateway on that external network and an interface on the port's subnet,
`router_id` derived, `port_details`, status DOWN, one floating IP per fixed IP and external
network, disassociation (explicit and by deleting the port), and the router changes that
floating IPs forbid. The last test drives the issue's floating IP seed commands through the
real openstack CLI on a server of its own.
"""
import ipaddress

import pytest

from neutrino_api import TIMESTAMP_RE, UUID_RE, expect_error, expect_error_of, parse_table, run_seed_base, uniq

PORT_IN_USE = ("L3PortInUse", "ServicePortInUse")  # the name changed across releases
MISSING = "0d5a7e2c-4f1b-4c3a-9e8d-7b6a5f4e3d21"
FIP_OWNER = "network:floatingip"
DETAIL_KEYS = {"name", "network_id", "mac_address", "admin_state_up", "status", "device_id", "device_owner"}


class Topo:
    """ext network (pool 198.51.100.10-.60) <- router gateway; router interface on internal subnet."""

    def __init__(self, api):
        self.api = api
        self.ext, self.ext_sub = api.ext_network(
            "198.51.100.0/24", allocation_pools=[{"start": "198.51.100.10", "end": "198.51.100.60"}])
        self.net, self.sub = api.net_with_subnet("10.60.1.0/24")
        self.router = api.router(external_gateway_info={"network_id": self.ext["id"]})
        api.add_interface(self.router["id"], subnet_id=self.sub["id"])
        self.port = api.port(self.net["id"], name=uniq("vm"), device_id="vm-1", device_owner="compute:nova")

    def fip(self, **attrs):
        return self.api.floatingip(self.ext["id"], **attrs)


@pytest.fixture
def topo(api):
    return Topo(api)


def port_ip(port):
    return port["fixed_ips"][0]["ip_address"]


def test_create_unassociated(api, topo):
    fip = topo.fip(description="spare")
    assert UUID_RE.match(fip["id"])
    assert fip["floating_network_id"] == topo.ext["id"]
    addr = ipaddress.ip_address(fip["floating_ip_address"])
    assert ipaddress.ip_address("198.51.100.10") <= addr <= ipaddress.ip_address("198.51.100.60")
    assert fip["port_id"] is None and fip["fixed_ip_address"] is None and fip["router_id"] is None
    assert fip["status"] == "DOWN"
    assert fip["port_details"] is None
    assert fip["project_id"] == fip["tenant_id"] == api.project
    assert fip["description"] == "spare" and fip["tags"] == []
    assert TIMESTAMP_RE.match(fip["created_at"]) and isinstance(fip["revision_number"], int)
    assert api.show("floatingips", fip["id"]) == fip
    assert [f["id"] for f in api.list("floatingips", {"floating_ip_address": fip["floating_ip_address"],
                                                      "floating_network_id": topo.ext["id"]})] == [fip["id"]]

    # the backing port: on the external network, owned by the floating IP, hidden (no project)
    [backing] = api.list("ports", {"device_id": fip["id"]})
    assert backing["device_owner"] == FIP_OWNER and backing["network_id"] == topo.ext["id"]
    assert backing["fixed_ips"] == [{"subnet_id": topo.ext_sub["id"], "ip_address": fip["floating_ip_address"]}]
    assert backing["project_id"] == ""
    expect_error_of(api("DELETE", f"/v2.0/ports/{backing['id']}"), 409, PORT_IN_USE)

    upd = api.update("floatingips", fip["id"], description="")
    assert upd["description"] == "" and upd["revision_number"] > fip["revision_number"]

    api.delete("floatingips", fip["id"])
    err = expect_error(api("GET", f"/v2.0/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
    assert fip["id"] in err["message"]
    expect_error(api("DELETE", f"/v2.0/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
    expect_error(api("GET", f"/v2.0/ports/{backing['id']}"), 404, "PortNotFound")
    # the address is free again
    again = topo.fip(floating_ip_address=fip["floating_ip_address"])
    assert again["floating_ip_address"] == fip["floating_ip_address"]


def test_create_with_given_address_or_subnet(api, topo):
    # An address nothing took yet (the topology's own ports get random ones from the pool).
    used = {ip["ip_address"] for p in api.list("ports", {"network_id": topo.ext["id"]}) for ip in p["fixed_ips"]}
    free = next(f"198.51.100.{i}" for i in range(42, 61) if f"198.51.100.{i}" not in used)
    fip = topo.fip(floating_ip_address=free)
    assert fip["floating_ip_address"] == free
    expect_error(api("POST", "/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": topo.ext["id"], "floating_ip_address": free}}), 409, "IpAddressAlreadyAllocated")
    expect_error(api("POST", "/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": topo.ext["id"], "floating_ip_address": "192.0.2.7"}}), 400)
    # a second external subnet: subnet_id picks it
    sub2 = api.subnet(topo.ext["id"], "198.51.101.0/24")
    fip2 = topo.fip(subnet_id=sub2["id"])
    assert ipaddress.ip_address(fip2["floating_ip_address"]) in ipaddress.ip_network("198.51.101.0/24")


def test_associate_on_create_and_port_details(api, topo):
    fip = topo.fip(port_id=topo.port["id"])
    assert fip["port_id"] == topo.port["id"]
    assert fip["fixed_ip_address"] == port_ip(topo.port)
    assert fip["router_id"] == topo.router["id"]
    assert fip["status"] == "DOWN"  # no agent has applied it
    details = fip["port_details"]
    assert set(details) == DETAIL_KEYS, details
    p = api.show("ports", topo.port["id"])
    assert details == {k: p[k] for k in DETAIL_KEYS}
    assert details["device_id"] == "vm-1" and details["device_owner"] == "compute:nova"
    assert api.show("floatingips", fip["id"]) == fip
    for params in ({"port_id": topo.port["id"]}, {"router_id": topo.router["id"]},
                   {"fixed_ip_address": port_ip(topo.port)}, {"status": "DOWN", "port_id": topo.port["id"]}):
        assert [f["id"] for f in api.list("floatingips", params)] == [fip["id"]], params
    assert api.list("floatingips", {"status": "ACTIVE", "port_id": topo.port["id"]}) == []


def test_associate_move_and_disassociate(api, topo):
    fip = topo.fip()
    upd = api.update("floatingips", fip["id"], port_id=topo.port["id"])
    assert upd["port_id"] == topo.port["id"] and upd["router_id"] == topo.router["id"]
    assert upd["fixed_ip_address"] == port_ip(topo.port)
    assert upd["floating_ip_address"] == fip["floating_ip_address"]
    # straight to another port
    other = api.port(topo.net["id"])
    upd = api.update("floatingips", fip["id"], port_id=other["id"])
    assert upd["port_id"] == other["id"] and upd["fixed_ip_address"] == port_ip(other)
    assert upd["port_details"]["name"] == other["name"]
    # and off again
    upd = api.update("floatingips", fip["id"], port_id=None)
    assert upd["port_id"] is None and upd["fixed_ip_address"] is None and upd["router_id"] is None
    assert upd["port_details"] is None and upd["status"] == "DOWN"
    assert api.show("floatingips", fip["id"]) == upd


def test_fixed_ip_address_choice(api, topo):
    port = api.port(topo.net["id"], fixed_ips=[{"subnet_id": topo.sub["id"]}, {"subnet_id": topo.sub["id"]}])
    ips = [f["ip_address"] for f in port["fixed_ips"]]
    assert len(ips) == 2
    fip = topo.fip()
    path = f"/v2.0/floatingips/{fip['id']}"
    # two IPv4 addresses: the caller must choose
    expect_error(api("PUT", path, json={"floatingip": {"port_id": port["id"]}}), 400, "BadRequest")
    # an address the port does not have
    expect_error(api("PUT", path, json={"floatingip": {"port_id": port["id"], "fixed_ip_address": "10.99.9.9"}}),
                 400, "BadRequest")
    # a fixed IP without a port
    expect_error(api("PUT", path, json={"floatingip": {"fixed_ip_address": ips[0]}}), 400, "BadRequest")
    expect_error(api("POST", "/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": topo.ext["id"], "fixed_ip_address": ips[0]}}), 400, "BadRequest")
    expect_error(api("PUT", path, json={"floatingip": {"port_id": MISSING}}), 404, "PortNotFound")
    assert api.show("floatingips", fip["id"])["port_id"] is None

    upd = api.update("floatingips", fip["id"], port_id=port["id"], fixed_ip_address=ips[1])
    assert upd["fixed_ip_address"] == ips[1] and upd["router_id"] == topo.router["id"]
    # the other fixed IP may have its own floating IP
    fip2 = topo.fip(port_id=port["id"], fixed_ip_address=ips[0])
    assert fip2["fixed_ip_address"] == ips[0]
    assert sorted(f["fixed_ip_address"] for f in api.list("floatingips", {"port_id": port["id"]})) == sorted(ips)


def test_external_gateway_needed(api, topo):
    fip = topo.fip()
    path = f"/v2.0/floatingips/{fip['id']}"
    # a subnet no router is attached to
    lone_net, lone_sub = api.net_with_subnet("10.61.1.0/24")
    lone = api.port(lone_net["id"])
    err = expect_error(api("PUT", path, json={"floatingip": {"port_id": lone["id"]}}),
                       404, "ExternalGatewayForFloatingIPNotFound")
    assert err["message"] == (f"External network {topo.ext['id']} is not reachable from subnet {lone_sub['id']}. "
                              f"Therefore, cannot associate Port {lone['id']} with a Floating IP.")
    # a router interface but no gateway
    r = api.router()
    api.add_interface(r["id"], subnet_id=lone_sub["id"])
    expect_error(api("PUT", path, json={"floatingip": {"port_id": lone["id"]}}),
                 404, "ExternalGatewayForFloatingIPNotFound")
    # a gateway, but on another external network
    other_ext, _ = api.ext_network("192.0.2.0/24")
    api.set_gateway(r["id"], other_ext["id"])
    expect_error(api("PUT", path, json={"floatingip": {"port_id": lone["id"]}}),
                 404, "ExternalGatewayForFloatingIPNotFound")
    r2 = api("POST", "/v2.0/floatingips", json={"floatingip": {"floating_network_id": topo.ext["id"],
                                                                "port_id": lone["id"]}})
    expect_error(r2, 404, "ExternalGatewayForFloatingIPNotFound")
    assert api.show("floatingips", fip["id"])["port_id"] is None
    # the failed create did not keep an address
    assert len(api.list("ports", {"network_id": topo.ext["id"], "device_owner": FIP_OWNER})) == 1
    # once the router's gateway is on the right network it works
    api.set_gateway(r["id"], topo.ext["id"])
    assert api.update("floatingips", fip["id"], port_id=lone["id"])["router_id"] == r["id"]


def test_one_floating_ip_per_fixed_ip(api, topo):
    first = topo.fip(port_id=topo.port["id"])
    second = topo.fip()
    err = expect_error(api("PUT", f"/v2.0/floatingips/{second['id']}",
                           json={"floatingip": {"port_id": topo.port["id"]}}), 409, "FloatingIPPortAlreadyAssociated")
    for part in (second["floating_ip_address"], second["id"], topo.port["id"], port_ip(topo.port), topo.ext["id"]):
        assert part in err["message"], (part, err["message"])
    expect_error(api("POST", "/v2.0/floatingips", json={"floatingip": {"floating_network_id": topo.ext["id"],
                                                                        "port_id": topo.port["id"]}}),
                 409, "FloatingIPPortAlreadyAssociated")
    assert api.show("floatingips", second["id"])["port_id"] is None
    # the same fixed IP may have one on another external network, through another router
    ext2, _ = api.ext_network("192.0.2.0/24")
    r2 = api.router(external_gateway_info={"network_id": ext2["id"]})
    api.add_interface(r2["id"], port_id=api.port(topo.net["id"])["id"])
    third = api.floatingip(ext2["id"], port_id=topo.port["id"])
    assert third["router_id"] == r2["id"] and third["fixed_ip_address"] == port_ip(topo.port)
    assert api.show("floatingips", first["id"])["router_id"] == topo.router["id"]
    # once the first lets go, the second may take the fixed IP
    api.update("floatingips", first["id"], port_id=None)
    assert api.update("floatingips", second["id"], port_id=topo.port["id"])["port_id"] == topo.port["id"]


def test_network_must_be_external(api):
    net, _ = api.net_with_subnet("10.62.1.0/24")
    err = expect_error(api("POST", "/v2.0/floatingips", json={"floatingip": {"floating_network_id": net["id"]}}),
                       400, "BadRequest")
    assert f"Network {net['id']} is not a valid external network" in err["message"]
    expect_error(api("POST", "/v2.0/floatingips", json={"floatingip": {"floating_network_id": MISSING}}),
                 404, "NetworkNotFound")
    expect_error(api("POST", "/v2.0/floatingips", json={"floatingip": {}}), 400)
    assert api.list("floatingips", {"floating_network_id": net["id"]}) == []


def test_pool_exhausted(api):
    ext, _ = api.ext_network("198.51.100.0/24", allocation_pools=[{"start": "198.51.100.5", "end": "198.51.100.6"}])
    got = {api.floatingip(ext["id"])["floating_ip_address"] for _ in range(2)}
    assert got == {"198.51.100.5", "198.51.100.6"}
    err = expect_error(api("POST", "/v2.0/floatingips", json={"floatingip": {"floating_network_id": ext["id"]}}),
                       400, "ExternalIpAddressExhausted")
    assert f"Unable to find any IP address on external network {ext['id']}" in err["message"]
    assert len(api.list("floatingips", {"floating_network_id": ext["id"]})) == 2


def test_router_interface_needed_by_floating_ip(api, topo):
    fip = topo.fip(port_id=topo.port["id"])
    rid, sid = topo.router["id"], topo.sub["id"]
    err = expect_error(api.router_action(rid, "remove_router_interface", subnet_id=sid),
                       409, "RouterInterfaceInUseByFloatingIP")
    assert err["message"] == (f"Router interface for subnet {sid} on router {rid} cannot be deleted, "
                              "as it is required by one or more floating IPs.")
    [intf] = api.router_ports(rid, "network:router_interface")
    expect_error(api.router_action(rid, "remove_router_interface", port_id=intf["id"]),
                 409, "RouterInterfaceInUseByFloatingIP")
    assert api.router_ports(rid, "network:router_interface") == [intf]
    api.update("floatingips", fip["id"], port_id=None)
    api.remove_interface(rid, subnet_id=sid)


def test_gateway_needed_by_floating_ip(api, topo):
    topo.fip(port_id=topo.port["id"])
    rid = topo.router["id"]
    path = f"/v2.0/routers/{rid}"
    err = expect_error(api("PUT", path, json={"router": {"external_gateway_info": {}}}),
                       409, "RouterExternalGatewayInUseByFloatingIp")
    assert rid in err["message"] and topo.ext["id"] in err["message"]
    expect_error(api("PUT", path, json={"router": {"external_gateway_info": None}}),
                 409, "RouterExternalGatewayInUseByFloatingIp")
    other, _ = api.ext_network("192.0.2.0/24")
    expect_error(api("PUT", path, json={"router": {"external_gateway_info": {"network_id": other["id"]}}}),
                 409, "RouterExternalGatewayInUseByFloatingIp")
    info = api.show("routers", rid)["external_gateway_info"]
    assert info["network_id"] == topo.ext["id"]
    # changing only enable_snat keeps the gateway and is allowed
    upd = api.set_gateway(rid, topo.ext["id"], enable_snat=False)
    assert upd["external_gateway_info"]["external_fixed_ips"] == info["external_fixed_ips"]


def test_deleting_the_port_disassociates(api, topo):
    fip = topo.fip(port_id=topo.port["id"])
    api.delete("ports", topo.port["id"])
    shown = api.show("floatingips", fip["id"])
    assert shown["port_id"] is None and shown["fixed_ip_address"] is None and shown["router_id"] is None
    assert shown["port_details"] is None
    assert shown["floating_ip_address"] == fip["floating_ip_address"]
    # and the router interface may go now
    api.remove_interface(topo.router["id"], subnet_id=topo.sub["id"])


def test_distributed_router_carries_floating_ips(api):
    ext, _ = api.ext_network("198.51.100.0/24")
    net, sub = api.net_with_subnet("10.63.1.0/24")
    r = api.router(distributed=True, external_gateway_info={"network_id": ext["id"]})
    api.add_interface(r["id"], subnet_id=sub["id"])
    port = api.port(net["id"])
    fip = api.floatingip(ext["id"], port_id=port["id"])
    assert fip["router_id"] == r["id"] and fip["status"] == "DOWN"


def test_projects(api, topo, server):
    alice = server.client(project=uniq("alice"), roles="member")
    bob = server.client(project=uniq("bob"), roles="member")
    # a member allocates from an external network it does not own
    fip = alice.floatingip(topo.ext["id"])
    assert fip["project_id"] == alice.project
    expect_error(alice("POST", "/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": topo.ext["id"], "floating_ip_address": "198.51.100.55"}}), 403, "PolicyNotAuthorized")
    # ... and associates it with its own port behind its own router
    net, sub = alice.net_with_subnet("10.64.1.0/24")
    r = alice.router(external_gateway_info={"network_id": topo.ext["id"]})
    alice.add_interface(r["id"], subnet_id=sub["id"])
    port = alice.port(net["id"])
    upd = alice.update("floatingips", fip["id"], port_id=port["id"])
    assert upd["router_id"] == r["id"]
    # bob sees nothing of it
    expect_error(bob("GET", f"/v2.0/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
    assert bob.list("floatingips", {"id": fip["id"]}) == []
    expect_error(bob("PUT", f"/v2.0/floatingips/{fip['id']}", json={"floatingip": {"port_id": None}}),
                 404, "FloatingIPNotFound")
    expect_error(bob("DELETE", f"/v2.0/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
    assert alice.show("floatingips", fip["id"])["port_id"] == port["id"]
    assert fip["id"] in {f["id"] for f in api.list("floatingips")}  # admin sees all


# -- the floating IP seed commands through the real CLI ----------------------------
def test_seed_floating_ip_commands(new_server):
    server = new_server(name="fipseed")
    made = run_seed_base(server)
    osc, api = server.osc(), server.client()

    def run(*args):
        p = osc.run(*args)
        assert p.returncode == 0, f"`openstack {' '.join(args)}` exited {p.returncode}: {p.stderr}"
        return p

    run("router", "create", "r")
    run("router", "add", "subnet", "r", "n1subnet")
    run("router", "set", "r", "--external-gateway", "ext_n2")
    rid = osc("router", "show", "r")["id"]

    t = parse_table(run("floating", "ip", "create", "ext_n2").stdout)
    fip_addr = t["floating_ip_address"]
    assert ipaddress.ip_address("10.0.2.210") <= ipaddress.ip_address(fip_addr) <= ipaddress.ip_address("10.0.2.220")
    assert t["floating_network_id"] == made["ext_n2"]["id"]
    assert t["status"] == "DOWN"
    assert t["port_id"] == "None" and t["fixed_ip_address"] == "None" and t["router_id"] == "None"
    assert t["project_id"] == "fake_project_id" and UUID_RE.match(t["id"])
    fid = t["id"]
    # the router's gateway took one address of the pool, the floating IP another
    gw_ip = osc("router", "show", "r")["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    assert gw_ip != fip_addr

    p = run("floating", "ip", "set", "--port", "p1", fip_addr)
    assert p.stdout.strip() == ""
    shown = osc("floating", "ip", "show", fip_addr)
    p1 = made["p1"]
    assert shown["id"] == fid
    assert shown["port_id"] == p1["id"]
    assert shown["fixed_ip_address"] == p1["fixed_ips"][0]["ip_address"]
    assert shown["router_id"] == rid and shown["status"] == "DOWN"
    assert "name='p1'" in shown["port_details"], shown["port_details"]  # the CLI prints the dict as k='v', ...
    assert f"network_id='{made['n1']['id']}'" in shown["port_details"]
    assert f"mac_address='{p1['mac_address']}'" in shown["port_details"]
    listed = osc("floating", "ip", "list", "--port", "p1")
    assert [(f["ID"], f["Floating IP Address"], f["Fixed IP Address"]) for f in listed] == \
        [(fid, fip_addr, p1["fixed_ips"][0]["ip_address"])]

    # removing the subnet from r is refused while the floating IP needs it
    p = osc.fail("router", "remove", "subnet", "r", "n1subnet")
    assert "cannot be deleted, as it is required by one or more floating IPs" in p.stderr, p.stderr

    p = run("floating", "ip", "unset", "--port", fip_addr)
    assert p.stdout.strip() == ""
    shown = osc("floating", "ip", "show", fid)
    assert shown["port_id"] is None and shown["fixed_ip_address"] is None and shown["router_id"] is None
    fip = api.show("floatingips", fid)
    assert fip["port_id"] is None and fip["floating_ip_address"] == fip_addr

    run("router", "remove", "subnet", "r", "n1subnet")
    run("floating", "ip", "delete", fip_addr)
    assert osc("floating", "ip", "list") == []
