"""Steps for address scopes and subnet pools (address-scope, subnet_allocation,
default-subnetpools, subnetpool-prefix-ops, subnet_onboard): the resources themselves,
subnets allocated from pools, prefix edits, onboarding, address scope rules on networks,
in-use deletes. Self-contained: every id starts with "pool", and the last steps delete what
the first ones made, so that no default pool is left for later steps."""
from scenarios import A, ADMIN, B, read_steps, step, write_steps

ZERO = "00000000-0000-0000-0000-000000000000"
SP = "/v2.0/subnetpools"
AS = "/v2.0/address-scopes"


def pool_body(name, prefixes, **extra):
    return {"subnetpool": dict({"name": name, "prefixes": prefixes}, **extra)}


def subnet_body(net, version=4, **extra):
    return {"subnet": dict({"network_id": f"${net}", "ip_version": version}, **extra)}


def address_scopes():
    s = [
        step("pool.scope.create", "POST", AS, {"address_scope": {"name": "cmp-pool.scope", "ip_version": 4}},
             save={"scope4": "address_scope.id"}),
        step("pool.scope.create-v6", "POST", AS, {"address_scope": {"name": "cmp-scope6", "ip_version": "6"}},
             save={"scope6": "address_scope.id"}),
        step("pool.scope.create.shared-admin", "POST", AS, {"address_scope": {"name": "cmp-scope-shared",
             "ip_version": 4, "shared": True}}, who=ADMIN, save={"scope_shared": "address_scope.id"}),
        step("pool.scope.create.b1", "POST", AS, {"address_scope": {"name": "cmp-sb1", "ip_version": 4}},
             save={"scope_b1": "address_scope.id"}),
        step("pool.scope.create.b2", "POST", AS, {"address_scope": {"name": "cmp-sb2", "ip_version": 6}},
             save={"scope_b2": "address_scope.id"}),
        # Neutron 21 answers a bulk create of address scopes with a 500 (allow-listed).
        step("pool.scope.create.bulk", "POST", AS, {"address_scopes": [{"name": "cmp-bulk1", "ip_version": 4},
             {"name": "cmp-bulk2", "ip_version": 6}]}, compare="status"),
        step("pool.scope.create.no-version", "POST", AS, {"address_scope": {"name": "x"}}, compare="status"),
        step("pool.scope.create.bad-version", "POST", AS, {"address_scope": {"ip_version": 5}}, compare="status"),
        step("pool.scope.create.version-text", "POST", AS, {"address_scope": {"ip_version": "x"}}, compare="status"),
        step("pool.scope.create.shared-member", "POST", AS, {"address_scope": {"ip_version": 4, "shared": True}},
             compare="status"),
        step("pool.scope.create.description", "POST", AS, {"address_scope": {"ip_version": 4, "description": "d"}},
             compare="status"),
        step("pool.scope.create.tags", "POST", AS, {"address_scope": {"ip_version": 4, "tags": ["a"]}},
             compare="status"),
        step("pool.scope.create.bad-shared", "POST", AS, {"address_scope": {"ip_version": 4, "shared": "maybe"}},
             compare="status"),
        step("pool.scope.create.name-long", "POST", AS, {"address_scope": {"ip_version": 4, "name": "n" * 256}},
             compare="status"),
        step("pool.scope.show.shared-other", "GET", f"{AS}/$scope_shared", who=B),
        step("pool.scope.list.shared", "GET", f"{AS}?shared=True&id=$scope_shared", who=B),
        step("pool.scope.list.by-version", "GET", f"{AS}?ip_version=6&id=$scope6"),
        step("pool.scope.list.tags", "GET", f"{AS}?tags=a", compare="status"),
        step("pool.scope.list.sort-version", "GET", f"{AS}?sort_key=ip_version&sort_dir=desc&name=cmp-sb1&name=cmp-sb2"),
        step("pool.scope.update.name", "PUT", f"{AS}/$scope_b1", {"address_scope": {"name": "cmp-sb1-renamed"}}),
        step("pool.scope.update.shared-member", "PUT", f"{AS}/$scope_b1", {"address_scope": {"shared": True}},
             compare="status"),
        step("pool.scope.update.share-admin", "PUT", f"{AS}/$scope_b1", {"address_scope": {"shared": True}},
             who=ADMIN),
        step("pool.scope.update.unshare", "PUT", f"{AS}/$scope_b1", {"address_scope": {"shared": False}},
             who=ADMIN, compare="status"),
        step("pool.scope.update.version", "PUT", f"{AS}/$scope_b1", {"address_scope": {"ip_version": 6}},
             compare="status"),
        step("pool.scope.update.other-project", "PUT", f"{AS}/$scope4", {"address_scope": {"name": "x"}}, who=B,
             compare="status"),
        step("pool.scope.update.shared-other-project", "PUT", f"{AS}/$scope_shared", {"address_scope": {"name": "x"}},
             who=B, compare="status"),
        step("pool.scope.tags.put", "PUT", f"{AS}/$scope4/tags", {"tags": ["a"]}, compare="status"),
        step("pool.scope.tags.get", "GET", f"{AS}/$scope4/tags", compare="status"),
        step("pool.scope.delete.bulk2", "DELETE", f"{AS}/$scope_b2", compare="status"),
        step("pool.scope.delete.other-project", "DELETE", f"{AS}/$scope_b1", who=B, compare="status"),
    ]
    return s + read_steps("pool.scope", "address-scopes", "scope4")


def bad_pool_values():
    bad = {"default_quota": ["x", [], -1], "default_prefixlen": ["x", {}, -2], "min_prefixlen": ["x"],
           "max_prefixlen": [[]], "is_default": ["maybe", 2, []], "shared": ["maybe"],
           "address_scope_id": ["not-a-uuid", 1, []], "prefixes": ["10.0.0.0/8", 1, {}, ["x"], [1], ["10.0.0.0"],
           ["10.0.0.0/8", "10.0.0.0/8"], ["010.1.0.0/16"]], "name": [1, [], {}, "", "   ", "n" * 256]}
    out = []
    for attr, values in bad.items():
        for i, v in enumerate(values):
            body = pool_body("cmp-bad", ["10.250.0.0/16"])
            body["subnetpool"][attr] = v
            out.append(step(f"pool.sp.create.bad.{attr}.{i}", "POST", SP, body, compare="status"))
    return out


def pool_creates():
    bad = [
        ("no-name", {"subnetpool": {"prefixes": ["10.1.0.0/16"]}}),
        ("no-prefixes", {"subnetpool": {"name": "x"}}),
        ("empty-prefixes", pool_body("x", [])),
        ("mixed", pool_body("x", ["10.1.0.0/16", "2001:db8::/48"])),
        ("min-over-max", pool_body("x", ["10.1.0.0/16"], min_prefixlen=28, max_prefixlen=24)),
        ("max-over-32", pool_body("x", ["10.1.0.0/16"], max_prefixlen=33)),
        ("default-under-min", pool_body("x", ["10.1.0.0/16"], min_prefixlen=16, default_prefixlen=12)),
        ("default-over-max", pool_body("x", ["10.1.0.0/16"], max_prefixlen=24, default_prefixlen=26)),
        ("v6-max-over-128", pool_body("x", ["2001:db8::/48"], max_prefixlen=129)),
        ("is-default-member", pool_body("x", ["10.1.0.0/16"], is_default=True)),
        ("shared-member", pool_body("x", ["10.1.0.0/16"], shared=True)),
        ("scope-missing", pool_body("x", ["10.1.0.0/16"], address_scope_id=ZERO)),
        ("scope-version", pool_body("x", ["2001:db8::/48"], address_scope_id="$scope4")),
        ("scope-conflict", pool_body("x", ["10.70.5.0/24"], address_scope_id="$scope4")),
        ("unknown", pool_body("x", ["10.1.0.0/16"], colour="red")),
        ("ip-version", pool_body("x", ["10.1.0.0/16"], ip_version=4)),
        ("not-wrapped", {"name": "x", "prefixes": ["10.1.0.0/16"]}),
    ]
    s = [
        step("pool.sp.create", "POST", SP, pool_body("cmp-pool.sp", ["10.60.0.0/16", "10.61.0.1/16"],
             default_prefixlen=24, description="made here"), save={"sp": "subnetpool.id"}),
        step("pool.sp.create.scoped", "POST", SP, pool_body("cmp-pool-scoped", ["10.70.0.0/16"], min_prefixlen=20,
             max_prefixlen=28, default_prefixlen=24, default_quota=1024, address_scope_id="$scope4"),
             save={"sp_scoped": "subnetpool.id"}),
        step("pool.sp.create.scoped2", "POST", SP, pool_body("cmp-pool-scoped2", ["10.71.0.0/16"],
             default_prefixlen=24, address_scope_id="$scope4"), save={"sp_scoped2": "subnetpool.id"}),
        step("pool.sp.create.scoped3", "POST", SP, pool_body("cmp-pool-scoped3", ["10.72.0.0/16"],
             address_scope_id="$scope4"), save={"sp_scoped3": "subnetpool.id"}),
        step("pool.sp.create.v6", "POST", SP, pool_body("cmp-pool6", ["2001:db8:100::/48"], address_scope_id="$scope6"),
             save={"sp6": "subnetpool.id"}),
        step("pool.sp.create.small", "POST", SP, pool_body("cmp-pool-small", ["10.90.0.0/24"], default_prefixlen=25,
             is_default=False, shared=False), save={"sp_small": "subnetpool.id"}),
        step("pool.sp.create.tags", "POST", SP, pool_body("x", ["10.89.0.0/24"], tags=["t1"]), compare="status"),
        step("pool.sp.tags.small", "PUT", f"{SP}/$sp_small/tags", {"tags": ["t1"]}),
        step("pool.sp.create.in-shared-scope", "POST", SP, pool_body("cmp-pool-in-shared", ["10.97.0.0/16"],
             address_scope_id="$scope_shared"), save={"sp_in_shared": "subnetpool.id"}),
        step("pool.sp.create.other-project-scope", "POST", SP, pool_body("x", ["10.98.0.0/16"],
             address_scope_id="$scope4"), who=B, compare="status"),
        step("pool.sp.create.shared-admin", "POST", SP, pool_body("cmp-pool-shared", ["10.96.0.0/16"], shared=True,
             default_prefixlen=24, project_id="pa"), who=ADMIN, save={"sp_shared": "subnetpool.id"}),
        step("pool.sp.create.b1", "POST", SP, pool_body("cmp-spb1", ["10.91.0.0/24"]), save={"sp_b1": "subnetpool.id"}),
        step("pool.sp.create.b2", "POST", SP, pool_body("cmp-spb2", ["10.92.0.0/24"]), save={"sp_b2": "subnetpool.id"}),
        step("pool.sp.create.bulk", "POST", SP, {"subnetpools": [{"name": "cmp-spb3", "prefixes": ["10.91.0.0/24"]}]},
             compare="status"),
        step("pool.sp.create.bulk-one-bad", "POST", SP, {"subnetpools": [{"name": "ok", "prefixes": ["10.93.0.0/24"]},
             {"name": "bad", "prefixes": []}]}, compare="status"),
        step("pool.sp.show.shared-other", "GET", f"{SP}/$sp_shared", who=B),
        step("pool.sp.list.ip-version", "GET", f"{SP}?ip_version=6&id=$sp6"),
        step("pool.sp.list.by-scope", "GET", f"{SP}?address_scope_id=$scope4&sort_key=name&sort_dir=asc"),
        step("pool.sp.list.by-prefixlen", "GET", f"{SP}?default_prefixlen=25&id=$sp_small"),
        step("pool.sp.list.sort-prefixlen", "GET", f"{SP}?sort_key=default_prefixlen&sort_dir=desc&fields=name"
             "&name=cmp-pool-small&name=cmp-pool6&name=cmp-pool-scoped"),
        step("pool.sp.list.tags", "GET", f"{SP}?tags=t1"),
        step("pool.sp.list.page", "GET", f"{SP}?limit=1&sort_key=name&sort_dir=asc&name=cmp-spb1&name=cmp-spb2",
             compare="keys"),
        step("pool.sp.list.shared-filter", "GET", f"{SP}?shared=True&id=$sp_shared", who=B),
        step("pool.sp.list.bad-bool", "GET", f"{SP}?is_default=maybe", compare="status"),
        step("pool.sp.list.prefixes-filter", "GET", f"{SP}?prefixes=10.90.0.0/24", compare="status"),
    ]
    s += [step(f"pool.sp.create.{name}", "POST", SP, body, compare="status") for name, body in bad]
    return s + bad_pool_values()


def pool_updates():
    s = [
        step("pool.sp.update.prefixlen", "PUT", f"{SP}/$sp", {"subnetpool": {"default_prefixlen": 25}}),
        step("pool.sp.update.bounds-bad", "PUT", f"{SP}/$sp", {"subnetpool": {"min_prefixlen": 26}}, compare="status"),
        step("pool.sp.update.grow", "PUT", f"{SP}/$sp", {"subnetpool": {"prefixes": ["10.60.0.0/15", "10.62.0.0/16"]}}),
        step("pool.sp.update.shrink", "PUT", f"{SP}/$sp", {"subnetpool": {"prefixes": ["10.60.0.0/16"]}},
             compare="status"),
        step("pool.sp.update.empty-prefixes", "PUT", f"{SP}/$sp", {"subnetpool": {"prefixes": []}}, compare="status"),
        step("pool.sp.update.mixed", "PUT", f"{SP}/$sp", {"subnetpool": {"prefixes": ["10.60.0.0/15", "10.62.0.0/16",
             "2001:db8::/48"]}}, compare="status"),
        step("pool.sp.update.shared", "PUT", f"{SP}/$sp", {"subnetpool": {"shared": True}}, who=ADMIN, compare="status"),
        step("pool.sp.update.ip-version", "PUT", f"{SP}/$sp", {"subnetpool": {"ip_version": 6}}, compare="status"),
        step("pool.sp.update.is-default-member", "PUT", f"{SP}/$sp", {"subnetpool": {"is_default": False}},
             compare="status"),
        step("pool.sp.update.quota-null", "PUT", f"{SP}/$sp", {"subnetpool": {"default_quota": None}}, compare="status"),
        step("pool.sp.update.quota", "PUT", f"{SP}/$sp_small", {"subnetpool": {"default_quota": 100000}}),
        step("pool.sp.update.scope-missing", "PUT", f"{SP}/$sp_small", {"subnetpool": {"address_scope_id": ZERO}},
             compare="status"),
        step("pool.sp.update.in-shared-scope", "PUT", f"{SP}/$sp_in_shared", {"subnetpool": {"name": "x"}},
             compare="status"),
        step("pool.sp.update.in-shared-scope-admin", "PUT", f"{SP}/$sp_in_shared", {"subnetpool": {"name": "y"}},
             who=ADMIN),
        step("pool.sp.update.shared-other", "PUT", f"{SP}/$sp_shared", {"subnetpool": {"name": "x"}}, who=B,
             compare="status"),
    ]
    return s + read_steps("pool.sp", "subnetpools", "sp") + write_steps("pool.sp", "subnetpools", "subnetpool", "sp")


def pool_subnets():
    net = lambda var, name: step(f"pool.net.{var}", "POST", "/v2.0/networks", {"network": {"name": name}},  # noqa: E731
                                 save={var: "network.id"}, compare="status")
    scopes = "fields=ipv4_address_scope&fields=ipv6_address_scope"
    return [
        net("pnet", "cmp-pnet"), net("pnet2", "cmp-pnet2"), net("pnet3", "cmp-pnet3"), net("pnet4", "cmp-pnet4"),
        net("pnet5", "cmp-pnet5"),
        step("pool.sub.any", "POST", "/v2.0/subnets", subnet_body("pnet", subnetpool_id="$sp", name="s-any"),
             save={"psub": "subnet.id"}),
        step("pool.sub.prefixlen", "POST", "/v2.0/subnets", subnet_body("pnet", subnetpool_id="$sp", prefixlen=27)),
        step("pool.sub.cidr-in-pool", "POST", "/v2.0/subnets", subnet_body("pnet", subnetpool_id="$sp",
             cidr="10.61.5.0/24", gateway_ip="10.61.5.254")),
        step("pool.sub.cidr-taken", "POST", "/v2.0/subnets", subnet_body("pnet4", subnetpool_id="$sp",
             cidr="10.61.5.0/25"), compare="status"),
        step("pool.sub.cidr-outside", "POST", "/v2.0/subnets", subnet_body("pnet4", subnetpool_id="$sp",
             cidr="10.99.0.0/24"), compare="status"),
        step("pool.sub.cidr-and-prefixlen", "POST", "/v2.0/subnets", subnet_body("pnet4", subnetpool_id="$sp",
             cidr="10.60.9.0/24", prefixlen=24), compare="status"),
        step("pool.sub.pool-and-default", "POST", "/v2.0/subnets", subnet_body("pnet4", subnetpool_id="$sp",
             use_default_subnetpool=True), compare="status"),
        step("pool.sub.no-default", "POST", "/v2.0/subnets", subnet_body("pnet4", use_default_subnetpool=True),
             compare="status"),
        step("pool.sub.alloc-pools-no-cidr", "POST", "/v2.0/subnets", subnet_body("pnet4", subnetpool_id="$sp",
             allocation_pools=[{"start": "10.60.0.10", "end": "10.60.0.20"}]), compare="status"),
        step("pool.sub.missing-pool", "POST", "/v2.0/subnets", subnet_body("pnet4", subnetpool_id=ZERO),
             compare="status"),
        step("pool.sub.version-mismatch", "POST", "/v2.0/subnets", subnet_body("pnet4", 6, subnetpool_id="$sp"),
             compare="status"),
        step("pool.sub.bad-prefixlen", "POST", "/v2.0/subnets", subnet_body("pnet4", subnetpool_id="$sp",
             prefixlen="x"), compare="status"),
        step("pool.sub.scoped.too-long", "POST", "/v2.0/subnets", subnet_body("pnet2", subnetpool_id="$sp_scoped",
             prefixlen=29), compare="status"),
        step("pool.sub.scoped.too-short", "POST", "/v2.0/subnets", subnet_body("pnet2", subnetpool_id="$sp_scoped",
             prefixlen=19), compare="status"),
        step("pool.sub.scoped.any", "POST", "/v2.0/subnets", subnet_body("pnet2", subnetpool_id="$sp_scoped")),
        step("pool.sub.scoped.quota", "POST", "/v2.0/subnets", subnet_body("pnet2", subnetpool_id="$sp_scoped",
             prefixlen=22), compare="status"),
        step("pool.sub.scoped.more", "POST", "/v2.0/subnets", subnet_body("pnet2", subnetpool_id="$sp_scoped",
             prefixlen=23)),
        step("pool.sub.scoped.same-scope-other-pool", "POST", "/v2.0/subnets", subnet_body("pnet2",
             subnetpool_id="$sp_scoped2")),
        step("pool.sub.scoped.other-scope", "POST", "/v2.0/subnets", subnet_body("pnet2", subnetpool_id="$sp"),
             compare="status"),
        step("pool.sub.scoped.no-pool", "POST", "/v2.0/subnets", subnet_body("pnet2", cidr="10.99.1.0/24"),
             compare="status"),
        step("pool.sub.v6", "POST", "/v2.0/subnets", subnet_body("pnet2", 6, subnetpool_id="$sp6")),
        step("pool.net.scopes", "GET", f"/v2.0/networks/$pnet2?{scopes}"),
        step("pool.net.scopes-list", "GET", f"/v2.0/networks?id=$pnet2&id=$pnet&{scopes}&fields=id"),
        step("pool.sub.plain", "POST", "/v2.0/subnets", subnet_body("pnet3", cidr="10.80.0.0/24"),
             save={"plain": "subnet.id"}),
        step("pool.sub.plain-v6", "POST", "/v2.0/subnets", subnet_body("pnet3", 6, cidr="2001:db8:80::/64")),
        step("pool.sub.plain-then-pool", "POST", "/v2.0/subnets", subnet_body("pnet3", subnetpool_id="$sp"),
             compare="status"),
        step("pool.sub.shared-pool-other-project", "POST", "/v2.0/networks", {"network": {"name": "cmp-pnetb"}},
             who=B, save={"pnetb": "network.id"}, compare="status"),
        step("pool.sub.other-project-pool", "POST", "/v2.0/subnets", subnet_body("pnetb", subnetpool_id="$sp"),
             who=B, compare="status"),
        step("pool.sub.from-shared-pool", "POST", "/v2.0/subnets", subnet_body("pnetb", subnetpool_id="$sp_shared"),
             who=B),
        step("pool.sub.small.1", "POST", "/v2.0/subnets", subnet_body("pnet4", subnetpool_id="$sp_small")),
        step("pool.sub.small.2", "POST", "/v2.0/subnets", subnet_body("pnet4", subnetpool_id="$sp_small")),
        step("pool.sub.small.exhausted", "POST", "/v2.0/subnets", subnet_body("pnet4", subnetpool_id="$sp_small"),
             compare="status"),
        step("pool.sub.list.by-pool", "GET", "/v2.0/subnets?subnetpool_id=$sp_small&fields=cidr"),
    ]


def defaults_prefixes_onboard():
    return [
        step("pool.default.create", "POST", SP, pool_body("cmp-pool-default", ["10.95.0.0/16"], is_default=True,
             shared=True, default_prefixlen=26), who=ADMIN, save={"spdef": "subnetpool.id"}),
        step("pool.default.create-again", "POST", SP, pool_body("x", ["10.94.0.0/16"], is_default=True), who=ADMIN,
             compare="status"),
        step("pool.default.set-second", "PUT", f"{SP}/$sp_shared", {"subnetpool": {"is_default": True}}, who=ADMIN,
             compare="status"),
        step("pool.default.list", "GET", f"{SP}?is_default=True", who=B),
        step("pool.default.subnet", "POST", "/v2.0/subnets", subnet_body("pnet5", use_default_subnetpool=True)),
        step("pool.default.subnet-v6-none", "POST", "/v2.0/subnets", subnet_body("pnet5", 6,
             use_default_subnetpool=True), compare="status"),
        step("pool.default.unset", "PUT", f"{SP}/$spdef", {"subnetpool": {"is_default": False}}, who=ADMIN),
        step("pool.prefix.add", "PUT", f"{SP}/$sp/add_prefixes", {"prefixes": ["10.63.0.0/16", "10.64.0.0/24"]}),
        step("pool.prefix.add-empty", "PUT", f"{SP}/$sp/add_prefixes", {"prefixes": []}, compare="status"),
        step("pool.prefix.add-not-list", "PUT", f"{SP}/$sp/add_prefixes", {"prefixes": "10.65.0.0/16"},
             compare="status"),
        step("pool.prefix.add-wrapped", "PUT", f"{SP}/$sp/add_prefixes", {"subnetpool": {"prefixes": ["10.65.0.0/16"]}},
             compare="status"),
        step("pool.prefix.add-bad", "PUT", f"{SP}/$sp/add_prefixes", {"prefixes": ["bogus"]}, compare="status"),
        step("pool.prefix.add-v6", "PUT", f"{SP}/$sp/add_prefixes", {"prefixes": ["2001:db8::/48"]}, compare="status"),
        step("pool.prefix.add-missing", "PUT", f"{SP}/{ZERO}/add_prefixes", {"prefixes": ["10.65.0.0/16"]},
             compare="status"),
        step("pool.prefix.add-other-project", "PUT", f"{SP}/$sp/add_prefixes", {"prefixes": ["10.65.0.0/16"]}, who=B,
             compare="status"),
        step("pool.prefix.add-shared-other", "PUT", f"{SP}/$sp_shared/add_prefixes", {"prefixes": ["10.65.0.0/16"]},
             who=B, compare="status"),
        step("pool.prefix.add-scope-conflict", "PUT", f"{SP}/$sp_scoped2/add_prefixes", {"prefixes": ["10.70.128.0/24"]},
             compare="status"),
        step("pool.prefix.add-scope-conflict-unused", "PUT", f"{SP}/$sp_scoped3/add_prefixes",
             {"prefixes": ["10.70.128.0/24"]}, compare="status"),
        step("pool.prefix.add-scoped", "PUT", f"{SP}/$sp_scoped3/add_prefixes", {"prefixes": ["10.73.0.0/16"]}),
        step("pool.prefix.remove", "PUT", f"{SP}/$sp/remove_prefixes", {"prefixes": ["10.63.0.0/17", "10.64.0.0/24"]}),
        step("pool.prefix.remove-disjoint", "PUT", f"{SP}/$sp/remove_prefixes", {"prefixes": ["192.0.2.0/24"]}),
        step("pool.prefix.remove-in-use", "PUT", f"{SP}/$sp/remove_prefixes", {"prefixes": ["10.61.5.0/24"]},
             compare="status"),
        step("pool.prefix.show", "GET", f"{SP}/$sp"),
        step("pool.action.unknown", "PUT", f"{SP}/$sp/bogus_action", {}, compare="status"),
        step("pool.onboard", "PUT", f"{SP}/$sp/onboard_network_subnets", {"network_id": "$pnet3"}),
        step("pool.onboard.show", "GET", f"{SP}/$sp?fields=prefixes"),
        step("pool.onboard.subnet", "GET", "/v2.0/subnets/$plain?fields=subnetpool_id&fields=cidr"),
        step("pool.onboard.again", "PUT", f"{SP}/$sp/onboard_network_subnets", {"network_id": "$pnet3"},
             compare="status"),
        step("pool.onboard.no-network", "PUT", f"{SP}/$sp/onboard_network_subnets", {}, compare="status"),
        step("pool.onboard.missing-network", "PUT", f"{SP}/$sp/onboard_network_subnets", {"network_id": ZERO},
             compare="status"),
        step("pool.onboard.other-project", "PUT", f"{SP}/$sp/onboard_network_subnets", {"network_id": "$pnet3"},
             who=B, compare="status"),
        step("pool.rescope", "PUT", f"{SP}/$sp", {"subnetpool": {"address_scope_id": "$scope4"}}),
        step("pool.rescope.network", "GET", "/v2.0/networks/$pnet?fields=ipv4_address_scope&fields=ipv6_address_scope"),
        step("pool.rescope.onboarded-network", "GET", "/v2.0/networks/$pnet3?fields=ipv4_address_scope"),
        step("pool.rescope.affinity", "PUT", f"{SP}/$sp_scoped2", {"subnetpool": {"address_scope_id": "$scope_shared"}},
             compare="status"),
        step("pool.rescope.version", "PUT", f"{SP}/$sp", {"subnetpool": {"address_scope_id": "$scope6"}},
             compare="status"),
        step("pool.unscope", "PUT", f"{SP}/$sp", {"subnetpool": {"address_scope_id": None}}),
        step("pool.unscope.network", "GET", "/v2.0/networks/$pnet?fields=ipv4_address_scope"),
    ]


def in_use_and_cleanup():
    s = [
        step("pool.delete.scope-in-use", "DELETE", f"{AS}/$scope4", compare="status"),
        step("pool.delete.pool-in-use", "DELETE", f"{SP}/$sp", compare="status"),
        step("pool.delete.pool-other-project", "DELETE", f"{SP}/$sp_small", who=B, compare="status"),
        step("pool.delete.subnet", "DELETE", "/v2.0/subnets/$psub", compare="status"),
    ]
    for var in ("pnet", "pnet2", "pnet3", "pnet4", "pnet5"):
        s.append(step(f"pool.delete.net.{var}", "DELETE", f"/v2.0/networks/${var}", compare="status"))
    s.append(step("pool.delete.net.pnetb", "DELETE", "/v2.0/networks/$pnetb", who=B, compare="status"))
    for var in ("sp", "sp_scoped", "sp_scoped2", "sp_scoped3", "sp6", "sp_small", "sp_in_shared", "sp_b1", "sp_b2"):
        s.append(step(f"pool.delete.{var}", "DELETE", f"{SP}/${var}", compare="status"))
    for var in ("sp_shared", "spdef"):
        s.append(step(f"pool.delete.{var}", "DELETE", f"{SP}/${var}", who=ADMIN, compare="status"))
    s += [
        step("pool.delete.show", "GET", f"{SP}/$sp", compare="status"),
        step("pool.delete.again", "DELETE", f"{SP}/$sp", compare="status"),
        step("pool.delete.scope", "DELETE", f"{AS}/$scope4", compare="status"),
        step("pool.delete.scope6", "DELETE", f"{AS}/$scope6", compare="status"),
        step("pool.delete.scope-b1", "DELETE", f"{AS}/$scope_b1", compare="status"),
        step("pool.delete.scope-shared", "DELETE", f"{AS}/$scope_shared", who=ADMIN, compare="status"),
        step("pool.delete.scope-show", "GET", f"{AS}/$scope4", compare="status"),
        step("pool.left", "GET", f"{SP}?name=cmp-pool.sp", who=ADMIN),
    ]
    return s


def misc():
    return [
        step("pool.ext.subnet-allocation", "GET", "/v2.0/extensions/subnet_allocation", compare="keys"),
        step("pool.ext.address-scope", "GET", "/v2.0/extensions/address-scope", compare="keys"),
        step("pool.ext.default-subnetpools", "GET", "/v2.0/extensions/default-subnetpools", compare="keys"),
        step("pool.ext.prefix-ops", "GET", "/v2.0/extensions/subnetpool-prefix-ops", compare="keys"),
        step("pool.ext.onboard", "GET", "/v2.0/extensions/subnet_onboard", compare="keys"),
        step("pool.quota.details", "GET", "/v2.0/quotas/pa/details", who=ADMIN, compare="keys"),
    ]


def steps():
    return (address_scopes() + pool_creates() + pool_updates() + pool_subnets() + defaults_prefixes_onboard() +
            misc() + in_use_and_cleanup())
