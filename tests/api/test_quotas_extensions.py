"""Quotas (show, update, defaults, details, delete, OverQuota), extensions and availability
zones, over raw HTTP and openstacksdk."""
import pytest

from neutrino_api import expect_error, uniq

DEFAULTS = {"network": 100, "subnet": 100, "port": 500, "security_group": 10, "security_group_rule": 100}


def test_quota_defaults(api, project):
    r = api("GET", f"/v2.0/quotas/{project}")
    assert r.status_code == 200, r.text
    q = r.json()["quota"]
    assert {k: q[k] for k in DEFAULTS} == DEFAULTS
    r = api("GET", f"/v2.0/quotas/{project}/default")
    assert r.status_code == 200 and {k: r.json()["quota"][k] for k in DEFAULTS} == DEFAULTS


def test_quota_update_show_delete(api, project):
    r = api("PUT", f"/v2.0/quotas/{project}", json={"quota": {"network": 3, "port": 7}})
    assert r.status_code == 200, r.text
    q = r.json()["quota"]
    assert q["network"] == 3 and q["port"] == 7 and q["subnet"] == 100
    assert api("GET", f"/v2.0/quotas/{project}").json()["quota"]["network"] == 3
    # defaults are unchanged, and listed quotas include this project
    assert api("GET", f"/v2.0/quotas/{project}/default").json()["quota"]["network"] == 100
    listed = api("GET", "/v2.0/quotas").json()["quotas"]
    mine = [q for q in listed if q.get("project_id") == project or q.get("tenant_id") == project]
    assert len(mine) == 1 and mine[0]["network"] == 3
    assert api("DELETE", f"/v2.0/quotas/{project}").status_code == 204
    assert api("GET", f"/v2.0/quotas/{project}").json()["quota"]["network"] == 100


def test_quota_details(api, project):
    net, _ = api.net_with_subnet("10.140.0.0/24")
    api.port(net["id"])
    api.port(net["id"])
    r = api("GET", f"/v2.0/quotas/{project}/details.json")
    assert r.status_code == 200, r.text
    d = r.json()["quota"]
    assert d["network"] == {"used": 1, "limit": 100, "reserved": 0}
    assert d["subnet"]["used"] == 1 and d["port"]["used"] == 2 and d["port"]["limit"] == 500
    assert d["security_group"]["used"] == 1  # the default group
    assert d["security_group_rule"]["used"] == 4


@pytest.mark.parametrize("body", [{"quota": {"network": "lots"}}, {"quota": {"widget": 5}},
                                  {"quota": {"network": -5}}, {"quota": "x"}, {"network": 5}])
def test_quota_bad_update(api, project, body):
    expect_error(api("PUT", f"/v2.0/quotas/{project}", json=body), 400)
    assert api("GET", f"/v2.0/quotas/{project}").json()["quota"]["network"] == 100


def test_quota_unlimited(api, project):
    r = api("PUT", f"/v2.0/quotas/{project}", json={"quota": {"network": -1}})
    assert r.status_code == 200 and r.json()["quota"]["network"] == -1


def test_non_admin_cannot_change_quotas(server, project):
    member = server.client(project=project, roles="member")
    r = member("GET", f"/v2.0/quotas/{project}")
    assert r.status_code == 200 and r.json()["quota"]["network"] == 100
    expect_error(member("PUT", f"/v2.0/quotas/{project}", json={"quota": {"network": 1000}}), 403)
    expect_error(member("DELETE", f"/v2.0/quotas/{project}"), 403)
    # another project's quota is not visible
    expect_error(member("GET", f"/v2.0/quotas/{uniq('other')}"), 403)


def test_over_quota_networks(api, project):
    api("PUT", f"/v2.0/quotas/{project}", json={"quota": {"network": 2}})
    api.network()
    api.network()
    err = expect_error(api("POST", "/v2.0/networks", json={"network": {}}), 409, "OverQuota")
    assert err["message"] == "Quota exceeded for resources: ['network']."
    # a bulk that would cross the limit creates nothing
    api("PUT", f"/v2.0/quotas/{project}", json={"quota": {"network": 3}})
    expect_error(api("POST", "/v2.0/networks", json={"networks": [{}, {}]}), 409, "OverQuota")
    assert len(api.list("networks", {"project_id": project})) == 2


def test_over_quota_ports_and_groups(api, project):
    net, _ = api.net_with_subnet("10.141.0.0/24")
    api("PUT", f"/v2.0/quotas/{project}", json={"quota": {"port": 1, "security_group": 2,
                                                           "security_group_rule": 7}})
    api.port(net["id"])
    expect_error(api("POST", "/v2.0/ports", json={"port": {"network_id": net["id"]}}), 409, "OverQuota")
    # default group (1) + one more = 2; its two egress rules make 4 + 2 = 6 rules
    sg = api.create("security-groups", name=uniq("sg"))
    expect_error(api("POST", "/v2.0/security-groups", json={"security_group": {"name": uniq("sg")}}),
                 409, "OverQuota")
    ok = api("POST", "/v2.0/security-group-rules", json={"security_group_rule": {
        "security_group_id": sg["id"], "direction": "ingress", "protocol": "tcp"}})
    assert ok.status_code == 201, ok.text
    over = api("POST", "/v2.0/security-group-rules", json={"security_group_rule": {
        "security_group_id": sg["id"], "direction": "ingress", "protocol": "udp"}})
    expect_error(over, 409, "OverQuota")


def test_quota_via_sdk(conn, project):
    q = conn.network.get_quota(project)
    assert q.networks == 100 and q.ports == 500
    conn.network.update_quota(project, networks=42)
    assert conn.network.get_quota(project).networks == 42
    d = conn.network.get_quota(project, details=True)
    assert d.networks["limit"] == 42 and d.networks["used"] == 0
    conn.network.delete_quota(project)
    assert conn.network.get_quota(project).networks == 100


# -- extensions and availability zones ----------------------------------------------

def test_extensions_document(api):
    r = api("GET", "/v2.0/extensions")
    assert r.status_code == 200
    exts = r.json()["extensions"]
    aliases = [e["alias"] for e in exts]
    assert len(aliases) == len(set(aliases))
    for e in exts:
        assert set(e) >= {"alias", "name", "description", "updated", "links"}, e
        assert e["name"] and isinstance(e["links"], list)
    for alias in ("external-net", "security-group", "standard-attr-tag", "pagination", "sorting", "quotas",
                  "revision-if-match", "filter-validation"):
        assert alias in aliases
        one = api("GET", f"/v2.0/extensions/{alias}")
        assert one.status_code == 200 and one.json()["extension"]["alias"] == alias
    expect_error(api("GET", "/v2.0/extensions/warp-drive"), 404)


def test_extensions_via_sdk(conn):
    aliases = {e.alias for e in conn.network.extensions()}
    assert {"provider", "external-net", "binding", "port-security"} <= aliases
    assert conn.network.find_extension("provider").alias == "provider"


def test_availability_zones(api):
    r = api("GET", "/v2.0/availability_zones")
    assert r.status_code == 200
    zones = r.json()["availability_zones"]
    assert zones and all(set(z) == {"name", "resource", "state"} for z in zones)
    assert any(z["resource"] == "network" and z["state"] == "available" for z in zones)
    r = api("GET", "/v2.0/availability_zones", params={"resource": "network"})
    assert r.status_code == 200 and all(z["resource"] == "network" for z in r.json()["availability_zones"])
    r = api("GET", "/v2.0/availability_zones", params={"state": "unavailable"})
    assert r.status_code == 200 and r.json()["availability_zones"] == []
