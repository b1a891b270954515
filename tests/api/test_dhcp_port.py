"""The network:dhcp port, as Neutron's DHCP agent keeps it: one per network with an IPv4
DHCP-enabled subnet, with the first free address of each such subnet, made, changed and
removed in the subnet requests themselves; not made with dhcp_agent_notification = false.
"""
import pytest

from neutrino_api import Server, expect_error, uniq


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """This module's own server, with the default dhcp_agent_notification = true (the
    session's server runs without DHCP ports); conftest's api and osc use it here."""
    s = Server(tmp_path_factory.mktemp("dhcp-port"), name="dhcp")
    try:
        s.start()
        yield s
    finally:
        s.kill()


# uuid5(NAMESPACE_DNS, "neutrino"): the device_id is Neutron's agent's dhcp<host id>-<network>.
HOST_ID = "0b4d3e8c-c6ed-5cbf-bbd6-594070320dd9"


def dhcp_ports(client, net_id):
    return client.list("ports", {"network_id": net_id, "device_owner": "network:dhcp"})


def the_dhcp_port(client, net_id):
    ports = dhcp_ports(client, net_id)
    assert len(ports) == 1, ports
    return ports[0]


def ips(port):
    return sorted((f["subnet_id"], f["ip_address"]) for f in port["fixed_ips"])


def test_subnet_create_makes_the_dhcp_port(api, project):
    net = api.network()
    assert dhcp_ports(api, net["id"]) == []
    sub = api.subnet(net["id"], "10.150.0.0/24")
    port = the_dhcp_port(api, net["id"])
    assert port["device_owner"] == "network:dhcp"
    assert port["device_id"] == f"dhcp{HOST_ID}-{net['id']}"
    assert port["project_id"] == project and port["tenant_id"] == project
    assert ips(port) == [(sub["id"], "10.150.0.2")]  # the first free address, as Neutron's IPAM gives it
    assert port["status"] == "ACTIVE" and port["admin_state_up"] is True
    assert port["name"] == "" and port["binding:host_id"] == ""
    assert port["mac_address"].startswith("fa:16:3e:")
    assert port["security_groups"] == []
    # A user's port asking for that address gets Neutron's answer.
    r = api("POST", "/v2.0/ports", json={"port": {"network_id": net["id"],
                                                  "fixed_ips": [{"ip_address": "10.150.0.2"}]}})
    expect_error(r, 409, "IpAddressAlreadyAllocated")
    # Other ports never get it.
    for _ in range(3):
        assert api.port(net["id"])["fixed_ips"][0]["ip_address"] != "10.150.0.2"


def test_first_free_address_of_the_pools(api):
    net = api.network()
    sub = api.subnet(net["id"], "10.151.0.0/24",
                     allocation_pools=[{"start": "10.151.0.100", "end": "10.151.0.110"},
                                       {"start": "10.151.0.20", "end": "10.151.0.30"}])
    assert ips(the_dhcp_port(api, net["id"])) == [(sub["id"], "10.151.0.20")]


def test_second_subnet_adds_an_address_and_toggle_removes_it(api):
    net = api.network()
    s1 = api.subnet(net["id"], "10.152.0.0/24")
    first = the_dhcp_port(api, net["id"])
    s2 = api.subnet(net["id"], "10.152.1.0/24", gateway_ip="10.152.1.254")
    port = the_dhcp_port(api, net["id"])
    assert port["id"] == first["id"] and port["mac_address"] == first["mac_address"]
    assert ips(port) == sorted([(s1["id"], "10.152.0.2"), (s2["id"], "10.152.1.1")])
    assert port["revision_number"] > first["revision_number"]

    api.update("subnets", s2["id"], enable_dhcp=False)
    assert ips(the_dhcp_port(api, net["id"])) == [(s1["id"], "10.152.0.2")]
    # The freed address goes to others.
    api.port(net["id"], fixed_ips=[{"ip_address": "10.152.1.1"}])
    api.update("subnets", s2["id"], enable_dhcp=True)
    assert ips(the_dhcp_port(api, net["id"])) == sorted([(s1["id"], "10.152.0.2"), (s2["id"], "10.152.1.2")])

    # No DHCP-enabled subnet left: no port; turned on again: a new one.
    api.update("subnets", s1["id"], enable_dhcp=False)
    api.update("subnets", s2["id"], enable_dhcp=False)
    assert dhcp_ports(api, net["id"]) == []
    api.update("subnets", s1["id"], enable_dhcp=True)
    again = the_dhcp_port(api, net["id"])
    assert again["id"] != first["id"] and ips(again) == [(s1["id"], "10.152.0.2")]


def test_a_subnet_without_dhcp_gets_no_port(api):
    net = api.network()
    api.subnet(net["id"], "10.153.0.0/24", enable_dhcp=False)
    assert dhcp_ports(api, net["id"]) == []
    # IPv6 subnets are not served (IPv4 DHCP only).
    api.subnet(net["id"], "fd00:153::/64", ipv6_address_mode="dhcpv6-stateful", ipv6_ra_mode="dhcpv6-stateful")
    api.subnet(net["id"], "fd00:154::/64")
    assert dhcp_ports(api, net["id"]) == []
    s4 = api.subnet(net["id"], "10.153.1.0/24")
    assert ips(the_dhcp_port(api, net["id"])) == [(s4["id"], "10.153.1.2")]


def test_subnet_delete_takes_its_address_and_the_last_one_the_port(api):
    net = api.network()
    s1 = api.subnet(net["id"], "10.154.0.0/24")
    s2 = api.subnet(net["id"], "10.154.1.0/24")
    port = the_dhcp_port(api, net["id"])
    api.delete("subnets", s1["id"])
    assert ips(api.show("ports", port["id"])) == [(s2["id"], "10.154.1.2")]
    api.delete("subnets", s2["id"])
    assert dhcp_ports(api, net["id"]) == []
    expect_error(api("GET", f"/v2.0/ports/{port['id']}"), 404, "PortNotFound")
    # A user's port still blocks it.
    s3 = api.subnet(net["id"], "10.154.2.0/24")
    user = api.port(net["id"])
    expect_error(api("DELETE", f"/v2.0/subnets/{s3['id']}"), 409, "SubnetInUse")
    api.delete("ports", user["id"])
    api.delete("subnets", s3["id"])
    assert api.list("ports", {"network_id": net["id"]}) == []


def test_network_delete_with_only_the_dhcp_port(api):
    net = api.network()
    api.subnet(net["id"], "10.155.0.0/24")
    port = the_dhcp_port(api, net["id"])
    user = api.port(net["id"])
    expect_error(api("DELETE", f"/v2.0/networks/{net['id']}"), 409, "NetworkInUse")
    api.delete("ports", user["id"])
    api.delete("networks", net["id"])
    expect_error(api("GET", f"/v2.0/ports/{port['id']}"), 404, "PortNotFound")


def test_deleted_dhcp_port_comes_back_at_the_next_subnet_change(api):
    net = api.network()
    s1 = api.subnet(net["id"], "10.156.0.0/24")
    port = the_dhcp_port(api, net["id"])
    api.delete("ports", port["id"])  # an admin may, as in Neutron
    assert dhcp_ports(api, net["id"]) == []
    s2 = api.subnet(net["id"], "10.156.1.0/24")
    back = the_dhcp_port(api, net["id"])
    assert back["id"] != port["id"]
    assert ips(back) == sorted([(s1["id"], "10.156.0.2"), (s2["id"], "10.156.1.2")])


def test_quota_counts_it_and_does_not_refuse_it(api, project):
    r = api("PUT", f"/v2.0/quotas/{project}", json={"quota": {"port": 1}})
    assert r.status_code == 200, r.text
    net = api.network()
    api.subnet(net["id"], "10.157.0.0/24")
    d = api("GET", f"/v2.0/quotas/{project}/details.json").json()["quota"]
    assert d["port"] == {"used": 1, "limit": 1, "reserved": 0}
    expect_error(api("POST", "/v2.0/ports", json={"port": {"network_id": net["id"]}}), 409, "OverQuota")
    # A full quota does not stop a subnet: the port is made anyway (Neutron's agent makes it
    # through the plugin, past the API's quota check).
    assert api("PUT", f"/v2.0/quotas/{project}", json={"quota": {"port": 0}}).status_code == 200
    net2 = api.network()
    api.subnet(net2["id"], "10.157.1.0/24")
    assert len(dhcp_ports(api, net2["id"])) == 1
    d = api("GET", f"/v2.0/quotas/{project}/details.json").json()["quota"]
    assert d["port"]["used"] == 2


def test_a_member_sees_its_networks_dhcp_port(api, server, project):
    net = api.network()
    api.subnet(net["id"], "10.158.0.0/24")
    member = server.client(project=project, roles="member")
    port = the_dhcp_port(member, net["id"])
    assert port["project_id"] == project


def test_dhcp_agent_notification_false_makes_none(new_server):
    s = new_server(config_text="[DEFAULT]\ndhcp_agent_notification = false\n")
    c = s.client(project="p" + uniq("q").replace("-", ""), roles="admin")
    net = c.network()
    sub = c.subnet(net["id"], "10.159.0.0/24")
    c.subnet(net["id"], "10.159.1.0/24")
    c.update("subnets", sub["id"], enable_dhcp=False)
    c.update("subnets", sub["id"], enable_dhcp=True)
    assert c.list("ports", {"network_id": net["id"]}) == []
    c.delete("networks", net["id"])


def test_allocations_stay_consistent_across_a_restart(new_server):
    s = new_server()
    c = s.client()
    gone = c.network()
    c.subnet(gone["id"], "10.160.0.0/24")
    c.subnet(gone["id"], "10.160.1.0/24")
    kept = c.network()
    sub = c.subnet(kept["id"], "10.161.0.0/24")
    c.delete("networks", gone["id"])  # its DHCP port's addresses and MAC go with it
    port = the_dhcp_port(c, kept["id"])
    s.stop()
    s.start()  # the start-up check compares the allocation tables with the resources
    c = s.client()  # a new port
    again = the_dhcp_port(c, kept["id"])
    assert ips(again) == [(sub["id"], "10.161.0.2")] and again["mac_address"] == port["mac_address"]


def test_cli_port_list_device_owner(osc):
    name = uniq("cli-dhcp")
    net = osc("network", "create", name)
    try:
        sub = osc("subnet", "create", "--network", name, "--subnet-range", "10.162.0.0/24", name)
        listed = osc("port", "list", "--device-owner", "network:dhcp", "--network", net["id"])
        assert len(listed) == 1, listed
        row = listed[0]
        assert row["Fixed IP Addresses"] == [{"subnet_id": sub["id"], "ip_address": "10.162.0.2"}]
        assert row["Status"] == "ACTIVE"
        shown = osc("port", "show", row["ID"])
        assert shown["device_owner"] == "network:dhcp" and shown["device_id"] == f"dhcp{HOST_ID}-{net['id']}"
        osc("subnet", "delete", sub["id"], fmt=False)
        assert osc("port", "list", "--device-owner", "network:dhcp", "--network", net["id"]) == []
        osc("subnet", "create", "--network", name, "--subnet-range", "10.162.0.0/24", name, fmt=False)
    finally:
        osc("network", "delete", net["id"], fmt=False)
