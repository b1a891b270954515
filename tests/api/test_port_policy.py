"""Isolation on shared networks: Neutron 21's port policy (create_port:*, update_port:*,
get_port, delete_port) for the admin, the network's owner, a port's owner on someone else's
shared network, and any other project.

Project A owns a shared network (created for it by the admin, as only admins may share);
B, a member of another project, has a port on it; C is a third project. The expected
answers, including the exact PolicyNotAuthorized messages (Neutron prints the whole rule it
checked), were taken from a real Neutron 21 (Debian neutron-server 2:21.0.0, ML2, noauth
with the keystone context middleware) running the same requests.
"""
import pytest

from neutrino_api import expect_error, uniq

CIDR = "10.77.0.0/24"
GATEWAY = "10.77.0.1"


def denied(rule):
    return (403, "PolicyNotAuthorized", f"{rule} is disallowed by policy")


NOT_FOUND = (404, "PortNotFound", None)


@pytest.fixture
def world(server):
    ids = {k: uniq("pp" + k) for k in "ABC"}
    admin = server.client(project=uniq("ppadmin"), roles="admin")
    a, b, c = (server.client(project=ids[k], roles="member") for k in "ABC")
    net = admin.network(shared=True, project_id=ids["A"])
    sub = admin.subnet(net["id"], CIDR, project_id=ids["A"])
    assert sub["gateway_ip"] == GATEWAY
    return {"admin": admin, "A": a, "B": b, "C": c, "net": net, "sub": sub}


def ports_on(world):
    return world["admin"].list("ports", {"network_id": world["net"]["id"]})


# -- create ---------------------------------------------------------------------------------
# (case, attributes, what a non-owner of the network gets). Admin and network owner: 201.
CREATE = [
    ("mac", lambda w: {"mac_address": "fa:16:3e:77:00:01"},
     denied("(rule:create_port and rule:create_port:mac_address)")),
    ("fixed ip", lambda w: {"fixed_ips": [{"ip_address": "10.77.0.50"}]},
     denied("(rule:create_port and (rule:create_port:fixed_ips and (rule:create_port:fixed_ips:ip_address)))")),
    ("fixed subnet and ip", lambda w: {"fixed_ips": [{"subnet_id": w["sub"]["id"], "ip_address": "10.77.0.50"}]},
     denied("(rule:create_port and (rule:create_port:fixed_ips and (rule:create_port:fixed_ips:subnet_id and "
            "rule:create_port:fixed_ips:ip_address)))")),
    ("fixed subnet only", lambda w: {"fixed_ips": [{"subnet_id": w["sub"]["id"]}]}, (201, None, None)),
    ("no fixed ips", lambda w: {"fixed_ips": []}, (201, None, None)),
    ("port security off", lambda w: {"port_security_enabled": False},
     denied("(rule:create_port and rule:create_port:port_security_enabled)")),
    ("port security on", lambda w: {"port_security_enabled": True},
     denied("(rule:create_port and rule:create_port:port_security_enabled)")),
    ("address pair any", lambda w: {"allowed_address_pairs": [{"ip_address": "0.0.0.0/0"}]},
     denied("(rule:create_port and (rule:create_port:allowed_address_pairs and "
            "(rule:create_port:allowed_address_pairs:ip_address)))")),
    ("address pair with mac", lambda w: {"allowed_address_pairs": [{"ip_address": "10.77.0.9",
                                                                     "mac_address": "fa:16:3e:77:00:09"}]},
     denied("(rule:create_port and (rule:create_port:allowed_address_pairs and "
            "(rule:create_port:allowed_address_pairs:ip_address and rule:create_port:allowed_address_pairs:mac_address)))")),
    ("no address pairs", lambda w: {"allowed_address_pairs": []},
     denied("(rule:create_port and rule:create_port:allowed_address_pairs)")),
    ("router interface owner", lambda w: {"device_owner": "network:router_interface", "device_id": "made-up"},
     denied("(rule:create_port and rule:create_port:device_owner)")),
    ("dhcp owner", lambda w: {"device_owner": "network:dhcp"},
     denied("(rule:create_port and rule:create_port:device_owner)")),
    ("compute owner", lambda w: {"device_owner": "compute:nova"}, (201, None, None)),
    ("vnic type", lambda w: {"binding:vnic_type": "direct"}, (201, None, None)),
    ("mac and fixed ip", lambda w: {"mac_address": "fa:16:3e:77:00:02", "fixed_ips": [{"ip_address": "10.77.0.2"}]},
     denied("((rule:create_port and rule:create_port:mac_address) and "
            "(rule:create_port:fixed_ips and (rule:create_port:fixed_ips:ip_address)))")),
    ("address pair and port security",
     lambda w: {"port_security_enabled": True, "allowed_address_pairs": [{"ip_address": "10.77.0.3"}]},
     denied("((rule:create_port and (rule:create_port:allowed_address_pairs and "
            "(rule:create_port:allowed_address_pairs:ip_address))) and rule:create_port:port_security_enabled)")),
    # Neutron's message is "(rule:create_port and rule:create_port:binding:host_id)"; the generic
    # admin-only check words it differently, so only status and type are checked here.
    ("binding host", lambda w: {"binding:host_id": "host1"}, (403, "PolicyNotAuthorized", None)),
]


def check_created(r, attrs):
    assert r.status_code == 201, r.text
    port = r.json()["port"]
    for k, v in attrs.items():
        if k == "fixed_ips":
            for want, got in zip(v, port["fixed_ips"]):
                assert {k2: got[k2] for k2 in want} == want
            assert len(port["fixed_ips"]) == len(v) or not v and port["fixed_ips"] == []
        elif k == "allowed_address_pairs":
            assert [p["ip_address"] for p in port[k]] == [p["ip_address"] for p in v]
        elif k != "binding:host_id":
            assert port[k] == v, (k, port[k])
    return port


@pytest.mark.parametrize("case,attrs,other", CREATE, ids=[c[0] for c in CREATE])
@pytest.mark.parametrize("caller", ["admin", "A", "B"])
def test_create_port(world, case, attrs, other, caller):
    attrs = attrs(world)
    before = {p["id"] for p in ports_on(world)}
    r = world[caller]("POST", "/v2.0/ports", json={"port": dict(network_id=world["net"]["id"], **attrs)})
    status, etype, message = (201, None, None) if caller == "admin" else other
    if caller == "A" and case != "binding host":
        status, etype, message = 201, None, None
    if status == 201:
        port = check_created(r, attrs)
        assert port["project_id"] == world[caller].project
    else:
        err = expect_error(r, status, etype)
        if message:
            assert err["message"] == message
        assert {p["id"] for p in ports_on(world)} == before, "a refused create left a port behind"


def test_private_network_stays_invisible(world):
    private = world["A"].network()
    body = {"port": {"network_id": private["id"], "mac_address": "fa:16:3e:77:00:03"}}
    expect_error(world["B"]("POST", "/v2.0/ports", json=body), 404, "NetworkNotFound")


# -- read, update, delete of B's port on A's network ------------------------------------------
@pytest.fixture
def b_port(world):
    return world["B"].port(world["net"]["id"])


@pytest.mark.parametrize("caller,expected", [("admin", 200), ("A", 200), ("B", 200), ("C", 404)])
def test_get_and_list(world, b_port, caller, expected):
    client = world[caller]
    r = client("GET", f"/v2.0/ports/{b_port['id']}")
    if expected == 404:
        expect_error(r, 404, "PortNotFound", b_port["id"])
    else:
        assert r.status_code == 200 and r.json()["port"]["id"] == b_port["id"]
        if caller != "admin":
            assert "binding:host_id" not in r.json()["port"]
    listed = {p["id"] for p in client.list("ports")}
    assert (b_port["id"] in listed) == (expected == 200)
    by_net = {p["id"] for p in client.list("ports", {"network_id": world["net"]["id"]})}
    assert (b_port["id"] in by_net) == (expected == 200)


def test_list_of_network_owner_has_only_its_networks_foreign_ports(world, b_port):
    elsewhere = world["admin"].network(shared=True)
    world["admin"].subnet(elsewhere["id"], "10.78.0.0/24")
    foreign = world["B"].port(elsewhere["id"])
    listed = {p["id"] for p in world["A"].list("ports")}
    assert b_port["id"] in listed and foreign["id"] not in listed
    expect_error(world["A"]("GET", f"/v2.0/ports/{foreign['id']}"), 404, "PortNotFound")


def up(rule):
    return denied(f"(rule:update_port and {rule})")


# (case, attributes, answers for A = network owner, B = port owner). Admin: 200; C: 404.
UPDATE = [
    ("name", lambda w: {"name": "renamed"}, denied("rule:update_port"), (200, None, None)),
    ("mac", lambda w: {"mac_address": "fa:16:3e:77:00:11"},
     up("rule:update_port:mac_address"), up("rule:update_port:mac_address")),
    ("fixed subnet", lambda w: {"fixed_ips": [{"subnet_id": w["sub"]["id"]}]},
     up("(rule:update_port:fixed_ips and (rule:update_port:fixed_ips:subnet_id))"),
     up("(rule:update_port:fixed_ips and (rule:update_port:fixed_ips:subnet_id))")),
    ("fixed ip", lambda w: {"fixed_ips": [{"ip_address": "10.77.0.60"}]},
     up("(rule:update_port:fixed_ips and (rule:update_port:fixed_ips:ip_address))"),
     up("(rule:update_port:fixed_ips and (rule:update_port:fixed_ips:ip_address))")),
    ("no fixed ips", lambda w: {"fixed_ips": []},
     up("rule:update_port:fixed_ips"), up("rule:update_port:fixed_ips")),
    ("port security", lambda w: {"port_security_enabled": True},
     up("rule:update_port:port_security_enabled"), up("rule:update_port:port_security_enabled")),
    ("no address pairs", lambda w: {"allowed_address_pairs": []},
     up("rule:update_port:allowed_address_pairs"), up("rule:update_port:allowed_address_pairs")),
    ("address pair", lambda w: {"allowed_address_pairs": [{"ip_address": "10.77.0.70"}]},
     up("(rule:update_port:allowed_address_pairs and (rule:update_port:allowed_address_pairs:ip_address))"),
     up("(rule:update_port:allowed_address_pairs and (rule:update_port:allowed_address_pairs:ip_address))")),
    ("router interface owner", lambda w: {"device_owner": "network:router_interface"},
     up("rule:update_port:device_owner"), up("rule:update_port:device_owner")),
    ("compute owner", lambda w: {"device_owner": "compute:nova"},
     up("rule:update_port:device_owner"), (200, None, None)),
    ("vnic type", lambda w: {"binding:vnic_type": "normal"},
     up("rule:update_port:binding:vnic_type"), (200, None, None)),
    ("empty", lambda w: {}, denied("rule:update_port"), (200, None, None)),
    # The body is validated before policy is enforced.
    ("unknown attribute", lambda w: {"foo": 1},
     (400, "HTTPBadRequest", "Unrecognized attribute(s) 'foo'"),
     (400, "HTTPBadRequest", "Unrecognized attribute(s) 'foo'")),
]


@pytest.mark.parametrize("case,attrs,net_owner,port_owner", UPDATE, ids=[u[0] for u in UPDATE])
@pytest.mark.parametrize("caller", ["admin", "A", "B", "C"])
def test_update_foreign_port(world, b_port, case, attrs, net_owner, port_owner, caller):
    attrs = attrs(world)
    r = world[caller]("PUT", f"/v2.0/ports/{b_port['id']}", json={"port": attrs})
    expected = {"admin": (200, None, None), "A": net_owner, "B": port_owner, "C": NOT_FOUND}[caller]
    if caller == "admin" and case == "unknown attribute":
        expected = port_owner  # validated before policy: 400 for everyone who sees the port
    if caller == "admin" and case == "no fixed ips":
        # allowed by policy; the port has security groups, so it must keep an IP
        expected = (400, "PortSecurityAndIPRequiredForSecurityGroups", None)
    if caller == "C" and case == "unknown attribute":
        expected = port_owner  # validated before the port is looked up, as Neutron does
    after = world["admin"].show("ports", b_port["id"])
    if expected[0] == 200:
        assert r.status_code == 200, r.text
        for k, v in attrs.items():
            if k == "fixed_ips":
                assert len(after["fixed_ips"]) == len(v)
            elif k == "allowed_address_pairs":
                assert [p["ip_address"] for p in after[k]] == [p["ip_address"] for p in v]
            else:
                assert after[k] == v
    else:
        err = expect_error(r, expected[0], expected[1])
        if expected[2]:
            assert err["message"] == expected[2]
        if expected is NOT_FOUND:
            assert b_port["id"] in err["message"]
        assert after["revision_number"] == b_port["revision_number"], "a refused update changed the port"


# Network owner on its own port: everything but the MAC (admin only).
OWN = [
    ("name", {"name": "renamed"}, None),
    ("mac", {"mac_address": "fa:16:3e:77:00:21"}, "(rule:update_port and rule:update_port:mac_address)"),
    ("fixed ip", {"fixed_ips": [{"ip_address": "10.77.0.80"}]}, None),
    ("port security", {"port_security_enabled": True}, None),
    ("router interface owner", {"device_owner": "network:router_interface"}, None),
]


@pytest.mark.parametrize("case,attrs,message", OWN, ids=[o[0] for o in OWN])
def test_network_owner_updates_own_port(world, case, attrs, message):
    port = world["A"].port(world["net"]["id"])
    r = world["A"]("PUT", f"/v2.0/ports/{port['id']}", json={"port": attrs})
    if message is None:
        assert r.status_code == 200, r.text
        got = r.json()["port"]
        if "fixed_ips" in attrs:
            assert [f["ip_address"] for f in got["fixed_ips"]] == ["10.77.0.80"]
        else:
            assert all(got[k] == v for k, v in attrs.items())
    else:
        assert expect_error(r, 403, "PolicyNotAuthorized")["message"] == message + " is disallowed by policy"


def test_admin_may_set_anything(world, b_port):
    got = world["admin"].update("ports", b_port["id"], mac_address="fa:16:3e:77:00:31",
                                fixed_ips=[{"ip_address": "10.77.0.90"}],
                                device_owner="compute:nova")
    assert got["mac_address"] == "fa:16:3e:77:00:31"
    assert [f["ip_address"] for f in got["fixed_ips"]] == ["10.77.0.90"]


@pytest.mark.parametrize("caller,expected", [("C", 404), ("admin", 204), ("A", 204), ("B", 204)])
def test_delete_foreign_port(world, b_port, caller, expected):
    r = world[caller]("DELETE", f"/v2.0/ports/{b_port['id']}")
    if expected == 404:
        expect_error(r, 404, "PortNotFound", b_port["id"])
        assert world["admin"].show("ports", b_port["id"])["id"] == b_port["id"]
    else:
        assert r.status_code == 204, r.text
        expect_error(world["admin"]("GET", f"/v2.0/ports/{b_port['id']}"), 404, "PortNotFound")


def test_port_owner_cannot_delete_network_owners_port(world):
    port = world["A"].port(world["net"]["id"])
    expect_error(world["B"]("DELETE", f"/v2.0/ports/{port['id']}"), 404, "PortNotFound")
    assert world["A"].show("ports", port["id"])["id"] == port["id"]


# -- the attack run's scenarios ----------------------------------------------------------------
def test_b_cannot_take_the_gateway_and_a_adds_its_router(world):
    b, a = world["B"], world["A"]
    r = b("POST", "/v2.0/ports", json={"port": {"network_id": world["net"]["id"],
                                                "fixed_ips": [{"ip_address": GATEWAY}]}})
    expect_error(r, 403, "PolicyNotAuthorized")
    r = b("POST", "/v2.0/ports", json={"port": {"network_id": world["net"]["id"], "fixed_ips": [
        {"subnet_id": world["sub"]["id"], "ip_address": GATEWAY}]}})
    expect_error(r, 403, "PolicyNotAuthorized")
    router = a.router()
    a.add_interface(router["id"], subnet_id=world["sub"]["id"])
    [iface] = a.router_ports(router["id"])
    assert [f["ip_address"] for f in iface["fixed_ips"]] == [GATEWAY]


def test_b_cannot_plant_an_undeletable_router_port(world):
    b = world["B"]
    r = b("POST", "/v2.0/ports", json={"port": {"network_id": world["net"]["id"],
                                                "device_owner": "network:router_interface",
                                                "device_id": "00000000-0000-0000-0000-000000000000"}})
    expect_error(r, 403, "PolicyNotAuthorized")
    port = b.port(world["net"]["id"])
    r = b("PUT", f"/v2.0/ports/{port['id']}", json={"port": {"device_owner": "network:router_interface"}})
    expect_error(r, 403, "PolicyNotAuthorized")
    assert all(not p["device_owner"].startswith("network:") for p in ports_on(world))


def test_b_cannot_spoof(world):
    b = world["B"]
    victim = world["A"].port(world["net"]["id"])
    for attrs in ({"mac_address": victim["mac_address"]}, {"port_security_enabled": False},
                  {"allowed_address_pairs": [{"ip_address": "0.0.0.0/0"}]}):
        r = b("POST", "/v2.0/ports", json={"port": dict(network_id=world["net"]["id"], **attrs)})
        expect_error(r, 403, "PolicyNotAuthorized")
    own = b.port(world["net"]["id"])
    assert own["port_security_enabled"] is True
    for attrs in ({"mac_address": victim["mac_address"]}, {"port_security_enabled": False},
                  {"allowed_address_pairs": [{"ip_address": "0.0.0.0/0"}]}):
        expect_error(b("PUT", f"/v2.0/ports/{own['id']}", json={"port": attrs}), 403, "PolicyNotAuthorized")
    assert world["admin"].show("ports", own["id"])["revision_number"] == own["revision_number"]


def test_a_sees_and_deletes_bs_port_then_its_network(world, b_port):
    a, net = world["A"], world["net"]
    assert b_port["id"] in {p["id"] for p in a.list("ports", {"network_id": net["id"]})}
    expect_error(a("DELETE", f"/v2.0/networks/{net['id']}"), 409, "NetworkInUse")
    a.delete("ports", b_port["id"])
    a.delete("networks", net["id"])
    expect_error(world["admin"]("GET", f"/v2.0/networks/{net['id']}"), 404, "NetworkNotFound")
