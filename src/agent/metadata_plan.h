// What the host builds for DHCP and metadata, from the view's dhcp entries (pure):
//  - per network with a DHCP port serving a local VM, a namespace <prefix>meta-<network>
//    holding that port: the ns- end of a veth with the DHCP port's MAC, its address on
//    each subnet and 169.254.169.254/32, and a permanent neighbour per local VM (so it
//    never ARPs over a tunnel); the tap end is on the network's bridge, its MAC pinned to
//    that tap (sticky FDB). The proxy listens there on 169.254.169.254:80 for VMs routed
//    to it by DHCP's option 121 (isolated subnets);
//  - in each qrouter namespace, the metadata chain redirects 169.254.169.254:80 from
//    qr- ports to the proxy on port 9697 (routed subnets), as Neutron's L3 agent does;
//  - the host's bridge table nt-dhcp: DHCP never crosses a tunnel (DHCP ports 67/68 and
//    the DHCP ports' MACs and ARP stay local on every host), and a request to
//    169.254.169.254 passes the bridge only from the tap whose port owns its source IP:
//    the port it came in on identifies the instance, whatever address a VM sets.
#pragma once
#include <string>
#include <vector>

#include "agent/l3_reconciler.h"
#include "metadata/proxy.h"

namespace nt::agent {

inline constexpr uint16_t kRouterMetadataPort = 9697;  // Neutron's metadata_port

// Adds the meta namespaces, their host ends and the host table to `out`.
void add_dhcp_and_metadata(const HostView& view, const std::string& ns_prefix, L3Desired& out);

// The nftables statements of a qrouter's metadata chain.
std::string router_metadata_chain();

struct MetadataPlan {
  std::vector<metadata::ListenerSpec> listeners;
  metadata::IdentityTable identities;
};
// Where the proxy listens (each meta namespace, each qrouter) and who may ask there.
MetadataPlan metadata_plan(const HostView& view, const std::string& ns_prefix);

}  // namespace nt::agent
