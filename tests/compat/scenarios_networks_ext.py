"""Steps for networks with several segments (multi-provider) and for the auto-allocated
topology (auto-allocated-topology: is_default of external networks, GET/DELETE
/v2.0/auto-allocated-topology/{project}). Self-contained: ids start with "mp" or "aat",
and the last steps delete what the first ones made (no default external network and no
default pool is left for later steps)."""
from scenarios import A, ADMIN, B, step

NETS = "/v2.0/networks"
AAT = "/v2.0/auto-allocated-topology"


def seg(type, physnet=None, segid=None):
    out = {"provider:network_type": type}
    if physnet is not None:
        out["provider:physical_network"] = physnet
    if segid is not None:
        out["provider:segmentation_id"] = segid
    return out


def net(segments, **extra):
    return {"network": dict({"segments": segments}, **extra)}


def bad(id, body, who=ADMIN):
    return step(f"mp.create.{id}", "POST", NETS, body, who=who, compare="status")


def multi_creates():
    return [
        step("mp.create", "POST", NETS, net([seg("vxlan"), seg("vlan", "physnet1", 120)], name="cmp-mp",
             project_id="pa"), who=ADMIN, save={"mpnet": "network.id"}),
        # Ids the type drivers choose are random in Neutron: steps name only chosen ones they captured.
        step("mp.create.three", "POST", NETS, net([seg("vlan", "physnet2"), seg("vxlan"), seg("flat", "physnet1")],
             name="cmp-mp3"), who=ADMIN, save={"mpnet3": "network.id",
                                               "vx3": "network.segments.1.provider:segmentation_id"}),
        step("mp.create.single", "POST", NETS, net([seg("vlan", "physnet1", 121)], name="cmp-mp1"), who=ADMIN,
             save={"mpnet1": "network.id"}),
        step("mp.create.empty", "POST", NETS, net([], name="cmp-mp0"), who=ADMIN, save={"mpnet0": "network.id"}),
        step("mp.create.two-partial", "POST", NETS, net([seg("vxlan"), seg("vxlan")], name="cmp-mp2"), who=ADMIN,
             save={"mpnet2": "network.id"}),
        step("mp.create.segid-text", "POST", NETS, net([seg("vlan", "physnet1", "150"), seg("vlan", "physnet2", 0)]),
             who=ADMIN, save={"mpnet_text": "network.id"}),
        step("mp.create.segid-float", "POST", NETS, net([seg("vlan", "physnet1", 151.5)]), who=ADMIN,
             save={"mpfloat": "network.id"}),
        step("mp.create.vlan-no-range", "POST", NETS, net([seg("vxlan"), seg("vlan", "physnet2")]), who=ADMIN,
             save={"mpnorange": "network.id"}),
        step("mp.create.bulk", "POST", NETS, {"networks": [{"segments": [seg("vxlan"), seg("vlan", "physnet1", 122)]},
             {"name": "plain"}]}, who=ADMIN, save={"mpbulk1": "networks.0.id", "mpbulk2": "networks.1.id"}),
        step("mp.create.mtu-too-big", "POST", NETS, net([seg("vlan", "physnet1", 123), seg("vxlan")], mtu=1500),
             who=ADMIN, compare="status"),
        step("mp.create.mtu-ok", "POST", NETS, net([seg("vlan", "physnet1", 124), seg("vxlan")], mtu=1400),
             who=ADMIN, save={"mpmtu": "network.id"}),
        bad("member", net([seg("vxlan"), seg("vxlan")]), who=A),
        bad("member-empty", net([]), who=A),
        bad("with-provider", {"network": {"segments": [seg("vxlan")], "provider:network_type": "vxlan"}}),
        bad("with-provider-segid", {"network": {"segments": [seg("vxlan")], "provider:segmentation_id": 7}}),
        bad("dup", net([seg("vlan", "physnet1", 130), seg("vlan", "physnet1", 130)])),
        bad("dup-flat", net([seg("flat", "physnet2"), seg("flat", "physnet2")])),
        bad("dup-vxlan", net([seg("vxlan", segid=700), seg("vxlan", segid=700)])),
        bad("no-type", net([{"provider:physical_network": "physnet1"}])),
        bad("bad-type", net([seg("gre")])),
        bad("unknown-key", net([{"provider:network_type": "vxlan", "colour": "red"}])),
        bad("not-list", net("vxlan")),
        bad("dict", net({"provider:network_type": "vxlan"})),
        bad("int", net(5)),
        bad("list-of-int", net([5])),
        bad("null", net(None)),
        bad("segid-bad", net([seg("vxlan", segid="x")])),
        bad("vlan-in-use", net([seg("vxlan"), seg("vlan", "physnet1", 120)])),
        bad("vxlan-in-use", net([seg("vxlan", segid="$vx3"), seg("vxlan")])),
        bad("flat-in-use", net([seg("vxlan"), seg("flat", "physnet1")])),
        bad("vlan-range", net([seg("vxlan"), seg("vlan", "physnet1", 5000)])),
        bad("vlan-unknown-physnet", net([seg("vxlan"), seg("vlan", "physnet9", 10)])),
        bad("flat-segid", net([seg("vxlan"), seg("flat", "physnet2", 3)])),
        bad("vxlan-physnet", net([seg("vxlan", "physnet1"), seg("vxlan")])),
        bad("rollback", net([seg("vlan", "physnet1", 140), seg("vlan", "physnet1", 120)])),
        step("mp.create.after-rollback", "POST", NETS, net([seg("vlan", "physnet1", 140)]), who=ADMIN,
             save={"mpafter": "network.id"}),
    ]


def multi_reads_updates():
    return [
        step("mp.show", "GET", f"{NETS}/$mpnet", who=ADMIN),
        step("mp.show.member", "GET", f"{NETS}/$mpnet"),
        step("mp.show.fields", "GET", f"{NETS}/$mpnet?fields=segments&fields=id", who=ADMIN),
        step("mp.show.fields-provider", "GET", f"{NETS}/$mpnet?fields=provider:network_type&fields=id", who=ADMIN),
        step("mp.show.single", "GET", f"{NETS}/$mpnet1", who=ADMIN),
        step("mp.show.single-fields", "GET", f"{NETS}/$mpnet1?fields=segments&fields=id", who=ADMIN),
        step("mp.show.three", "GET", f"{NETS}/$mpnet3", who=ADMIN),
        step("mp.list.admin", "GET", f"{NETS}?name=cmp-mp", who=ADMIN),
        step("mp.list.member", "GET", f"{NETS}?name=cmp-mp"),
        step("mp.list.by-type", "GET", f"{NETS}?provider:network_type=vlan&name=cmp-mp", who=ADMIN),
        step("mp.list.by-type-flat", "GET", f"{NETS}?provider:network_type=flat&id=$mpnet3", who=ADMIN),
        step("mp.list.by-physnet", "GET", f"{NETS}?provider:physical_network=physnet1&id=$mpnet&id=$mpnet3",
             who=ADMIN),
        step("mp.list.by-segid", "GET", f"{NETS}?provider:segmentation_id=120", who=ADMIN),
        step("mp.list.by-segid-two", "GET", f"{NETS}?provider:segmentation_id=150&provider:segmentation_id=121",
             who=ADMIN),
        step("mp.list.by-segid-captured", "GET", f"{NETS}?provider:segmentation_id=$vx3&provider:network_type=vxlan"
             "&name=cmp-mp3&fields=name", who=ADMIN),
        step("mp.list.by-type-none", "GET", f"{NETS}?provider:network_type=gre&id=$mpnet", who=ADMIN),
        step("mp.list.type-and-segid", "GET", f"{NETS}?provider:network_type=vxlan&provider:segmentation_id=120"
             "&id=$mpnet", who=ADMIN),
        step("mp.list.by-segments", "GET", f"{NETS}?segments=x", who=ADMIN, compare="status"),
        step("mp.list.fields", "GET", f"{NETS}?id=$mpnet&id=$mpnet1&fields=segments&fields=id", who=ADMIN),
        step("mp.update.name", "PUT", f"{NETS}/$mpnet", {"network": {"name": "cmp-mp-renamed"}}, who=ADMIN),
        step("mp.update.segments", "PUT", f"{NETS}/$mpnet", {"network": {"segments": [seg("vxlan")]}}, who=ADMIN),
        step("mp.update.segments-member", "PUT", f"{NETS}/$mpnet", {"network": {"segments": [seg("vxlan")]}},
             compare="status"),
        step("mp.update.segments-bad", "PUT", f"{NETS}/$mpnet", {"network": {"segments": [{"colour": 1}]}},
             who=ADMIN, compare="status"),
        step("mp.update.segid", "PUT", f"{NETS}/$mpnet", {"network": {"provider:segmentation_id": 131}}, who=ADMIN,
             compare="status"),
        step("mp.update.segid-zero", "PUT", f"{NETS}/$mpnet", {"network": {"provider:segmentation_id": 0}},
             who=ADMIN),
        step("mp.update.single-vlan", "PUT", f"{NETS}/$mpnet1", {"network": {"provider:segmentation_id": 125}},
             who=ADMIN),
        step("mp.update.vxlan-segid", "PUT", f"{NETS}/$mpnet0", {"network": {"provider:segmentation_id": 950}},
             who=ADMIN, compare="status"),
        step("mp.update.mtu-too-big", "PUT", f"{NETS}/$mpnet", {"network": {"mtu": 1500}}, who=ADMIN,
             compare="status"),
        step("mp.update.mtu", "PUT", f"{NETS}/$mpnet", {"network": {"mtu": 1450}}, who=ADMIN),
        step("mp.show.after-updates", "GET", f"{NETS}/$mpnet", who=ADMIN),
        step("mp.subnet", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$mpnet", "ip_version": 4,
             "cidr": "10.77.0.0/24"}}, save={"mpsub": "subnet.id"}),
        step("mp.port", "POST", "/v2.0/ports", {"port": {"network_id": "$mpnet"}}, save={"mpport": "port.id"},
             compare="keys"),
        step("mp.delete.in-use", "DELETE", f"{NETS}/$mpnet", compare="status"),
        step("mp.port.delete", "DELETE", "/v2.0/ports/$mpport", compare="status"),
        step("mp.delete", "DELETE", f"{NETS}/$mpnet", compare="status"),
        step("mp.show.deleted", "GET", f"{NETS}/$mpnet", who=ADMIN, compare="status"),
        step("mp.create.reuse", "POST", NETS, net([seg("vlan", "physnet1", 120), seg("vxlan")]), who=ADMIN,
             save={"mpreuse": "network.id"}),
        step("mp.ext", "GET", "/v2.0/extensions/multi-provider", compare="keys"),
    ]


def multi_cleanup():
    return [step(f"mp.cleanup.{v}", "DELETE", f"{NETS}/${v}", who=ADMIN, compare="status")
            for v in ("mpnet3", "mpnet1", "mpnet0", "mpnet2", "mpnet_text", "mpbulk1", "mpbulk2", "mpmtu", "mpafter", "mpreuse", "mpfloat",
                      "mpnorange")] + [
        step("mp.cleanup.reuse", "GET", f"{NETS}?provider:segmentation_id=120&fields=id", who=ADMIN),
        step("mp.cleanup.flat-free", "POST", NETS, net([seg("flat", "physnet1"), seg("vxlan")]), who=ADMIN,
             save={"mpflat": "network.id"}),
        step("mp.cleanup.flat", "DELETE", f"{NETS}/$mpflat", who=ADMIN, compare="status"),
    ]


def is_default():
    return [
        step("aat.isdef.create-member", "POST", NETS, {"network": {"is_default": True}}, compare="status"),
        step("aat.isdef.create-member-false", "POST", NETS, {"network": {"is_default": False, "name": "cmp-aat-f"}},
             save={"aatf": "network.id"}),
        step("aat.isdef.create-plain", "POST", NETS, {"network": {"is_default": True, "name": "cmp-aat-plain"}},
             who=ADMIN, save={"aatplain": "network.id"}),
        step("aat.isdef.show-plain", "GET", f"{NETS}/$aatplain", who=ADMIN),
        step("aat.isdef.create-bad", "POST", NETS, {"network": {"is_default": "maybe"}}, who=ADMIN, compare="status"),
        step("aat.isdef.create-ext", "POST", NETS, {"network": {"router:external": True, "name": "cmp-aat-ext"}},
             who=ADMIN, save={"aatext": "network.id"}),
        step("aat.isdef.show-ext", "GET", f"{NETS}/$aatext", who=ADMIN),
        step("aat.isdef.show-ext-member", "GET", f"{NETS}/$aatext"),
        step("aat.isdef.set", "PUT", f"{NETS}/$aatext", {"network": {"is_default": True}}, who=ADMIN),
        step("aat.isdef.set-member", "PUT", f"{NETS}/$aatext", {"network": {"is_default": False}}, compare="status"),
        step("aat.isdef.set-again", "PUT", f"{NETS}/$aatext", {"network": {"is_default": True}}, who=ADMIN),
        step("aat.isdef.create-second", "POST", NETS, {"network": {"router:external": True, "is_default": True}},
             who=ADMIN, compare="status"),
        step("aat.isdef.create-second-plain", "POST", NETS, {"network": {"is_default": True}}, who=ADMIN,
             compare="status"),
        step("aat.isdef.create-ext2", "POST", NETS, {"network": {"router:external": True, "name": "cmp-aat-ext2"}},
             who=ADMIN, save={"aatext2": "network.id"}),
        step("aat.isdef.set-second", "PUT", f"{NETS}/$aatext2", {"network": {"is_default": True}}, who=ADMIN,
             compare="status"),
        step("aat.isdef.set-plain-second", "PUT", f"{NETS}/$aatplain", {"network": {"is_default": True}}, who=ADMIN,
             compare="status"),
        # Neutron checks the is_default filter as a boolean, then ignores it.
        step("aat.isdef.list", "GET", f"{NETS}?is_default=True&name=cmp-aat-plain", who=ADMIN),
        step("aat.isdef.list-default", "GET", f"{NETS}?is_default=True&name=cmp-aat-ext", who=ADMIN),
        step("aat.isdef.list-false", "GET", f"{NETS}?is_default=false&name=cmp-aat-ext2", who=ADMIN),
        step("aat.isdef.list-bad", "GET", f"{NETS}?is_default=maybe", who=ADMIN, compare="status"),
        step("aat.isdef.list-member", "GET", f"{NETS}?is_default=True&name=cmp-aat-f"),
        step("aat.isdef.fields", "GET", f"{NETS}/$aatext?fields=is_default&fields=id", who=ADMIN),
        step("aat.isdef.unset", "PUT", f"{NETS}/$aatext", {"network": {"is_default": False}}, who=ADMIN),
        step("aat.isdef.set-ext2", "PUT", f"{NETS}/$aatext2", {"network": {"is_default": True}}, who=ADMIN),
        step("aat.isdef.internal", "PUT", f"{NETS}/$aatext2", {"network": {"router:external": False}}, who=ADMIN),
        step("aat.isdef.internal-show", "GET", f"{NETS}/$aatext2", who=ADMIN),
        step("aat.isdef.external-again", "PUT", f"{NETS}/$aatext2", {"network": {"router:external": True}},
             who=ADMIN),
        step("aat.isdef.external-show", "GET", f"{NETS}/$aatext2", who=ADMIN),
        step("aat.isdef.make-ext-default", "PUT", f"{NETS}/$aatplain", {"network": {"router:external": True,
             "is_default": True}}, who=ADMIN),
        step("aat.isdef.unset-plain", "PUT", f"{NETS}/$aatplain", {"network": {"is_default": False}}, who=ADMIN),
        step("aat.isdef.create-ext-default", "POST", NETS, {"network": {"router:external": True, "is_default": True,
             "name": "cmp-aat-default"}}, who=ADMIN, save={"aatdef": "network.id"}),
        step("aat.isdef.show-default", "GET", f"{NETS}/$aatdef", who=ADMIN),
    ]


def topology():
    pool = {"subnetpool": {"name": "cmp-aat-pool", "prefixes": ["10.96.0.0/16"], "is_default": True, "shared": True,
                           "default_prefixlen": 26}}
    return [
        step("aat.get.no-default-ext", "GET", f"{AAT}/pa", compare="status"),
        step("aat.dry-run.no-default-ext", "GET", f"{AAT}/pa?fields=dry-run", compare="status"),
    ] + is_default() + [
        step("aat.ext.subnet", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$aatdef", "ip_version": 4,
             "cidr": "203.0.114.0/24"}}, who=ADMIN, save={"aatextsub": "subnet.id"}),
        step("aat.dry-run.no-pools", "GET", f"{AAT}/pa?fields=dry-run", compare="status"),
        step("aat.get.no-pools", "GET", f"{AAT}/pa", compare="status"),
        step("aat.get.no-pools-nothing-left", "GET", f"{NETS}?name=auto_allocated_network", who=ADMIN),
        step("aat.pool", "POST", "/v2.0/subnetpools", pool, who=ADMIN, save={"aatpool": "subnetpool.id"}),
        step("aat.dry-run", "GET", f"{AAT}/pa?fields=dry-run"),
        step("aat.dry-run.other-project", "GET", f"{AAT}/pb?fields=dry-run", compare="status"),
        step("aat.dry-run.bad-field", "GET", f"{AAT}/pa?fields=name", compare="status"),
        step("aat.dry-run.two-fields", "GET", f"{AAT}/pa?fields=dry-run&fields=id", compare="status"),
        step("aat.dry-run.nothing-made", "GET", f"{NETS}?name=auto_allocated_network", who=ADMIN),
        step("aat.get", "GET", f"{AAT}/pa", save={"aatnet": "auto_allocated_topology.id"}),
        step("aat.get.again", "GET", f"{AAT}/pa"),
        step("aat.get.none", "GET", f"{AAT}/None"),
        step("aat.get.other-project", "GET", f"{AAT}/pb", compare="status"),
        step("aat.get.admin-for-b", "GET", f"{AAT}/pb", who=ADMIN, save={"aatnetb": "auto_allocated_topology.id"}),
        step("aat.get.b", "GET", f"{AAT}/pb", who=B),
        step("aat.net.show", "GET", f"{NETS}/$aatnet"),
        step("aat.net.show-b", "GET", f"{NETS}/$aatnetb", who=B),
        step("aat.subnets", "GET", f"/v2.0/subnets?network_id=$aatnet"),
        step("aat.router", "GET", "/v2.0/routers?name=auto_allocated_router", compare="keys"),
        step("aat.router.gw", "GET", "/v2.0/routers?name=auto_allocated_router&fields=external_gateway_info"
             "&fields=name&fields=admin_state_up", compare="keys"),
        step("aat.ports", "GET", "/v2.0/ports?network_id=$aatnet&fields=device_owner&fields=network_id"),
        step("aat.list", "GET", AAT, compare="status"),
        step("aat.post", "POST", AAT, {"auto_allocated_topology": {}}, compare="status"),
        step("aat.put", "PUT", f"{AAT}/pa", {"auto_allocated_topology": {}}, compare="status"),
        step("aat.ext", "GET", "/v2.0/extensions/auto-allocated-topology", compare="keys"),
        step("aat.delete.other-project", "DELETE", f"{AAT}/pb", compare="status"),
        step("aat.delete.b-still-there", "GET", f"{NETS}/$aatnetb", who=B, compare="status"),
        step("aat.delete", "DELETE", f"{AAT}/pa", compare="status"),
        step("aat.delete.net-gone", "GET", f"{NETS}/$aatnet", compare="status"),
        step("aat.delete.router-gone", "GET", "/v2.0/routers?name=auto_allocated_router"),
        step("aat.delete.again", "DELETE", f"{AAT}/pa", compare="status"),
        step("aat.delete.none", "DELETE", f"{AAT}/None", compare="status"),
        step("aat.delete.b-admin", "DELETE", f"{AAT}/pb", who=ADMIN, compare="status"),
        step("aat.delete.b-gone", "GET", f"{NETS}/$aatnetb", who=B, compare="status"),
        step("aat.get.after-delete", "GET", f"{AAT}/pa", save={"aatnet2": "auto_allocated_topology.id"}),
        step("aat.net.delete-in-use", "DELETE", f"{NETS}/$aatnet2", compare="status"),
        step("aat.delete.final", "DELETE", f"{AAT}/pa", compare="status"),
        step("aat.cleanup.pool", "DELETE", "/v2.0/subnetpools/$aatpool", who=ADMIN, compare="status"),
        step("aat.cleanup.ext-subnet", "DELETE", "/v2.0/subnets/$aatextsub", who=ADMIN, compare="status"),
    ] + [step(f"aat.cleanup.{v}", "DELETE", f"{NETS}/${v}", who=ADMIN, compare="status")
         for v in ("aatdef", "aatext", "aatext2", "aatplain", "aatf")]


def steps():
    return multi_creates() + multi_reads_updates() + multi_cleanup() + topology()
