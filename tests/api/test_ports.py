"""Ports over raw HTTP: MAC and IP allocation, fixed IP rules, bindings, port security,
security groups, allowed address pairs, extra DHCP options, and the conflicts."""
import ipaddress
import re

import pytest

from neutrino_api import expect_error, uniq

MAC_RE = re.compile(r"^fa:16:3e(:[0-9a-f]{2}){3}$")
MISSING = "3f1e9b52-0d6e-4c55-9d8a-2b8f5c0f7a11"


def post_port(api, **attrs):
    return api("POST", "/v2.0/ports", json={"port": attrs})


def eui64(prefix, mac):
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    iid = octets[:3] + [0xFF, 0xFE] + octets[3:]
    net = ipaddress.ip_network(prefix)
    return str(net.network_address + int.from_bytes(bytes(iid), "big"))


def test_port_defaults(api, project):
    net, sub = api.net_with_subnet("10.70.0.0/24")
    r = post_port(api, network_id=net["id"])
    assert r.status_code == 201, r.text
    port = r.json()["port"]
    assert port["network_id"] == net["id"] and port["name"] == ""
    assert MAC_RE.match(port["mac_address"]), port["mac_address"]
    assert len(port["fixed_ips"]) == 1 and port["fixed_ips"][0]["subnet_id"] == sub["id"]
    ip = ipaddress.ip_address(port["fixed_ips"][0]["ip_address"])
    assert ipaddress.ip_address("10.70.0.2") <= ip <= ipaddress.ip_address("10.70.0.254")
    assert port["status"] == "DOWN" and port["admin_state_up"] is True
    assert port["device_id"] == "" and port["device_owner"] == ""
    assert port["project_id"] == port["tenant_id"] == project
    assert port["binding:vif_type"] == "unbound" and port["binding:vnic_type"] == "normal"
    assert port["binding:host_id"] == "" and port["binding:profile"] == {} and port["binding:vif_details"] == {}
    assert port["port_security_enabled"] is True
    assert port["allowed_address_pairs"] == [] and port["extra_dhcp_opts"] == []
    default = api.list("security-groups", {"name": "default", "project_id": project})
    assert len(default) == 1 and port["security_groups"] == [default[0]["id"]]
    assert port["description"] == "" and port["tags"] == []
    assert api.show("ports", port["id"]) == port


def test_port_without_subnets_has_no_ips(api):
    port = api.port(api.network()["id"])
    assert port["fixed_ips"] == []


def test_dual_stack_and_slaac_eui64(api):
    net = api.network()
    v4 = api.subnet(net["id"], "10.71.0.0/24")
    stateful = api.subnet(net["id"], "2001:db8:71:1::/64", ipv6_address_mode="dhcpv6-stateful",
                          ipv6_ra_mode="dhcpv6-stateful")
    slaac = api.subnet(net["id"], "2001:db8:71:2::/64", ipv6_address_mode="slaac", ipv6_ra_mode="slaac")
    port = api.port(net["id"])
    by_subnet = {f["subnet_id"]: f["ip_address"] for f in port["fixed_ips"]}
    assert set(by_subnet) == {v4["id"], stateful["id"], slaac["id"]}, port["fixed_ips"]
    assert ipaddress.ip_address(by_subnet[stateful["id"]]) in ipaddress.ip_network("2001:db8:71:1::/64")
    assert by_subnet[slaac["id"]] == eui64("2001:db8:71:2::/64", port["mac_address"])


def test_fixed_ip_by_subnet_and_address(api):
    net = api.network()
    a = api.subnet(net["id"], "10.72.0.0/24")
    b = api.subnet(net["id"], "10.72.1.0/24")
    # Explicit addresses first: allocation picks at random among the first free ones, so an
    # automatic port made before could hold 10.72.1.78.
    port = api.port(net["id"], fixed_ips=[{"ip_address": "10.72.0.77"}])
    assert port["fixed_ips"] == [{"subnet_id": a["id"], "ip_address": "10.72.0.77"}]
    port = api.port(net["id"], fixed_ips=[{"subnet_id": a["id"], "ip_address": "10.72.0.78"},
                                          {"subnet_id": b["id"], "ip_address": "10.72.1.78"}])
    assert sorted(f["ip_address"] for f in port["fixed_ips"]) == ["10.72.0.78", "10.72.1.78"]
    port = api.port(net["id"], fixed_ips=[{"subnet_id": b["id"]}])
    assert [f["subnet_id"] for f in port["fixed_ips"]] == [b["id"]]
    assert port["fixed_ips"][0]["ip_address"].startswith("10.72.1.")
    assert port["fixed_ips"][0]["ip_address"] != "10.72.1.78"
    # the subnet's last usable address (.255 is broadcast), asked for by hand
    port = api.port(net["id"], fixed_ips=[{"subnet_id": a["id"], "ip_address": "10.72.0.254"}])
    assert port["fixed_ips"][0]["ip_address"] == "10.72.0.254"


@pytest.fixture
def two_nets(api):
    net, sub = api.net_with_subnet("10.73.0.0/24")
    other_net, other_sub = api.net_with_subnet("10.74.0.0/24")
    return net, sub, other_sub


def test_fixed_ip_in_use(api, two_nets):
    net, sub, _ = two_nets
    taken = api.port(net["id"], fixed_ips=[{"ip_address": "10.73.0.10"}])
    assert taken["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.73.0.10"}]
    r = post_port(api, network_id=net["id"], fixed_ips=[{"ip_address": "10.73.0.10"}])
    # As Neutron 21 answers it (tests/compat checks it side by side).
    err = expect_error(r, 409, "IpAddressAlreadyAllocated")
    assert err["message"] == f"IP address 10.73.0.10 already allocated in subnet {sub['id']}"
    r = post_port(api, network_id=net["id"], fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.73.0.10"}])
    expect_error(r, 409, "IpAddressAlreadyAllocated")


def test_fixed_ip_not_on_network(api, two_nets):
    net, sub, _ = two_nets
    r = post_port(api, network_id=net["id"], fixed_ips=[{"ip_address": "10.99.0.10"}])
    expect_error(r, 400, "InvalidIpForNetwork")
    r = post_port(api, network_id=net["id"], fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.74.0.5"}])
    expect_error(r, 400, "InvalidIpForSubnet")


def test_fixed_ip_subnet_of_other_network(api, two_nets):
    net, _, other_sub = two_nets
    r = post_port(api, network_id=net["id"], fixed_ips=[{"subnet_id": other_sub["id"]}])
    expect_error(r, 400, "InvalidInput", "because fixed_ips included invalid subnet")


def test_fixed_ip_unknown_subnet(api, two_nets):
    net, _, _ = two_nets
    r = post_port(api, network_id=net["id"], fixed_ips=[{"subnet_id": MISSING}])
    expect_error(r, 404, "SubnetNotFound")


@pytest.mark.parametrize("fixed_ips", [
    [{"ip_address": "10.73.0.11"}, {"ip_address": "10.73.0.11"}],  # duplicate in one request
    [{"ip_address": "not-an-ip"}],
    "10.73.0.12",
    [{}],
    [{"ip_address": "10.73.0.0"}],    # network address
    [{"ip_address": "10.73.0.255"}],  # broadcast
])
def test_fixed_ip_invalid(api, two_nets, fixed_ips):
    net, _, _ = two_nets
    expect_error(post_port(api, network_id=net["id"], fixed_ips=fixed_ips), 400)
    assert api.list("ports", {"network_id": net["id"]}) == []


def test_pool_exhausted(api):
    net = api.network()
    api.subnet(net["id"], "10.75.0.0/29", allocation_pools=[{"start": "10.75.0.2", "end": "10.75.0.4"}])
    ports = [api.port(net["id"]) for _ in range(3)]
    assert sorted(p["fixed_ips"][0]["ip_address"] for p in ports) == ["10.75.0.2", "10.75.0.3", "10.75.0.4"]
    r = post_port(api, network_id=net["id"])
    err = expect_error(r, 409, "IpAddressGenerationFailure")
    assert err["message"] == f"No more IP addresses available on network {net['id']}."
    # freeing one makes room again, and exactly that address is handed out
    api.delete("ports", ports[1]["id"])
    again = api.port(net["id"])
    assert again["fixed_ips"][0]["ip_address"] == ports[1]["fixed_ips"][0]["ip_address"]


def test_mac_addresses(api):
    net, _ = api.net_with_subnet("10.76.0.0/24")
    port = api.port(net["id"], mac_address="FA:16:3E:AB:CD:EF")
    assert port["mac_address"] == "fa:16:3e:ab:cd:ef"
    r = post_port(api, network_id=net["id"], mac_address="fa:16:3e:ab:cd:ef")
    err = expect_error(r, 409, "MacAddressInUse")
    assert "The mac address fa:16:3e:ab:cd:ef is in use" in err["message"]
    # the same MAC on another network is fine
    api.port(api.network()["id"], mac_address="fa:16:3e:ab:cd:ef")
    for bad in ("fa:16:3e:ab:cd", "zz:16:3e:ab:cd:ef", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", 12):
        r = post_port(api, network_id=net["id"], mac_address=bad)
        expect_error(r, 400)
    # a deleted port's MAC is free again
    api.delete("ports", port["id"])
    api.port(net["id"], mac_address="fa:16:3e:ab:cd:ef")


def test_generated_macs_are_unique(api):
    net = api.network()
    macs = [api.port(net["id"])["mac_address"] for _ in range(30)]
    assert len(set(macs)) == 30 and all(MAC_RE.match(m) for m in macs)


def test_update_fixed_ips_frees_the_old_address(api):
    net, sub = api.net_with_subnet("10.77.0.0/24")
    port = api.port(net["id"], fixed_ips=[{"ip_address": "10.77.0.20"}])
    upd = api.update("ports", port["id"], fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.77.0.21"}])
    assert upd["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.77.0.21"}]
    assert upd["revision_number"] > port["revision_number"]
    other = api.port(net["id"], fixed_ips=[{"ip_address": "10.77.0.20"}])
    assert other["fixed_ips"][0]["ip_address"] == "10.77.0.20"
    r = api("PUT", f"/v2.0/ports/{port['id']}", json={"port": {"fixed_ips": [{"ip_address": "10.77.0.20"}]}})
    expect_error(r, 409, "IpAddressAlreadyAllocated")
    assert api.show("ports", port["id"])["fixed_ips"][0]["ip_address"] == "10.77.0.21"


def test_update_port_attributes(api):
    net, _ = api.net_with_subnet("10.78.0.0/24")
    port = api.port(net["id"])
    upd = api.update("ports", port["id"], name="renamed", admin_state_up=False, device_id="vm-42",
                     device_owner="compute:nova", description="d", **{"binding:host_id": "compute-7",
                                                                          "binding:profile": {"k": "v"},
                                                                          "binding:vnic_type": "direct"})
    assert upd["name"] == "renamed" and upd["admin_state_up"] is False
    assert upd["device_id"] == "vm-42" and upd["device_owner"] == "compute:nova"
    assert upd["binding:host_id"] == "compute-7" and upd["binding:profile"] == {"k": "v"}
    assert upd["binding:vnic_type"] == "direct"
    assert upd["mac_address"] == port["mac_address"] and upd["fixed_ips"] == port["fixed_ips"]
    r = api("PUT", f"/v2.0/ports/{port['id']}", json={"port": {"binding:vnic_type": "warp-drive"}})
    expect_error(r, 400)
    for attr, value in (("status", "ACTIVE"), ("network_id", api.network()["id"]),
                        ("binding:vif_type", "ovs")):
        r = api("PUT", f"/v2.0/ports/{port['id']}", json={"port": {attr: value}})
        expect_error(r, 400, "HTTPBadRequest")
    assert api.show("ports", port["id"])["status"] == "DOWN"


def test_port_on_missing_network(api):
    expect_error(post_port(api, network_id=MISSING), 404, "NetworkNotFound")
    expect_error(post_port(api, name="x"), 400, "HTTPBadRequest", "network_id")


def test_security_groups_on_ports(api, project):
    net, _ = api.net_with_subnet("10.79.0.0/24")
    sg = api.create("security-groups", name=uniq("sg"))
    port = api.port(net["id"], security_groups=[sg["id"]])
    assert port["security_groups"] == [sg["id"]]
    port = api.port(net["id"], security_groups=[])
    assert port["security_groups"] == []
    upd = api.update("ports", port["id"], security_groups=[sg["id"]])
    assert upd["security_groups"] == [sg["id"]] and upd["revision_number"] > port["revision_number"]
    expect_error(post_port(api, network_id=net["id"], security_groups=[MISSING]), 404, "SecurityGroupNotFound")


def test_port_security(api):
    net, _ = api.net_with_subnet("10.80.0.0/24")
    insecure_net = api.network(port_security_enabled=False)
    api.subnet(insecure_net["id"], "10.81.0.0/24")
    port = api.port(insecure_net["id"])
    assert port["port_security_enabled"] is False and port["security_groups"] == []

    port = api.port(net["id"], port_security_enabled=False)
    assert port["port_security_enabled"] is False and port["security_groups"] == []
    sg = api.create("security-groups", name=uniq("sg"))
    r = post_port(api, network_id=net["id"], port_security_enabled=False, security_groups=[sg["id"]])
    expect_error(r, 400, "PortSecurityAndIPRequiredForSecurityGroups")

    secure = api.port(net["id"])
    r = api("PUT", f"/v2.0/ports/{secure['id']}", json={"port": {"port_security_enabled": False}})
    expect_error(r, 409, "PortSecurityPortHasSecurityGroup")
    upd = api.update("ports", secure["id"], port_security_enabled=False, security_groups=[])
    assert upd["port_security_enabled"] is False and upd["security_groups"] == []


def test_allowed_address_pairs(api):
    net, _ = api.net_with_subnet("10.82.0.0/24")
    pairs = [{"ip_address": "10.82.0.200"}, {"ip_address": "10.82.1.0/24", "mac_address": "fa:16:3e:00:00:01"}]
    port = api.port(net["id"], allowed_address_pairs=pairs)
    got = sorted(port["allowed_address_pairs"], key=lambda p: p["ip_address"])
    assert got == [{"ip_address": "10.82.0.200", "mac_address": port["mac_address"]},
                   {"ip_address": "10.82.1.0/24", "mac_address": "fa:16:3e:00:00:01"}]
    r = post_port(api, network_id=net["id"],
                  allowed_address_pairs=[{"ip_address": f"10.82.2.{i}"} for i in range(11)])
    expect_error(r, 400, "AllowedAddressPairExhausted")
    r = post_port(api, network_id=net["id"], allowed_address_pairs=[{"ip_address": "banana"}])
    expect_error(r, 400)
    r = post_port(api, network_id=net["id"], allowed_address_pairs=[{"mac_address": "fa:16:3e:00:00:01"}])
    expect_error(r, 400)
    r = post_port(api, network_id=net["id"], port_security_enabled=False,
                  allowed_address_pairs=[{"ip_address": "10.82.0.201"}])
    expect_error(r, 409, "AddressPairAndPortSecurityRequired")
    assert api.update("ports", port["id"], allowed_address_pairs=[])["allowed_address_pairs"] == []


def test_extra_dhcp_opts(api):
    net, _ = api.net_with_subnet("10.83.0.0/24")
    opts = [{"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
            {"opt_name": "tftp-server", "opt_value": "10.83.0.5", "ip_version": 4}]
    port = api.port(net["id"], extra_dhcp_opts=opts)
    got = {o["opt_name"]: o for o in port["extra_dhcp_opts"]}
    assert set(got) == {"bootfile-name", "tftp-server"}
    assert got["bootfile-name"]["opt_value"] == "pxelinux.0"
    assert got["tftp-server"]["opt_value"] == "10.83.0.5" and got["tftp-server"]["ip_version"] == 4
    r = post_port(api, network_id=net["id"], extra_dhcp_opts=[{"opt_name": "x", "opt_value": "y", "ip_version": 5}])
    expect_error(r, 400)
    # An update merges as Neutron's: named options change, null deletes, the others stay.
    got = api.update("ports", port["id"], extra_dhcp_opts=[{"opt_name": "tftp-server", "opt_value": None},
                                                            {"opt_name": "bootfile-name", "opt_value": "grub.efi"},
                                                            {"opt_name": "150", "opt_value": "10.83.0.6"}])
    assert {o["opt_name"]: o["opt_value"] for o in got["extra_dhcp_opts"]} == {"bootfile-name": "grub.efi",
                                                                               "150": "10.83.0.6"}
    # A create stores no null value.
    made = api.port(net["id"], extra_dhcp_opts=[{"opt_name": "66", "opt_value": None}])
    assert made["extra_dhcp_opts"] == []


def test_delete_port_and_404s(api):
    net, _ = api.net_with_subnet("10.84.0.0/24")
    port = api.port(net["id"])
    api.delete("ports", port["id"])
    err = expect_error(api("GET", f"/v2.0/ports/{port['id']}"), 404, "PortNotFound")
    assert err["message"] == f"Port {port['id']} could not be found."
    expect_error(api("DELETE", f"/v2.0/ports/{port['id']}"), 404, "PortNotFound")
    expect_error(api("PUT", f"/v2.0/ports/{port['id']}", json={"port": {"name": "x"}}), 404, "PortNotFound")


@pytest.mark.parametrize("owner", ["network:dhcp", "network:router_interface"])
def test_service_ports_do_not_get_default_group(api, owner):
    net, _ = api.net_with_subnet("10.85.0.0/24")
    port = api.port(net["id"], device_owner=owner)
    assert port["security_groups"] == []


def test_port_dns_name_and_description(api):
    net, _ = api.net_with_subnet("10.132.0.0/24")
    port = api.port(net["id"], dns_name="vm-1", description="web server")
    assert port["dns_name"] == "vm-1" and port["description"] == "web server"
    upd = api.update("ports", port["id"], dns_name="vm-2", description="")
    assert upd["dns_name"] == "vm-2" and upd["description"] == ""
    expect_error(api("POST", "/v2.0/ports", json={"port": {"network_id": net["id"], "dns_name": "no spaces!"}}), 400)
