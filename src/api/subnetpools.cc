// Subnet pools (subnet_allocation, default-subnetpools, subnetpool-prefix-ops,
// subnet_onboard): prefixes merged as netaddr merges them, prefix length bounds, one
// default pool per IP version, membership of an address scope, and the actions that add,
// remove and onboard prefixes. Subnets allocated from pools: subnetpool_subnets.cc.
#include "api/subnetpools.h"

#include <set>

#include "common/text.h"
#include "core/prefixes.h"

namespace nt {
namespace json = boost::json;

namespace pools {

std::vector<Cidr> prefixes_of(const Obj& pool) {
  std::vector<Cidr> out;
  if (const auto* list = pool.if_contains("prefixes"); list && list->is_array())
    for (const auto& p : list->get_array())
      if (auto c = Cidr::parse(jget::str(&p))) out.push_back(*c);
  return out;
}

std::vector<std::string> subnets_of(const Model& m, const std::string& id) {
  std::vector<std::string> out;
  if (const Table* t = m.find_table("subnets"))
    for (const auto& [sid, s] : *t)
      if (jget::str(s.if_contains("subnetpool_id")) == id) out.push_back(sid);
  return out;
}

std::vector<Cidr> allocated(const Model& m, const std::string& id) {
  std::vector<Cidr> out;
  for (const auto& sid : subnets_of(m, id))
    if (auto c = Cidr::parse(jget::str(m.find("subnets", sid)->if_contains("cidr")))) out.push_back(*c);
  return out;
}

json::array to_json(const std::vector<Cidr>& cidrs) {
  json::array out;
  for (const auto& c : cidrs) out.push_back(json::value(c.str()));
  return out;
}

Result<Cidr> parse_prefix(const json::value& v) {
  auto text = v.is_string() ? std::string(v.get_string()) : check::show(v);
  auto c = v.is_string() ? Cidr::parse(text) : Result<Cidr>(bad_request(""));
  if (!c) return fail(Errc::invalid_argument, "AddrFormatError", "invalid IPNetwork " + text);
  return *c;
}

}  // namespace pools

namespace {

const char* const kPrefixlens[] = {"default_prefixlen", "min_prefixlen", "max_prefixlen"};

// Neutron's type:not_empty_string (no length limit for pools in Neutron 21).
check::Check not_empty_name() {
  auto s = check::string(SIZE_MAX);
  return [s](const json::value& v) -> Result<json::value> {
    NT_ASSIGN(auto out, s(v));
    std::string text(out.get_string());
    if (text.find_first_not_of(" \t\n\r\f\v") == std::string::npos)
      return bad_request("'" + text + "' Blank strings are not permitted");
    return out;
  };
}

ResourceDef pool_def() {
  ResourceDef d{"subnetpool", "subnetpools", "subnetpools", "SubnetPoolNotFound", "Subnet pool {} could not be found.",
                standard_attrs(false)};
  auto& a = d.attrs;
  auto prefixlen = check::integer(0, INT32_MAX);
  a.push_back({"name", kPost | kPut | kFilter | kSort | kRequired, not_empty_name(), std::nullopt});
  a.push_back({"prefixes", kPost | kPut | kRequired, check::subnet_list(), std::nullopt});
  a.push_back({"default_quota", kPost | kPut | kFilter | kSort, check::integer(0, INT32_MAX), json::value(nullptr)});
  a.push_back({"ip_version", kFilter | kSort, check::integer(4, 6), std::nullopt});
  for (const char* k : kPrefixlens) a.push_back({k, kPost | kPut | kFilter | kSort, prefixlen, std::nullopt});
  // Admin-only when true (policy, see authorize), as Neutron's enforce_policy attributes.
  a.push_back({"is_default", kPost | kPut | kFilter | kSort, check::boolean(), json::value(false)});
  a.push_back({"shared", kPost | kFilter | kSort, check::boolean(), json::value(false)});
  a.push_back({"address_scope_id", kPost | kPut | kFilter | kSort, check::nullable_uuid(), json::value(nullptr)});
  // Neutron 21 takes no tags in a pool's POST (tag-creation does not cover pools).
  for (auto& attr : a)
    if (attr.name == "tags") attr.flags &= ~kPost;
  return d;
}

nt::unexpected<Error> bounds_error(const std::string& type, int64_t len, const std::string& base, int64_t base_len) {
  return fail(Errc::invalid_argument, "IllegalSubnetPoolPrefixBounds",
              "Illegal prefix bounds: " + type + "=" + std::to_string(len) + ", " + base + "=" + std::to_string(base_len) + ".");
}

// The pool's prefixes as SubnetPoolReader reads them: not empty, one IP version, merged.
Result<std::vector<Cidr>> read_prefixes(const json::value& given) {
  std::vector<Cidr> cidrs;
  for (const auto& p : given.as_array()) {
    NT_ASSIGN(auto c, pools::parse_prefix(p));
    cidrs.push_back(c);
  }
  if (cidrs.empty()) return fail(Errc::invalid_argument, "EmptySubnetPoolPrefixList", "Empty subnet pool prefix list.");
  for (const auto& c : cidrs)
    if (c.network.version != cidrs[0].network.version)
      return fail(Errc::invalid_argument, "PrefixVersionMismatch", "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.");
  return prefixes::merge(cidrs);
}

// min (default /8 or /64) <= default (default: min) <= max (default: the address length).
Status read_bounds(Obj& pool, int version) {
  int64_t bits = version == 4 ? 32 : 128;
  auto get = [&](const char* k, int64_t fallback) {
    auto* v = pool.if_contains(k);
    return v && v->is_int64() ? v->get_int64() : fallback;
  };
  int64_t min = get("min_prefixlen", version == 4 ? 8 : 64);
  int64_t max = get("max_prefixlen", bits);
  int64_t def = get("default_prefixlen", min);
  if (min > max) return bounds_error("min_prefixlen", min, "max_prefixlen", max);
  if (max > bits) return bounds_error("max_prefixlen", max, "ip_version_max", bits);
  if (def < min) return bounds_error("default_prefixlen", def, "min_prefixlen", min);
  if (def > max) return bounds_error("default_prefixlen", def, "max_prefixlen", max);
  pool["min_prefixlen"] = min;
  pool["max_prefixlen"] = max;
  pool["default_prefixlen"] = def;
  return {};
}

Status policy(const std::string& action, const std::string& attr) {
  return attribute_policy_refusal("subnetpool", action, attr);
}

bool is_true(const Obj& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_bool() && v->get_bool();
}

class SubnetPools final : public Handler {
 public:
  using Handler::Handler;
  const ResourceDef& def() const override { return def_; }

  // Own, shared with everyone, or with the caller's project by RBAC (rbac-subnetpool).
  bool visible(const Model& m, const Obj& o, const Ctx& ctx) const override {
    return rbac_readable(m, o, "subnetpools", ctx);
  }

  // Prefix lengths are shown as strings, as Neutron 21's _make_subnetpool_dict shows them.
  bool decorates() const override { return true; }
  Obj decorate(const Model&, const Obj& stored) const override {
    Obj out = stored;
    for (const char* k : kPrefixlens)
      if (auto* v = out.if_contains(k); v && v->is_int64()) *v = json::value(std::to_string(v->get_int64()));
    return out;
  }

  // `shared` is true to a project an access_as_shared policy names, as Neutron shows it.
  bool personalizes(const Model& m, const Obj& stored, const Ctx& ctx) const override {
    return shared_with_caller(m, stored, ctx);
  }
  void personalize(const Model&, Obj& shown, const Ctx&) const override { shown["shared"] = true; }

  Status authorize(const Model& m, const std::string& action, const Obj& target, const Obj& request,
                   const Ctx& ctx) const override {
    if (action == "create" && !ctx.is_admin) {
      if (explicitly_true(target, "is_default")) return policy("create", "is_default");
      if (explicitly_true(target, "shared")) return policy("create", "shared");
    }
    if (action == "update" && !ctx.is_admin && request.contains("is_default")) return policy("update", "is_default");
    return Handler::authorize(m, action, target, request, ctx);
  }

  Result<Obj> create(Txn& txn, Obj pool, const Ctx& ctx) override {
    NT_ASSIGN(auto cidrs, read_prefixes(pool.at("prefixes")));
    int version = cidrs[0].network.version;
    pool["ip_version"] = version;
    pool["prefixes"] = pools::to_json(cidrs);
    NT_TRY(read_bounds(pool, version));
    if (is_true(pool, "is_default")) NT_TRY(check_no_default(txn.model(), version));
    NT_TRY(check_scope(txn.model(), pool, ctx));
    txn.put("subnetpools", pool);
    sync_shared_policy(txn, "subnetpool", pool);
    return pool;
  }

  Result<Obj> update(Txn& txn, const Obj& current, const Obj& changes, const Ctx& ctx) override {
    Obj next = current;
    for (const auto& kv : changes) next[kv.key()] = kv.value();
    auto old_prefixes = pools::prefixes_of(current);
    if (changes.contains("prefixes")) {
      std::vector<Cidr> given;
      for (const auto& p : changes.at("prefixes").as_array()) {
        NT_ASSIGN(auto c, pools::parse_prefix(p));
        given.push_back(c);
      }
      if (!prefixes::covers(given, old_prefixes))
        return prefix_update_error("Existing prefixes must be a subset of the new prefixes");
    }
    NT_ASSIGN(auto cidrs, read_prefixes(next.at("prefixes")));
    int version = cidrs[0].network.version;
    next["ip_version"] = version;
    next["prefixes"] = pools::to_json(cidrs);
    NT_TRY(read_bounds(next, version));
    if (is_true(next, "is_default") && !is_true(current, "is_default")) NT_TRY(check_no_default(txn.model(), version));
    if (auto old_scope = jget::str(current.if_contains("address_scope_id")); !old_scope.empty())
      NT_TRY(check_update_allowed(txn.model(), current, old_scope, ctx));
    NT_TRY(check_scope(txn.model(), next, ctx));
    txn.put("subnetpools", next);
    if (next.at("address_scope_id") != current.at("address_scope_id")) refresh_pool_networks(txn, next);
    return next;
  }

  Status remove(Txn& txn, const Obj& pool, const Ctx&) override {
    auto id = jget::str(pool.if_contains("id"));
    if (!pools::subnets_of(txn.model(), id).empty())
      return fail(Errc::invalid_argument, "SubnetPoolDeleteError",
                  "Unable to delete subnet pool: Subnet pool has existing allocations.");
    drop_object_policies(txn, id);
    txn.erase("subnetpools", id);
    return {};
  }

  static nt::unexpected<Error> prefix_update_error(const std::string& msg) {
    return fail(Errc::invalid_argument, "IllegalSubnetPoolPrefixUpdate", "Illegal update to prefixes: " + msg + ".");
  }

 private:
  static Status check_no_default(const Model& m, int version) {
    if (const Table* t = m.find_table("subnetpools"))
      for (const auto& [id, p] : *t)
        if (is_true(p, "is_default") && p.at("ip_version").as_int64() == version)
          return invalid_input("A default subnetpool for this IP family has already been set. Only one default may "
                               "exist per IP family");
    return {};
  }

  // A pool in a shared address scope of another project cannot be changed by its owner.
  Status check_update_allowed(const Model& m, const Obj& pool, const std::string& scope_id, const Ctx& ctx) const {
    NT_ASSIGN(const Obj* scope, find_visible(peer("address-scopes"), m, ctx, scope_id));
    if (ctx.is_admin || project_of(*scope) == ctx.project_id) return {};
    return fail(Errc::invalid_argument, "IllegalSubnetPoolUpdate",
                "Illegal subnetpool update : subnetpool " + jget::str(pool.if_contains("id")) +
                    " cannot be updated when associated with shared address scope " + scope_id + ".");
  }

  // Neutron's _validate_address_scope_id: the scope visible, of the pool's IP version; the
  // pool's networks keep one scope per IP version; no prefix shared with another pool of
  // the scope (that the caller can see).
  Status check_scope(const Model& m, const Obj& pool, const Ctx& ctx) const {
    auto scope_id = jget::str(pool.if_contains("address_scope_id"));
    if (scope_id.empty()) return {};
    auto id = jget::str(pool.if_contains("id"));
    NT_ASSIGN(const Obj* scope, find_visible(peer("address-scopes"), m, ctx, scope_id));
    int64_t version = pool.at("ip_version").as_int64();
    if (scope->at("ip_version").as_int64() != version)
      return fail(Errc::invalid_argument, "IllegalSubnetPoolIpVersionAssociationToAddressScope",
                  "Illegal subnetpool association: subnetpool " + id + " cannot associate with address scope " +
                      scope_id + " because subnetpool ip_version is not " +
                      std::to_string(scope->at("ip_version").as_int64()) + ".");
    NT_TRY(check_network_affinity(m, id, version));
    auto mine = pools::prefixes_of(pool);
    static const Table kNone;
    const Table* all = m.find_table("subnetpools");
    for (const auto& [other_id, other] : all ? *all : kNone)
      if (other_id != id && jget::str(other.if_contains("address_scope_id")) == scope_id && visible(m, other, ctx) &&
          prefixes::intersect(mine, pools::prefixes_of(other)))
        return conflict("AddressScopePrefixConflict",
                        "Failed to associate address scope: subnetpools within an address scope must have unique "
                        "prefixes.");
    return {};
  }

  // Re-scoping a pool must not leave a network with subnets of one IP version in two scopes.
  static Status check_network_affinity(const Model& m, const std::string& pool_id, int64_t version) {
    for (const auto& sid : pools::subnets_of(m, pool_id)) {
      const Obj* net = m.find("networks", jget::str(m.find("subnets", sid)->if_contains("network_id")));
      if (!net) continue;
      for (const auto& other : net->at("subnets").as_array()) {
        const Obj* s = m.find("subnets", jget::str(&other));
        if (s && s->at("ip_version").as_int64() == version && jget::str(s->if_contains("subnetpool_id")) != pool_id)
          return fail(Errc::invalid_argument, "NetworkAddressScopeAffinityError",
                      "Subnets of the same address family hosted on the same network must all participate in the "
                      "same address scope.");
      }
    }
    return {};
  }

  static void refresh_pool_networks(Txn& txn, const Obj& pool) {
    std::set<std::string> nets;
    for (const auto& sid : pools::subnets_of(txn.model(), jget::str(pool.if_contains("id"))))
      nets.insert(jget::str(txn.model().find("subnets", sid)->if_contains("network_id")));
    for (const auto& n : nets) refresh_network_scopes(txn, n);
  }

  ResourceDef def_ = pool_def();
};

Result<json::array> parse_prefixes_body(const std::string& body) {
  NT_ASSIGN(auto doc, parse_json(body));
  const auto* given = doc.is_object() ? doc.get_object().if_contains("prefixes") : nullptr;
  if (!given || !given->is_array() || given->get_array().empty()) return bad_request("Request body contains invalid data");
  json::array out;
  for (const auto& p : given->get_array()) {
    NT_ASSIGN(auto c, pools::parse_prefix(p));
    out.push_back(json::value(c.str()));
  }
  return out;
}

// PUT /v2.0/subnetpools/ID/add_prefixes and remove_prefixes (subnetpool-prefix-ops): the
// answer is {"prefixes": [...]}, the pool's merged prefixes afterwards.
Result<json::value> edit_prefixes(Handler& h, Txn& txn, const Ctx& ctx, const std::string& id, bool add,
                                  const std::string& body) {
  NT_ASSIGN(const Obj* found, find_visible(h, txn.model(), ctx, id));
  Obj current = *found;
  NT_TRY(enforce_policy(h, txn.model(), ctx, add ? "add_prefixes" : "remove_prefixes", current));
  NT_TRY(h.authorize(txn.model(), "update", current, {}, ctx));
  NT_ASSIGN(auto given, parse_prefixes_body(body));
  if (add) {
    json::array all = current.at("prefixes").as_array();
    all.insert(all.end(), given.begin(), given.end());
    NT_TRY(update_resource(h, txn, ctx, id, json::object{{"subnetpool", json::object{{"prefixes", all}}}}, ""));
    return json::object{{"prefixes", txn.model().find("subnetpools", id)->at("prefixes")}};
  }
  std::vector<Cidr> removed;
  for (const auto& p : given) removed.push_back(*Cidr::parse(jget::str(&p)));
  auto have = pools::prefixes_of(current);
  if (!prefixes::intersect(have, removed)) return json::object{{"prefixes", current.at("prefixes")}};
  if (prefixes::intersect(pools::allocated(txn.model(), id), removed))
    return SubnetPools::prefix_update_error("One or more the prefixes to be removed is in use by a subnet");
  current["prefixes"] = pools::to_json(prefixes::subtract(have, removed));
  txn.put("subnetpools", current);
  bump_revision(txn, "subnetpools", id);
  return json::object{{"prefixes", current.at("prefixes")}};
}

// PUT /v2.0/subnetpools/ID/onboard_network_subnets {"network_id": N} (subnet_onboard):
// the network's subnets of the pool's IP version join the pool, their CIDRs its prefixes.
Result<json::value> onboard(Handler& h, Txn& txn, const Ctx& ctx, const std::string& id, const std::string& body) {
  NT_ASSIGN(const Obj* found, find_visible(h, txn.model(), ctx, id));
  Obj pool = *found;
  NT_TRY(enforce_policy(h, txn.model(), ctx, "onboard_network_subnets", pool));
  NT_TRY(h.authorize(txn.model(), "update", pool, {}, ctx));
  NT_ASSIGN(auto doc, parse_json(body));
  const auto* given = doc.is_object() ? doc.get_object().if_contains("network_id") : nullptr;
  if (!given || given->is_null()) return invalid_input("network_id must be specified.");
  auto net_id = jget::str(given);
  const Obj* net = txn.model().find("networks", net_id);
  if (!net || !network_visible(txn.model(), *net, ctx)) return not_found("NetworkNotFound", "Network " + net_id + " could not be found.");
  if (!ctx.is_admin && project_of(*net) != ctx.project_id) return fail(Errc::forbidden, "NotAuthorized", "Not authorized.");
  auto taken = pools::allocated(txn.model(), id);
  json::array prefixes = pool.at("prefixes").as_array(), info;
  std::vector<std::string> onboarded;
  for (const auto& sid : net->at("subnets").as_array()) {
    const Obj* s = txn.model().find("subnets", jget::str(&sid));
    if (!s || s->at("ip_version") != pool.at("ip_version")) continue;
    auto cidr = jget::str(s->if_contains("cidr"));
    if (prefixes::intersect({*Cidr::parse(cidr)}, taken))
      return fail(Errc::invalid_argument, "IllegalSubnetPoolUpdate",
                  "Illegal subnetpool update : Onboarding subnet " + jget::str(&sid) + ": " + cidr +
                      " conflicts with allocated prefixes in subnet pool " + id + ".");
    prefixes.push_back(json::value(cidr));
    onboarded.push_back(jget::str(&sid));
    info.push_back(json::object{{"id", jget::str(&sid)}, {"cidr", cidr}});
  }
  NT_TRY(update_resource(h, txn, ctx, id, json::object{{"subnetpool", json::object{{"prefixes", prefixes}}}}, ""));
  for (const auto& sid : onboarded) {
    Obj s = *txn.model().find("subnets", sid);
    s["subnetpool_id"] = id;
    txn.put("subnets", std::move(s));
    bump_revision(txn, "subnets", sid);
  }
  refresh_network_scopes(txn, net_id);
  return info;
}

// Neutron answers a PUT with the pool as its object holds it: prefix lengths as
// integers, and a null default_quota or address_scope_id only when the request set it.
Result<json::value> update_answer(Handler& h, Txn& txn, const Ctx& ctx, const std::string& id, const std::string& body,
                                  const std::string& if_match) {
  NT_ASSIGN(auto doc, parse_json(body));
  NT_ASSIGN(auto answer, update_resource(h, txn, ctx, id, doc, if_match));
  const Obj& request = doc.as_object().at("subnetpool").as_object();
  auto& pool = answer.as_object()["subnetpool"].as_object();
  for (const char* k : kPrefixlens)
    if (auto* v = pool.if_contains(k); v && v->is_string()) *v = json::value(parse_int64(v->get_string()).value_or(0));
  for (const char* k : {"default_quota", "address_scope_id"})
    if (auto* v = pool.if_contains(k); v && v->is_null() && !request.contains(k)) pool.erase(k);
  return answer;
}

}  // namespace

Result<json::value> subnetpool_write(Handler& h, Txn& txn, const Ctx& ctx, const std::string& method,
                                     const std::vector<std::string>& path, const std::string& body,
                                     const std::string& if_match) {
  if (method == "POST") {  // one pool at a time: Neutron 21 has no bulk create for pools
    NT_ASSIGN(auto doc, parse_json(body));
    if (doc.is_object() && doc.get_object().contains("subnetpools")) return bad_request("Bulk operation not supported");
    return create_resources(h, txn, ctx, doc);
  }
  if (path.size() == 2) return update_answer(h, txn, ctx, path[1], body, if_match);
  if (path[2] == "add_prefixes" || path[2] == "remove_prefixes")
    return edit_prefixes(h, txn, ctx, path[1], path[2] == "add_prefixes", body);
  if (path[2] == "onboard_network_subnets") return onboard(h, txn, ctx, path[1], body);
  return not_found("HTTPNotFound", "The resource could not be found.");
}

std::unique_ptr<Handler> make_subnetpools(const Settings& s) { return std::make_unique<SubnetPools>(s); }

}  // namespace nt
