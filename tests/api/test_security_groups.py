"""Security groups and rules over raw HTTP: the default group, the egress rules of new
groups, rule validation, duplicates, in-use and default-group protections."""
import pytest

from neutrino_api import expect_error, uniq

MISSING = "5b0c3e0e-6f43-4c1d-8a5e-0f9d4a2b7c33"


def post_rule(api, sg_id, **attrs):
    attrs.setdefault("direction", "ingress")
    return api("POST", "/v2.0/security-group-rules", json={"security_group_rule": dict(security_group_id=sg_id,
                                                                                         **attrs)})


def test_default_group_is_created_once_per_project(api, project):
    groups = api.list("security-groups")
    default = [g for g in groups if g["name"] == "default" and g["project_id"] == project]
    assert len(default) == 1
    d = default[0]
    assert d["description"] == "Default security group" and d["stateful"] is True
    rules = d["security_group_rules"]
    assert len(rules) == 4
    shapes = sorted((r["direction"], r["ethertype"], r["remote_group_id"], r["protocol"], r["remote_ip_prefix"])
                    for r in rules)
    assert shapes == [("egress", "IPv4", None, None, None), ("egress", "IPv6", None, None, None),
                      ("ingress", "IPv4", d["id"], None, None), ("ingress", "IPv6", d["id"], None, None)]
    assert all(r["security_group_id"] == d["id"] and r["project_id"] == project for r in rules)
    # listing again, creating a network or port does not create a second one
    api.network()
    assert len([g for g in api.list("security-groups", {"project_id": project}) if g["name"] == "default"]) == 1
    # rules of the default group are listed in the rules collection too
    listed = api.list("security-group-rules", {"security_group_id": d["id"]})
    assert sorted(r["id"] for r in listed) == sorted(r["id"] for r in rules)


def test_new_group_gets_two_egress_rules(api, project):
    sg = api.create("security-groups", name=uniq("sg"), description="web")
    assert sg["description"] == "web" and sg["project_id"] == sg["tenant_id"] == project
    assert sg["stateful"] is True and sg["tags"] == []
    rules = sg["security_group_rules"]
    assert sorted((r["direction"], r["ethertype"], r["protocol"], r["remote_ip_prefix"], r["remote_group_id"],
                   r["port_range_min"], r["port_range_max"]) for r in rules) == [
        ("egress", "IPv4", None, None, None, None, None), ("egress", "IPv6", None, None, None, None, None)]
    assert api.show("security-groups", sg["id"]) == sg


def test_stateless_group(api):
    sg = api.create("security-groups", name=uniq("sg"), stateful=False)
    assert sg["stateful"] is False
    assert api.update("security-groups", sg["id"], stateful=True)["stateful"] is True


def test_rule_create_and_show(api):
    sg = api.create("security-groups", name=uniq("sg"))
    r = post_rule(api, sg["id"], protocol="tcp", port_range_min=80, port_range_max=443,
                  remote_ip_prefix="192.0.2.0/24", description="https")
    assert r.status_code == 201, r.text
    rule = r.json()["security_group_rule"]
    assert rule["direction"] == "ingress" and rule["ethertype"] == "IPv4" and rule["protocol"] == "tcp"
    assert (rule["port_range_min"], rule["port_range_max"]) == (80, 443)
    assert rule["remote_ip_prefix"] == "192.0.2.0/24" and rule["remote_group_id"] is None
    assert rule["description"] == "https" and rule["security_group_id"] == sg["id"]
    assert api.show("security-group-rules", rule["id"]) == rule
    after = api.show("security-groups", sg["id"])
    assert rule["id"] in {x["id"] for x in after["security_group_rules"]}
    assert after["revision_number"] > sg["revision_number"]
    api.delete("security-group-rules", rule["id"])
    expect_error(api("GET", f"/v2.0/security-group-rules/{rule['id']}"), 404, "SecurityGroupRuleNotFound")
    assert rule["id"] not in {x["id"] for x in api.show("security-groups", sg["id"])["security_group_rules"]}


def test_rule_variants(api):
    sg = api.create("security-groups", name=uniq("sg"))
    other = api.create("security-groups", name=uniq("sg"))
    ok = [
        dict(protocol="icmp", port_range_min=8, port_range_max=0),
        dict(protocol="udp", port_range_min=53, port_range_max=53, ethertype="IPv6", remote_ip_prefix="2001:db8::/32"),
        dict(protocol="6", port_range_min=22, port_range_max=22),
        dict(protocol="ipv6-icmp", ethertype="IPv6"),
        dict(protocol=None, direction="egress", remote_ip_prefix="198.51.100.0/24"),
        dict(protocol=None, remote_group_id=other["id"]),
        dict(protocol="sctp", port_range_min=1, port_range_max=64000),
        dict(protocol="gre"),
        dict(protocol="icmp", ethertype="ipv4", remote_ip_prefix="203.0.113.0/24"),
    ]
    for attrs in ok:
        r = post_rule(api, sg["id"], **attrs)
        assert r.status_code == 201, (attrs, r.text)
        rule = r.json()["security_group_rule"]
        for k in ("port_range_min", "port_range_max", "remote_group_id"):
            if k in attrs:
                assert rule[k] == attrs[k], (k, rule)
    shown = api.show("security-groups", sg["id"])
    assert len(shown["security_group_rules"]) == 2 + len(ok)


def test_remote_ip_prefix_normalised_cidr(api):
    sg = api.create("security-groups", name=uniq("sg"))
    r = post_rule(api, sg["id"], protocol="tcp", port_range_min=1, port_range_max=2, remote_ip_prefix="10.1.2.3/8")
    assert r.status_code == 201, r.text
    rule = r.json()["security_group_rule"]
    # Neutron keeps the prefix as given (older releases normalised it) and shows the network
    assert rule["remote_ip_prefix"] in ("10.1.2.3/8", "10.0.0.0/8")
    assert rule["normalized_cidr"] == "10.0.0.0/8"


@pytest.mark.parametrize("attrs,etype", [
    (dict(protocol="tcp", port_range_min=100, port_range_max=50), "SecurityGroupInvalidPortRange"),
    (dict(protocol="tcp", port_range_min=0, port_range_max=50), "SecurityGroupInvalidPortValue"),
    (dict(protocol="udp", port_range_min=1, port_range_max=65536), "SecurityGroupInvalidPortValue"),
    (dict(port_range_min=22, port_range_max=22), "SecurityGroupProtocolRequiredWithPorts"),
    (dict(protocol="teleport"), "SecurityGroupRuleInvalidProtocol"),
    (dict(protocol="256"), "SecurityGroupRuleInvalidProtocol"),
    (dict(protocol="icmp", port_range_min=256), "SecurityGroupInvalidIcmpValue"),
    (dict(protocol="icmp", port_range_max=0), "SecurityGroupMissingIcmpType"),
    (dict(remote_ip_prefix="10.0.0.0/8", remote_group_id="SELF"), "SecurityGroupMultipleRemoteEntites"),
    (dict(ethertype="IPv6", remote_ip_prefix="10.0.0.0/8"), "SecurityGroupRuleParameterConflict"),
    (dict(direction="sideways"), None),
    (dict(ethertype="IPv5"), None),
    (dict(remote_ip_prefix="10.0.0.0/40"), None),
    (dict(protocol="tcp", port_range_min="eighty", port_range_max=80), "SecurityGroupInvalidPortValue"),
])
def test_rule_validation(api, attrs, etype):
    sg = api.create("security-groups", name=uniq("sg"))
    attrs = {k: (sg["id"] if v == "SELF" else v) for k, v in attrs.items()}
    expect_error(post_rule(api, sg["id"], **attrs), 400, etype)
    assert len(api.show("security-groups", sg["id"])["security_group_rules"]) == 2


def test_rule_references_must_exist(api):
    sg = api.create("security-groups", name=uniq("sg"))
    expect_error(post_rule(api, MISSING, protocol="tcp"), 404, "SecurityGroupNotFound")
    expect_error(post_rule(api, sg["id"], remote_group_id=MISSING), 404, "SecurityGroupNotFound")
    r = api("POST", "/v2.0/security-group-rules", json={"security_group_rule": {"security_group_id": sg["id"]}})
    expect_error(r, 400, "HTTPBadRequest", "direction")


def test_duplicate_rule(api):
    sg = api.create("security-groups", name=uniq("sg"))
    first = post_rule(api, sg["id"], protocol="tcp", port_range_min=22, port_range_max=22,
                      remote_ip_prefix="10.0.0.0/8")
    assert first.status_code == 201
    rule_id = first.json()["security_group_rule"]["id"]
    again = post_rule(api, sg["id"], protocol="tcp", port_range_min=22, port_range_max=22,
                      remote_ip_prefix="10.0.0.0/8")
    err = expect_error(again, 409, "SecurityGroupRuleExists")
    assert err["message"] == f"Security group rule already exists. Rule id is {rule_id}."
    # the default egress rules cannot be duplicated either
    expect_error(post_rule(api, sg["id"], direction="egress", ethertype="IPv4"), 409, "SecurityGroupRuleExists")
    # a different description does not make a different rule
    again = post_rule(api, sg["id"], protocol="tcp", port_range_min=22, port_range_max=22,
                      remote_ip_prefix="10.0.0.0/8", description="other")
    expect_error(again, 409, "SecurityGroupRuleExists")


def test_duplicate_rule_spelled_differently(api):
    # Neutron compares rules by a normalised key (_rule_to_key): protocol name == number,
    # and a remote prefix of 0.0.0.0/0 or ::/0 == no prefix.
    sg = api.create("security-groups", name=uniq("sg"))
    assert post_rule(api, sg["id"], protocol="tcp", port_range_min=22, port_range_max=22).status_code == 201
    again = post_rule(api, sg["id"], protocol="6", port_range_min=22, port_range_max=22)
    expect_error(again, 409, "SecurityGroupRuleExists")


def test_duplicate_rule_any_prefix(api):
    sg = api.create("security-groups", name=uniq("sg"))
    again = post_rule(api, sg["id"], direction="egress", ethertype="IPv4", remote_ip_prefix="0.0.0.0/0")
    expect_error(again, 409, "SecurityGroupRuleExists")
    again = post_rule(api, sg["id"], direction="egress", ethertype="IPv6", remote_ip_prefix="::/0")
    expect_error(again, 409, "SecurityGroupRuleExists")


def test_group_named_default(api, project):
    expect_error(api("POST", "/v2.0/security-groups", json={"security_group": {"name": "default"}}),
                 409, "SecurityGroupDefaultAlreadyExists")
    sg = api.create("security-groups", name=uniq("sg"))
    expect_error(api("PUT", f"/v2.0/security-groups/{sg['id']}", json={"security_group": {"name": "default"}}),
                 409, "SecurityGroupDefaultAlreadyExists")


def test_default_group_protections(server, project):
    member = server.client(project=project, roles="member")
    default = [g for g in member.list("security-groups") if g["name"] == "default"]
    assert len(default) == 1
    d = default[0]
    r = member("PUT", f"/v2.0/security-groups/{d['id']}", json={"security_group": {"name": "not-default"}})
    expect_error(r, 409, "SecurityGroupCannotUpdateDefault")
    r = member("DELETE", f"/v2.0/security-groups/{d['id']}")
    expect_error(r, 409, "SecurityGroupCannotRemoveDefault")
    # the description may change
    assert member.update("security-groups", d["id"], description="mine")["description"] == "mine"


def test_group_in_use(api):
    net, _ = api.net_with_subnet("10.90.0.0/24")
    sg = api.create("security-groups", name=uniq("sg"))
    port = api.port(net["id"], security_groups=[sg["id"]])
    err = expect_error(api("DELETE", f"/v2.0/security-groups/{sg['id']}"), 409, "SecurityGroupInUse")
    assert sg["id"] in err["message"]
    api.update("ports", port["id"], security_groups=[])
    api.delete("security-groups", sg["id"])
    expect_error(api("GET", f"/v2.0/security-groups/{sg['id']}"), 404, "SecurityGroupNotFound")
    # rules of a deleted group are gone
    assert api.list("security-group-rules", {"security_group_id": sg["id"]}) == []


def test_group_referenced_as_remote_group_can_be_deleted_with_its_rules(api):
    a = api.create("security-groups", name=uniq("sg"))
    b = api.create("security-groups", name=uniq("sg"))
    rule = post_rule(api, a["id"], remote_group_id=b["id"]).json()["security_group_rule"]
    api.delete("security-groups", b["id"])
    # Neutron's foreign key cascades: the rule pointing at the deleted group goes too
    expect_error(api("GET", f"/v2.0/security-group-rules/{rule['id']}"), 404, "SecurityGroupRuleNotFound")


def test_rules_are_immutable(api):
    sg = api.create("security-groups", name=uniq("sg"))
    rule = sg["security_group_rules"][0]
    r = api("PUT", f"/v2.0/security-group-rules/{rule['id']}",
            json={"security_group_rule": {"protocol": "tcp"}})
    assert r.status_code in (400, 405), r.text
    assert api.show("security-group-rules", rule["id"])["protocol"] is None


def test_update_group(api):
    sg = api.create("security-groups", name=uniq("sg"))
    upd = api.update("security-groups", sg["id"], name=sg["name"] + "-x", description="changed")
    assert upd["name"] == sg["name"] + "-x" and upd["description"] == "changed"
    assert upd["revision_number"] > sg["revision_number"]
    r = api("PUT", f"/v2.0/security-groups/{sg['id']}", json={"security_group": {"security_group_rules": []}})
    expect_error(r, 400)


def test_bulk_rules(api):
    sg = api.create("security-groups", name=uniq("sg"))
    rule = {"security_group_id": sg["id"], "direction": "ingress", "protocol": "tcp",
            "port_range_min": 80, "port_range_max": 80}
    r = api("POST", "/v2.0/security-group-rules", json={"security_group_rules": [
        rule, dict(rule, port_range_min=443, port_range_max=443)]})
    assert r.status_code == 201, r.text
    assert len(r.json()["security_group_rules"]) == 2
    # a bulk whose second rule already exists creates nothing
    r = api("POST", "/v2.0/security-group-rules", json={"security_group_rules": [
        dict(rule, port_range_min=22, port_range_max=22), rule]})
    expect_error(r, 409, "SecurityGroupRuleExists")
    ports = sorted(x["port_range_min"] or 0 for x in api.show("security-groups", sg["id"])["security_group_rules"])
    assert ports == [0, 0, 80, 443]


def test_bulk_rules_duplicate_in_one_request(api):
    sg = api.create("security-groups", name=uniq("sg"))
    rule = {"security_group_id": sg["id"], "direction": "ingress", "protocol": "tcp",
            "port_range_min": 8080, "port_range_max": 8080}
    r = api("POST", "/v2.0/security-group-rules", json={"security_group_rules": [rule, dict(rule)]})
    expect_error(r, 409, "DuplicateSecurityGroupRuleInPost")  # an InUse in neutron
    assert len(api.show("security-groups", sg["id"])["security_group_rules"]) == 2
