// Type drivers: flat, vlan, vxlan, gre and geneve segments. Project networks get a segment
// from the configured ranges ([ml2] tenant_network_types); admins may give provider
// attributes, which are validated as ML2's type drivers do and reserved so that no id is
// used twice.
#pragma once
#include <optional>
#include <string>

#include "core/model.h"
#include "core/settings.h"

namespace nt {

struct Segment {
  std::string network_type;
  std::string physical_network;         // "" when none
  std::optional<uint64_t> segmentation_id;
};

// Validates and reserves an admin-given segment (provider:* attributes).
Result<Segment> reserve_provider_segment(Txn& txn, const Settings& s, Segment wanted,
                                         const std::string& network_id);
// Allocates a segment for a project network from the tenant network types, in order.
Result<Segment> allocate_tenant_segment(Txn& txn, const Settings& s, const std::string& network_id);
void release_segment(Txn& txn, const Segment& seg);
// The network's MTU for its segment type (global_physnet_mtu less the overlay overhead).
int segment_mtu(const Settings& s, const std::string& network_type);
std::string segment_key(const Segment& seg);  // "type/physnet", the allocation scope

}  // namespace nt
