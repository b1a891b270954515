// Deleting conntrack entries, as Neutron's firewall drivers do when a rule that allowed a
// connection goes: the next packet of the connection is then judged by the rules again.
// Works in the calling thread's network namespace (ctnetlink, through libnl-nf).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/net.h"
#include "common/error.h"

namespace nt::kernel {

// The conntrack entries of one zone whose original direction matches every field set.
struct FlowMatch {
  uint16_t zone = 0;
  int family = 4;                      // 4 or 6
  std::vector<Cidr> sources, destinations;  // empty: any
  std::optional<uint8_t> protocol;     // IP protocol number
  std::optional<std::pair<uint16_t, uint16_t>> dst_ports;  // protocols with ports
  std::optional<uint8_t> icmp_type, icmp_code;
  bool operator==(const FlowMatch&) const = default;
};

// The original direction of one conntrack entry, as matched.
struct FlowTuple {
  uint16_t zone = 0;
  IpAddress src, dst;
  uint8_t protocol = 0;
  uint16_t dst_port = 0;  // protocols with ports
  uint8_t icmp_type = 0, icmp_code = 0;
};
bool flow_matches(const FlowMatch& m, const FlowTuple& t);

// Deletes every entry matching any of `matches`; returns how many went.
Result<size_t> delete_flows(const std::vector<FlowMatch>& matches);

}  // namespace nt::kernel
