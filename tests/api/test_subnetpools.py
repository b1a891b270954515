"""Address scopes and subnet pools through the real openstack CLI (and raw HTTP where the
CLI cannot act as another project): pools with prefixes and an address scope, subnets
allocated from them by prefix length or from the default pool, growing a pool's prefixes,
networks showing their address scope, in-use deletes, visibility to other projects.

These run in the noauth default project on the shared server, with unique names and
prefixes, and delete what they create (a default pool is global: it is unset at the end).
"""
import ipaddress

import pytest

import neutrino_api
from neutrino_api import uniq

# The raw client's resource helpers, for the two collections of this file.
for _coll, _one in (("subnetpools", "subnetpool"), ("address-scopes", "address_scope")):
    neutrino_api.SINGULAR.setdefault(_coll, _one)
    neutrino_api.BODY_KEY.setdefault(_coll, _one.replace("-", "_") + "s")


def delete_quietly(osc, *args):
    osc.run(*args)


def test_address_scope_create_list_show_set_delete(osc):
    name = uniq("cli-scope")
    scope = osc("address", "scope", "create", "--ip-version", "6", name)
    assert scope["name"] == name and scope["ip_version"] == 6 and scope["shared"] is False
    assert scope["project_id"]
    listed = osc("address", "scope", "list")
    assert [(s["Name"], s["IP Version"]) for s in listed if s["ID"] == scope["id"]] == [(name, 6)]
    osc("address", "scope", "set", "--name", name + "-renamed", scope["id"], fmt=False)
    shown = osc("address", "scope", "show", scope["id"])
    assert shown["name"] == name + "-renamed" and shown["ip_version"] == 6
    osc("address", "scope", "delete", scope["id"], fmt=False)
    p = osc.fail("address", "scope", "show", scope["id"])
    assert "could not be found" in p.stderr or "No AddressScope" in p.stderr or "not found" in p.stderr.lower()


def test_subnet_pool_in_scope_allocates_subnets_by_prefix_length(osc):
    scope = osc("address", "scope", "create", "--ip-version", "4", uniq("cli-scope4"))
    pool = osc("subnet", "pool", "create", "--pool-prefix", "10.151.0.0/16", "--default-prefix-length", "24",
               "--address-scope", scope["id"], "--description", "cli pool", uniq("cli-pool"))
    net = osc("network", "create", uniq("cli-pool-net"))
    try:
        assert pool["prefixes"] == ["10.151.0.0/16"] and pool["ip_version"] == 4
        assert str(pool["default_prefixlen"]) == "24" and pool["address_scope_id"] == scope["id"]
        assert pool["is_default"] is False and pool["shared"] is False

        sub = osc("subnet", "create", "--network", net["id"], "--subnet-pool", pool["id"], "--prefix-length", "26",
                  uniq("cli-pool-sub"))
        cidr = ipaddress.ip_network(sub["cidr"])
        assert cidr.prefixlen == 26 and cidr.subnet_of(ipaddress.ip_network("10.151.0.0/16"))
        assert sub["subnetpool_id"] == pool["id"]
        assert sub["gateway_ip"] == str(cidr.network_address + 1)

        default_len = osc("subnet", "create", "--network", net["id"], "--subnet-pool", pool["id"], uniq("cli-pool-sub"))
        second = ipaddress.ip_network(default_len["cidr"])
        assert second.prefixlen == 24 and not second.overlaps(cidr)

        shown = osc("network", "show", net["id"])
        assert shown["ipv4_address_scope"] == scope["id"] and shown["ipv6_address_scope"] is None

        # In use: neither the pool nor the scope can go while subnets hold prefixes.
        p = osc.fail("subnet", "pool", "delete", pool["id"])
        assert "Subnet pool has existing allocations" in p.stderr
        p = osc.fail("address", "scope", "delete", scope["id"])
        assert "in use" in p.stderr
    finally:
        delete_quietly(osc, "network", "delete", net["id"])
        delete_quietly(osc, "subnet", "pool", "delete", pool["id"])
        delete_quietly(osc, "address", "scope", "delete", scope["id"])
    assert osc("subnet", "pool", "list", "--name", pool["name"]) == []


def test_subnet_pool_set_pool_prefix_adds_prefixes_and_exhaustion(osc):
    pool = osc("subnet", "pool", "create", "--pool-prefix", "10.152.0.0/24", "--default-prefix-length", "25",
               uniq("cli-pool"))
    net = osc("network", "create", uniq("cli-pool-net"))
    try:
        for _ in range(2):
            osc("subnet", "create", "--network", net["id"], "--subnet-pool", pool["id"], uniq("cli-sub"))
        p = osc.fail("subnet", "create", "--network", net["id"], "--subnet-pool", pool["id"], uniq("cli-sub"))
        assert "Insufficient prefix space to allocate subnet size /25" in p.stderr

        osc("subnet", "pool", "set", "--pool-prefix", "10.152.1.0/24", pool["id"], fmt=False)
        shown = osc("subnet", "pool", "show", pool["id"])
        assert shown["prefixes"] == ["10.152.0.0/23"]  # merged, as Neutron merges them
        sub = osc("subnet", "create", "--network", net["id"], "--subnet-pool", pool["id"], uniq("cli-sub"))
        assert ipaddress.ip_network(sub["cidr"]).subnet_of(ipaddress.ip_network("10.152.1.0/24"))

        # A specific CIDR must lie in the pool's free space.
        p = osc.fail("subnet", "create", "--network", net["id"], "--subnet-pool", pool["id"],
                     "--subnet-range", "10.153.0.0/24", uniq("cli-sub"))
        assert "Cannot allocate requested subnet" in p.stderr
        # The default prefix length must stay within the bounds.
        p = osc.fail("subnet", "pool", "set", "--min-prefix-length", "26", pool["id"])
        assert "Illegal prefix bounds: default_prefixlen=25, min_prefixlen=26." in p.stderr
    finally:
        delete_quietly(osc, "network", "delete", net["id"])
        delete_quietly(osc, "subnet", "pool", "delete", pool["id"])


def test_default_subnet_pool_serves_use_default_subnet_pool(osc):
    pool = osc("subnet", "pool", "create", "--pool-prefix", "10.154.0.0/16", "--default-prefix-length", "28",
               "--default", "--share", uniq("cli-default-pool"))
    net = osc("network", "create", uniq("cli-pool-net"))
    try:
        assert pool["is_default"] is True and pool["shared"] is True
        p = osc.fail("subnet", "pool", "create", "--pool-prefix", "10.155.0.0/16", "--default", uniq("cli-pool"))
        assert "A default subnetpool for this IP family has already been set" in p.stderr
        sub = osc("subnet", "create", "--network", net["id"], "--use-default-subnet-pool", "--ip-version", "4",
                  uniq("cli-sub"))
        assert sub["subnetpool_id"] == pool["id"]
        assert ipaddress.ip_network(sub["cidr"]).prefixlen == 28
        osc("subnet", "pool", "set", "--no-default", pool["id"], fmt=False)
        assert osc("subnet", "pool", "show", pool["id"])["is_default"] is False
        p = osc.fail("subnet", "create", "--network", net["id"], "--use-default-subnet-pool", "--ip-version", "4",
                     uniq("cli-sub"))
        assert "No default subnetpool found for IPv4" in p.stderr
    finally:
        osc.run("subnet", "pool", "set", "--no-default", pool["id"])
        delete_quietly(osc, "network", "delete", net["id"])
        delete_quietly(osc, "subnet", "pool", "delete", pool["id"])


def test_another_project_cannot_see_or_use_a_pool_unless_shared(server, project):
    alice = server.client(project=project, roles="member")
    bob = server.client(project=uniq("bob"), roles="member")
    pool = alice.create("subnetpools", name=uniq("alice-pool"), prefixes=["10.156.0.0/16"], default_prefixlen=24)
    scope = alice.create("address-scopes", name=uniq("alice-scope"), ip_version=4)
    try:
        assert bob("GET", f"/v2.0/subnetpools/{pool['id']}").status_code == 404
        assert pool["id"] not in {p["id"] for p in bob.list("subnetpools")}
        assert bob("GET", f"/v2.0/address-scopes/{scope['id']}").status_code == 404
        net = bob.create("networks", name=uniq("bob-net"))
        r = bob("POST", "/v2.0/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                          "subnetpool_id": pool["id"]}})
        assert r.status_code == 404 and r.json()["NeutronError"]["type"] == "SubnetPoolNotFound"
        # A member may not share a pool or make it the default.
        r = alice("POST", "/v2.0/subnetpools", json={"subnetpool": {"name": "x", "prefixes": ["10.157.0.0/16"],
                                                                    "shared": True}})
        assert r.status_code == 403
        # Bob's pool cannot join Alice's scope: he cannot see it.
        r = bob("POST", "/v2.0/subnetpools", json={"subnetpool": {"name": "x", "prefixes": ["10.158.0.0/16"],
                                                                  "address_scope_id": scope["id"]}})
        assert r.status_code == 404 and r.json()["NeutronError"]["type"] == "AddressScopeNotFound"
        bob.delete("networks", net["id"])
    finally:
        alice.delete("subnetpools", pool["id"])
        alice.delete("address-scopes", scope["id"])


def test_add_remove_prefixes_and_onboard(server, project):
    api = server.client(project=project, roles="member")
    pool = api.create("subnetpools", name=uniq("pool"), prefixes=["10.160.0.0/24"], default_prefixlen=26)
    net = api.create("networks", name=uniq("net"))
    try:
        r = api("PUT", f"/v2.0/subnetpools/{pool['id']}/add_prefixes", json={"prefixes": ["10.160.1.0/24"]})
        assert r.status_code == 200 and r.json() == {"prefixes": ["10.160.0.0/23"]}
        r = api("PUT", f"/v2.0/subnetpools/{pool['id']}/remove_prefixes", json={"prefixes": ["10.160.1.128/25"]})
        assert r.json() == {"prefixes": ["10.160.0.0/24", "10.160.1.0/25"]}
        plain = api.create("subnets", network_id=net["id"], ip_version=4, cidr="10.161.0.0/24")
        r = api("PUT", f"/v2.0/subnetpools/{pool['id']}/onboard_network_subnets", json={"network_id": net["id"]})
        assert r.status_code == 200 and r.json() == [{"id": plain["id"], "cidr": "10.161.0.0/24"}]
        assert api.show("subnets", plain["id"])["subnetpool_id"] == pool["id"]
        assert "10.161.0.0/24" in api.show("subnetpools", pool["id"])["prefixes"]
        r = api("PUT", f"/v2.0/subnetpools/{pool['id']}/remove_prefixes", json={"prefixes": ["10.161.0.0/24"]})
        assert r.status_code == 400 and r.json()["NeutronError"]["type"] == "IllegalSubnetPoolPrefixUpdate"
    finally:
        api.delete("networks", net["id"])
        api.delete("subnetpools", pool["id"])


@pytest.mark.parametrize("alias", ["address-scope", "subnet_allocation", "default-subnetpools",
                                   "subnetpool-prefix-ops", "subnet_onboard"])
def test_extensions_advertised(osc, alias):
    assert osc("extension", "show", alias)["alias"] == alias


def test_a_shared_pool_is_changed_only_by_its_owner(server, project):
    """A pool every project sees (shared) is still its owner's: another project's prefix
    operations are refused by Neutron's rules, as Neutron 21 refuses them."""
    admin = server.client()
    member = server.client(project=project, roles="member")
    pool = admin.create("subnetpools", name=uniq("shared-pool"), prefixes=["10.162.0.0/24", "10.163.0.0/24"],
                        default_prefixlen=26, shared=True)
    net = member.create("networks", name=uniq("net"))
    member.create("subnets", network_id=net["id"], ip_version=4, cidr="10.164.0.0/24")
    try:
        assert member("GET", f"/v2.0/subnetpools/{pool['id']}").status_code == 200
        for action, body, rule in (("remove_prefixes", {"prefixes": ["10.163.0.0/24"]}, "remove_prefixes"),
                                   ("add_prefixes", {"prefixes": ["10.165.0.0/24"]}, "add_prefixes"),
                                   ("onboard_network_subnets", {"network_id": net["id"]}, "onboard_network_subnets")):
            r = member("PUT", f"/v2.0/subnetpools/{pool['id']}/{action}", json=body)
            assert r.status_code == 403, r.text
            assert r.json()["NeutronError"]["message"] == f"rule:{rule} is disallowed by policy"
        assert admin.show("subnetpools", pool["id"])["prefixes"] == ["10.162.0.0/24", "10.163.0.0/24"]
    finally:
        member.delete("networks", net["id"])
        admin.delete("subnetpools", pool["id"])
