"""Extensions added for parity with Neutron 21 (issue 11), through the real `openstack` CLI:
extraroute-atomic (`router add route` / `router remove route`), network-ip-availability
(`ip availability list/show`) and floatingip-pools (`floating ip pool list`)."""
from neutrino_api import uniq


def test_router_routes_added_and_removed_atomically(osc):
    net = osc("network", "create", uniq("xr"))
    osc("subnet", "create", "--network", net["id"], "--subnet-range", "10.88.0.0/24", uniq("xr"))
    router = osc("router", "create", uniq("xr"))
    osc("router", "add", "subnet", router["id"], osc("subnet", "list", "--network", net["id"])[0]["ID"], fmt=False)
    # Each call adds to what is there (the server merges, no read-modify-write race).
    osc("router", "add", "route", router["id"], "--route", "destination=198.51.100.0/24,gateway=10.88.0.10")
    osc("router", "add", "route", router["id"], "--route", "destination=203.0.113.0/24,gateway=10.88.0.11")
    routes = osc("router", "show", router["id"])["routes"]
    assert {(r["destination"], r["nexthop"]) for r in routes} == {("198.51.100.0/24", "10.88.0.10"),
                                                                 ("203.0.113.0/24", "10.88.0.11")}
    osc("router", "remove", "route", router["id"], "--route", "destination=198.51.100.0/24,gateway=10.88.0.10")
    routes = osc("router", "show", router["id"])["routes"]
    assert [(r["destination"], r["nexthop"]) for r in routes] == [("203.0.113.0/24", "10.88.0.11")]
    # A next hop outside the router's subnets is refused, and nothing changes.
    p = osc.fail("router", "add", "route", router["id"], "--route", "destination=192.0.2.0/24,gateway=10.99.0.1")
    assert "nexthop" in p.stderr.lower() or "InvalidRoutes" in p.stderr, p.stderr
    assert len(osc("router", "show", router["id"])["routes"]) == 1


def test_ip_availability_and_floating_ip_pools(osc):
    net = osc("network", "create", uniq("ipav"))
    sub = osc("subnet", "create", "--network", net["id"], "--subnet-range", "10.89.0.0/28", uniq("ipav"))
    for _ in range(3):
        osc("port", "create", "--network", net["id"], uniq("ipav"))
    shown = osc("ip", "availability", "show", net["id"])
    # /28: 16 addresses less the network, broadcast and gateway addresses = 13 in the pool.
    assert shown["total_ips"] == 13 and shown["used_ips"] == 3, shown
    assert net["id"] in {row["Network ID"] for row in osc("ip", "availability", "list")}


def test_floating_ip_pools(api, osc):
    """floatingip_pools (OSC answers "only available for Compute v2" for Neutron: raw API)."""
    ext = osc("network", "create", "--external", uniq("pool"))
    pool_sub = osc("subnet", "create", "--network", ext["id"], "--subnet-range", "198.51.100.0/24", uniq("pool"))
    inner = osc("network", "create", uniq("inner"))
    inner_sub = osc("subnet", "create", "--network", inner["id"], "--subnet-range", "10.90.0.0/24", uniq("inner"))
    r = api("GET", "/v2.0/floatingip_pools")
    assert r.status_code == 200, r.text
    pools = {p["subnet_id"]: p for p in r.json()["floatingip_pools"]}
    assert pools[pool_sub["id"]]["network_id"] == ext["id"] and pools[pool_sub["id"]]["cidr"] == "198.51.100.0/24"
    assert inner_sub["id"] not in pools  # only subnets of external networks
    assert "floatingip-pools" in {e["alias"] for e in api("GET", "/v2.0/extensions").json()["extensions"]}
