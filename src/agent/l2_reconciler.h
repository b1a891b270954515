// L2 reconciliation (ARCHITECTURE §6): from the host view's network, port and l2pop
// objects to bridges, VXLAN devices (nolearning proxy, learning off on their bridge port),
// per remote port a VXLAN FDB entry to its VTEP, a static bridge FDB entry and a permanent
// neighbour, and flood entries for the VTEPs that have the network. Taps (plugged by Nova)
// and mapped physical interfaces of flat networks are enslaved to the network's bridge.
//
// The agent owns links named brq* and vxlan-* / geneve-* and the entries on them; it
// removes only stale objects it owns and adopts whatever already matches, so a restart
// changes nothing. plan_l2 is pure: actual state in, the smallest list of operations out.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "channel/entries.h"

namespace nt::agent {

using view::HostView;

struct L2Settings {
  std::string local_ip;                                  // this host's VTEP
  std::map<std::string, std::string> bridge_mappings;    // physnet -> interface
  // Network types this host cannot build (kernel probe): type -> reason. Their networks
  // are left out, so they cannot hold up the others.
  std::map<std::string, std::string> unsupported_types;
  // Whether this host's devices have IPv6 (net.ipv6.conf.default.disable_ipv6 = 0): the
  // kernel refuses IPv6 neighbours on a device without it, so they are left out then.
  bool ipv6 = true;
  // Gateway HA: the BFD management device (devname::kBfdDevice, a VXLAN of its own VNI
  // outside every bridge) with an FDB entry per BFD peer; bfd_vni 0 = none.
  uint32_t bfd_vni = 0;
  std::vector<std::string> bfd_peers;
};

// `withheld`: ports of the view not to plug (yet): their security is not in place.
kernel::State desired_l2(const HostView& view, const kernel::State& actual, const L2Settings& settings,
                         const std::set<std::string>& withheld = {});
std::vector<kernel::Op> plan_l2(const HostView& view, const kernel::State& actual, const L2Settings& settings,
                                const std::set<std::string>& withheld = {});
bool owned_link(const std::string& name);

}  // namespace nt::agent
