// What the host builds for DHCP and metadata, from the view's dhcp entries (pure):
//  - per network with a DHCP port serving a local VM, a namespace <prefix>meta-<network>
//    holding that port: the ns- end of a veth with the DHCP port's MAC, its address on
//    each subnet and 169.254.169.254/32, and a permanent neighbour per local VM (so it
//    never ARPs over a tunnel); the tap end is on the network's bridge, its MAC pinned to
//    that tap (sticky FDB). The proxy listens there on 169.254.169.254:80 for VMs routed
//    to it by DHCP's option 121 (isolated subnets);
//  - in each qrouter namespace, the metadata chain redirects 169.254.169.254:80 from
//    qr- ports to the proxy on port 9697 (routed subnets), as Neutron's L3 agent does;
//  - the host's bridge table nt-dhcp: DHCP the host serves never leaves it (requests from
//    served taps, answers to them, the DHCP ports' MACs and ARP for their addresses stay off
//    every uplink: tunnels, physical interfaces, VLANs), and a request to
//    169.254.169.254 passes the bridge only from the tap whose port owns its source IP:
//    the port it came in on identifies the instance, whatever address a VM sets.
#pragma once
#include <string>
#include <vector>

#include "agent/l3_reconciler.h"
#include "metadata/proxy.h"

namespace nt::agent {

inline constexpr uint16_t kRouterMetadataPort = 9697;  // Neutron's metadata_port

// Whether a dhcp entry from the server can be built from (what goes into device names,
// namespace names and nftables scripts is checked here, whatever the server sent): its
// device is the port's tap, names are plain, addresses are IPv4, the prefix is 1-32.
bool usable_dhcp_entry(const std::string& port_id, const view::Dhcp& entry);

// Adds the meta namespaces, their host ends and the host table to `out`.
void add_dhcp_and_metadata(const HostView& view, const std::string& ns_prefix, L3Desired& out);

// The nftables statements of a qrouter's metadata chain.
std::string router_metadata_chain();
// A qrouter's input chain: only redirected connections reach the proxy's port (as Neutron's
// filter rules): a VM connecting to a router address on 9697 itself would be identified by
// the wrong interface.
std::string router_metadata_input();

struct MetadataPlan {
  std::vector<metadata::ListenerSpec> listeners;
  metadata::IdentityTable identities;
};
// Where the proxy listens (each meta namespace, each qrouter) and who may ask there.
MetadataPlan metadata_plan(const HostView& view, const std::string& ns_prefix);

}  // namespace nt::agent
