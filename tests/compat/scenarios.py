"""The steps the harness runs against both servers (see differ.py for the format). They
are generated per resource: create, show, list with filters, fields, sorting and paging,
update, bad input of every kind, other projects, admin-only attributes, tags, If-Match,
bulk, delete and what a deleted resource answers."""

ADMIN = ("padmin", "admin")
A = ("pa", "member")
B = ("pb", "member")


def step(id, method, path, body=None, who=A, save=None, compare="full", **extra):
    s = {"id": id, "method": method, "path": path, "body": body, "who": who, "compare": compare}
    if save:
        s["save"] = save
    s.update(extra)
    return s


# Values of the wrong kind for an attribute of a given type.
BAD = {
    "bool": ["maybe", 2, [], {}],
    "int": ["x", 1.5, [], True],
    "str": [1, [], {}],
    "list": ["a", 1, {}],
    "uuid": ["not-a-uuid", 1, []],
}


def bad_values(prefix, method, path, wrap, attrs, who=A):
    out = []
    for attr, kind in attrs.items():
        for i, v in enumerate(BAD[kind]):
            out.append(step(f"{prefix}.bad.{attr}.{i}", method, path, {wrap: {attr: v}}, who=who, compare="status"))
    return out


def read_steps(prefix, collection, var, who=A):
    base = f"/v2.0/{collection}"
    return [
        step(f"{prefix}.show", "GET", f"{base}/${var}", who=who),
        step(f"{prefix}.show.fields", "GET", f"{base}/${var}?fields=id&fields=name", who=who),
        step(f"{prefix}.show.other-project", "GET", f"{base}/${var}", who=B, compare="status"),
        step(f"{prefix}.show.missing", "GET", f"{base}/00000000-0000-0000-0000-000000000000", who=who, compare="status"),
        step(f"{prefix}.show.bad-id", "GET", f"{base}/not-an-id", who=who, compare="status"),
        step(f"{prefix}.list.by-name", "GET", f"{base}?name=cmp-{prefix}", who=who),
        step(f"{prefix}.list.by-id", "GET", f"{base}?id=${var}", who=who),
        step(f"{prefix}.list.fields", "GET", f"{base}?id=${var}&fields=id", who=who),
        step(f"{prefix}.list.unknown-filter", "GET", f"{base}?id=${var}&colour=red", who=who, compare="status"),
        step(f"{prefix}.list.sort", "GET", f"{base}?id=${var}&sort_key=name&sort_dir=asc", who=who),
        step(f"{prefix}.list.sort-bad-dir", "GET", f"{base}?sort_key=name&sort_dir=up", who=who, compare="status"),
        step(f"{prefix}.list.sort-bad-key", "GET", f"{base}?sort_key=colour", who=who, compare="status"),
        step(f"{prefix}.list.limit", "GET", f"{base}?id=${var}&limit=1", who=who, compare="keys"),
        step(f"{prefix}.list.limit-bad", "GET", f"{base}?limit=x", who=who, compare="status"),
        step(f"{prefix}.list.limit-negative", "GET", f"{base}?limit=-1", who=who, compare="status"),
        step(f"{prefix}.list.marker-missing", "GET", f"{base}?limit=1&marker=00000000-0000-0000-0000-000000000000",
             who=who, compare="status"),
        step(f"{prefix}.list.other-project", "GET", f"{base}?id=${var}", who=B),
        step(f"{prefix}.list.admin", "GET", f"{base}?id=${var}", who=ADMIN),
    ]


def write_steps(prefix, collection, wrap, var, who=A):
    base = f"/v2.0/{collection}"
    return [
        step(f"{prefix}.update.name", "PUT", f"{base}/${var}", {wrap: {"name": f"cmp-{prefix}"}}, who=who),
        step(f"{prefix}.update.description", "PUT", f"{base}/${var}", {wrap: {"description": "d"}}, who=who),
        step(f"{prefix}.update.empty", "PUT", f"{base}/${var}", {wrap: {}}, who=who, compare="status"),
        step(f"{prefix}.update.unknown", "PUT", f"{base}/${var}", {wrap: {"colour": "red"}}, who=who, compare="status"),
        step(f"{prefix}.update.id", "PUT", f"{base}/${var}", {wrap: {"id": "00000000-0000-0000-0000-000000000001"}},
             who=who, compare="status"),
        step(f"{prefix}.update.not-wrapped", "PUT", f"{base}/${var}", {"name": "x"}, who=who, compare="status"),
        step(f"{prefix}.update.other-project", "PUT", f"{base}/${var}", {wrap: {"name": "x"}}, who=B, compare="status"),
        step(f"{prefix}.update.if-match-ok", "PUT", f"{base}/${var}", {wrap: {"name": f"cmp-{prefix}"}}, who=who,
             headers={"If-Match": "revision_number=999"}, compare="status"),
        step(f"{prefix}.update.if-match-bad", "PUT", f"{base}/${var}", {wrap: {"name": "y"}}, who=who,
             headers={"If-Match": "revision=1"}, compare="status"),
        step(f"{prefix}.tags.put", "PUT", f"{base}/${var}/tags", {"tags": ["red", "blue"]}, who=who),
        step(f"{prefix}.tags.get", "GET", f"{base}/${var}/tags", who=who),
        step(f"{prefix}.tags.add", "PUT", f"{base}/${var}/tags/green", who=who, compare="status"),
        step(f"{prefix}.tags.check", "GET", f"{base}/${var}/tags/green", who=who, compare="status"),
        step(f"{prefix}.tags.check-missing", "GET", f"{base}/${var}/tags/black", who=who, compare="status"),
        step(f"{prefix}.tags.filter", "GET", f"{base}?tags=red&id=${var}", who=who),
        step(f"{prefix}.tags.filter-any", "GET", f"{base}?tags-any=green,black&id=${var}", who=who),
        step(f"{prefix}.tags.filter-not", "GET", f"{base}?not-tags=red&id=${var}", who=who),
        step(f"{prefix}.tags.duplicate", "PUT", f"{base}/${var}/tags", {"tags": ["a", "a"]}, who=who, compare="status"),
        step(f"{prefix}.tags.not-list", "PUT", f"{base}/${var}/tags", {"tags": "a"}, who=who, compare="status"),
        step(f"{prefix}.tags.too-long", "PUT", f"{base}/${var}/tags/{'x' * 61}", who=who, compare="status"),
        step(f"{prefix}.tags.delete", "DELETE", f"{base}/${var}/tags/green", who=who, compare="status"),
        step(f"{prefix}.tags.delete-missing", "DELETE", f"{base}/${var}/tags/green", who=who, compare="status"),
        step(f"{prefix}.tags.other-project", "PUT", f"{base}/${var}/tags", {"tags": ["x"]}, who=B, compare="status"),
        step(f"{prefix}.tags.missing-resource", "PUT", f"{base}/00000000-0000-0000-0000-000000000000/tags",
             {"tags": ["x"]}, who=who, compare="status"),
        step(f"{prefix}.tags.clear", "DELETE", f"{base}/${var}/tags", who=who, compare="status"),
    ]


def networks():
    s = [
        step("net.create", "POST", "/v2.0/networks", {"network": {"name": "cmp-net"}}, save={"net": "network.id"}),
        step("net.create.admin-state", "POST", "/v2.0/networks", {"network": {"name": "cmp-net2", "admin_state_up": False}},
             save={"net2": "network.id"}),
        step("net.create.shared-member", "POST", "/v2.0/networks", {"network": {"shared": True}}, compare="status"),
        step("net.create.external-member", "POST", "/v2.0/networks", {"network": {"router:external": True}},
             compare="status"),
        step("net.create.provider-member", "POST", "/v2.0/networks", {"network": {"provider:network_type": "vxlan"}},
             compare="status"),
        step("net.create.unknown", "POST", "/v2.0/networks", {"network": {"colour": "red"}}, compare="status"),
        step("net.create.not-wrapped", "POST", "/v2.0/networks", {"name": "x"}, compare="status"),
        step("net.create.not-json", "POST", "/v2.0/networks", raw="{not json", compare="status"),
        step("net.create.empty-body", "POST", "/v2.0/networks", raw="", compare="status"),
        step("net.create.mtu-low", "POST", "/v2.0/networks", {"network": {"mtu": 10}}, compare="status"),
        step("net.create.mtu-high", "POST", "/v2.0/networks", {"network": {"mtu": 100000}}, compare="status"),
        step("net.create.name-long", "POST", "/v2.0/networks", {"network": {"name": "n" * 256}}, compare="status"),
        step("net.create.bulk", "POST", "/v2.0/networks", {"networks": [{"name": "cmp-b1"}, {"name": "cmp-b2"}]},
             save={"bulk1": "networks.0.id", "bulk2": "networks.1.id"}),
        step("net.create.bulk-wrapped", "POST", "/v2.0/networks", {"networks": [{"network": {"name": "cmp-b3"}}]},
             compare="status"),
        step("net.create.bulk-one-bad", "POST", "/v2.0/networks", {"networks": [{"name": "ok"}, {"mtu": "x"}]},
             compare="status"),
        step("net.create.bulk-empty", "POST", "/v2.0/networks", {"networks": []}, compare="status"),
        # provider networks as admin
        step("net.create.vlan", "POST", "/v2.0/networks", {"network": {"provider:network_type": "vlan",
             "provider:physical_network": "physnet1", "provider:segmentation_id": 150}}, who=ADMIN,
             save={"vlan": "network.id"}),
        step("net.create.vlan-dup", "POST", "/v2.0/networks", {"network": {"provider:network_type": "vlan",
             "provider:physical_network": "physnet1", "provider:segmentation_id": 150}}, who=ADMIN, compare="status"),
        step("net.create.vlan-range", "POST", "/v2.0/networks", {"network": {"provider:network_type": "vlan",
             "provider:physical_network": "physnet1", "provider:segmentation_id": 5000}}, who=ADMIN, compare="status"),
        step("net.create.vlan-bad-id", "POST", "/v2.0/networks", {"network": {"provider:network_type": "vlan",
             "provider:physical_network": "physnet1", "provider:segmentation_id": "x"}}, who=ADMIN, compare="status"),
        step("net.create.vlan-unranged-physnet", "POST", "/v2.0/networks", {"network": {"provider:network_type": "vlan",
             "provider:physical_network": "physnet2", "provider:segmentation_id": 7}}, who=ADMIN, compare="status"),
        step("net.create.vlan-no-physnet", "POST", "/v2.0/networks", {"network": {"provider:network_type": "vlan"}},
             who=ADMIN, compare="keys"),
        step("net.create.vlan-unknown-physnet", "POST", "/v2.0/networks", {"network": {"provider:network_type": "vlan",
             "provider:physical_network": "nope", "provider:segmentation_id": 7}}, who=ADMIN, compare="status"),
        step("net.create.flat", "POST", "/v2.0/networks", {"network": {"provider:network_type": "flat",
             "provider:physical_network": "physnet2", "router:external": True, "name": "cmp-ext"}}, who=ADMIN,
             save={"ext": "network.id"}),
        step("net.create.flat-dup", "POST", "/v2.0/networks", {"network": {"provider:network_type": "flat",
             "provider:physical_network": "physnet2"}}, who=ADMIN, compare="status"),
        step("net.create.flat-segid", "POST", "/v2.0/networks", {"network": {"provider:network_type": "flat",
             "provider:physical_network": "physnet1", "provider:segmentation_id": 3}}, who=ADMIN, compare="status"),
        step("net.create.vxlan-id", "POST", "/v2.0/networks", {"network": {"provider:network_type": "vxlan",
             "provider:segmentation_id": 77}}, who=ADMIN, save={"vx77": "network.id"}),
        step("net.create.vxlan-physnet", "POST", "/v2.0/networks", {"network": {"provider:network_type": "vxlan",
             "provider:physical_network": "physnet1"}}, who=ADMIN, compare="status"),
        step("net.create.bad-type", "POST", "/v2.0/networks", {"network": {"provider:network_type": "gre"}},
             who=ADMIN, compare="status"),
        step("net.create.shared-admin", "POST", "/v2.0/networks", {"network": {"shared": True, "name": "cmp-shared",
             "project_id": "pa"}}, who=ADMIN, save={"shared": "network.id"}),
        step("net.show.shared-other", "GET", "/v2.0/networks/$shared", who=B, compare="keys"),
        step("net.show.external-other", "GET", "/v2.0/networks/$ext", who=B, compare="keys"),
        step("net.list.shared-filter", "GET", "/v2.0/networks?shared=True&id=$shared", who=B),
        step("net.list.shared-filter-false", "GET", "/v2.0/networks?shared=False&id=$net"),
        step("net.list.external-filter", "GET", "/v2.0/networks?router:external=True&id=$ext", who=B),
        step("net.list.bad-bool", "GET", "/v2.0/networks?shared=maybe", compare="status"),
        step("net.list.admin-state", "GET", "/v2.0/networks?admin_state_up=False&id=$net2"),
        step("net.update.shared-member", "PUT", "/v2.0/networks/$net", {"network": {"shared": True}}, compare="status"),
        step("net.update.mtu", "PUT", "/v2.0/networks/$net", {"network": {"mtu": 1400}}),
        step("net.update.segid", "PUT", "/v2.0/networks/$vlan", {"network": {"provider:segmentation_id": 151}},
             who=ADMIN, compare="status"),
        step("net.update.segid-same", "PUT", "/v2.0/networks/$vlan", {"network": {"provider:segmentation_id": 151}},
             who=ADMIN, compare="status"),
        step("net.update.segid-taken", "PUT", "/v2.0/networks/$vlan", {"network": {"provider:segmentation_id": 150}},
             who=ADMIN, compare="status"),
        step("net.update.segid-show", "GET", "/v2.0/networks/$vlan?fields=provider:segmentation_id", who=ADMIN),
        step("net.update.admin-state-bad", "PUT", "/v2.0/networks/$net", {"network": {"admin_state_up": "maybe"}},
             compare="status"),
        step("net.update.port-security", "PUT", "/v2.0/networks/$net", {"network": {"port_security_enabled": False}}),
    ]
    s += bad_values("net.create", "POST", "/v2.0/networks", "network",
                    {"admin_state_up": "bool", "mtu": "int", "name": "str", "port_security_enabled": "bool",
                     "availability_zone_hints": "list"})
    s += read_steps("net", "networks", "net")
    s += write_steps("net", "networks", "network", "net")
    return s


def subnets():
    s = [
        # The pool leaves out .2-.127: the addresses the steps ask for on $sub by hand (.50, .51,
        # .60, .77, .78, .123) are never ones that an automatic allocation (random on both
        # servers) of an earlier step could have taken.
        step("sub.create", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$net", "cidr": "10.30.0.0/24",
             "ip_version": 4, "name": "cmp-sub", "allocation_pools": [{"start": "10.30.0.128", "end": "10.30.0.254"}]}},
             save={"sub": "subnet.id"}),
        step("sub.create.host-bits", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$net2", "cidr": "10.31.0.1/24",
             "ip_version": 4}}, compare="full", save={"sub_hb": "subnet.id"}),
        step("sub.create.overlap", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$net", "cidr": "10.30.0.0/25",
             "ip_version": 4}}, compare="status"),
        step("sub.create.no-cidr", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$net", "ip_version": 4}},
             compare="status"),
        step("sub.create.prefixlen-no-pool", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$net", "ip_version": 4,
             "prefixlen": 24}}, compare="status"),
        step("sub.create.bad-cidr", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$net", "cidr": "10.300.0.0/24",
             "ip_version": 4}}, compare="status"),
        step("sub.create.version-mismatch", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$net",
             "cidr": "10.32.0.0/24", "ip_version": 6}}, compare="status"),
        step("sub.create.bad-version", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$net", "cidr": "10.32.0.0/24",
             "ip_version": 5}}, compare="status"),
        step("sub.create.no-network", "POST", "/v2.0/subnets", {"subnet": {"cidr": "10.32.0.0/24", "ip_version": 4}},
             compare="status"),
        step("sub.create.missing-network", "POST", "/v2.0/subnets", {"subnet": {
             "network_id": "00000000-0000-0000-0000-000000000000", "cidr": "10.32.0.0/24", "ip_version": 4}},
             compare="status"),
        step("sub.create.other-project-network", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$net",
             "cidr": "10.33.0.0/24", "ip_version": 4}}, who=B, compare="status"),
        step("sub.create.gateway-outside", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$net2",
             "cidr": "10.34.0.0/24", "ip_version": 4, "gateway_ip": "10.99.0.1"}}, compare="status"),
        step("sub.create.no-gateway", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$bulk1",
             "cidr": "10.35.0.0/24", "ip_version": 4, "gateway_ip": None}}, save={"sub_ngw": "subnet.id"}),
        step("sub.create.pools", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$bulk2", "cidr": "10.36.0.0/24",
             "ip_version": 4, "allocation_pools": [{"start": "10.36.0.10", "end": "10.36.0.20"}]}},
             save={"sub_pools": "subnet.id"}),
        step("sub.create.pool-outside", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$bulk2",
             "cidr": "10.37.0.0/24", "ip_version": 4, "allocation_pools": [{"start": "10.38.0.10", "end": "10.38.0.20"}]}},
             compare="status"),
        step("sub.create.pool-reversed", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$bulk2",
             "cidr": "10.37.0.0/24", "ip_version": 4, "allocation_pools": [{"start": "10.37.0.20", "end": "10.37.0.10"}]}},
             compare="status"),
        step("sub.create.pool-gateway", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$bulk2",
             "cidr": "10.37.0.0/24", "ip_version": 4, "gateway_ip": "10.37.0.15",
             "allocation_pools": [{"start": "10.37.0.10", "end": "10.37.0.20"}]}}, compare="status"),
        step("sub.create.dns", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$vx77", "cidr": "10.39.0.0/24",
             "ip_version": 4, "dns_nameservers": ["192.0.2.53"], "host_routes": [{"destination": "198.51.100.0/24",
             "nexthop": "10.39.0.254"}]}}, who=ADMIN, save={"sub_dns": "subnet.id"}),
        step("sub.create.dns-bad", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$vx77", "cidr": "10.40.0.0/24",
             "ip_version": 4, "dns_nameservers": ["nope"]}}, who=ADMIN, compare="status"),
        step("sub.create.route-bad", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$vx77", "cidr": "10.40.0.0/24",
             "ip_version": 4, "host_routes": [{"destination": "x", "nexthop": "10.40.0.1"}]}}, who=ADMIN,
             compare="status"),
        step("sub.create.v6", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$net2", "cidr": "2001:db8:1::/64",
             "ip_version": 6}}, save={"sub6": "subnet.id"}),
        step("sub.create.v6-slaac", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$bulk1", "cidr": "2001:db8:2::/64",
             "ip_version": 6, "ipv6_address_mode": "slaac", "ipv6_ra_mode": "slaac"}}, save={"sub6s": "subnet.id"}),
        step("sub.v6-slaac.port", "POST", "/v2.0/ports", {"port": {"network_id": "$bulk1", "name": "cmp-slaac"}},
             save={"slaacport": "port.id"}, compare="keys"),
        step("sub.v6-slaac.port-ips", "GET", "/v2.0/ports/$slaacport?fields=fixed_ips", compare="keys"),
        step("sub.v6-slaac.port-explicit-ip", "POST", "/v2.0/ports", {"port": {"network_id": "$bulk1",
             "fixed_ips": [{"subnet_id": "$sub6s", "ip_address": "2001:db8:2::77"}]}}, compare="status"),
        step("sub.v6-slaac.port-subnet-only", "POST", "/v2.0/ports", {"port": {"network_id": "$bulk1",
             "fixed_ips": [{"subnet_id": "$sub6s"}]}}, save={"slaacport2": "port.id"}, compare="keys"),
        step("sub.v6-slaac.port-delete", "DELETE", "/v2.0/ports/$slaacport", compare="status"),
        step("sub.v6-slaac.port2-delete", "DELETE", "/v2.0/ports/$slaacport2", compare="status"),
        step("sub.create.v6-bad-mode", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$bulk1",
             "cidr": "2001:db8:3::/64", "ip_version": 6, "ipv6_address_mode": "magic"}}, compare="status"),
        step("sub.create.v6-on-v4-modes", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$bulk1",
             "cidr": "10.41.0.0/24", "ip_version": 4, "ipv6_address_mode": "slaac"}}, compare="status"),
        step("sub.create.enable-dhcp-bad", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$bulk1",
             "cidr": "10.42.0.0/24", "ip_version": 4, "enable_dhcp": "maybe"}}, compare="status"),
        step("sub.create.ext", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$ext", "cidr": "203.0.113.0/24",
             "ip_version": 4}}, who=ADMIN, save={"extsub": "subnet.id"}),
        step("sub.update.gateway", "PUT", "/v2.0/subnets/$sub_ngw", {"subnet": {"gateway_ip": "10.35.0.1"}}),
        step("sub.update.cidr", "PUT", "/v2.0/subnets/$sub", {"subnet": {"cidr": "10.30.0.0/16"}}, compare="status"),
        step("sub.update.pools", "PUT", "/v2.0/subnets/$sub_pools", {"subnet": {"allocation_pools": [
             {"start": "10.36.0.10", "end": "10.36.0.30"}]}}),
        step("sub.update.dns", "PUT", "/v2.0/subnets/$sub", {"subnet": {"dns_nameservers": ["192.0.2.1", "192.0.2.2"]}}),
        step("sub.update.dns-dup", "PUT", "/v2.0/subnets/$sub", {"subnet": {"dns_nameservers": ["192.0.2.1", "192.0.2.1"]}},
             compare="status"),
        step("sub.list.by-cidr", "GET", "/v2.0/subnets?cidr=10.30.0.0/24"),
        step("sub.list.by-network", "GET", "/v2.0/subnets?network_id=$net"),
        step("sub.list.by-version", "GET", "/v2.0/subnets?ip_version=6&network_id=$net2"),
        step("sub.list.shared-false", "GET", "/v2.0/subnets?shared=False&id=$sub", compare="status"),
    ]
    s += bad_values("sub.create", "POST", "/v2.0/subnets", "subnet",
                    {"enable_dhcp": "bool", "ip_version": "int", "network_id": "uuid", "dns_nameservers": "list",
                     "allocation_pools": "list", "host_routes": "list"})
    s += read_steps("sub", "subnets", "sub")
    s += write_steps("sub", "subnets", "subnet", "sub")
    return s


def ports():
    s = [
        step("port.create", "POST", "/v2.0/ports", {"port": {"network_id": "$net", "name": "cmp-port"}},
             save={"port": "port.id", "port_ip": "port.fixed_ips.0.ip_address"}),
        step("port.create.fixed-ip", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "fixed_ips": [{"ip_address": "10.30.0.50"}]}}, save={"port50": "port.id"}),
        step("port.create.ip-taken", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "fixed_ips": [{"ip_address": "10.30.0.50"}]}}, compare="status"),
        step("port.create.ip-taken-subnet", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "fixed_ips": [{"subnet_id": "$sub", "ip_address": "10.30.0.50"}]}}, compare="status"),
        step("port.create.bulk-same-ip", "POST", "/v2.0/ports", {"ports": [
             {"network_id": "$net", "fixed_ips": [{"ip_address": "10.30.0.60"}]},
             {"network_id": "$net", "fixed_ips": [{"ip_address": "10.30.0.60"}]}]}, compare="status"),
        step("port.create.ip-outside", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "fixed_ips": [{"ip_address": "10.99.0.50"}]}}, compare="status"),
        step("port.create.ip-bad", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "fixed_ips": [{"ip_address": "x"}]}}, compare="status"),
        step("port.create.subnet-other-network", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "fixed_ips": [{"subnet_id": "$sub_ngw"}]}}, compare="status"),
        step("port.create.no-network", "POST", "/v2.0/ports", {"port": {"name": "x"}}, compare="status"),
        step("port.create.missing-network", "POST", "/v2.0/ports", {"port": {
             "network_id": "00000000-0000-0000-0000-000000000000"}}, compare="status"),
        # A fixed address: a random one could be 10.30.0.51, which port.update.fixed-ips takes
        # (and .123 is outside $sub's pool, so no automatic address of an earlier step is it).
        step("port.create.mac", "POST", "/v2.0/ports", {"port": {"network_id": "$net", "mac_address": "fa:16:3e:11:22:33",
             "fixed_ips": [{"ip_address": "10.30.0.123"}]}},
             save={"portmac": "port.id"}),
        step("port.create.mac-taken", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "mac_address": "fa:16:3e:11:22:33"}}, compare="status"),
        step("port.create.mac-bad", "POST", "/v2.0/ports", {"port": {"network_id": "$net", "mac_address": "zz"}},
             compare="status"),
        step("port.create.mac-multicast", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "mac_address": "01:00:5e:00:00:01"}}, compare="status"),
        step("port.create.no-subnet-network", "POST", "/v2.0/ports", {"port": {"network_id": "$vlan"}}, who=ADMIN,
             save={"port_nosub": "port.id"}),
        step("port.create.sg-no-subnet", "POST", "/v2.0/ports", {"port": {"network_id": "$vlan",
             "security_groups": []}}, who=ADMIN, compare="status"),
        step("port.create.aap", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "allowed_address_pairs": [{"ip_address": "10.30.0.200"}]}}, save={"port_aap": "port.id"}),
        step("port.create.aap-no-ip", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "allowed_address_pairs": [{"mac_address": "fa:16:3e:00:00:09"}]}}, compare="status"),
        step("port.create.aap-bad", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "allowed_address_pairs": [{"ip_address": "x"}]}}, compare="status"),
        step("port.create.psec-off-with-aap", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "port_security_enabled": False, "allowed_address_pairs": [{"ip_address": "10.30.0.201"}]}},
             compare="status"),
        step("port.create.psec-off-with-sg", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "port_security_enabled": False, "security_groups": ["00000000-0000-0000-0000-000000000000"]}},
             compare="status"),
        step("port.create.device-owner", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "device_owner": "compute:nova", "device_id": "vm1"}}, save={"port_vm": "port.id"}),
        step("port.create.binding-member", "POST", "/v2.0/ports", {"port": {"network_id": "$net",
             "binding:host_id": "h1"}}, compare="status"),
        step("port.create.other-project-network", "POST", "/v2.0/ports", {"port": {"network_id": "$net"}}, who=B,
             compare="status"),
        step("port.create.shared-network", "POST", "/v2.0/ports", {"port": {"network_id": "$shared"}}, who=B,
             compare="keys"),
        step("port.update.fixed-ips", "PUT", "/v2.0/ports/$port50", {"port": {"fixed_ips": [{"ip_address": "10.30.0.51"}]}}),
        # extra_dhcp_opts: a create drops null values; an update merges by (opt_name, ip_version).
        step("port.create.dhcp-opts", "POST", "/v2.0/ports", {"port": {"network_id": "$net", "extra_dhcp_opts": [
             {"opt_name": "tftp-server", "opt_value": "192.0.2.7"}, {"opt_name": "66", "opt_value": None}]}},
             save={"portopts": "port.id"}, compare="status"),
        step("port.show.dhcp-opts-created", "GET", "/v2.0/ports/$portopts?fields=extra_dhcp_opts"),
        step("port.update.dhcp-opts-add", "PUT", "/v2.0/ports/$portopts", {"port": {"extra_dhcp_opts": [
             {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"}]}}, compare="status"),
        step("port.show.dhcp-opts-added", "GET", "/v2.0/ports/$portopts?fields=extra_dhcp_opts"),
        step("port.update.dhcp-opts-merge", "PUT", "/v2.0/ports/$portopts", {"port": {"extra_dhcp_opts": [
             {"opt_name": "tftp-server", "opt_value": None}, {"opt_name": "bootfile-name", "opt_value": "grub.efi"}]}},
             compare="status"),
        step("port.show.dhcp-opts-merged", "GET", "/v2.0/ports/$portopts?fields=extra_dhcp_opts"),
        step("port.delete.dhcp-opts", "DELETE", "/v2.0/ports/$portopts", compare="status"),
        step("port.update.ip-taken", "PUT", "/v2.0/ports/$port", {"port": {"fixed_ips": [{"ip_address": "10.30.0.51"}]}},
             compare="status"),
        step("port.update.mac", "PUT", "/v2.0/ports/$port50", {"port": {"mac_address": "fa:16:3e:11:22:34"}},
             compare="status"),
        step("port.update.network", "PUT", "/v2.0/ports/$port50", {"port": {"network_id": "$net2"}}, compare="status"),
        step("port.update.psec-off", "PUT", "/v2.0/ports/$port50", {"port": {"port_security_enabled": False}},
             compare="status"),
        step("port.update.psec-off-clear", "PUT", "/v2.0/ports/$port50", {"port": {"port_security_enabled": False,
             "security_groups": [], "allowed_address_pairs": []}}),
        step("port.update.device-owner-network", "PUT", "/v2.0/ports/$port50", {"port": {"device_owner": "network:dhcp"}},
             compare="status"),
        step("port.list.by-network", "GET", "/v2.0/ports?network_id=$net&device_owner=compute:nova"),
        step("port.list.by-fixed-ip", "GET", "/v2.0/ports?fixed_ips=ip_address=10.30.0.51"),
        step("port.list.by-subnet", "GET", "/v2.0/ports?fixed_ips=subnet_id=$sub&id=$port50"),
        # fixed_ips values of one field OR, of different fields AND (on one fixed IP)?
        step("port.list.by-two-fixed-ips", "GET", "/v2.0/ports?fixed_ips=ip_address=10.30.0.51&fixed_ips=ip_address=10.30.0.50"),
        step("port.list.by-fixed-ips-other-field", "GET", "/v2.0/ports?fixed_ips=mac=1&id=$port50"),
        step("port.list.by-fixed-ips-no-field", "GET", "/v2.0/ports?fixed_ips=abc&id=$port50"),
        step("port.list.by-ip-and-subnet", "GET", "/v2.0/ports?fixed_ips=ip_address=10.30.0.51&fixed_ips=subnet_id=$sub"),
        step("port.list.by-ip-and-other-substr", "GET", "/v2.0/ports?fixed_ips=ip_address=10.30.0.51&fixed_ips=ip_address_substr=99.99"),
        step("port.list.by-ip-and-substr", "GET", "/v2.0/ports?fixed_ips=ip_address=10.30.0.51&fixed_ips=ip_address_substr=0.51"),
        step("port.list.by-mac", "GET", "/v2.0/ports?mac_address=fa:16:3e:11:22:33"),
        step("port.list.by-device", "GET", "/v2.0/ports?device_id=vm1"),
        step("port.delete.router-owned", "DELETE", "/v2.0/ports/$port_vm", compare="status"),
    ]
    s += bad_values("port.create", "POST", "/v2.0/ports", "port",
                    {"admin_state_up": "bool", "network_id": "uuid", "fixed_ips": "list", "security_groups": "list",
                     "port_security_enabled": "bool", "allowed_address_pairs": "list", "name": "str"})
    s += read_steps("port", "ports", "port")
    s += write_steps("port", "ports", "port", "port")
    return s


def security_groups():
    s = [
        step("sg.create", "POST", "/v2.0/security-groups", {"security_group": {"name": "cmp-sg"}}, save={"sg": "security_group.id"}),
        step("sg.create.default-name", "POST", "/v2.0/security-groups", {"security_group": {"name": "default"}},
             compare="status"),
        step("sg.create.bulk-wrapped", "POST", "/v2.0/security-groups",
             {"security_groups": [{"security_group": {"name": "cmp-sgw"}}]}, compare="status"),
        step("sg.list.default", "GET", "/v2.0/security-groups?name=default", compare="keys"),
        step("sgr.create", "POST", "/v2.0/security-group-rules", {"security_group_rule": {"security_group_id": "$sg",
             "direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
             "remote_ip_prefix": "198.51.100.0/24"}}, save={"sgr": "security_group_rule.id"}),
        step("sgr.create.dup", "POST", "/v2.0/security-group-rules", {"security_group_rule": {"security_group_id": "$sg",
             "direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
             "remote_ip_prefix": "198.51.100.0/24"}}, compare="status"),
        step("sgr.create.full-range", "POST", "/v2.0/security-group-rules", {"security_group_rule": {
             "security_group_id": "$sg", "direction": "ingress", "protocol": "udp", "port_range_min": 1,
             "port_range_max": 65535}}),
        step("sgr.create.min-only", "POST", "/v2.0/security-group-rules", {"security_group_rule": {
             "security_group_id": "$sg", "direction": "ingress", "protocol": "tcp", "port_range_min": 80}},
             compare="status"),
        step("sgr.create.any", "POST", "/v2.0/security-group-rules", {"security_group_rule": {
             "security_group_id": "$sg", "direction": "egress", "protocol": "any"}}, compare="status"),
        step("sgr.create.icmp6", "POST", "/v2.0/security-group-rules", {"security_group_rule": {
             "security_group_id": "$sg", "direction": "ingress", "protocol": "icmp", "ethertype": "IPv6"}}),
        step("sgr.create.remote-both", "POST", "/v2.0/security-group-rules", {"security_group_rule": {
             "security_group_id": "$sg", "direction": "ingress", "remote_group_id": "$sg",
             "remote_ip_prefix": "10.0.0.0/8"}}, compare="status"),
        step("sgr.create.bad-direction", "POST", "/v2.0/security-group-rules", {"security_group_rule": {
             "security_group_id": "$sg", "direction": "sideways"}}, compare="status"),
        step("sgr.create.bad-protocol", "POST", "/v2.0/security-group-rules", {"security_group_rule": {
             "security_group_id": "$sg", "direction": "ingress", "protocol": "banana"}}, compare="status"),
        step("sgr.create.port-range-bad", "POST", "/v2.0/security-group-rules", {"security_group_rule": {
             "security_group_id": "$sg", "direction": "ingress", "protocol": "tcp", "port_range_min": 90,
             "port_range_max": 80}}, compare="status"),
        step("sgr.create.prefix-host-bits", "POST", "/v2.0/security-group-rules", {"security_group_rule": {
             "security_group_id": "$sg", "direction": "ingress", "protocol": "tcp", "port_range_min": 443,
             "port_range_max": 443, "remote_ip_prefix": "192.0.2.1/24"}}),
        step("sgr.create.admin-in-user-group", "POST", "/v2.0/security-group-rules", {"security_group_rule": {
             "security_group_id": "$sg", "direction": "ingress", "protocol": "tcp", "port_range_min": 8080,
             "port_range_max": 8080}}, who=ADMIN, save={"sgr_admin": "security_group_rule.id"}),
        step("sgr.list.user-sees-admin-rule", "GET", "/v2.0/security-group-rules?id=$sgr_admin"),
        step("sgr.list.by-group", "GET", "/v2.0/security-group-rules?security_group_id=$sg&direction=ingress"),
        step("sgr.show", "GET", "/v2.0/security-group-rules/$sgr"),
        step("sgr.update", "PUT", "/v2.0/security-group-rules/$sgr", {"security_group_rule": {"port_range_min": 23}},
             compare="status"),
        step("sg.port.create", "POST", "/v2.0/ports", {"port": {"network_id": "$net", "security_groups": ["$sg"]}},
             save={"sgport": "port.id"}),
        step("sg.delete.in-use", "DELETE", "/v2.0/security-groups/$sg", compare="status"),
        step("sg.port.delete", "DELETE", "/v2.0/ports/$sgport", compare="status"),
    ]
    s += read_steps("sg", "security-groups", "sg")
    s += write_steps("sg", "security-groups", "security_group", "sg")
    return s


def routers():
    s = [
        step("router.create", "POST", "/v2.0/routers", {"router": {"name": "cmp-router"}}, save={"router": "router.id"}),
        step("router.create.gateway", "POST", "/v2.0/routers", {"router": {"name": "cmp-gw",
             "external_gateway_info": {"network_id": "$ext"}}}, save={"rgw": "router.id"}, compare="keys"),
        step("router.create.gateway-not-external", "POST", "/v2.0/routers", {"router": {
             "external_gateway_info": {"network_id": "$net"}}}, compare="status"),
        step("router.create.distributed-member", "POST", "/v2.0/routers", {"router": {"distributed": True}},
             compare="status"),
        step("router.iface.add", "PUT", "/v2.0/routers/$router/add_router_interface", {"subnet_id": "$sub"},
             save={"ifport": "port_id"}),
        step("router.iface.add-again", "PUT", "/v2.0/routers/$router/add_router_interface", {"subnet_id": "$sub"},
             compare="status"),
        step("router.iface.add-no-gateway", "PUT", "/v2.0/routers/$router/add_router_interface", {"subnet_id": "$sub_ngw"},
             compare="status"),
        step("router.iface.add-both", "PUT", "/v2.0/routers/$router/add_router_interface", {"subnet_id": "$sub",
             "port_id": "$port"}, compare="status"),
        step("router.iface.add-none", "PUT", "/v2.0/routers/$router/add_router_interface", {}, compare="status"),
        step("router.iface.delete-port", "DELETE", "/v2.0/ports/$ifport", compare="status"),
        step("router.routes.set", "PUT", "/v2.0/routers/$router", {"router": {"routes": [
             {"destination": "198.51.100.0/24", "nexthop": "10.30.0.254"}]}}),
        step("router.routes.bad-nexthop", "PUT", "/v2.0/routers/$router", {"router": {"routes": [
             {"destination": "198.51.100.0/24", "nexthop": "10.99.0.254"}]}}, compare="status"),
        step("router.routes.null", "PUT", "/v2.0/routers/$router", {"router": {"routes": None}}, compare="status"),
        step("router.routes.add-extra", "PUT", "/v2.0/routers/$router/add_extraroutes", {"router": {"routes": [
             {"destination": "203.0.113.0/24", "nexthop": "10.30.0.253"}]}}, compare="status"),
        step("router.iface.remove", "PUT", "/v2.0/routers/$router/remove_router_interface", {"subnet_id": "$sub"},
             compare="status"),
        step("router.iface.remove-again", "PUT", "/v2.0/routers/$router/remove_router_interface", {"subnet_id": "$sub"},
             compare="status"),
        step("router.update.gateway-bad", "PUT", "/v2.0/routers/$router", {"router": {"external_gateway_info": {
             "network_id": "00000000-0000-0000-0000-000000000000"}}}, compare="status"),
        step("router.update.distributed-member", "PUT", "/v2.0/routers/$router", {"router": {"distributed": True}},
             compare="status"),
        step("router.list.by-name-exact", "GET", "/v2.0/routers?name=cmp-router"),
    ]
    s += bad_values("router.create", "POST", "/v2.0/routers", "router", {"admin_state_up": "bool", "name": "str",
                                                                         "routes": "list"})
    s += read_steps("router", "routers", "router")
    s += write_steps("router", "routers", "router", "router")
    return s


def floating_ips():
    s = [
        step("fip.router.gw", "PUT", "/v2.0/routers/$router", {"router": {"external_gateway_info": {"network_id": "$ext"}}},
             compare="keys"),
        step("fip.router.iface", "PUT", "/v2.0/routers/$router/add_router_interface", {"subnet_id": "$sub"},
             compare="keys"),
        step("fip.create", "POST", "/v2.0/floatingips", {"floatingip": {"floating_network_id": "$ext"}},
             save={"fip": "floatingip.id"}, compare="keys"),
        step("fip.create.not-external", "POST", "/v2.0/floatingips", {"floatingip": {"floating_network_id": "$net"}},
             compare="status"),
        step("fip.create.address", "POST", "/v2.0/floatingips", {"floatingip": {"floating_network_id": "$ext",
             "floating_ip_address": "203.0.113.77"}}, compare="status"),
        step("fip.create.address-taken", "POST", "/v2.0/floatingips", {"floatingip": {"floating_network_id": "$ext",
             "floating_ip_address": "203.0.113.77"}}, compare="status"),
        step("fip.associate", "PUT", "/v2.0/floatingips/$fip", {"floatingip": {"port_id": "$port"}}, compare="keys"),
        step("fip.associate.again-other", "POST", "/v2.0/floatingips", {"floatingip": {"floating_network_id": "$ext",
             "port_id": "$port"}}, compare="status"),
        step("fip.update.empty", "PUT", "/v2.0/floatingips/$fip", {"floatingip": {}}, compare="keys"),
        step("fip.show.after-empty", "GET", "/v2.0/floatingips/$fip", compare="full"),
        step("fip.disassociate", "PUT", "/v2.0/floatingips/$fip", {"floatingip": {"port_id": None}}, compare="keys"),
        step("fip.associate.no-router-path", "PUT", "/v2.0/floatingips/$fip", {"floatingip": {"port_id": "$portmac"}},
             compare="keys"),
        step("fip.list.by-network", "GET", "/v2.0/floatingips?floating_network_id=$ext", compare="keys"),
        step("fip.pools", "GET", "/v2.0/floatingip_pools"),
        step("fip.delete", "DELETE", "/v2.0/floatingips/$fip", compare="status"),
        step("fip.show.deleted", "GET", "/v2.0/floatingips/$fip", compare="status"),
    ]
    return s


def port_forwardings():
    base = "/v2.0/floatingips/$pfip/port_forwardings"

    def pf(**kw):
        body = {"protocol": "tcp", "internal_port_id": "$port", "internal_ip_address": "$port_ip", "internal_port": 22,
                "external_port": 2222}
        body.update(kw)
        return {"port_forwarding": {k: v for k, v in body.items() if v is not None}}

    s = [
        step("pf.fip.create", "POST", "/v2.0/floatingips", {"floatingip": {"floating_network_id": "$ext"}},
             save={"pfip": "floatingip.id"}, compare="keys"),
        step("pf.create", "POST", base, pf(description="ssh"), save={"pf": "port_forwarding.id"}),
        step("pf.create.dup-external", "POST", base, pf(internal_port=23), compare="status"),
        step("pf.create.dup-internal", "POST", base, pf(external_port=2223), compare="status"),
        step("pf.create.udp", "POST", base, pf(protocol="udp"), save={"pfu": "port_forwarding.id"}),
        step("pf.create.range", "POST", base, pf(internal_port=None, external_port=None, external_port_range="3000:3010",
             internal_port_range="3000:3010"), save={"pfr": "port_forwarding.id"}),
        step("pf.create.range-overlap", "POST", base, pf(internal_port=None, external_port=None,
             external_port_range="3005:3020", internal_port_range="4005:4020"), compare="status"),
        step("pf.create.range-bad-relation", "POST", base, pf(internal_port=None, external_port=None,
             external_port_range="4000:4010", internal_port_range="5000:5005"), compare="status"),
        step("pf.create.range-n-to-1", "POST", base, pf(internal_port=80, external_port=None,
             external_port_range="4100:4110"), save={"pfn": "port_forwarding.id"}),
        step("pf.create.range-reversed", "POST", base, pf(internal_port=None, external_port=None,
             external_port_range="4300:4200", internal_port_range="4300:4200"), compare="status"),
        step("pf.create.range-garbage", "POST", base, pf(internal_port=None, external_port=None,
             external_port_range="a:b", internal_port_range="1:2:3"), compare="status"),
        step("pf.create.bad-ip", "POST", base, pf(external_port=2224, internal_ip_address="10.99.99.99"),
             compare="status"),
        step("pf.create.ip-not-ip", "POST", base, pf(external_port=2225, internal_ip_address="nope"), compare="status"),
        step("pf.create.no-port-id", "POST", base, pf(internal_port_id=None), compare="status"),
        step("pf.create.missing-port", "POST", base, pf(internal_port_id="00000000-0000-0000-0000-000000000000",
             external_port=2226), compare="status"),
        step("pf.create.no-protocol", "POST", base, pf(protocol=None, external_port=2227), compare="status"),
        step("pf.create.bad-protocol", "POST", base, pf(protocol="gre", external_port=2228), compare="status"),
        step("pf.create.upper-protocol", "POST", base, pf(protocol="TCP", external_port=2229), compare="status"),
        step("pf.create.port-zero", "POST", base, pf(external_port=0), compare="status"),
        step("pf.create.port-huge", "POST", base, pf(external_port=70000), compare="status"),
        step("pf.create.port-string", "POST", base, pf(external_port="x"), compare="status"),
        step("pf.create.unknown-attr", "POST", base, pf(external_port=2230, floatingip_id="$pfip"), compare="status"),
        step("pf.create.other-project", "POST", base, pf(external_port=2231), who=B, compare="status"),
        step("pf.create.missing-fip", "POST", "/v2.0/floatingips/00000000-0000-0000-0000-000000000000/port_forwardings",
             pf(external_port=2232), compare="status"),
        step("pf.create.no-body", "POST", base, {"nothing": {}}, compare="status"),
        step("pf.list", "GET", base),
        step("pf.list.by-protocol", "GET", base + "?protocol=udp"),
        step("pf.list.by-external-port", "GET", base + "?external_port=2222"),
        step("pf.list.by-internal-ip", "GET", base + "?internal_ip_address=10.30.0.5", compare="status"),
        step("pf.list.by-internal-port", "GET", base + "?internal_port=22", compare="status"),
        step("pf.list.fields", "GET", base + "?fields=id&fields=protocol"),
        step("pf.list.sort", "GET", base + "?sort_key=external_port&sort_dir=desc", compare="keys"),
        step("pf.list.limit", "GET", base + "?protocol=udp&limit=1", compare="keys"),
        step("pf.list.other-project", "GET", base, who=B, compare="status"),
        step("pf.list.admin", "GET", base, who=ADMIN),
        step("pf.show", "GET", base + "/$pf"),
        step("pf.show.fields", "GET", base + "/$pf?fields=external_port"),
        step("pf.show.missing", "GET", base + "/00000000-0000-0000-0000-000000000000", compare="status"),
        step("pf.show.other-project", "GET", base + "/$pf", who=B, compare="status"),
        step("pf.fip.show", "GET", "/v2.0/floatingips/$pfip"),
        step("pf.fip.associate", "PUT", "/v2.0/floatingips/$pfip", {"floatingip": {"port_id": "$port"}},
             compare="status"),
        step("pf.fip.update-description", "PUT", "/v2.0/floatingips/$pfip", {"floatingip": {"description": "pf"}}),
        step("pf.update.description", "PUT", base + "/$pf", {"port_forwarding": {"description": "changed"}}),
        step("pf.update.external-port", "PUT", base + "/$pf", {"port_forwarding": {"external_port": 2022}}),
        step("pf.update.collide", "PUT", base + "/$pf", {"port_forwarding": {"external_port": 4105}},
             compare="status"),
        step("pf.update.bad-ip", "PUT", base + "/$pf", {"port_forwarding": {"internal_ip_address": "10.99.99.98"}},
             compare="status"),
        step("pf.update.unknown", "PUT", base + "/$pf", {"port_forwarding": {"colour": "red"}}, compare="status"),
        step("pf.update.missing", "PUT", base + "/00000000-0000-0000-0000-000000000000",
             {"port_forwarding": {"description": "x"}}, compare="status"),
        step("pf.update.other-project", "PUT", base + "/$pf", {"port_forwarding": {"description": "x"}}, who=B,
             compare="status"),
        step("pf.delete.other-project", "DELETE", base + "/$pf", who=B, compare="status"),
        step("pf.delete.udp", "DELETE", base + "/$pfu", compare="status"),
        step("pf.delete.range", "DELETE", base + "/$pfr", compare="status"),
        step("pf.delete.n-to-1", "DELETE", base + "/$pfn", compare="status"),
        step("pf.delete", "DELETE", base + "/$pf", compare="status"),
        step("pf.delete.again", "DELETE", base + "/$pf", compare="status"),
        step("pf.fip.show.after", "GET", "/v2.0/floatingips/$pfip"),
        step("pf.port.create", "POST", "/v2.0/ports", {"port": {"network_id": "$net", "name": "cmp-pf"}},
             save={"pfport": "port.id", "pfport_ip": "port.fixed_ips.0.ip_address"}, compare="keys"),
        step("pf.port.forward", "POST", base, pf(internal_port_id="$pfport", internal_ip_address="$pfport_ip",
             external_port=2300), compare="keys"),
        step("pf.create.no-ip", "POST", base, pf(internal_ip_address=None, external_port=2301), compare="status"),
        step("pf.port.delete", "DELETE", "/v2.0/ports/$pfport", compare="status"),
        step("pf.port.list-after", "GET", base),
        step("pf.fip.show.after-port", "GET", "/v2.0/floatingips/$pfip"),
        step("pf.fip.forward-again", "POST", base, pf(external_port=2400), save={"pfa": "port_forwarding.id"},
             compare="keys"),
        step("pf.fip.delete", "DELETE", "/v2.0/floatingips/$pfip", compare="status"),
        step("pf.fip.show.not-deleted", "GET", "/v2.0/floatingips/$pfip", compare="status"),
        step("pf.router.iface.remove", "PUT", "/v2.0/routers/$router/remove_router_interface", {"subnet_id": "$sub"},
             compare="status"),
        step("pf.delete.last", "DELETE", base + "/$pfa", compare="status"),
        step("pf.fip.show.no-router", "GET", "/v2.0/floatingips/$pfip"),
        step("pf.fip.delete.after", "DELETE", "/v2.0/floatingips/$pfip", compare="status"),
        step("pf.fip.show.deleted", "GET", "/v2.0/floatingips/$pfip", compare="status"),
    ]
    return s


def rbac():
    base = "/v2.0/rbac-policies"

    def policy(object_id="$net", target="pb", action="access_as_shared", object_type="network"):
        body = {"object_type": object_type, "object_id": object_id, "action": action, "target_tenant": target}
        return {"rbac_policy": {k: v for k, v in body.items() if v is not None}}

    s = [
        step("rbac.net.show-by-b-before", "GET", "/v2.0/networks/$net", who=B, compare="status"),
        step("rbac.create", "POST", base, policy(), save={"rbacp": "rbac_policy.id"}),
        step("rbac.create.dup", "POST", base, policy(), compare="status"),
        step("rbac.create.bad-type", "POST", base, policy(object_type="qos_policy_x"), compare="status"),
        step("rbac.create.type-case", "POST", base, policy(object_type=" Network ", target="pc"),
             save={"rbacc": "rbac_policy.id"}),
        step("rbac.create.bad-action", "POST", base, policy(action="access_as_everything"), compare="status"),
        step("rbac.create.missing-object", "POST", base, policy(object_id="00000000-0000-0000-0000-000000000000"),
             compare="status"),
        step("rbac.create.not-owner", "POST", base, policy(target="pc"), who=B, compare="status"),
        step("rbac.create.no-target", "POST", base, policy(target=None), compare="status"),
        step("rbac.create.no-object-id", "POST", base, policy(object_id=None), compare="status"),
        step("rbac.create.bad-object-id", "POST", base, policy(object_id="nope"), compare="status"),
        step("rbac.create.unknown-attr", "POST", base, {"rbac_policy": dict(policy()["rbac_policy"], colour="red")},
             compare="status"),
        step("rbac.show", "GET", base + "/$rbacp"),
        step("rbac.show.missing", "GET", base + "/00000000-0000-0000-0000-000000000000", compare="status"),
        step("rbac.show.target", "GET", base + "/$rbacp", who=B, compare="status"),
        step("rbac.list.by-object", "GET", base + "?object_id=$net"),
        step("rbac.list.by-target", "GET", base + "?target_tenant=pb&object_id=$net"),
        step("rbac.list.by-action", "GET", base + "?action=access_as_shared&object_id=$net"),
        step("rbac.list.by-type", "GET", base + "?object_type=network&object_id=$net"),
        step("rbac.list.fields", "GET", base + "?object_id=$net&fields=target_tenant"),
        step("rbac.list.unknown-filter", "GET", base + "?colour=red", compare="status"),
        step("rbac.list.target", "GET", base + "?object_id=$net", who=B),
        step("rbac.net.show-by-b", "GET", "/v2.0/networks/$net", who=B, compare="keys"),
        step("rbac.net.list-by-b", "GET", "/v2.0/networks?id=$net", who=B, compare="keys"),
        step("rbac.subnet.list-by-b", "GET", "/v2.0/subnets?network_id=$net&name=cmp-sub", who=B, compare="keys"),
        step("rbac.port.create-by-b", "POST", "/v2.0/ports", {"port": {"network_id": "$net", "name": "cmp-rbac"}},
             who=B, save={"bport": "port.id"}, compare="keys"),
        step("rbac.port.create-by-c", "POST", "/v2.0/ports", {"port": {"network_id": "$net"}}, who=("pd", "member"),
             compare="status"),
        step("rbac.delete.in-use", "DELETE", base + "/$rbacp", compare="status"),
        step("rbac.update.target-in-use", "PUT", base + "/$rbacp", {"rbac_policy": {"target_tenant": "pd"}},
             compare="status"),
        step("rbac.update.type", "PUT", base + "/$rbacc", {"rbac_policy": {"object_type": "network"}},
             compare="status"),
        step("rbac.update.target", "PUT", base + "/$rbacc", {"rbac_policy": {"target_tenant": "pe"}}),
        step("rbac.port.delete-by-b", "DELETE", "/v2.0/ports/$bport", who=B, compare="status"),
        step("rbac.delete.by-target", "DELETE", base + "/$rbacp", who=B, compare="status"),
        step("rbac.delete", "DELETE", base + "/$rbacp", compare="status"),
        step("rbac.delete.again", "DELETE", base + "/$rbacp", compare="status"),
        step("rbac.net.show-by-b-after", "GET", "/v2.0/networks/$net", who=B, compare="status"),
        step("rbac.delete.other", "DELETE", base + "/$rbacc", compare="status"),
        step("rbac.shared-star.member", "POST", base, policy(target="*"), compare="status"),
        step("rbac.shared-star", "POST", base, policy(target="*"), who=ADMIN, save={"rbacs": "rbac_policy.id"}),
        step("rbac.shared-star.net", "GET", "/v2.0/networks/$net", compare="keys"),
        step("rbac.shared-star.list-by-b", "GET", "/v2.0/networks?id=$net&fields=id&fields=shared", who=B),
        step("rbac.shared-star.delete", "DELETE", base + "/$rbacs", who=ADMIN, compare="status"),
        step("rbac.shared-star.net-after", "GET", "/v2.0/networks/$net?fields=shared"),
        step("rbac.external.member", "POST", base, policy(action="access_as_external", target="pb"),
             compare="status"),
        step("rbac.external.admin", "POST", base, policy(action="access_as_external", target="pb"), who=ADMIN,
             save={"rbace": "rbac_policy.id"}),
        step("rbac.external.net-by-b", "GET", "/v2.0/networks/$net?fields=router:external&fields=id", who=B),
        step("rbac.external.net-by-owner", "GET", "/v2.0/networks/$net?fields=router:external&fields=id"),
        step("rbac.external.delete", "DELETE", base + "/$rbace", who=ADMIN, compare="status"),
        step("rbac.external.net-after", "GET", "/v2.0/networks/$net?fields=router:external&fields=id"),
        step("rbac.sg.create", "POST", base, policy(object_id="$sg", object_type="security_group"),
             save={"rbacg": "rbac_policy.id"}),
        step("rbac.sg.external", "POST", base, policy(object_id="$sg", object_type="security_group",
             action="access_as_external"), compare="status"),
        step("rbac.sg.show-by-b", "GET", "/v2.0/security-groups/$sg?fields=id&fields=name", who=B),
        step("rbac.sg.delete", "DELETE", base + "/$rbacg", compare="status"),
        step("rbac.sg.show-by-b-after", "GET", "/v2.0/security-groups/$sg", who=B, compare="status"),
        step("rbac.as.create", "POST", "/v2.0/address-scopes", {"address_scope": {"name": "cmp-rbac-as", "ip_version": 4}},
             save={"rbas": "address_scope.id"}),
        step("rbac.as.show-by-b-before", "GET", "/v2.0/address-scopes/$rbas", who=B, compare="status"),
        step("rbac.as.share", "POST", base, policy(object_id="$rbas", object_type="address_scope"),
             save={"rbasp": "rbac_policy.id"}),
        step("rbac.as.external", "POST", base, policy(object_id="$rbas", object_type="address_scope",
             action="access_as_external", target="pc"), compare="status"),
        step("rbac.as.show-by-b", "GET", "/v2.0/address-scopes/$rbas?fields=id&fields=name", who=B),
        step("rbac.as.unshare", "DELETE", base + "/$rbasp", compare="status"),
        step("rbac.as.show-by-b-after", "GET", "/v2.0/address-scopes/$rbas", who=B, compare="status"),
        step("rbac.as.star", "POST", base, policy(object_id="$rbas", object_type="address_scope", target="*"),
             who=ADMIN, save={"rbass": "rbac_policy.id"}),
        step("rbac.as.star.show", "GET", "/v2.0/address-scopes/$rbas", who=B),
        step("rbac.as.star.delete", "DELETE", base + "/$rbass", who=ADMIN, compare="status"),
        step("rbac.as.delete", "DELETE", "/v2.0/address-scopes/$rbas", compare="status"),
        step("rbac.ag.create", "POST", "/v2.0/address-groups", {"address_group": {"name": "cmp-rbac-ag",
             "addresses": ["192.0.2.0/28"]}}, save={"rbag": "address_group.id"}),
        step("rbac.ag.show-by-b-before", "GET", "/v2.0/address-groups/$rbag", who=B, compare="status"),
        step("rbac.ag.share", "POST", base, policy(object_id="$rbag", object_type="address_group"),
             save={"rbagp": "rbac_policy.id"}),
        step("rbac.ag.show-by-b", "GET", "/v2.0/address-groups/$rbag", who=B),
        step("rbac.ag.sg-by-b", "POST", "/v2.0/security-groups", {"security_group": {"name": "cmp-rbac-agsg"}}, who=B,
             save={"rbagsg": "security_group.id"}, compare="status"),
        step("rbac.ag.rule-by-b", "POST", "/v2.0/security-group-rules", {"security_group_rule": {
             "security_group_id": "$rbagsg", "direction": "ingress", "remote_address_group_id": "$rbag"}}, who=B,
             save={"rbagrule": "security_group_rule.id"}, compare="keys"),
        step("rbac.ag.unshare-in-use", "DELETE", base + "/$rbagp", compare="status"),
        step("rbac.ag.rule-delete-by-b", "DELETE", "/v2.0/security-group-rules/$rbagrule", who=B, compare="status"),
        step("rbac.ag.unshare", "DELETE", base + "/$rbagp", compare="status"),
        step("rbac.ag.show-by-b-after", "GET", "/v2.0/address-groups/$rbag", who=B, compare="status"),
        step("rbac.ag.sg-delete-by-b", "DELETE", "/v2.0/security-groups/$rbagsg", who=B, compare="status"),
        step("rbac.ag.delete", "DELETE", "/v2.0/address-groups/$rbag", compare="status"),
        step("rbac.sp.create", "POST", "/v2.0/subnetpools", {"subnetpool": {"name": "cmp-rbac-sp",
             "prefixes": ["10.200.0.0/16"], "default_prefixlen": 24}}, save={"rbsp": "subnetpool.id"}),
        step("rbac.sp.show-by-b-before", "GET", "/v2.0/subnetpools/$rbsp", who=B, compare="status"),
        step("rbac.sp.share", "POST", base, policy(object_id="$rbsp", object_type="subnetpool"),
             save={"rbspp": "rbac_policy.id"}),
        step("rbac.sp.show-by-b", "GET", "/v2.0/subnetpools/$rbsp?fields=id&fields=name&fields=prefixes", who=B),
        step("rbac.sp.net-by-b", "POST", "/v2.0/networks", {"network": {"name": "cmp-rbac-b"}}, who=B,
             save={"rbbnet": "network.id"}, compare="keys"),
        step("rbac.sp.subnet-by-b", "POST", "/v2.0/subnets", {"subnet": {"network_id": "$rbbnet", "ip_version": 4,
             "subnetpool_id": "$rbsp"}}, who=B, save={"rbbsub": "subnet.id"}, compare="keys"),
        step("rbac.sp.unshare-in-use", "DELETE", base + "/$rbspp", compare="status"),
        step("rbac.sp.subnet-delete-by-b", "DELETE", "/v2.0/subnets/$rbbsub", who=B, compare="status"),
        step("rbac.sp.unshare", "DELETE", base + "/$rbspp", compare="status"),
        step("rbac.sp.show-by-b-after", "GET", "/v2.0/subnetpools/$rbsp", who=B, compare="status"),
        step("rbac.sp.net-delete-by-b", "DELETE", "/v2.0/networks/$rbbnet", who=B, compare="status"),
        step("rbac.sp.delete", "DELETE", "/v2.0/subnetpools/$rbsp", compare="status"),
    ]
    return s


def small_extensions():
    """quota-check-limit, port-mac-address-regenerate, port-security-groups-filtering,
    security-groups-shared-filtering, router_availability_zone, availability_zone_filter,
    l3-port-ip-change-not-allowed."""
    return [
        step("xq.check-limit.ok", "PUT", "/v2.0/quotas/pa", {"quota": {"network": 100, "check_limit": True}},
             who=ADMIN),
        step("xq.check-limit.below", "PUT", "/v2.0/quotas/pa", {"quota": {"network": 0, "check_limit": True}},
             who=ADMIN, compare="status"),
        step("xq.check-limit.bad", "PUT", "/v2.0/quotas/pa", {"quota": {"network": 5, "check_limit": "maybe"}},
             who=ADMIN, compare="status"),
        step("xq.force", "PUT", "/v2.0/quotas/pa", {"quota": {"network": 0, "force": True}}, who=ADMIN),
        step("xq.reset", "DELETE", "/v2.0/quotas/pa", who=ADMIN, compare="status"),
        step("xq.after-reset", "GET", "/v2.0/quotas/pa", who=ADMIN),
        step("xport.mac.regenerate", "PUT", "/v2.0/ports/$port", {"port": {"mac_address": None}}, compare="keys"),
        step("xport.mac.bad", "PUT", "/v2.0/ports/$port", {"port": {"mac_address": "nope"}}, compare="status"),
        step("xport.filter.sg", "GET", "/v2.0/ports?security_groups=$sg&fields=id", compare="keys"),
        step("xport.filter.sg-missing", "GET", "/v2.0/ports?security_groups=00000000-0000-0000-0000-000000000000"),
        step("xsg.filter.shared-false", "GET", "/v2.0/security-groups?shared=false&id=$sg&fields=id&fields=name"),
        step("xsg.filter.shared-true", "GET", "/v2.0/security-groups?shared=true&id=$sg"),
        step("xrouter.az", "GET", "/v2.0/routers/$router?fields=availability_zones&fields=availability_zone_hints"),
        step("xaz.filter.router", "GET", "/v2.0/availability_zones?resource=router", compare="status"),
        step("xaz.filter.bad", "GET", "/v2.0/availability_zones?colour=red", compare="status"),
        step("xl3.iface-port", "GET", "/v2.0/ports?device_id=$router&network_id=$net&fields=id&fields=device_owner",
             who=ADMIN, save={"rifport": "ports.0.id"}, compare="keys"),
        step("xl3.ip-change.member", "PUT", "/v2.0/ports/$rifport", {"port": {"fixed_ips": [
             {"subnet_id": "$sub", "ip_address": "10.30.0.77"}]}}, compare="status"),
        step("xl3.ip-change.admin", "PUT", "/v2.0/ports/$rifport", {"port": {"fixed_ips": [
             {"subnet_id": "$sub", "ip_address": "10.30.0.78"}]}}, who=ADMIN, compare="status"),
        step("xsvc.list", "GET", "/v2.0/service-providers"),
        step("xsvc.list.admin", "GET", "/v2.0/service-providers?fields=name", who=ADMIN),
        step("xsvc.list.filter", "GET", "/v2.0/service-providers?service_type=L3_ROUTER_NAT"),
        step("xsvc.list.bad-filter", "GET", "/v2.0/service-providers?colour=red", compare="status"),
        step("xl3.name-change.admin", "PUT", "/v2.0/ports/$rifport", {"port": {"name": "renamed"}}, who=ADMIN,
             compare="status"),
    ]


def misc():
    return [
        step("ext.list", "GET", "/v2.0/extensions", compare="keys"),
        step("ext.show.router", "GET", "/v2.0/extensions/router"),
        step("ext.show.missing", "GET", "/v2.0/extensions/nope", compare="status"),
        step("root.versions", "GET", "/", compare="keys"),
        step("root.v2", "GET", "/v2.0", compare="keys"),
        step("quota.show", "GET", "/v2.0/quotas/pa", who=ADMIN),
        step("quota.show-member-own", "GET", "/v2.0/quotas/pa", compare="status"),
        step("quota.show-member-other", "GET", "/v2.0/quotas/pb", compare="status"),
        step("quota.update-bad", "PUT", "/v2.0/quotas/pa", {"quota": {"network": "lots"}}, who=ADMIN, compare="status"),
        step("quota.update", "PUT", "/v2.0/quotas/pc", {"quota": {"network": 5}}, who=ADMIN),
        step("quota.details", "GET", "/v2.0/quotas/pa/details", who=ADMIN, compare="status"),
        step("quota.default", "GET", "/v2.0/quotas/pa/default", who=ADMIN, compare="status"),
        step("az.list", "GET", "/v2.0/availability_zones", compare="status"),
        step("agents.list-member", "GET", "/v2.0/agents", compare="status"),
        step("unknown.collection", "GET", "/v2.0/bananas", compare="status"),
        step("accept.xml", "GET", "/v2.0/networks", headers={"Accept": "application/xml"}, compare="status"),
        step("head.networks", "HEAD", "/v2.0/networks", compare="status"),
        step("delete.with-body", "DELETE", "/v2.0/networks/$bulk2", {"network": {}}, compare="status"),
        step("ipavail.list", "GET", "/v2.0/network-ip-availabilities", who=ADMIN, compare="keys"),
        step("ipavail.show", "GET", "/v2.0/network-ip-availabilities/$net", who=ADMIN),
        step("ipavail.show-missing", "GET", "/v2.0/network-ip-availabilities/00000000-0000-0000-0000-000000000000",
             who=ADMIN, compare="status"),
        step("ipavail.member", "GET", "/v2.0/network-ip-availabilities"),
        step("ipavail.show-member", "GET", "/v2.0/network-ip-availabilities/$net", compare="status"),
        step("rbac.list", "GET", "/v2.0/rbac-policies", compare="status"),
        step("subnetpools.list", "GET", "/v2.0/subnetpools", compare="status"),
        step("address-scopes.list", "GET", "/v2.0/address-scopes", compare="status"),
        step("segments.list", "GET", "/v2.0/segments", who=ADMIN, compare="status"),
    ]


def cleanup():
    return [
        step("del.fip.router.iface", "PUT", "/v2.0/routers/$router/remove_router_interface", {"subnet_id": "$sub"},
             compare="status"),
        step("del.router", "DELETE", "/v2.0/routers/$router", compare="status"),
        step("del.router.again", "DELETE", "/v2.0/routers/$router", compare="status"),
        step("del.port", "DELETE", "/v2.0/ports/$port", compare="status"),
        step("del.port.show", "GET", "/v2.0/ports/$port", compare="status"),
        step("del.subnet.in-use", "DELETE", "/v2.0/subnets/$sub", compare="status"),
        step("del.network.in-use", "DELETE", "/v2.0/networks/$net", compare="status"),
        step("del.sg", "DELETE", "/v2.0/security-groups/$sg", compare="status"),
        step("del.network.other-project", "DELETE", "/v2.0/networks/$net2", who=B, compare="status"),
        step("del.network", "DELETE", "/v2.0/networks/$net2", compare="status"),
        step("del.network.show", "GET", "/v2.0/networks/$net2", compare="status"),
        step("del.network.again", "DELETE", "/v2.0/networks/$net2", compare="status"),
    ]


def all_steps():
    import scenarios_pools  # imports this module: not at the top
    import scenarios_address_groups
    import scenarios_networks_ext
    steps = (networks() + subnets() + ports() + security_groups() + routers() + floating_ips() + port_forwardings() + small_extensions() +
             rbac() + misc() + cleanup() + scenarios_pools.steps() + scenarios_networks_ext.steps() +
             scenarios_address_groups.steps())
    ids = [s["id"] for s in steps]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, f"duplicate step ids: {sorted(dup)}"
    return steps
