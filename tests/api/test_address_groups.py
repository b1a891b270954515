"""Address groups (address-group) and security group rules whose remote end is one
(security-groups-remote-address-group), through the real openstack CLI, and raw HTTP where
the CLI cannot show what is checked (another project, the exact error types).

These run in the noauth default project on the shared server, with unique names, and
delete what they create.
"""
import pytest

import neutrino_api
from neutrino_api import uniq

neutrino_api.SINGULAR.setdefault("address-groups", "address_group")
neutrino_api.BODY_KEY.setdefault("address-groups", "address_groups")


def test_address_group_create_show_list_set_unset_delete(osc):
    name = uniq("cli-ag")
    group = osc("address", "group", "create", "--address", "10.171.0.1/24", "--address", "10.172.0.9",
                "--description", "web servers", name)
    assert group["name"] == name and group["description"] == "web servers"
    # Normalised as Neutron does: host bits dropped, a bare address is a /32.
    assert sorted(group["addresses"]) == ["10.171.0.0/24", "10.172.0.9/32"]
    try:
        listed = osc("address", "group", "list", "--name", name)
        assert [row["ID"] for row in listed] == [group["id"]]
        osc("address", "group", "set", "--address", "2001:db8:171::1/64", "--name", name + "-renamed",
            group["id"], fmt=False)
        shown = osc("address", "group", "show", group["id"])
        assert shown["name"] == name + "-renamed"
        assert sorted(shown["addresses"]) == ["10.171.0.0/24", "10.172.0.9/32", "2001:db8:171::/64"]
        osc("address", "group", "unset", "--address", "10.171.0.0/24", group["id"], fmt=False)
        shown = osc("address", "group", "show", group["id"])
        assert sorted(shown["addresses"]) == ["10.172.0.9/32", "2001:db8:171::/64"]
        # Adding an address already there, or removing one that is not, is an error.
        p = osc.fail("address", "group", "set", "--address", "10.172.0.9", group["id"])
        assert "already exist in the address group" in p.stderr
        p = osc.fail("address", "group", "unset", "--address", "10.173.0.0/16", group["id"])
        assert "not found in the address group" in p.stderr
    finally:
        osc("address", "group", "delete", group["id"], fmt=False)
    p = osc.fail("address", "group", "show", group["id"])
    assert "could not be found" in p.stderr or "no addressgroup" in p.stderr.lower() or "not found" in p.stderr.lower()


def test_rule_with_remote_address_group_and_in_use_delete(osc):
    group = osc("address", "group", "create", "--address", "10.174.0.0/16", uniq("cli-ag-rule"))
    sg = osc("security", "group", "create", uniq("cli-ag-sg"))
    try:
        rule = osc("security", "group", "rule", "create", "--ingress", "--protocol", "tcp", "--dst-port", "443",
                   "--remote-address-group", group["name"], sg["id"])
        assert rule["remote_address_group_id"] == group["id"]
        assert rule["remote_ip_prefix"] is None and rule["remote_group_id"] is None
        assert rule["port_range_min"] == 443 and rule["port_range_max"] == 443
        shown = osc("security", "group", "rule", "show", rule["id"])
        assert shown["remote_address_group_id"] == group["id"]
        # The group is in use while a rule names it.
        p = osc.fail("address", "group", "delete", group["id"])
        assert "in use" in p.stderr
        osc("security", "group", "rule", "delete", rule["id"], fmt=False)
        osc("address", "group", "delete", group["id"], fmt=False)
        group = None
    finally:
        osc.run("security", "group", "delete", sg["id"])
        if group:
            osc.run("address", "group", "delete", group["id"])


def test_rule_refuses_missing_group_and_two_remotes(server, project):
    api = server.client(project=project, roles="member")
    group = api.create("address-groups", name=uniq("ag"), addresses=["10.175.0.0/24"])
    sg = api.create("security-groups", name=uniq("sg"))
    try:
        def rule(**extra):
            return api("POST", "/v2.0/security-group-rules", json={"security_group_rule": dict(
                {"security_group_id": sg["id"], "direction": "ingress"}, **extra)})

        r = rule(remote_address_group_id="00000000-0000-0000-0000-000000000000")
        assert r.status_code == 404 and r.json()["NeutronError"]["type"] == "AddressGroupNotFound"
        r = rule(remote_address_group_id=group["id"], remote_ip_prefix="10.0.0.0/8")
        assert r.status_code == 400 and r.json()["NeutronError"]["type"] == "SecurityGroupMultipleRemoteEntites"
        r = rule(remote_address_group_id=group["id"], remote_group_id=sg["id"])
        assert r.status_code == 400 and r.json()["NeutronError"]["type"] == "SecurityGroupMultipleRemoteEntites"
        made = rule(remote_address_group_id=group["id"])
        assert made.status_code == 201
        listed = api.list("security-group-rules", params={"remote_address_group_id": group["id"]})
        assert [x["id"] for x in listed] == [made.json()["security_group_rule"]["id"]]
        r = api("DELETE", f"/v2.0/address-groups/{group['id']}")
        assert r.status_code == 409 and r.json()["NeutronError"]["type"] == "AddressGroupInUse"
        # Deleting the security group takes its rules: the address group is free again.
        api.delete("security-groups", sg["id"])
        sg = None
    finally:
        if sg:
            api.delete("security-groups", sg["id"])
        api.delete("address-groups", group["id"])


def test_other_project_cannot_see_edit_or_use_a_group(server, project):
    alice = server.client(project=project, roles="member")
    bob = server.client(project=uniq("bob"), roles="member")
    group = alice.create("address-groups", name=uniq("alice-ag"), addresses=["10.176.0.0/24"])
    bob_sg = bob.create("security-groups", name=uniq("bob-sg"))
    try:
        assert bob("GET", f"/v2.0/address-groups/{group['id']}").status_code == 404
        assert group["id"] not in {g["id"] for g in bob.list("address-groups")}
        r = bob("PUT", f"/v2.0/address-groups/{group['id']}/add_addresses", json={"addresses": ["10.177.0.0/24"]})
        assert r.status_code == 404 and r.json()["NeutronError"]["type"] == "AddressGroupNotFound"
        r = bob("POST", "/v2.0/security-group-rules", json={"security_group_rule": {
            "security_group_id": bob_sg["id"], "direction": "ingress", "remote_address_group_id": group["id"]}})
        assert r.status_code == 404 and r.json()["NeutronError"]["type"] == "AddressGroupNotFound"
        assert bob("DELETE", f"/v2.0/address-groups/{group['id']}").status_code == 404
        assert alice.show("address-groups", group["id"])["addresses"] == ["10.176.0.0/24"]
    finally:
        bob.delete("security-groups", bob_sg["id"])
        alice.delete("address-groups", group["id"])


def test_actions_answer_the_whole_group(server, project):
    api = server.client(project=project, roles="member")
    group = api.create("address-groups", name=uniq("ag"))
    try:
        assert group["addresses"] == [] and "shared" not in group and "revision_number" not in group
        r = api("PUT", f"/v2.0/address-groups/{group['id']}/add_addresses",
                json={"addresses": ["10.178.0.7/24", "10.178.0.8/24", "10.179.0.1"]})
        body = r.json()["address_group"]
        assert r.status_code == 200 and body["addresses"] == ["10.178.0.0/24", "10.179.0.1/32"]
        # As Neutron's object: the hidden attributes too.
        assert body["shared"] is False and body["revision_number"] == 2
        r = api("PUT", f"/v2.0/address-groups/{group['id']}/remove_addresses", json={"addresses": ["10.180.0.0/24"]})
        assert r.status_code == 404 and r.json()["NeutronError"]["type"] == "AddressesNotFound"
        r = api("PUT", f"/v2.0/address-groups/{group['id']}/add_addresses", json={"addresses": ["nonsense"]})
        assert r.status_code == 400 and r.json()["NeutronError"]["type"] == "AddrFormatError"
        r = api("PUT", f"/v2.0/address-groups/{group['id']}", json={"address_group": {"addresses": []}})
        assert r.status_code == 400
    finally:
        api.delete("address-groups", group["id"])


def test_a_group_shared_by_rbac_is_changed_only_by_its_owner(server, project):
    alice = server.client(project=project, roles="member")
    bob_project = uniq("bob")
    bob = server.client(project=bob_project, roles="member")
    group = alice.create("address-groups", name=uniq("shared-ag"), addresses=["10.178.0.0/24"])
    policy = alice("POST", "/v2.0/rbac-policies", json={"rbac_policy": {
        "object_type": "address_group", "object_id": group["id"], "action": "access_as_shared",
        "target_tenant": bob_project}})
    assert policy.status_code == 201, policy.text
    try:
        assert bob("GET", f"/v2.0/address-groups/{group['id']}").status_code == 200
        for action in ("add_addresses", "remove_addresses"):
            r = bob("PUT", f"/v2.0/address-groups/{group['id']}/{action}", json={"addresses": ["10.178.0.0/24"]})
            assert r.status_code == 403 and r.json()["NeutronError"]["type"] == "PolicyNotAuthorized", r.text
        assert alice.show("address-groups", group["id"])["addresses"] == ["10.178.0.0/24"]
    finally:
        alice("DELETE", f"/v2.0/rbac-policies/{policy.json()['rbac_policy']['id']}")
        alice.delete("address-groups", group["id"])


@pytest.mark.parametrize("alias", ["address-group", "security-groups-remote-address-group"])
def test_extensions_advertised(osc, alias):
    assert osc("extension", "show", alias)["alias"] == alias
