#include "core/segments.h"

#include <algorithm>

namespace nt {
namespace {

constexpr uint64_t kMaxVni = 16777215, kMaxGre = 4294967295ULL, kMaxVlan = 4094;

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

const std::vector<IdRange>& tunnel_ranges(const Settings& s, const std::string& type) {
  return type == "vxlan" ? s.vni_ranges : type == "gre" ? s.gre_ranges : s.geneve_ranges;
}

// A physical network listed without a range has every VLAN id (neutron-lib's
// parse_network_vlan_ranges).
std::vector<IdRange> vlan_ids(const VlanRange& r) {
  if (r.ranges.empty()) return {IdRange{1, kMaxVlan}};
  return r.ranges;
}

const VlanRange* vlan_physnet(const Settings& s, const std::string& physnet) {
  for (const auto& r : s.vlan_ranges)
    if (r.physnet == physnet) return &r;
  return nullptr;
}

Status validate_flat(const Settings& s, const Segment& seg) {
  if (seg.physical_network.empty()) return invalid_input("physical_network required for flat provider network");
  if (seg.segmentation_id) return invalid_input("segmentation_id prohibited for flat provider network");
  if (!has(s.flat_networks, "*") && !has(s.flat_networks, seg.physical_network))
    return invalid_input("physical_network '" + seg.physical_network + "' unknown for flat provider network");
  return {};
}

Status validate_vlan(const Settings& s, const Segment& seg) {
  if (seg.physical_network.empty()) {
    if (seg.segmentation_id) return invalid_input("segmentation_id requires physical_network for VLAN provider network");
    return {};  // one is chosen from network_vlan_ranges, as Neutron does
  }
  if (!vlan_physnet(s, seg.physical_network))
    return invalid_input("physical_network '" + seg.physical_network + "' unknown for VLAN provider network");
  if (seg.segmentation_id && (*seg.segmentation_id < 1 || *seg.segmentation_id > kMaxVlan))
    return invalid_input("segmentation_id out of range (1 through 4094)");
  return {};
}

Status validate_tunnel(const Segment& seg) {
  if (!seg.physical_network.empty())
    return invalid_input("provider:physical_network specified for " + seg.network_type + " network");
  uint64_t max = seg.network_type == "gre" ? kMaxGre : kMaxVni;
  if (seg.segmentation_id && (*seg.segmentation_id < 1 || *seg.segmentation_id > max))
    return invalid_input("segmentation_id out of range (1 through " + std::to_string(max) + ")");
  return {};
}

// The lowest free id of `ranges` for the allocation scope `key`.
std::optional<uint64_t> lowest_free(const Model& m, const std::string& key, const std::vector<IdRange>& ranges) {
  for (const auto& r : ranges)
    for (uint64_t id = r.min; id <= r.max; ++id)
      if (!m.segment_used(key, id)) return id;
  return std::nullopt;
}

}  // namespace

std::string segment_key(const Segment& seg) { return seg.network_type + "/" + seg.physical_network; }

int segment_mtu(const Settings& s, const std::string& type) {
  if (type == "vxlan") return s.global_physnet_mtu - 30 - 20;
  if (type == "gre") return s.global_physnet_mtu - 22 - 20;
  if (type == "geneve") return s.global_physnet_mtu - s.geneve_max_header_size - 20;
  return s.global_physnet_mtu;
}

Status validate_provider_segment(const Settings& s, const Segment& seg) {
  const auto& type = seg.network_type;
  if (!has(s.type_drivers, type)) return invalid_input("network_type value '" + type + "' not supported");
  if (type == "flat") return validate_flat(s, seg);
  if (type == "vlan") return validate_vlan(s, seg);
  return validate_tunnel(seg);
}

Result<Segment> reserve_provider_segment(Txn& txn, const Settings& s, Segment seg, const std::string& network_id) {
  const auto& type = seg.network_type;
  NT_TRY(validate_provider_segment(s, seg));

  auto key = segment_key(seg);
  if (type == "flat") {
    if (!txn.claim_segment(key, 0, network_id))
      return conflict("FlatNetworkInUse", "Unable to create the flat network. Physical network " +
                                              seg.physical_network + " is in use.");
    return seg;
  }
  if (type == "vlan" && seg.physical_network.empty()) {
    // A VLAN network with neither: the first physical network with a free id in its range.
    for (const auto& r : s.vlan_ranges)
      if (auto id = lowest_free(txn.model(), "vlan/" + r.physnet, vlan_ids(r))) {
        Segment chosen{"vlan", r.physnet, id};
        if (txn.claim_segment(segment_key(chosen), *id, network_id)) return chosen;
      }
    return fail(Errc::unavailable, "NoNetworkAvailable", "Unable to create the network. No tenant network is available for allocation.");
  }
  if (!seg.segmentation_id) {
    const auto& ranges = type == "vlan" ? vlan_ids(*vlan_physnet(s, seg.physical_network)) : tunnel_ranges(s, type);
    auto id = lowest_free(txn.model(), key, ranges);
    if (!id)
      return fail(Errc::unavailable, "NoNetworkAvailable",
                  "Unable to create the network. No tenant network is available for allocation.");
    seg.segmentation_id = id;
  }
  if (!txn.claim_segment(key, *seg.segmentation_id, network_id)) {
    auto id = std::to_string(*seg.segmentation_id);
    if (type == "vlan")
      return conflict("VlanIdInUse", "Unable to create the network. The VLAN " + id + " on physical network " +
                                         seg.physical_network + " is in use.");
    return conflict("TunnelIdInUse", "Unable to create the network. The tunnel ID " + id + " is in use.");
  }
  return seg;
}

Result<Segment> allocate_tenant_segment(Txn& txn, const Settings& s, const std::string& network_id) {
  for (const auto& type : s.tenant_network_types) {
    if (type == "flat") continue;  // flat networks are provider networks only
    if (type == "vlan") {
      for (const auto& r : s.vlan_ranges) {
        Segment seg{"vlan", r.physnet, lowest_free(txn.model(), "vlan/" + r.physnet, vlan_ids(r))};
        if (seg.segmentation_id && txn.claim_segment(segment_key(seg), *seg.segmentation_id, network_id)) return seg;
      }
      continue;
    }
    Segment seg{type, "", lowest_free(txn.model(), type + "/", tunnel_ranges(s, type))};
    if (seg.segmentation_id && txn.claim_segment(segment_key(seg), *seg.segmentation_id, network_id)) return seg;
  }
  return fail(Errc::unavailable, "NoNetworkAvailable",
              "Unable to create the network. No tenant network is available for allocation.");
}

boost::json::object segment_json(const Segment& seg) {
  namespace json = boost::json;
  return {{"provider:network_type", seg.network_type},
          {"provider:physical_network", seg.physical_network.empty() ? json::value(nullptr) : json::value(seg.physical_network)},
          {"provider:segmentation_id",
           seg.segmentation_id ? json::value(static_cast<int64_t>(*seg.segmentation_id)) : json::value(nullptr)}};
}

Segment segment_of(const boost::json::object& o) {
  Segment seg{jget::str(o.if_contains("provider:network_type")), jget::str(o.if_contains("provider:physical_network")),
              std::nullopt};
  if (const auto* id = o.if_contains("provider:segmentation_id"); id && id->is_int64() && id->get_int64() >= 0)
    seg.segmentation_id = static_cast<uint64_t>(id->get_int64());
  return seg;
}

std::vector<Segment> network_segments(const Obj& net) {
  std::vector<Segment> out;
  if (const auto* segs = net.if_contains("segments"); segs && segs->is_array()) {
    for (const auto& s : segs->get_array())
      if (s.is_object()) out.push_back(segment_of(s.get_object()));
    return out;
  }
  if (net.contains("provider:network_type")) out.push_back(segment_of(net));
  return out;
}

size_t data_plane_segment(const std::vector<Segment>& segs) {
  for (size_t i = 0; i < segs.size(); ++i)
    if (segs[i].network_type == "flat" || segs[i].network_type == "vlan" || segs[i].network_type == "vxlan") return i;
  return 0;
}

bool partial_segment(const Segment& seg) {
  if (seg.network_type == "flat") return false;
  if (seg.network_type == "vlan") return seg.physical_network.empty() || !seg.segmentation_id;
  return !seg.segmentation_id;
}

void release_segment(Txn& txn, const Segment& seg) {
  txn.release_segment(segment_key(seg), seg.network_type == "flat" ? 0 : seg.segmentation_id.value_or(0));
}

}  // namespace nt
