"""Request-level errors: malformed bodies, wrong types, unknown and read-only attributes,
body size limit, unknown ids and names (404, never 500), unknown paths and methods, and a
stream of hostile input that must never crash the server."""
import json
import random

import pytest

from neutrino_api import BODY_KEY, expect_error, uniq

COLLECTIONS = {
    "networks": ("network", "NetworkNotFound"),
    "subnets": ("subnet", "SubnetNotFound"),
    "ports": ("port", "PortNotFound"),
    "security-groups": ("security_group", "SecurityGroupNotFound"),
    "security-group-rules": ("security_group_rule", "SecurityGroupRuleNotFound"),
}
MISSING = "0d5a7e2c-4f1b-4c3a-9e8d-7b6a5f4e3d21"


@pytest.mark.parametrize("body", [b"{", b"not json", b'{"network": {"name": "x",}}', b"\xff\xfe\x00",
                                  b'{"network": {"name": "x"}} trailing'])
def test_malformed_json(api, body):
    r = api("POST", "/v2.0/networks", data=body)
    expect_error(r, 400, "HTTPBadRequest")


@pytest.mark.parametrize("body,message", [
    (b"", "Resource body required"),
    (b"[]", None),
    (b'"network"', None),
    (b"{}", "Unable to find 'network' in request body"),
    (b'{"net": {}}', "Unable to find 'network' in request body"),
    (b'{"network": "x"}', None),
    (b'{"network": []}', None),
    (b'{"network": null}', None),
])
def test_wrong_body_shape(api, body, message):
    r = api("POST", "/v2.0/networks", data=body, headers={"Content-Type": "application/json"})
    expect_error(r, 400, "HTTPBadRequest", message)


def test_unknown_attribute(api):
    r = api("POST", "/v2.0/networks", json={"network": {"name": "x", "colour": "blue"}})
    err = expect_error(r, 400, "HTTPBadRequest")
    assert err["message"] == "Unrecognized attribute(s) 'colour'"
    net = api.network()
    r = api("PUT", f"/v2.0/networks/{net['id']}", json={"network": {"colour": "blue"}})
    expect_error(r, 400, "HTTPBadRequest", "Unrecognized attribute(s) 'colour'")
    r = api("POST", "/v2.0/ports", json={"port": {"network_id": net["id"], "flavour": "x"}})
    expect_error(r, 400, "HTTPBadRequest", "Unrecognized attribute(s) 'flavour'")


def test_read_only_attribute_in_post(api):
    r = api("POST", "/v2.0/networks", json={"network": {"status": "DOWN"}})
    err = expect_error(r, 400, "HTTPBadRequest")
    assert err["message"] == "Attribute 'status' not allowed in POST"
    net = api.network()
    r = api("POST", "/v2.0/ports", json={"port": {"network_id": net["id"], "binding:vif_type": "ovs"}})
    expect_error(r, 400, "HTTPBadRequest", "not allowed in POST")


def test_read_only_attribute_in_put(api):
    net, sub = api.net_with_subnet("10.130.0.0/24")
    r = api("PUT", f"/v2.0/subnets/{sub['id']}", json={"subnet": {"ip_version": 6}})
    err = expect_error(r, 400, "HTTPBadRequest")
    assert err["message"] == "Cannot update read-only attribute ip_version"


def test_missing_required_attribute(api):
    r = api("POST", "/v2.0/ports", json={"port": {"name": "x"}})
    err = expect_error(r, 400, "HTTPBadRequest")
    assert err["message"] == "Failed to parse request. Required attribute 'network_id' not specified"


@pytest.mark.parametrize("coll,attrs", [
    ("networks", {"admin_state_up": "yes please"}),
    ("networks", {"name": ["a"]}),
    ("networks", {"port_security_enabled": {}}),
    ("subnets", {"network_id": "not-a-uuid", "cidr": "10.0.0.0/24", "ip_version": 4}),
    ("subnets", {"network_id": MISSING, "cidr": "10.0.0.0/24", "ip_version": "four"}),
    ("subnets", {"network_id": MISSING, "cidr": 10, "ip_version": 4}),
    ("subnets", {"network_id": MISSING, "cidr": "10.0.0.0/24", "ip_version": 4, "enable_dhcp": "maybe"}),
    ("subnets", {"network_id": MISSING, "cidr": "10.0.0.0/24", "ip_version": 4, "dns_nameservers": "8.8.8.8"}),
    ("ports", {"network_id": MISSING, "admin_state_up": []}),
    ("ports", {"network_id": MISSING, "fixed_ips": [{"ip_address": 10}]}),
    ("ports", {"network_id": MISSING, "security_groups": "default"}),
    ("ports", {"network_id": MISSING, "binding:profile": "x"}),
    ("ports", {"network_id": MISSING, "allowed_address_pairs": {"ip_address": "10.0.0.1"}}),
    ("security-groups", {"name": {"x": 1}}),
    ("security-groups", {"stateful": "kind of"}),
    ("security-group-rules", {"security_group_id": MISSING, "direction": "ingress", "port_range_min": [1]}),
])
def test_wrong_types(api, coll, attrs):
    r = api("POST", f"/v2.0/{coll}", json={COLLECTIONS[coll][0]: attrs})
    expect_error(r, 400)
    assert "NeutronError" in r.json()


def test_body_size_limit(api):
    limit = 114688
    big = {"network": {"name": "x", "description": "d" * (limit + 10)}}
    r = api("POST", "/v2.0/networks", json=big)
    assert r.status_code == 413, r.text[:300]
    net = api.network()
    r = api("PUT", f"/v2.0/networks/{net['id']}", json=big)
    assert r.status_code == 413, r.text[:300]
    # just under the limit: judged on its content (a too-long description), not its size
    pad = limit - len(json.dumps({"network": {"description": ""}})) - 1
    r = api("POST", "/v2.0/networks", json={"network": {"description": "d" * pad}})
    expect_error(r, 400, "HTTPBadRequest")
    # and the server is still fine
    assert api("GET", "/v2.0/networks", params={"id": net["id"]}).status_code == 200


@pytest.mark.parametrize("coll", list(COLLECTIONS))
def test_unknown_id_is_404(api, coll):
    singular, etype = COLLECTIONS[coll]
    err = expect_error(api("GET", f"/v2.0/{coll}/{MISSING}"), 404, etype)
    assert MISSING in err["message"]
    expect_error(api("PUT", f"/v2.0/{coll}/{MISSING}", json={singular: {"description": "x"}}), 404)
    expect_error(api("DELETE", f"/v2.0/{coll}/{MISSING}"), 404, etype)


@pytest.mark.parametrize("ident", ["my-network", "default", "x" * 300, "%00", "...", "%E2%98%83", "1",
                                   MISSING.upper(), MISSING.replace("-", ""), "'; DROP TABLE networks; --"])
@pytest.mark.parametrize("coll", list(COLLECTIONS))
def test_unknown_name_is_404_never_500(api, coll, ident):
    r = api("GET", f"/v2.0/{coll}/{ident}")
    assert r.status_code in (400, 404), f"{coll}/{ident}: {r.status_code} {r.text[:200]}"
    assert r.status_code == 404 or ident == "%00"
    r = api("DELETE", f"/v2.0/{coll}/{ident}")
    assert r.status_code in (400, 404), f"{coll}/{ident}: {r.status_code} {r.text[:200]}"


def test_get_by_name_is_404_even_when_the_name_exists(api):
    net = api.network(name=uniq("named"))
    expect_error(api("GET", f"/v2.0/networks/{net['name']}"), 404, "NetworkNotFound")


def test_unknown_paths(api):
    for path in ("/v2.0/widgets", "/v2.0/networks/x/y/z", "/v3/networks", "/v2.0/networks/" + MISSING + "/tags/a/b"):
        r = api("GET", path)
        assert r.status_code == 404, f"{path}: {r.status_code} {r.text[:200]}"


def test_unsupported_methods(api):
    net = api.network()
    assert api("PATCH", f"/v2.0/networks/{net['id']}", json={"network": {}}).status_code == 405
    assert api("POST", f"/v2.0/networks/{net['id']}", json={"network": {}}).status_code == 405
    assert api("PUT", "/v2.0/networks", json={"network": {}}).status_code == 405
    assert api("DELETE", "/v2.0/networks").status_code == 405


def test_hostile_input_never_crashes(api, server):
    """Random and nasty bodies: any 4xx is fine, 5xx never, and the server stays up."""
    net, sub = api.net_with_subnet("10.131.0.0/24")
    rnd = random.Random(1234)
    values = [None, True, False, 0, -1, 2**31, 2**63, -2**63, 2**64, 1e308, -0.0, "", " ", "\u0000", "☃" * 10,
              "x" * 3000, [], [[]], {}, {"a": {"b": {"c": []}}}, [None] * 5, "10.0.0.0/8", "fa:16:3e:00:00:01",
              "::", "0.0.0.0/0", "255.255.255.255", MISSING, net["id"], sub["id"], "true", "1e9", "NaN"]
    attrs = {
        "network": ["name", "admin_state_up", "shared", "mtu", "provider:network_type", "provider:segmentation_id",
                    "provider:physical_network", "router:external", "tags", "port_security_enabled", "description"],
        "subnet": ["network_id", "cidr", "ip_version", "gateway_ip", "allocation_pools", "dns_nameservers",
                   "host_routes", "enable_dhcp", "ipv6_ra_mode", "ipv6_address_mode", "name"],
        "port": ["network_id", "fixed_ips", "mac_address", "security_groups", "allowed_address_pairs",
                 "extra_dhcp_opts", "binding:profile", "binding:host_id", "device_id", "port_security_enabled"],
        "security_group_rule": ["security_group_id", "direction", "protocol", "ethertype", "port_range_min",
                                "port_range_max", "remote_ip_prefix", "remote_group_id"],
    }
    paths = {"network": "networks", "subnet": "subnets", "port": "ports", "security_group_rule": "security-group-rules"}
    statuses = []
    for i in range(400):
        kind = rnd.choice(list(attrs))
        body = {a: rnd.choice(values) for a in rnd.sample(attrs[kind], rnd.randint(1, 4))}
        if kind == "subnet" and rnd.random() < 0.5:
            body.setdefault("network_id", net["id"])
        if kind == "port" and rnd.random() < 0.5:
            body["network_id"] = net["id"]
        if rnd.random() < 0.1:
            payload = {BODY_KEY[paths[kind]]: [body, body]}  # bulk
        else:
            payload = {kind: body}
        r = api("POST", f"/v2.0/{paths[kind]}", json=payload)
        statuses.append(r.status_code)
        assert r.status_code < 500, f"POST {paths[kind]} {payload!r:.300} -> {r.status_code} {r.text[:300]}"
        if r.status_code >= 400:
            assert "NeutronError" in r.json(), r.text[:300]
    # deep nesting and huge numbers in the JSON text itself
    for raw in (b"[" * 5000 + b"]" * 5000, b'{"network": {"mtu": 1' + b"0" * 400 + b"}}",
                b'{"network": {"name": "\\ud800"}}', b'{"network": {"name": "a", "name": "b"}}'):
        r = api("POST", "/v2.0/networks", data=raw)
        assert r.status_code < 500, f"{raw[:60]!r}: {r.status_code} {r.text[:200]}"
    assert server.alive()
    assert api("GET", "/v2.0/networks", params={"id": net["id"]}).status_code == 200
    assert any(s == 201 for s in statuses) and any(400 <= s < 500 for s in statuses)


def test_errors_have_neutron_shape(api):
    r = api("GET", f"/v2.0/networks/{MISSING}")
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert list(body) == ["NeutronError"]
    assert body["NeutronError"]["detail"] == ""
    assert body["NeutronError"]["message"] == f"Network {MISSING} could not be found."


def test_malformed_http_never_crashes(api, server):
    import socket

    nasty = [
        b"GARBAGE\r\n\r\n",
        b"GET /v2.0/networks HTTP/9.9\r\nHost: x\r\n\r\n",
        b"POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
        b"POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nxx\r\n0\r\n\r\n",
        b"GET /v2.0/networks HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n",
        b"GET /" + b"a/" * 50000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /v2.0/networks?" + b"name=x&" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"network\"",  # then hang up
    ]
    for raw in nasty:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            try:
                sock.sendall(raw)
                sock.shutdown(socket.SHUT_WR)
                reply = sock.recv(65536)
            except OSError:
                reply = b""
        if reply:
            status = int(reply.split(b" ", 2)[1])
            assert status < 500 or status in (501, 505), (raw[:60], reply[:200])
        assert server.alive(), f"server died on {raw[:60]!r}"
    assert api("GET", "/v2.0/networks", params={"limit": 1}).status_code == 200
