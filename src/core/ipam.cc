#include "core/ipam.h"

#include <algorithm>

#include "common/uuid.h"

namespace nt {
namespace json = boost::json;

namespace {
std::string pool_str(const Pool& p) { return p.start.str() + "-" + p.end.str(); }
}  // namespace

std::vector<Pool> default_pools(const Cidr& cidr, const std::optional<IpAddress>& gateway) {
  IpAddress first = cidr.first(), last = cidr.last();
  int v = cidr.network.version;
  if (v == 4 && cidr.prefix < 31) {
    first.value += 1;  // network address
    last.value -= 1;   // broadcast
  } else if (v == 6 && cidr.prefix < 127) {
    first.value += 1;  // subnet-router anycast address
  }
  std::vector<Pool> pools;
  if (first.value > last.value) return pools;
  if (gateway && gateway->value >= first.value && gateway->value <= last.value) {
    if (gateway->value > first.value) pools.push_back({first, IpAddress{v, gateway->value - 1}});
    if (gateway->value < last.value) pools.push_back({IpAddress{v, gateway->value + 1}, last});
  } else {
    pools.push_back({first, last});
  }
  return pools;
}

Result<std::vector<Pool>> check_pools(std::vector<Pool> pools, const Cidr& cidr,
                                      const std::optional<IpAddress>& gateway) {
  for (const auto& p : pools) {
    if (p.start.version != cidr.network.version || p.end.version != cidr.network.version ||
        p.start.value > p.end.value)
      return fail(Errc::invalid_argument, "InvalidAllocationPool",
                  "The allocation pool " + pool_str(p) + " is not valid.");
    if (!cidr.contains(p.start) || !cidr.contains(p.end))
      return fail(Errc::invalid_argument, "OutOfBoundsAllocationPool",
                  "The allocation pool " + pool_str(p) + " spans beyond the subnet cidr " + cidr.str() + ".");
  }
  std::sort(pools.begin(), pools.end(), [](auto& a, auto& b) { return a.start.value < b.start.value; });
  for (size_t i = 1; i < pools.size(); ++i)
    if (pools[i].start.value <= pools[i - 1].end.value)
      return conflict("OverlappingAllocationPools",
                      "Found overlapping allocation pools: " + pool_str(pools[i - 1]) + " and " +
                          pool_str(pools[i]) + " for subnet " + cidr.str() + ".");
  if (gateway)
    for (const auto& p : pools)
      if (p.contains(*gateway))
        return conflict("GatewayConflictWithAllocationPools",
                        "Gateway ip " + gateway->str() + " conflicts with allocation pool " + pool_str(p) + ".");
  return pools;
}

json::array pools_json(const std::vector<Pool>& pools) {
  json::array out;
  for (const auto& p : pools) out.push_back(json::object{{"start", p.start.str()}, {"end", p.end.str()}});
  return out;
}

Result<std::vector<Pool>> pools_from_json(const json::value& v) {
  std::vector<Pool> pools;
  if (!v.is_array()) return bad_request("allocation_pools must be a list");
  for (const auto& item : v.as_array()) {
    if (!item.is_object()) return bad_request("allocation pool must be a dictionary");
    const auto& o = item.as_object();
    auto* s = o.if_contains("start");
    auto* e = o.if_contains("end");
    if (!s || !e || !s->is_string() || !e->is_string() || o.size() != 2)
      return bad_request("allocation pool must have exactly the keys start and end");
    NT_ASSIGN(auto start, IpAddress::parse(s->get_string()));
    NT_ASSIGN(auto end, IpAddress::parse(e->get_string()));
    pools.push_back({start, end});
  }
  return pools;
}

std::optional<IpAddress> pick_free_ip(const Model& model, const std::string& subnet,
                                      const std::vector<Pool>& pools, size_t window) {
  const auto* used = model.ips_of(subnet);
  std::vector<IpAddress> candidates;
  candidates.reserve(std::min<size_t>(window, 64));
  for (const auto& p : pools) {
    for (u128 v = p.start.value; candidates.size() < window; ++v) {
      if (!used || !used->count(v)) candidates.push_back({p.start.version, v});
      if (v == p.end.value) break;
    }
    if (candidates.size() >= window) break;
  }
  if (candidates.empty()) return std::nullopt;
  return candidates[random_u64() % candidates.size()];
}

}  // namespace nt
