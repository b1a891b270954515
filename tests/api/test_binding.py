"""Port binding and port status, as Nova and operators see them: binding a port to a host
with a live agent gives binding:vif_type "bridge"; a host without an agent, a dead agent, or
no bridge_mappings entry for a flat network's physical network gives "binding_failed" with
a reason (the seed articles' classic bind_failed). The port turns ACTIVE when the host's
agent reports its tap plugged and the hosts that must act on it have applied it, and DOWN
when unplugged.
"""
import requests

from neutrino_api import AgentChannel, uniq, wait_for


def bind(client, port_id, host):
    return client.update("ports", port_id, **{"binding:host_id": host})


def test_bound_to_a_live_agent(server, admin):
    host = uniq("cmp")
    AgentChannel(server.url).register(host, mode="dvr")
    net, _ = admin.net_with_subnet("10.61.0.0/24")
    port = admin.port(net["id"])
    assert port["binding:vif_type"] == "unbound"
    bound = bind(admin, port["id"], host)
    assert bound["binding:host_id"] == host
    assert bound["binding:vif_type"] == "bridge"
    assert bound["binding:vif_details"]["bridge_name"] == "brq" + net["id"][:11]
    assert bound["binding:vif_details"]["port_filter"] is True
    assert bound["status"] == "DOWN"
    unbound = bind(admin, port["id"], "")
    assert unbound["binding:vif_type"] == "unbound"


def test_host_without_agent_fails_with_a_reason(server, admin):
    net, _ = admin.net_with_subnet("10.62.0.0/24")
    port = admin.port(net["id"], **{"binding:host_id": "nowhere-" + uniq("h")})
    assert port["binding:vif_type"] == "binding_failed"
    assert "has no registered agent" in port["binding:vif_details"]["reason"]


def test_flat_network_needs_a_bridge_mapping(server, admin):
    host = uniq("cmp")
    physnet = uniq("extnet")
    AgentChannel(server.url).register(host, mode="dvr", bridge_mappings={"physnet1": "eth1"})
    net = admin.create("networks", name=uniq("flat"), **{"provider:network_type": "flat",
                                                         "provider:physical_network": physnet})
    admin.subnet(net["id"], "10.63.0.0/24")
    port = admin.port(net["id"], **{"binding:host_id": host})
    assert port["binding:vif_type"] == "binding_failed"
    assert port["binding:vif_details"]["reason"] == (
        f"host {host} has no bridge_mappings entry for physical network {physnet}")
    # Once the agent has the mapping, binding again succeeds.
    AgentChannel(server.url).register(host, mode="dvr", bridge_mappings={physnet: "eth2"})
    bind(admin, port["id"], "")
    assert bind(admin, port["id"], host)["binding:vif_type"] == "bridge"


def test_reported_tap_state_drives_port_status(server, admin):
    host = uniq("cmp")
    agent = AgentChannel(server.url)
    agent.register(host, mode="dvr")
    net, _ = admin.net_with_subnet("10.64.0.0/24")
    port = admin.port(net["id"], **{"binding:host_id": host})
    assert port["status"] == "DOWN"
    # ACTIVE once the host has applied the view with the port too (tests/api/test_provisioning.py).
    views = requests.get(server.url + "/agent/v1/convergence", timeout=10).json()["hosts"]
    applied = next(h["view_revision"] for h in views if h["host"] == host)
    r = agent.status_raw(host, {"ports": {port["id"]: "up"}, "applied": applied})
    assert r.status_code == 200, r.text
    wait_for(lambda: admin.show("ports", port["id"])["status"] == "ACTIVE", timeout=5)
    agent.status_raw(host, {"ports": {port["id"]: "down"}})
    wait_for(lambda: admin.show("ports", port["id"])["status"] == "DOWN", timeout=5)
    # Another host cannot change the status of a port that is not bound to it.
    other = uniq("cmp")
    agent.register(other, mode="dvr")
    agent.status_raw(other, {"ports": {port["id"]: "up"}})
    assert admin.show("ports", port["id"])["status"] == "DOWN"
    bad = agent.status_raw(host, {"ports": {port["id"]: "sideways"}})
    assert bad.status_code == 400


def test_network_types_the_hosts_kernel_cannot_build_fail_with_the_reason(new_server):
    """An agent reports what its kernel can build (it probes vxlan, vlan and geneve links);
    a port on a network of another type is not bound there, and the reason names the
    missing kernel feature."""
    server = new_server("[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:300:399\n")
    admin = server.client()
    host = uniq("cmp")
    channel = AgentChannel(server.url)
    r = channel.register_raw({"host": host, "agent_mode": "dvr", "local_ip": "192.0.2.31",
                              "bridge_mappings": {"physnet1": "eth1"}, "network_types": ["flat", "vxlan"],
                              "unsupported_network_types": {"vlan": "this kernel has no vlan link type (module 8021q)"}})
    assert r.status_code == 200, r.text
    vlan = admin.create("networks", name=uniq("vlan"), **{"provider:network_type": "vlan",
                                                          "provider:physical_network": "physnet1",
                                                          "provider:segmentation_id": 301})
    admin.subnet(vlan["id"], "10.64.0.0/24")
    port = admin.port(vlan["id"], **{"binding:host_id": host})
    assert port["binding:vif_type"] == "binding_failed"
    assert port["binding:vif_details"]["reason"] == (
        f"host {host} cannot serve vlan networks: this kernel has no vlan link type (module 8021q)")
    vx, _ = admin.net_with_subnet("10.65.0.0/24")
    assert admin.port(vx["id"], **{"binding:host_id": host})["binding:vif_type"] == "bridge"
    lb = [a for a in admin.list("agents", {"host": host}) if a["agent_type"] == "Linux bridge agent"][0]
    assert lb["configurations"]["tunnel_types"] == ["vxlan"]
    # Malformed reports are refused.
    bad = channel.register_raw({"host": host, "agent_mode": "dvr", "local_ip": "192.0.2.31", "network_types": "vxlan"})
    assert bad.status_code == 400 and "network_types" in bad.json()["NeutronError"]["message"]
