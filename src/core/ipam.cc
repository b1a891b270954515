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

namespace {

using OrderedPools = std::vector<const Pool*>;

// The first pool address at or after `v`, if any.
std::optional<u128> next_in_pools(const OrderedPools& pools, u128 v) {
  for (const Pool* p : pools) {
    if (v > p->end.value) continue;
    return std::max(v, p->start.value);
  }
  return std::nullopt;
}

uint64_t fingerprint(const OrderedPools& pools) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the bounds
  for (const Pool* p : pools)
    for (u128 v : {p->start.value, p->end.value}) h = (h ^ static_cast<uint64_t>(v) ^ static_cast<uint64_t>(v >> 64)) * 1099511628211ull;
  return h;
}

// Tops the window up to `size` free addresses from where it stopped looking.
void refill(IpWindow& w, const OrderedPools& pools, const std::unordered_set<u128, U128Hash>* used, size_t size) {
  while (w.free.size() < size) {
    auto v = next_in_pools(pools, w.next);
    if (!v) {
      w.next = pools.back()->end.value + 1;
      return;
    }
    if (!used || !used->count(*v)) w.free.push_back(*v);
    w.next = *v + 1;
  }
}

}  // namespace

std::optional<IpAddress> pick_free_ip(const Model& model, const std::string& subnet,
                                      const std::vector<Pool>& pools, size_t window) {
  if (pools.empty()) return std::nullopt;
  OrderedPools ordered;
  for (const auto& p : pools) ordered.push_back(&p);
  std::sort(ordered.begin(), ordered.end(), [](const Pool* a, const Pool* b) { return a->start.value < b->start.value; });
  const auto* used = model.ips_of(subnet);
  auto& w = model.ip_window(subnet);
  auto fp = fingerprint(ordered);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!w.started || w.pools != fp) w = IpWindow{fp, true, {}, ordered.front()->start.value};
    refill(w, ordered, used, window);
    // Like Neutron: a random one of the first `window` free addresses. Entries taken since
    // they entered the window are dropped as they are met.
    while (!w.free.empty()) {
      size_t i = random_u64() % w.free.size();
      u128 v = w.free[i];
      // Freed addresses come back whatever they were (a router's gateway address is not in
      // any pool): only a free pool address is handed out.
      if ((!used || !used->count(v)) && next_in_pools(ordered, v) == v) return IpAddress{ordered.front()->start.version, v};
      w.free[i] = w.free.back();
      w.free.pop_back();
      refill(w, ordered, used, window);
    }
    w.started = false;  // looked at everything: once more from the start, then full
  }
  return std::nullopt;
}

std::optional<IpAddress> first_free_ip(const Model& model, const std::string& subnet, const std::vector<Pool>& pools) {
  OrderedPools ordered;
  for (const auto& p : pools) ordered.push_back(&p);
  std::sort(ordered.begin(), ordered.end(), [](const Pool* a, const Pool* b) { return a->start.value < b->start.value; });
  const auto* used = model.ips_of(subnet);
  // Each used address is passed at most once, so this looks at no more than used + 1.
  for (const Pool* p : ordered)
    for (u128 v = p->start.value;; ++v) {
      if (!used || !used->count(v)) return IpAddress{p->start.version, v};
      if (v == p->end.value) break;  // not `v <= end`: an IPv6 pool may end at the last address
    }
  return std::nullopt;
}

}  // namespace nt
