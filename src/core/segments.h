// Type drivers: flat, vlan, vxlan, gre and geneve segments. Project networks get a segment
// from the configured ranges ([ml2] tenant_network_types); admins may give provider
// attributes, which are validated as ML2's type drivers do and reserved so that no id is
// used twice.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/settings.h"

namespace nt {

struct Segment {
  std::string network_type;
  std::string physical_network;         // "" when none
  std::optional<uint64_t> segmentation_id;
};

// Validates an admin-given segment as its type driver does (ML2's validate_provider_segment).
Status validate_provider_segment(const Settings& s, const Segment& seg);
// Validates and reserves an admin-given segment (provider:* attributes).
Result<Segment> reserve_provider_segment(Txn& txn, const Settings& s, Segment wanted,
                                         const std::string& network_id);
// Allocates a segment for a project network from the tenant network types, in order.
Result<Segment> allocate_tenant_segment(Txn& txn, const Settings& s, const std::string& network_id);
void release_segment(Txn& txn, const Segment& seg);
// The network's MTU for its segment type (global_physnet_mtu less the overlay overhead).
int segment_mtu(const Settings& s, const std::string& network_type);
std::string segment_key(const Segment& seg);  // "type/physnet", the allocation scope

// Multi-provider networks. A network with several segments stores them in order in
// `segments` ({"provider:network_type", "provider:physical_network",
// "provider:segmentation_id"} each), and in its provider:* attributes the one segment the
// data plane builds: the first of a type the agents build (flat, vlan, vxlan), else the
// first. A network with one segment has only the provider:* attributes.
boost::json::object segment_json(const Segment& seg);
Segment segment_of(const boost::json::object& provider);  // from provider:* members
std::vector<Segment> network_segments(const Obj& net);   // every segment, in order
size_t data_plane_segment(const std::vector<Segment>& segs);
// ML2's is_partial_segment: the type driver still has to choose part of it.
bool partial_segment(const Segment& seg);

}  // namespace nt
