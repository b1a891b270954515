"""Steps for address groups (address-group) and security group rules whose remote end is
one (security-groups-remote-address-group): the resource, its add_addresses and
remove_addresses actions with their errors, rules naming groups, in-use deletes.
Self-contained: every id starts with "ag", and the last steps delete what the first ones
made. A group created with several addresses is compared by keys only: Neutron stores
them from a Python set, so their order is random there."""
from scenarios import A, ADMIN, B, bad_values, read_steps, step, write_steps

ZERO = "00000000-0000-0000-0000-000000000000"
AG = "/v2.0/address-groups"
RULES = "/v2.0/security-group-rules"


def group(**attrs):
    return {"address_group": attrs}


def addresses(*items):
    return {"addresses": list(items)}


def rule(**extra):
    return {"security_group_rule": dict({"security_group_id": "$agsg", "direction": "ingress"}, **extra)}


def creates():
    bad = {
        "no-slash": ["10.0.0.1"], "v6-no-slash": ["2001:db8::1"], "not-ip": ["x"], "leading-zero": ["010.0.0.1/24"],
        "prefix-too-long": ["10.0.0.0/33"], "number": [1], "duplicate": ["10.0.0.0/24", "10.0.0.0/24"],
        "not-list": "10.0.0.0/24", "object": {"a": 1},
    }
    s = [
        step("ag.create", "POST", AG, group(name="cmp-ag", description="made here", addresses=["10.80.0.1/16"]),
             save={"ag": "address_group.id"}),
        step("ag.create.empty", "POST", AG, group(name="cmp-ag-empty"), save={"ag_empty": "address_group.id"}),
        step("ag.create.null-addresses", "POST", AG, group(name="cmp-ag-null", addresses=None),
             save={"ag_null": "address_group.id"}),
        step("ag.create.v6", "POST", AG, group(name="cmp-ag6", addresses=["2001:db8:80::1/64"]),
             save={"ag6": "address_group.id"}),
        step("ag.create.same-network-twice", "POST", AG, group(name="cmp-ag-twice",
             addresses=["10.81.0.1/24", "10.81.0.2/24"]), save={"ag_twice": "address_group.id"}),
        step("ag.create.several", "POST", AG, group(name="cmp-ag-several", addresses=["10.82.0.0/24", "10.83.0.0/24",
             "2001:db8:83::/64"]), save={"ag_several": "address_group.id"}, compare="keys"),
        step("ag.create.admin-for-b", "POST", AG, group(name="cmp-ag-b", project_id="pb", addresses=["10.84.0.0/24"]),
             who=ADMIN, save={"ag_b": "address_group.id"}),
        step("ag.create.member-for-b", "POST", AG, group(name="x", project_id="pb"), compare="status"),
        # Neutron 21 answers a bulk create of address groups with a 500 (allow-listed).
        step("ag.create.bulk", "POST", AG, {"address_groups": [{"name": "cmp-ag-bulk1"}, {"name": "cmp-ag-bulk2"}]},
             compare="status"),
        step("ag.create.bulk-one-bad", "POST", AG, {"address_groups": [{"name": "ok"}, {"addresses": ["x"]}]},
             compare="status"),
        step("ag.create.shared", "POST", AG, group(name="x", shared=True), compare="status"),
        step("ag.create.shared-admin", "POST", AG, group(name="x", shared=True), who=ADMIN, compare="status"),
        step("ag.create.tags", "POST", AG, group(name="x", tags=["a"]), compare="status"),
        step("ag.create.id", "POST", AG, group(id="00000000-0000-0000-0000-000000000001"), compare="status"),
        step("ag.create.unknown", "POST", AG, group(colour="red"), compare="status"),
        step("ag.create.not-wrapped", "POST", AG, {"name": "x"}, compare="status"),
        step("ag.create.name-long", "POST", AG, group(name="n" * 256), compare="status"),
        step("ag.create.description-long", "POST", AG, group(description="d" * 1025), compare="status"),
        step("ag.show.several", "GET", f"{AG}/$ag_several", compare="keys"),
        step("ag.show.twice", "GET", f"{AG}/$ag_twice"),
        step("ag.show.b-by-b", "GET", f"{AG}/$ag_b", who=B),
        step("ag.show.b-by-a", "GET", f"{AG}/$ag_b", compare="status"),
    ]
    s += [step(f"ag.create.bad.addresses.{name}", "POST", AG, group(addresses=v), compare="status")
          for name, v in bad.items()]
    return s + bad_values("ag.create", "POST", AG, "address_group", {"name": "str", "description": "str"})


def lists():
    return [
        step("ag.list.by-description", "GET", f"{AG}?description=made%20here"),
        step("ag.list.by-project", "GET", f"{AG}?project_id=pb&fields=name", who=ADMIN),
        step("ag.list.by-tenant", "GET", f"{AG}?tenant_id=pa&name=cmp-ag-empty"),
        step("ag.list.names", "GET", f"{AG}?name=cmp-ag-empty&name=cmp-ag-null&sort_key=name&sort_dir=desc"),
        step("ag.list.sort-description", "GET", f"{AG}?name=cmp-ag&name=cmp-ag6&sort_key=description&sort_dir=asc"
             "&fields=name"),
        step("ag.list.fields-addresses", "GET", f"{AG}?id=$ag&fields=addresses"),
        step("ag.list.page", "GET", f"{AG}?limit=1&sort_key=name&sort_dir=asc&name=cmp-ag-empty&name=cmp-ag-null",
             compare="keys"),
        step("ag.list.page-2", "GET", f"{AG}?limit=1&sort_key=name&sort_dir=asc&name=cmp-ag-empty&name=cmp-ag-null"
             "&marker=$ag_empty&fields=name", compare="keys"),
        step("ag.list.by-addresses", "GET", f"{AG}?addresses=10.80.0.0/16", compare="status"),
        step("ag.list.by-shared", "GET", f"{AG}?shared=False", compare="status"),
        step("ag.list.by-tags", "GET", f"{AG}?tags=a", compare="status"),
        step("ag.list.by-revision", "GET", f"{AG}?revision_number=1", compare="status"),
        step("ag.list.sort-addresses", "GET", f"{AG}?sort_key=addresses&sort_dir=asc", compare="status"),
        step("ag.list.sort-shared", "GET", f"{AG}?sort_key=shared&sort_dir=asc", compare="status"),
        step("ag.list.b", "GET", f"{AG}?name=cmp-ag-b", who=B),
        step("ag.list.b-by-a", "GET", f"{AG}?name=cmp-ag-b"),
    ]


def updates():
    return [
        step("ag.update.both", "PUT", f"{AG}/$ag_empty", group(name="cmp-ag-empty", description="now described")),
        step("ag.update.nothing", "PUT", f"{AG}/$ag_empty", group()),
        step("ag.update.addresses", "PUT", f"{AG}/$ag", group(addresses=["10.0.0.0/8"]), compare="status"),
        step("ag.update.shared", "PUT", f"{AG}/$ag", group(shared=True), compare="status"),
        step("ag.update.project", "PUT", f"{AG}/$ag", group(project_id="pb"), compare="status"),
        step("ag.update.name-long", "PUT", f"{AG}/$ag", group(name="n" * 256), compare="status"),
        step("ag.update.admin", "PUT", f"{AG}/$ag_b", group(description="by admin"), who=ADMIN),
        step("ag.update.missing", "PUT", f"{AG}/{ZERO}", group(name="x"), compare="status"),
    ]


def actions():
    add, remove = f"{AG}/$ag/add_addresses", f"{AG}/$ag/remove_addresses"
    return [
        step("ag.add", "PUT", add, addresses("10.85.0.0/24")),
        step("ag.add.host-bits", "PUT", add, addresses("10.86.0.9/24")),
        step("ag.add.inside-another", "PUT", add, addresses("10.80.5.0/24")),
        step("ag.add.bare-address", "PUT", add, addresses("10.87.0.1")),
        step("ag.add.v6-bare", "PUT", add, addresses("2001:db8:87::1")),
        step("ag.add.partial", "PUT", add, addresses("10.88")),
        step("ag.add.leading-zero", "PUT", add, addresses("010.89.0.0/16")),
        step("ag.add.netmask", "PUT", add, addresses("10.90.0.0/255.255.0.0")),
        step("ag.add.spaces", "PUT", add, addresses(" 10.91.0.1 ")),
        step("ag.add.same-twice", "PUT", add, addresses("10.92.0.1/24", "10.92.0.2/24")),
        step("ag.add.empty", "PUT", add, addresses()),
        step("ag.add.exists", "PUT", add, addresses("10.85.0.0/24"), compare="status"),
        step("ag.add.exists-normalised", "PUT", add, addresses("10.85.0.7/24", "10.93.0.0/24"), compare="status"),
        step("ag.add.bad", "PUT", add, addresses("x"), compare="status"),
        step("ag.add.prefix-too-long", "PUT", add, addresses("10.0.0.0/33"), compare="status"),
        step("ag.add.v6-prefix-too-long", "PUT", add, addresses("2001:db8::/129"), compare="status"),
        step("ag.add.string", "PUT", add, {"addresses": "x"}, compare="status"),
        step("ag.add.not-json", "PUT", add, raw="{not json", compare="status"),
        step("ag.add.other-project", "PUT", add, addresses("10.94.0.0/24"), who=B, compare="status"),
        step("ag.add.admin", "PUT", f"{AG}/$ag_b/add_addresses", addresses("10.95.0.0/24"), who=ADMIN),
        step("ag.add.missing", "PUT", f"{AG}/{ZERO}/add_addresses", addresses("10.94.0.0/24"), compare="status"),
        step("ag.add.bad-id", "PUT", f"{AG}/not-an-id/add_addresses", addresses("10.94.0.0/24"), compare="status"),
        step("ag.add.get", "GET", add, compare="status"),
        step("ag.add.post", "POST", add, addresses("10.94.0.0/24"), compare="status"),
        step("ag.action.unknown", "PUT", f"{AG}/$ag/replace_addresses", addresses("10.94.0.0/24"), compare="status"),
        step("ag.show.after-adds", "GET", f"{AG}/$ag"),
        step("ag.remove", "PUT", remove, addresses("10.85.0.0/24")),
        step("ag.remove.normalised", "PUT", remove, addresses("10.86.0.1/24")),
        step("ag.remove.missing", "PUT", remove, addresses("10.85.0.0/24"), compare="status"),
        step("ag.remove.partly-missing", "PUT", remove, addresses("10.87.0.1/32", "10.96.0.0/24"), compare="status"),
        step("ag.remove.empty", "PUT", remove, addresses()),
        step("ag.remove.bad", "PUT", remove, addresses("10.0.0.0/40"), compare="status"),
        step("ag.remove.other-project", "PUT", remove, addresses("10.87.0.1/32"), who=B, compare="status"),
        step("ag.remove.several", "PUT", remove, addresses("10.87.0.1/32", "2001:db8:87::1/128", "10.88.0.0/32")),
        step("ag.add.after-remove", "PUT", add, addresses("10.85.0.0/24")),
        step("ag.show.after-removes", "GET", f"{AG}/$ag"),
    ]


def rules():
    s = [
        step("ag.sg.create", "POST", "/v2.0/security-groups", {"security_group": {"name": "cmp-ag-sg"}},
             save={"agsg": "security_group.id"}, compare="status"),
        step("ag.rule.create", "POST", RULES, rule(remote_address_group_id="$ag", protocol="tcp", port_range_min=22,
             port_range_max=22), save={"agrule": "security_group_rule.id"}),
        step("ag.rule.create.v6", "POST", RULES, rule(remote_address_group_id="$ag6", ethertype="IPv6"),
             save={"agrule6": "security_group_rule.id"}),
        step("ag.rule.create.duplicate", "POST", RULES, rule(remote_address_group_id="$ag", protocol="6",
             port_range_min=22, port_range_max=22), compare="status"),
        step("ag.rule.create.other-group", "POST", RULES, rule(remote_address_group_id="$ag_empty", protocol="tcp",
             port_range_min=22, port_range_max=22), save={"agrule_empty": "security_group_rule.id"}),
        step("ag.rule.create.with-prefix", "POST", RULES, rule(remote_address_group_id="$ag",
             remote_ip_prefix="10.0.0.0/8"), compare="status"),
        step("ag.rule.create.with-group", "POST", RULES, rule(remote_address_group_id="$ag", remote_group_id="$agsg"),
             compare="status"),
        step("ag.rule.create.all-three", "POST", RULES, rule(remote_address_group_id="$ag", remote_group_id="$agsg",
             remote_ip_prefix="10.0.0.0/8"), compare="status"),
        step("ag.rule.create.missing", "POST", RULES, rule(remote_address_group_id=ZERO), compare="status"),
        step("ag.rule.create.not-uuid", "POST", RULES, rule(remote_address_group_id="not-a-uuid"), compare="status"),
        step("ag.rule.create.number", "POST", RULES, rule(remote_address_group_id=5), compare="status"),
        step("ag.rule.create.b-group", "POST", RULES, rule(remote_address_group_id="$ag_b"), compare="status"),
        step("ag.rule.create.missing-sg", "POST", RULES, rule(security_group_id=ZERO, remote_address_group_id=ZERO),
             compare="status"),
        step("ag.rule.create.admin-b-group", "POST", RULES, rule(remote_address_group_id="$ag_b", protocol="udp"),
             who=ADMIN, save={"agrule_b": "security_group_rule.id"}),
        step("ag.rule.create.bulk", "POST", RULES, {"security_group_rules": [
             rule(remote_address_group_id="$ag_null", protocol="icmp")["security_group_rule"],
             rule(remote_address_group_id="$ag_null", protocol="icmp")["security_group_rule"]]}, compare="status"),
        step("ag.rule.show", "GET", f"{RULES}/$agrule"),
        step("ag.rule.list.by-group", "GET", f"{RULES}?remote_address_group_id=$ag"),
        step("ag.rule.list.by-group-fields", "GET", f"{RULES}?remote_address_group_id=$ag_b"
             "&fields=remote_address_group_id&fields=protocol", who=ADMIN),
        step("ag.rule.list.sort", "GET", f"{RULES}?remote_address_group_id=$ag&remote_address_group_id=$ag_empty"
             "&sort_key=remote_address_group_id&sort_dir=asc&fields=remote_address_group_id"),
        step("ag.delete.in-use", "DELETE", f"{AG}/$ag", compare="status"),
        step("ag.delete.in-use-admin", "DELETE", f"{AG}/$ag", who=ADMIN, compare="status"),
        step("ag.delete.in-use-other-project", "DELETE", f"{AG}/$ag", who=B, compare="status"),
        step("ag.delete.in-use-by-admin-rule", "DELETE", f"{AG}/$ag_b", who=B, compare="status"),
        step("ag.rule.delete", "DELETE", f"{RULES}/$agrule", compare="status"),
        step("ag.delete.still-in-use-v6", "DELETE", f"{AG}/$ag6", compare="status"),
        step("ag.sg.delete", "DELETE", "/v2.0/security-groups/$agsg", compare="status"),
        step("ag.rule.show.gone-with-sg", "GET", f"{RULES}/$agrule_b", who=ADMIN, compare="status"),
    ]
    return s


def deletes():
    return [
        step("ag.delete.other-project", "DELETE", f"{AG}/$ag", who=B, compare="status"),
        step("ag.delete", "DELETE", f"{AG}/$ag", compare="status"),
        step("ag.show.deleted", "GET", f"{AG}/$ag", compare="status"),
        step("ag.delete.again", "DELETE", f"{AG}/$ag", compare="status"),
        step("ag.add.deleted", "PUT", f"{AG}/$ag/add_addresses", addresses("10.94.0.0/24"), compare="status"),
        step("ag.delete.missing", "DELETE", f"{AG}/{ZERO}", compare="status"),
        # Neutron 21 ignores If-Match on an address group's delete (allow-listed).
        step("ag.delete.if-match", "DELETE", f"{AG}/$ag_twice", headers={"If-Match": "revision_number=999"},
             compare="status"),
        step("ag.delete.b", "DELETE", f"{AG}/$ag_b", who=B, compare="status"),
    ] + [step(f"ag.delete.{v}", "DELETE", f"{AG}/${v}", compare="status")
         for v in ("ag_empty", "ag_null", "ag6", "ag_several", "ag_twice")]


def steps():
    return (creates() + read_steps("ag", "address-groups", "ag") + lists() + updates() +
            write_steps("ag", "address-groups", "address_group", "ag") + actions() + rules() + deletes())
