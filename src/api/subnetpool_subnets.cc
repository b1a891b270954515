// Subnets allocated from subnet pools, as Neutron 21's create_subnet and SubnetAllocator
// do it: the pool named, or the default one of the IP version; without a cidr the first
// free prefix of the requested length (longest free block first), with one the cidr must
// lie in a free block; prefix length bounds and the pool's per-project quota; one pool
// (or one address scope) per IP version on a network; networks' ipv4/ipv6_address_scope.
#include "api/subnetpools.h"
#include "core/prefixes.h"

namespace nt {
namespace json = boost::json;

namespace {

nt::unexpected<Error> bad_subnets(const std::string& msg) {
  return fail(Errc::invalid_argument, "BadRequest", "Bad subnets request: " + msg + ".");
}

// Neutron maps SubnetAllocationError to a 500 with its own type and message.
nt::unexpected<Error> allocation_error(const std::string& reason) {
  return fail(Errc::internal, "SubnetAllocationError", "Failed to allocate subnet: " + reason + ".");
}

bool has_value(const Obj& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && !v->is_null();
}

// The default pool of an IP version the caller can see.
Result<std::string> default_pool(const Handler& pools, const Model& m, const Ctx& ctx, int64_t version) {
  if (const Table* t = m.find_table("subnetpools"))
    for (const auto& [id, p] : *t) {
      auto* d = p.if_contains("is_default");
      if (d && d->is_bool() && d->get_bool() && p.at("ip_version").as_int64() == version && pools.visible(m, p, ctx))
        return id;
    }
  return bad_subnets("No default subnetpool found for IPv" + std::to_string(version));
}

// The pool named by subnetpool_id or use_default_subnetpool; "" for none.
Result<std::string> requested_pool(const Handler& pools, const Model& m, const Obj& sub, const Ctx& ctx) {
  bool use_default = false;
  if (auto* u = sub.if_contains("use_default_subnetpool"); u && u->is_bool()) use_default = u->get_bool();
  auto pool_id = jget::str(sub.if_contains("subnetpool_id"));
  if (use_default && !pool_id.empty()) return bad_subnets("subnetpool_id and use_default_subnetpool cannot both be specified");
  if (!use_default) return pool_id;
  int64_t version = sub.at("ip_version").as_int64();
  if (auto c = Cidr::parse(jget::str(sub.if_contains("cidr"))); c && has_value(sub, "cidr")) version = c->network.version;
  return default_pool(pools, m, ctx, version);
}

// SubnetPoolQuotaExceeded when the pool's default_quota (addresses: /32 units for IPv4,
// /64 for IPv6) would be passed. Neutron counts the subnets of the pool's own project.
Status check_quota(const Model& m, const Obj& pool, int prefixlen) {
  auto* quota = pool.if_contains("default_quota");
  if (!quota || !quota->is_int64() || quota->get_int64() == 0) return {};
  int unit = pool.at("ip_version").as_int64() == 4 ? 32 : 64;
  auto id = jget::str(pool.if_contains("id"));
  double used = 0;
  for (const auto& sid : pools::subnets_of(m, id)) {
    const Obj* s = m.find("subnets", sid);
    auto c = Cidr::parse(jget::str(s->if_contains("cidr")));
    if (c && project_of(*s) == project_of(pool)) used += prefixes::quota_units(c->prefix, unit);
  }
  if (used + prefixes::quota_units(prefixlen, unit) > static_cast<double>(quota->get_int64()))
    return conflict("SubnetPoolQuotaExceeded", "Per-tenant subnet pool prefix quota exceeded.");
  return {};
}

Status check_bounds(const Obj& pool, int64_t prefixlen) {
  auto max = pool.at("max_prefixlen").as_int64(), min = pool.at("min_prefixlen").as_int64();
  auto len = std::to_string(prefixlen);
  if (prefixlen > max)
    return fail(Errc::invalid_argument, "MaxPrefixSubnetAllocationError",
                "Unable to allocate subnet with prefix length " + len + ", maximum allowed prefix is " +
                    std::to_string(max) + ".");
  if (prefixlen < min)
    return fail(Errc::invalid_argument, "MinPrefixSubnetAllocationError",
                "Unable to allocate subnet with prefix length " + len + ", minimum allowed prefix is " +
                    std::to_string(min) + ".");
  return {};
}

// Takes a prefix of `pool` for `sub`: any free /prefixlen, or the cidr asked for (given,
// or the gateway's network).
Status allocate(const Model& m, const Obj& pool, Obj& sub) {
  auto pool_id = jget::str(pool.if_contains("id"));
  int version = static_cast<int>(pool.at("ip_version").as_int64());
  int64_t prefixlen = has_value(sub, "prefixlen") ? sub.at("prefixlen").as_int64() : pool.at("default_prefixlen").as_int64();
  std::optional<Cidr> wanted;
  if (has_value(sub, "cidr")) {
    auto text = jget::str(sub.if_contains("cidr"));
    auto c = Cidr::parse(text);
    if (!c) return invalid_input(text + " is not in a CIDR format");
    wanted = *c;
  } else if (has_value(sub, "gateway_ip")) {
    auto c = Cidr::parse(jget::str(sub.if_contains("gateway_ip")) + "/" + std::to_string(prefixlen));
    if (!c) return invalid_input("Invalid gateway for the subnet pool's prefix length");
    wanted = *c;
  }
  if (wanted) prefixlen = wanted->prefix;
  NT_TRY(check_bounds(pool, prefixlen));
  NT_TRY(check_quota(m, pool, static_cast<int>(prefixlen)));
  auto free = prefixes::subtract(pools::prefixes_of(pool), pools::allocated(m, pool_id));
  if (wanted) {
    if (wanted->network.version != version || !prefixes::fits(free, *wanted))
      return allocation_error("Cannot allocate requested subnet from the available set of prefixes");
    sub["cidr"] = wanted->str();
    return {};
  }
  auto got = prefixes::first_fit(free, static_cast<int>(prefixlen));
  if (!got) return allocation_error("Insufficient prefix space to allocate subnet size /" + std::to_string(prefixlen));
  sub["cidr"] = got->str();
  // The first address is the gateway for both IP versions here (SubnetAllocator).
  sub["gateway_ip"] = IpAddress{version, got->network.value + 1}.str();
  return {};
}

}  // namespace

Result<const Obj*> subnet_pool_request(const Handler& pools, Txn& txn, Obj& sub, const Ctx& ctx) {
  const Model& m = txn.model();
  bool has_cidr = has_value(sub, "cidr");
  if (has_cidr && has_value(sub, "prefixlen")) return bad_subnets("cidr and prefixlen must not be supplied together");
  NT_ASSIGN(auto pool_id, requested_pool(pools, m, sub, ctx));
  sub.erase("use_default_subnetpool");
  if (pool_id.empty()) {
    sub.erase("prefixlen");
    return nullptr;
  }
  if (!has_cidr && has_value(sub, "allocation_pools"))
    return bad_subnets("allocation_pools allowed only for specific subnet requests.");
  const Obj* pool = m.find("subnetpools", pool_id);
  if (!pool || !pools.visible(m, *pool, ctx))
    return not_found("SubnetPoolNotFound", "Subnet pool " + pool_id + " could not be found.");
  auto want = sub.at("ip_version").as_int64(), have = pool->at("ip_version").as_int64();
  if (want != have)
    return bad_subnets("Cannot allocate IPv" + std::to_string(want) + " subnet from IPv" + std::to_string(have) +
                       " subnet pool");
  NT_TRY(allocate(m, *pool, sub));
  sub["subnetpool_id"] = pool_id;
  sub.erase("prefixlen");
  return pool;
}

// Neutron's _validate_network_subnetpools, after the overlap check.
Status check_subnet_pool_affinity(const Model& m, const Obj& net, const Obj& sub) {
  int64_t version = sub.at("ip_version").as_int64();
  const Obj* pool = m.find("subnetpools", jget::str(sub.if_contains("subnetpool_id")));
  std::string scope;  // the network's address scope for this IP version
  for (const auto& sid : net.at("subnets").as_array()) {
    const Obj* s = m.find("subnets", jget::str(&sid));
    const Obj* p = s ? m.find("subnetpools", jget::str(s->if_contains("subnetpool_id"))) : nullptr;
    auto sc = p ? jget::str(p->if_contains("address_scope_id")) : "";
    if (p && p->at("ip_version").as_int64() == version && !sc.empty() && m.find("address_scopes", sc)) scope = sc;
  }
  if (!scope.empty() && pool && jget::str(pool->if_contains("address_scope_id")) != scope)
    return fail(Errc::invalid_argument, "NetworkAddressScopeAffinityError",
                "Subnets of the same address family hosted on the same network must all participate in the same "
                "address scope.");
  for (const auto& sid : net.at("subnets").as_array()) {
    const Obj* s = m.find("subnets", jget::str(&sid));
    if (!s || s->at("ip_version").as_int64() != version) continue;
    auto spool = jget::str(s->if_contains("subnetpool_id"));
    bool clash = pool ? (spool != jget::str(pool->if_contains("id")) && scope.empty()) : !spool.empty();
    if (clash)
      return fail(Errc::invalid_argument, "NetworkSubnetPoolAffinityError",
                  "Subnets hosted on the same network must be allocated from the same subnet pool.");
  }
  return {};
}

// A network's ipv4_address_scope and ipv6_address_scope: the scopes of the pools its
// subnets come from (stored with the network, so lists stay verbatim).
void refresh_network_scopes(Txn& txn, const std::string& network_id) {
  const Obj* net = txn.model().find("networks", network_id);
  if (!net) return;
  json::value v4 = nullptr, v6 = nullptr;
  for (const auto& sid : net->at("subnets").as_array()) {
    const Obj* s = txn.model().find("subnets", jget::str(&sid));
    const Obj* p = s ? txn.model().find("subnetpools", jget::str(s->if_contains("subnetpool_id"))) : nullptr;
    if (!p) continue;
    auto* scope = p->if_contains("address_scope_id");
    (p->at("ip_version").as_int64() == 4 ? v4 : v6) = scope ? *scope : json::value(nullptr);
  }
  auto* old4 = net->if_contains("ipv4_address_scope");
  auto* old6 = net->if_contains("ipv6_address_scope");
  if (old4 && *old4 == v4 && old6 && *old6 == v6) return;
  Obj next = *net;
  next["ipv4_address_scope"] = v4;
  next["ipv6_address_scope"] = v6;
  txn.put("networks", std::move(next));
}

}  // namespace nt
