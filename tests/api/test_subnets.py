"""Subnets over raw HTTP: IPv4/IPv6 defaults, gateways, allocation pools, DHCP, DNS and host
routes, IPv6 modes, overlap and in-use rules."""
import pytest

from neutrino_api import expect_error, uniq


def post_subnet(api, net_id, **attrs):
    attrs.setdefault("ip_version", 4)
    return api("POST", "/v2.0/subnets", json={"subnet": dict(network_id=net_id, **attrs)})


def test_ipv4_defaults(api, project):
    net = api.network()
    sub = api.subnet(net["id"], "10.40.0.0/24")
    assert sub["network_id"] == net["id"] and sub["ip_version"] == 4
    assert sub["cidr"] == "10.40.0.0/24" and sub["gateway_ip"] == "10.40.0.1"
    assert sub["allocation_pools"] == [{"start": "10.40.0.2", "end": "10.40.0.254"}]
    assert sub["enable_dhcp"] is True
    assert sub["dns_nameservers"] == [] and sub["host_routes"] == []
    assert sub["ipv6_ra_mode"] is None and sub["ipv6_address_mode"] is None
    assert sub["subnetpool_id"] is None
    assert sub["project_id"] == sub["tenant_id"] == project
    assert sub["description"] == "" and sub["tags"] == []
    assert api.show("subnets", sub["id"]) == sub


def test_cidr_is_canonicalised_or_rejected(api):
    net = api.network()
    # Host bits are dropped, as Neutron 21 does.
    assert api.subnet(net["id"], "10.41.0.5/24")["cidr"] == "10.41.0.0/24"
    net = api.network()
    r = post_subnet(api, net["id"], cidr="0.0.0.0/0")
    expect_error(r, 400)
    r = post_subnet(api, net["id"], cidr="10.41.0.0/33")
    expect_error(r, 400)
    r = post_subnet(api, net["id"], cidr="not-a-cidr")
    expect_error(r, 400)
    r = post_subnet(api, net["id"], cidr="10.41.0.0/24", ip_version=6)
    expect_error(r, 400)
    r = post_subnet(api, net["id"], cidr="10.41.0.0/24", ip_version=5)
    expect_error(r, 400)
    sub = api.subnet(net["id"], "2001:DB8:41::/64")
    assert sub["cidr"] == "2001:db8:41::/64"


def test_required_attributes(api):
    net = api.network()
    r = api("POST", "/v2.0/subnets", json={"subnet": {"network_id": net["id"], "cidr": "10.42.0.0/24"}})
    expect_error(r, 400, "HTTPBadRequest", "ip_version")
    r = api("POST", "/v2.0/subnets", json={"subnet": {"cidr": "10.42.0.0/24", "ip_version": 4}})
    expect_error(r, 400, "HTTPBadRequest", "network_id")
    r = post_subnet(api, "8d6b8fa2-3d4c-4a43-9bd4-9b1b1c3e2a11", cidr="10.42.0.0/24")
    expect_error(r, 404, "NetworkNotFound")


def test_ipv6_defaults(api):
    net = api.network()
    sub = api.subnet(net["id"], "2001:db8:43::/64")
    # As Neutron 21 (tests/compat): the subnet-router anycast address is the gateway and the
    # pool starts right after it.
    assert sub["ip_version"] == 6 and sub["gateway_ip"] == "2001:db8:43::"
    assert sub["allocation_pools"] == [{"start": "2001:db8:43::1", "end": "2001:db8:43:0:ffff:ffff:ffff:ffff"}]  # RFC 5952, as netaddr prints it


def test_gateway_none_and_explicit(api):
    net = api.network()
    sub = api.subnet(net["id"], "10.44.0.0/24", gateway_ip=None)
    assert sub["gateway_ip"] is None
    assert sub["allocation_pools"] == [{"start": "10.44.0.1", "end": "10.44.0.254"}]
    net2 = api.network()
    sub2 = api.subnet(net2["id"], "10.44.1.0/24", gateway_ip="10.44.1.254")
    assert sub2["gateway_ip"] == "10.44.1.254"
    assert sub2["allocation_pools"] == [{"start": "10.44.1.1", "end": "10.44.1.253"}]
    # the network address and (IPv4) broadcast cannot be a gateway
    for gw in ("10.44.2.0", "10.44.2.255"):
        r = post_subnet(api, api.network()["id"], cidr="10.44.2.0/24", gateway_ip=gw)
        expect_error(r, 400, "InvalidInput")
    r = post_subnet(api, api.network()["id"], cidr="10.44.2.0/24", gateway_ip="fe80::1")
    expect_error(r, 400)


def test_allocation_pools(api):
    net = api.network()
    pools = [{"start": "10.45.0.10", "end": "10.45.0.20"}, {"start": "10.45.0.100", "end": "10.45.0.110"}]
    sub = api.subnet(net["id"], "10.45.0.0/24", allocation_pools=pools)
    assert sorted(sub["allocation_pools"], key=lambda p: p["start"]) == pools
    ips = set()
    for _ in range(4):
        port = api.port(net["id"])
        ip = port["fixed_ips"][0]["ip_address"]
        last = int(ip.rsplit(".", 1)[1])
        assert 10 <= last <= 20 or 100 <= last <= 110, ip
        ips.add(ip)
    assert len(ips) == 4


@pytest.mark.parametrize("pools,status,etype", [
    ([{"start": "10.46.0.200", "end": "10.46.1.10"}], 400, "OutOfBoundsAllocationPool"),
    ([{"start": "10.46.0.50", "end": "10.46.0.40"}], 400, "InvalidAllocationPool"),
    ([{"start": "10.46.0.10", "end": "10.46.0.50"}, {"start": "10.46.0.40", "end": "10.46.0.60"}],
     409, "OverlappingAllocationPools"),
    ([{"start": "10.46.0.1", "end": "10.46.0.50"}], 409, "GatewayConflictWithAllocationPools"),
    ([{"start": "10.46.0.10"}], 400, None),
    ([{"start": "banana", "end": "10.46.0.20"}], 400, None),
])
def test_bad_allocation_pools(api, pools, status, etype):
    r = post_subnet(api, api.network()["id"], cidr="10.46.0.0/24", allocation_pools=pools)
    expect_error(r, status, etype)


def test_update_allocation_pools_and_gateway(api):
    net, sub = api.net_with_subnet("10.47.0.0/24")
    upd = api.update("subnets", sub["id"], allocation_pools=[{"start": "10.47.0.100", "end": "10.47.0.150"}])
    assert upd["allocation_pools"] == [{"start": "10.47.0.100", "end": "10.47.0.150"}]
    port = api.port(net["id"])
    assert 100 <= int(port["fixed_ips"][0]["ip_address"].rsplit(".", 1)[1]) <= 150
    upd = api.update("subnets", sub["id"], gateway_ip="10.47.0.254")
    assert upd["gateway_ip"] == "10.47.0.254"
    r = api("PUT", f"/v2.0/subnets/{sub['id']}", json={"subnet": {"gateway_ip": "10.47.0.120"}})
    expect_error(r, 409, "GatewayConflictWithAllocationPools")
    # a gateway on an address a port holds
    r = api("PUT", f"/v2.0/subnets/{sub['id']}", json={"subnet": {
        "gateway_ip": port["fixed_ips"][0]["ip_address"],
        "allocation_pools": [{"start": "10.47.0.160", "end": "10.47.0.170"}]}})
    expect_error(r, 409, "GatewayIpInUse")


def test_read_only_after_create(api):
    net, sub = api.net_with_subnet("10.48.0.0/24")
    for attr, value in (("cidr", "10.48.1.0/24"), ("ip_version", 6), ("network_id", api.network()["id"])):
        r = api("PUT", f"/v2.0/subnets/{sub['id']}", json={"subnet": {attr: value}})
        expect_error(r, 400, "HTTPBadRequest")
    assert api.show("subnets", sub["id"])["cidr"] == "10.48.0.0/24"


def test_dhcp_and_prefix(api):
    r = post_subnet(api, api.network()["id"], cidr="10.49.0.0/31")
    expect_error(r, 400, "InvalidInput")
    sub = api.subnet(api.network()["id"], "10.49.0.0/31", enable_dhcp=False, gateway_ip=None)
    assert sub["enable_dhcp"] is False
    sub = api.subnet(api.network()["id"], "10.49.1.0/30")
    assert sub["allocation_pools"] == [{"start": "10.49.1.2", "end": "10.49.1.2"}]
    upd = api.update("subnets", sub["id"], enable_dhcp=False)
    assert upd["enable_dhcp"] is False
    assert sub["id"] in {s["id"] for s in api.list("subnets", {"enable_dhcp": "false", "id": sub["id"]})}


def test_dns_nameservers_and_host_routes(api):
    net = api.network()
    dns = ["8.8.8.8", "1.1.1.1", "9.9.9.9"]
    routes = [{"destination": "10.60.0.0/16", "nexthop": "10.50.0.254"},
              {"destination": "0.0.0.0/0", "nexthop": "10.50.0.1"}]
    sub = api.subnet(net["id"], "10.50.0.0/24", dns_nameservers=dns, host_routes=routes)
    assert sub["dns_nameservers"] == dns  # order is meaningful for DNS and kept
    assert sorted(sub["host_routes"], key=str) == sorted(routes, key=str)
    upd = api.update("subnets", sub["id"], dns_nameservers=["9.9.9.9", "8.8.8.8"], host_routes=[])
    assert upd["dns_nameservers"] == ["9.9.9.9", "8.8.8.8"] and upd["host_routes"] == []
    assert api.show("subnets", sub["id"])["dns_nameservers"] == ["9.9.9.9", "8.8.8.8"]

    r = api("PUT", f"/v2.0/subnets/{sub['id']}", json={"subnet": {
        "dns_nameservers": [f"10.0.0.{i}" for i in range(1, 7)]}})
    expect_error(r, 400, "DNSNameServersExhausted")
    r = api("PUT", f"/v2.0/subnets/{sub['id']}", json={"subnet": {"dns_nameservers": ["8.8.8.8", "8.8.8.8"]}})
    expect_error(r, 400)
    r = api("PUT", f"/v2.0/subnets/{sub['id']}", json={"subnet": {"dns_nameservers": ["not-an-ip"]}})
    expect_error(r, 400)
    r = api("PUT", f"/v2.0/subnets/{sub['id']}", json={"subnet": {
        "host_routes": [{"destination": f"10.{i}.0.0/16", "nexthop": "10.50.0.9"} for i in range(21)]}})
    expect_error(r, 400, "HostRoutesExhausted")
    r = api("PUT", f"/v2.0/subnets/{sub['id']}", json={"subnet": {
        "host_routes": [{"destination": "nowhere", "nexthop": "10.50.0.9"}]}})
    expect_error(r, 400)


@pytest.mark.parametrize("modes,cidr,ok", [
    ({"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}, "2001:db8:51::/64", True),
    ({"ipv6_address_mode": "dhcpv6-stateful"}, "2001:db8:52::/80", True),
    ({"ipv6_ra_mode": "dhcpv6-stateless", "ipv6_address_mode": "dhcpv6-stateless"}, "2001:db8:53::/64", True),
    ({"ipv6_ra_mode": "slaac", "ipv6_address_mode": "dhcpv6-stateful"}, "2001:db8:54::/64", False),
    ({"ipv6_address_mode": "slaac"}, "2001:db8:55::/80", False),
    ({"ipv6_address_mode": "slaac", "enable_dhcp": False}, "2001:db8:56::/64", False),
    ({"ipv6_address_mode": "eui-65"}, "2001:db8:57::/64", False),
    ({"ipv6_address_mode": "slaac"}, "10.57.0.0/24", False),
])
def test_ipv6_modes(api, modes, cidr, ok):
    attrs = dict(modes, cidr=cidr, ip_version=6 if ":" in cidr else 4)
    r = api("POST", "/v2.0/subnets", json={"subnet": dict(attrs, network_id=api.network()["id"])})
    if ok:
        assert r.status_code == 201, r.text
        sub = r.json()["subnet"]
        assert sub["ipv6_ra_mode"] == modes.get("ipv6_ra_mode")
        assert sub["ipv6_address_mode"] == modes.get("ipv6_address_mode")
        # DHCP cannot be turned off under an IPv6 mode
        r = api("PUT", f"/v2.0/subnets/{sub['id']}", json={"subnet": {"enable_dhcp": False}})
        expect_error(r, 400)
    else:
        expect_error(r, 400)


def test_overlapping_cidr_on_one_network(api):
    net = api.network()
    api.subnet(net["id"], "10.58.0.0/16")
    r = post_subnet(api, net["id"], cidr="10.58.4.0/24")
    err = expect_error(r, 400, "InvalidInput")
    assert f"Requested subnet with cidr: 10.58.4.0/24 for network: {net['id']} overlaps with another subnet" \
        in err["message"]
    r = post_subnet(api, net["id"], cidr="10.0.0.0/8")
    expect_error(r, 400, "InvalidInput")
    # the same CIDR on another network is fine, and so is a disjoint one on the same network
    api.subnet(api.network()["id"], "10.58.0.0/16")
    api.subnet(net["id"], "10.59.0.0/24")
    assert len(api.show("networks", net["id"])["subnets"]) == 2


def test_delete_subnet_in_use(api):
    net, sub = api.net_with_subnet("10.61.0.0/24")
    port = api.port(net["id"])
    r = api("DELETE", f"/v2.0/subnets/{sub['id']}")
    err = expect_error(r, 409, "SubnetInUse")
    assert f"Unable to complete operation on subnet {sub['id']}" in err["message"]
    assert "One or more ports have an IP allocation from this subnet" in err["message"]
    api.delete("ports", port["id"])
    api.delete("subnets", sub["id"])
    assert api.show("networks", net["id"])["subnets"] == []
    expect_error(api("GET", f"/v2.0/subnets/{sub['id']}"), 404, "SubnetNotFound")


def test_subnet_update_name_description(api):
    net, sub = api.net_with_subnet("10.62.0.0/24")
    upd = api.update("subnets", sub["id"], name="renamed-" + sub["name"], description="hi")
    assert upd["name"] == "renamed-" + sub["name"] and upd["description"] == "hi"
    assert upd["revision_number"] > sub["revision_number"]
    assert upd["cidr"] == sub["cidr"] and upd["allocation_pools"] == sub["allocation_pools"]


def test_list_filters_on_subnets(api):
    net = api.network()
    v4 = api.subnet(net["id"], "10.63.0.0/24")
    v6 = api.subnet(net["id"], "2001:db8:63::/64")
    got = api.list("subnets", {"network_id": net["id"], "ip_version": 6})
    assert [s["id"] for s in got] == [v6["id"]]
    got = api.list("subnets", {"cidr": "10.63.0.0/24", "network_id": net["id"]})
    assert [s["id"] for s in got] == [v4["id"]]
    got = api.list("subnets", {"network_id": net["id"], "name": [v4["name"], v6["name"]]})
    assert {s["id"] for s in got} == {v4["id"], v6["id"]}


def test_subnet_name_lookup_is_404(api):
    name = uniq("no-such-subnet")
    expect_error(api("GET", f"/v2.0/subnets/{name}"), 404, "SubnetNotFound")
