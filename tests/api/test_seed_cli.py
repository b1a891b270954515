"""The seed commands of the issue, run unchanged through the real openstack CLI against a
server of their own (their names are fixed), and their printed output asserted field by
field as a user would read it. Typed values are cross-checked with `-f json` and raw GETs.
"""
import ipaddress
import re

import pytest

from neutrino_api import Server, TIMESTAMP_RE, UUID_RE, parse_table

SEED = [
    ("vxlan", "network create --provider-network-type vxlan --provider-segment 123 n1"),
    ("geneve", "network create --provider-network-type geneve --provider-segment 123 n1"),
    ("n1subnet", "subnet create --subnet-range 172.16.100.0/24 --network n1 n1subnet"),
    ("ext_n2", "network create --provider-network-type flat --provider-physical-network extnet0 ext_n2 --external"),
    ("extsubnet", "subnet create --subnet-range 10.0.2.0/24 --network ext_n2 extsubnet --no-dhcp --gateway 10.0.2.2 "
                  "--allocation-pool start=10.0.2.210,end=10.0.2.220"),
    ("p1", "port create --network n1 p1"),
    ("icmp", "security group rule create --protocol icmp default"),
]


class Seed:
    def __init__(self, server):
        self.server = server
        self.osc = server.osc()
        self.api = server.client()
        self.out = {}     # key -> CompletedProcess
        self.table = {}   # key -> parsed Field/Value table

    def run(self, key, command):
        p = self.osc.run(*command.split())
        assert p.returncode == 0, f"`openstack {command}` exited {p.returncode}: {p.stderr}"
        self.out[key] = p
        self.table[key] = parse_table(p.stdout)
        assert self.table[key], f"no table printed by `openstack {command}`:\n{p.stdout}"


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("seed"), name="seed")
    try:
        server.start()
        s = Seed(server)
        for key, command in SEED:
            s.run(key, command)
            if key == "geneve":
                # The issue runs the geneve variant with the same name; remove it again (by id)
                # so that `--network n1` below names one network, as the issue intends.
                s.geneve_after_delete = s.osc.run("network", "delete", s.table["geneve"]["id"])
        yield s
    finally:
        server.kill()


def _check_common(t, name=None):
    assert UUID_RE.match(t["id"]), t["id"]
    if name is not None:
        assert t["name"] == name
    assert t["project_id"] == "fake_project_id"
    assert TIMESTAMP_RE.match(t["created_at"]), t["created_at"]
    assert TIMESTAMP_RE.match(t["updated_at"]), t["updated_at"]
    assert t["revision_number"] == "1"


def test_seed_vxlan_network(seed):
    t = seed.table["vxlan"]
    _check_common(t, "n1")
    assert t["provider:network_type"] == "vxlan"
    assert t["provider:segmentation_id"] == "123"
    assert t["provider:physical_network"] == "None"
    assert t["mtu"] == "1450"
    assert t["admin_state_up"] == "UP"
    assert t["status"] == "ACTIVE"
    assert t["router:external"] == "Internal"
    assert t["shared"] == "False"
    assert t["port_security_enabled"] == "True"
    assert t["description"] == ""
    # typed values through the API
    net = seed.api.show("networks", t["id"])
    assert net["mtu"] == 1450 and net["provider:segmentation_id"] == 123
    assert net["provider:network_type"] == "vxlan" and net["provider:physical_network"] is None
    assert net["router:external"] is False and net["shared"] is False
    assert net["tenant_id"] == net["project_id"] == "fake_project_id"
    assert t["id"] in {s_["id"] for s_ in seed.api.list("networks", {"name": "n1"})}


def test_seed_geneve_network(seed):
    t = seed.table["geneve"]
    _check_common(t, "n1")
    assert t["provider:network_type"] == "geneve"
    assert t["provider:segmentation_id"] == "123"  # same id as the vxlan one: other type, no conflict
    assert t["provider:physical_network"] == "None"
    # global_physnet_mtu 1500 - 20 (IPv4) - geneve max_header_size 30 (default)
    assert t["mtu"] == "1450"
    assert t["status"] == "ACTIVE"
    assert t["id"] != seed.table["vxlan"]["id"]
    assert seed.geneve_after_delete.returncode == 0, seed.geneve_after_delete.stderr
    r = seed.api("GET", f"/v2.0/networks/{t['id']}")
    assert r.status_code == 404


def test_seed_n1subnet(seed):
    t = seed.table["n1subnet"]
    _check_common(t, "n1subnet")
    assert t["network_id"] == seed.table["vxlan"]["id"]
    assert t["cidr"] == "172.16.100.0/24"
    assert t["ip_version"] == "4"
    assert t["gateway_ip"] == "172.16.100.1"
    assert t["allocation_pools"] == "172.16.100.2-172.16.100.254"
    assert t["enable_dhcp"] == "True"
    assert t["dns_nameservers"] == ""
    assert t["host_routes"] == ""
    assert t["ipv6_address_mode"] == "None" and t["ipv6_ra_mode"] == "None"
    assert t["subnetpool_id"] == "None"
    sub = seed.api.show("subnets", t["id"])
    assert sub["allocation_pools"] == [{"start": "172.16.100.2", "end": "172.16.100.254"}]
    assert sub["enable_dhcp"] is True and sub["ip_version"] == 4
    assert sub["dns_nameservers"] == [] and sub["host_routes"] == []
    # the network lists its subnet
    net = seed.osc("network", "show", "n1")
    assert net["subnets"] == [t["id"]]


def test_seed_external_flat_network(seed):
    t = seed.table["ext_n2"]
    _check_common(t, "ext_n2")
    assert t["provider:network_type"] == "flat"
    assert t["provider:physical_network"] == "extnet0"
    assert t["provider:segmentation_id"] == "None"
    assert t["router:external"] == "External"
    assert t["mtu"] == "1500"
    assert t["status"] == "ACTIVE"
    net = seed.api.show("networks", t["id"])
    assert net["router:external"] is True and net["provider:segmentation_id"] is None
    # `network list --external` shows it and not n1
    names = {n["Name"] for n in seed.osc("network", "list", "--external")}
    assert "ext_n2" in names and "n1" not in names


def test_seed_extsubnet(seed):
    t = seed.table["extsubnet"]
    _check_common(t, "extsubnet")
    assert t["network_id"] == seed.table["ext_n2"]["id"]
    assert t["cidr"] == "10.0.2.0/24"
    assert t["gateway_ip"] == "10.0.2.2"
    assert t["allocation_pools"] == "10.0.2.210-10.0.2.220"
    assert t["enable_dhcp"] == "False"
    assert t["ip_version"] == "4"
    sub = seed.api.show("subnets", t["id"])
    assert sub["allocation_pools"] == [{"start": "10.0.2.210", "end": "10.0.2.220"}]
    assert sub["enable_dhcp"] is False and sub["gateway_ip"] == "10.0.2.2"


def test_seed_port(seed):
    t = seed.table["p1"]
    _check_common(t, "p1")
    assert t["network_id"] == seed.table["vxlan"]["id"]
    m = re.fullmatch(r"ip_address='([0-9.]+)', subnet_id='([0-9a-f-]+)'", t["fixed_ips"])
    assert m, t["fixed_ips"]
    ip = ipaddress.ip_address(m.group(1))
    assert m.group(2) == seed.table["n1subnet"]["id"]
    assert ipaddress.ip_address("172.16.100.2") <= ip <= ipaddress.ip_address("172.16.100.254")
    assert re.fullmatch(r"fa:16:3e(:[0-9a-f]{2}){3}", t["mac_address"]), t["mac_address"]
    assert t["status"] == "DOWN"
    assert t["admin_state_up"] == "UP"
    assert t["binding_vif_type"] == "unbound"
    assert t["binding_vnic_type"] == "normal"
    assert t["binding_host_id"] == ""
    assert t["device_id"] == "" and t["device_owner"] == ""
    assert t["port_security_enabled"] == "True"
    assert t["allowed_address_pairs"] == "" and t["extra_dhcp_opts"] == ""
    default_sg = seed.api.list("security-groups", {"name": "default", "project_id": "fake_project_id"})
    assert len(default_sg) == 1
    assert t["security_group_ids"] == default_sg[0]["id"]
    port = seed.api.show("ports", t["id"])
    assert port["binding:vif_type"] == "unbound" and port["binding:vif_details"] == {}
    assert port["binding:profile"] == {} and port["binding:vnic_type"] == "normal"
    assert port["fixed_ips"] == [{"subnet_id": seed.table["n1subnet"]["id"], "ip_address": str(ip)}]
    assert port["security_groups"] == [default_sg[0]["id"]]


def test_seed_icmp_rule_on_default_group(seed):
    t = seed.table["icmp"]
    assert UUID_RE.match(t["id"])
    assert t["direction"] == "ingress"
    assert t["ether_type"] == "IPv4"
    assert t["protocol"] == "icmp"
    assert t["remote_ip_prefix"] == "0.0.0.0/0"
    assert t["port_range_min"] == "None" and t["port_range_max"] == "None"
    assert t["remote_group_id"] == "None"
    assert t["project_id"] == "fake_project_id"
    sg = seed.osc("security", "group", "show", "default")
    assert t["security_group_id"] == sg["id"]
    assert sg["name"] == "default" and sg["description"] == "Default security group"
    rules = sg["rules"]
    assert len(rules) == 5, rules  # the 4 default rules + icmp
    icmp = [r for r in rules if r["id"] == t["id"]]
    assert len(icmp) == 1 and icmp[0]["protocol"] == "icmp" and icmp[0]["direction"] == "ingress"
    shapes = sorted((r["direction"], r["ethertype"], r.get("remote_group_id") == sg["id"])
                    for r in rules if r["id"] != t["id"])
    assert shapes == [("egress", "IPv4", False), ("egress", "IPv6", False),
                      ("ingress", "IPv4", True), ("ingress", "IPv6", True)]
    # adding the same rule again is refused with Neutron's message
    p = seed.osc.fail("security", "group", "rule", "create", "--protocol", "icmp", "default")
    assert "Security group rule already exists" in p.stderr, p.stderr
    assert t["id"] in p.stderr


def test_seed_lists_show_everything(seed):
    nets = {n["Name"]: n for n in seed.osc("network", "list")}
    assert set(nets) == {"n1", "ext_n2"}
    assert nets["n1"]["Subnets"] == [seed.table["n1subnet"]["id"]]
    subs = {s["Name"]: s for s in seed.osc("subnet", "list")}
    assert set(subs) == {"n1subnet", "extsubnet"}
    assert subs["extsubnet"]["Subnet"] == "10.0.2.0/24"
    # n1's DHCP port (no name) is listed too, as with Neutron's DHCP agent.
    ports = {p["Name"]: p for p in seed.osc("port", "list")}
    assert set(ports) == {"", "p1"}
    assert ports["p1"]["Status"] == "DOWN" and ports[""]["Status"] == "ACTIVE"
    assert ports[""]["Fixed IP Addresses"] == [{"subnet_id": seed.table["n1subnet"]["id"], "ip_address": "172.16.100.2"}]
    sgs = seed.osc("security", "group", "list")
    assert [s["Name"] for s in sgs] == ["default"]
    rules = seed.osc("security", "group", "rule", "list", "default")
    assert len(rules) == 5
    assert sorted(r["IP Protocol"] or "" for r in rules) == ["", "", "", "", "icmp"]
