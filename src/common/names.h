// Neutron's names, in one place: the device owners ports carry, and the Linux device and
// namespace names the data plane uses (as Neutron's agents spell them, so operators find
// what they know: tap<port[:11]>, brq<network[:11]>, qr-/qg-/sg-/fg-<port[:11]>,
// rfp-/fpr-<router[:11]>, qrouter-/snat-<router>, fip-<external network>). Header only: the
// planner and the agent use it without linking anything.
#pragma once
#include <cstdio>
#include <string>
#include <string_view>

namespace nt::owner {

inline constexpr std::string_view kInterface = "network:router_interface";
inline constexpr std::string_view kInterfaceDistributed = "network:router_interface_distributed";
inline constexpr std::string_view kHaReplicatedInterface = "network:ha_router_replicated_interface";
inline constexpr std::string_view kHaInterface = "network:router_ha_interface";
inline constexpr std::string_view kGateway = "network:router_gateway";
inline constexpr std::string_view kCentralizedSnat = "network:router_centralized_snat";
inline constexpr std::string_view kFloatingIp = "network:floatingip";
inline constexpr std::string_view kFloatingIpAgentGateway = "network:floatingip_agent_gateway";
inline constexpr std::string_view kDhcp = "network:dhcp";
inline constexpr std::string_view kDistributed = "network:distributed";
inline constexpr std::string_view kNetworkPrefix = "network:";

// A router interface: the same port (IP and MAC) on every host of a distributed router.
inline bool is_router_interface(std::string_view o) {
  return o == kInterface || o == kInterfaceDistributed || o == kHaReplicatedInterface;
}
// Owned by the network service itself (routers, DHCP, ...), not by an instance.
inline bool is_network_service(std::string_view o) { return o.substr(0, kNetworkPrefix.size()) == kNetworkPrefix; }

}  // namespace nt::owner

namespace nt::devname {

// Linux interface names are at most 15 characters: prefix (3-4) + 11 of the id.
inline constexpr std::string_view kTapPrefix = "tap", kBridgePrefix = "brq";
inline constexpr std::string_view kVxlanPrefix = "vxlan-", kGenevePrefix = "geneve-";
inline std::string short_id(std::string_view id) { return std::string(id.substr(0, 11)); }
inline std::string tap(std::string_view port_id) { return std::string(kTapPrefix) + short_id(port_id); }
inline std::string bridge(std::string_view network_id) { return std::string(kBridgePrefix) + short_id(network_id); }
inline bool is_bridge(std::string_view name) { return name.substr(0, kBridgePrefix.size()) == kBridgePrefix; }
inline bool is_tap(std::string_view name) { return name.substr(0, kTapPrefix.size()) == kTapPrefix; }
// An id the server sent that may go into device/namespace names and nftables scripts:
// letters, digits and '-', at most 64 characters.
inline bool plain(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == std::string_view::npos;
}
inline std::string vxlan(long long vni) { return std::string(kVxlanPrefix) + std::to_string(vni); }
// Gateway HA: the VXLAN device of the BFD management VNI (RFC 8971), one per host, outside
// every bridge; its MAC is 02:bf: and the host's VTEP IPv4, so peers know it ("" if the
// VTEP is not a dotted IPv4 address).
inline constexpr std::string_view kBfdDevice = "ntbfd0";
inline std::string bfd_mac(std::string_view vtep) {
  unsigned a[4];
  char rest = 0;
  if (std::sscanf(std::string(vtep).c_str(), "%3u.%3u.%3u.%3u%c", &a[0], &a[1], &a[2], &a[3], &rest) != 4) return "";
  char out[18];
  for (unsigned v : a)
    if (v > 255) return "";
  std::snprintf(out, sizeof out, "02:bf:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3]);
  return out;
}
inline std::string geneve(long long vni) { return std::string(kGenevePrefix) + std::to_string(vni); }
// A VLAN subinterface of a mapped physical interface.
inline std::string vlan(std::string_view parent, long long vlan_id) { return std::string(parent) + "." + std::to_string(vlan_id); }
// A router's port in a namespace: qr- (interface), qg- (gateway), sg- (SNAT), fg- (fip).
inline std::string router_port(std::string_view prefix, std::string_view port_id) {
  return std::string(prefix) + short_id(port_id);
}
inline std::string qr(std::string_view port_id) { return router_port("qr-", port_id); }
inline std::string rfp(std::string_view router_id) { return "rfp-" + short_id(router_id); }
inline std::string fpr(std::string_view router_id) { return "fpr-" + short_id(router_id); }

inline std::string qrouter_ns(std::string_view prefix, std::string_view router_id) {
  return std::string(prefix) + "qrouter-" + std::string(router_id);
}
inline std::string snat_ns(std::string_view prefix, std::string_view router_id) {
  return std::string(prefix) + "snat-" + std::string(router_id);
}
inline std::string fip_ns(std::string_view prefix, std::string_view network_id) {
  return std::string(prefix) + "fip-" + std::string(network_id);
}
// The namespace holding a network's DHCP port on a host (metadata for isolated subnets),
// and the namespace end of that port's veth (Neutron's linuxbridge name for a DHCP port).
inline std::string meta_ns(std::string_view prefix, std::string_view network_id) {
  return std::string(prefix) + "meta-" + std::string(network_id);
}
inline std::string meta_port(std::string_view port_id) { return "ns-" + short_id(port_id); }

}  // namespace nt::devname
