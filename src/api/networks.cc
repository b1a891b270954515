// Networks: provider attributes and segments from the type drivers (one, or several with
// multi-provider's `segments`), MTU per type, router:external and shared (admin only),
// is_default of external networks (auto-allocated-topology), and the in-use rules for delete.
#include "api/handlers.h"
#include "common/names.h"
#include "common/text.h"
#include "core/segments.h"

#include <algorithm>
#include <map>

namespace nt {
namespace json = boost::json;

bool network_visible(const Model& m, const Obj& net, const Ctx& ctx) { return rbac_readable(m, net, "networks", ctx); }

namespace {

// The `segments` of a request as ML2 converts them (convert_and_validate_segments): a list
// of objects with provider:* members only; a segmentation id that is given (not 0) is an
// integer. Neutron answers 500 for what is not a list of objects; we answer 400.
Result<std::vector<Segment>> convert_segments(const json::value& given) {
  auto not_list = [&] {
    return bad_request("Invalid input for segments. Reason: '" + check::show(given) + "' is not a list of segments.");
  };
  if (!given.is_array()) return not_list();
  std::vector<Segment> out;
  for (const auto& item : given.get_array()) {
    if (!item.is_object()) return not_list();
    const auto& o = item.get_object();
    std::string unknown;
    for (const auto& kv : o)
      if (kv.key() != "provider:network_type" && kv.key() != "provider:physical_network" &&
          kv.key() != "provider:segmentation_id")
        unknown += (unknown.empty() ? "" : ", ") + std::string(kv.key());
    if (!unknown.empty()) return bad_request("Unrecognized attribute(s) '" + unknown + "'");
    Segment seg;
    const auto* type = o.if_contains("provider:network_type");
    if (!type || type->is_null()) seg.network_type = "";
    else seg.network_type = type->is_string() ? std::string(type->get_string()) : check::show(*type);
    if (const auto* phys = o.if_contains("provider:physical_network"); phys && !phys->is_null())
      seg.physical_network = phys->is_string() ? std::string(phys->get_string()) : check::show(*phys);
    if (const auto* sid = o.if_contains("provider:segmentation_id")) {
      std::optional<int64_t> n;
      if (sid->is_int64()) n = sid->get_int64();
      else if (sid->is_double()) n = static_cast<int64_t>(sid->get_double());  // Python's int()
      else if (sid->is_bool()) n = sid->get_bool() ? 1 : 0;
      else if (sid->is_string() && !sid->get_string().empty()) n = parse_int64(std::string_view(sid->get_string()));
      else if (sid->is_null() || sid->is_string()) n = 0;
      if (!n) return invalid_input("'" + check::show(*sid) + "' is not an integer");
      if (*n < 0) return invalid_input("segmentation_id out of range");
      if (*n != 0) seg.segmentation_id = static_cast<uint64_t>(*n);
    }
    out.push_back(std::move(seg));
  }
  return out;
}

// One default external network at a time (DefaultExternalNetworkExists).
Status check_one_default(const Model& m, const std::string& id) {
  if (const Table* nets = m.find_table("networks"))
    for (const auto& [other, net] : *nets)
      if (other != id && explicitly_true(net, "is_default"))
        return conflict("DefaultExternalNetworkExists", "A default external network already exists: " + other + ".");
  return {};
}

ResourceDef network_def() {
  ResourceDef d{"network", "networks", "networks", "NetworkNotFound", "Network {} could not be found.", standard_attrs()};
  auto& a = d.attrs;
  a.push_back({"admin_state_up", kPost | kPut | kFilter | kSort, check::boolean(), json::value(true)});
  a.push_back({"status", kFilter | kSort, check::any(), std::nullopt});
  a.push_back({"subnets", kFilter, check::any(), std::nullopt});
  a.push_back({"shared", kPost | kPut | kFilter | kAdminWrite, check::boolean(), json::value(false)});
  a.push_back({"router:external", kPost | kPut | kFilter | kAdminWrite, check::boolean(), json::value(false)});
  // No upper bound here: the segment type's maximum is checked after, with Neutron's message.
  a.push_back({"mtu", kPost | kPut | kFilter | kSort, check::integer(68, INT32_MAX), std::nullopt});
  a.push_back({"port_security_enabled", kPost | kPut | kFilter, check::boolean(), json::value(true)});
  a.push_back({"provider:network_type", kPost | kPut | kFilter | kAdminOnly, check::string(32), std::nullopt});
  a.push_back({"provider:physical_network", kPost | kPut | kFilter | kAdminOnly, check::nullable_string(64), std::nullopt});
  a.push_back({"provider:segmentation_id", kPost | kPut | kFilter | kAdminOnly, check::integer(0, 4294967295LL), std::nullopt});
  a.push_back({"availability_zone_hints", kPost, check::string_list(255), json::value(json::array{})});
  a.push_back({"availability_zones", 0, check::any(), std::nullopt});
  a.push_back({"ipv4_address_scope", 0, check::any(), std::nullopt});
  a.push_back({"ipv6_address_scope", 0, check::any(), std::nullopt});
  // Policy (admin only when true on create, admin only on update) is in authorize().
  a.push_back({"is_default", kPost | kPut, check::boolean(), std::nullopt});
  // Converted and checked by convert_segments(), with ML2's errors.
  a.push_back({"segments", kPost | kPut | kAdminOnly, check::any(), std::nullopt});
  a.push_back({"l2_adjacency", kRetired, check::any(), std::nullopt});
  a.push_back({"dns_domain", kPost | kPut, check::string(255), json::value("")});
  a.push_back({"qos_policy_id", kRetired, check::any(), std::nullopt});
  return d;
}

class Networks final : public Handler {
 public:
  using Handler::Handler;
  const ResourceDef& def() const override { return def_; }

  bool visible(const Model& m, const Obj& o, const Ctx& ctx) const override { return network_visible(m, o, ctx); }

  bool needs_setup(const Model& m, const Ctx& ctx) const override { return !has_default_sg(m, ctx.project_id); }
  Status setup(Txn& txn, const Ctx& ctx) override {
    NT_TRY(ensure_default_sg(txn, ctx.project_id));
    return {};
  }

  Status authorize(const Model& m, const std::string& action, const Obj& target, const Obj& request,
                   const Ctx& ctx) const override {
    NT_TRY(Handler::authorize(m, action, target, request, ctx));
    // As Neutron's policy: a member may give is_default only as its default (false).
    bool refused = action == "create" ? explicitly_true(target, "is_default") : request.contains("is_default");
    if (refused && !ctx.is_admin) return attribute_policy_refusal("network", action, "is_default");
    return {};
  }

  Obj decorate(const Model&, const Obj& stored) const override {
    if (!stored.contains("segments")) return stored;
    Obj out = stored;  // several segments: the list only, as ML2 shows them
    for (const char* k : {"provider:network_type", "provider:physical_network", "provider:segmentation_id"}) out.erase(k);
    return out;
  }
  bool decorates() const override { return true; }
  // Only networks with several segments show otherwise than stored.
  bool decorates_row(const Obj& stored) const override { return stored.contains("segments"); }
  // `shared` as Neutron shows it: true to a project an access_as_shared policy names (the
  // stored flag is the "*" policy's).
  bool personalizes(const Model& m, const Obj& stored, const Ctx& ctx) const override {
    return shared_with_caller(m, stored, ctx);
  }
  void personalize(const Model&, Obj& shown, const Ctx&) const override { shown["shared"] = true; }

  std::vector<std::string> special_filters() const override {
    return {"provider:network_type", "provider:physical_network", "provider:segmentation_id", "is_default"};
  }
  // As ML2's network_matches_filters: one segment must match every provider filter given;
  // is_default is checked as a boolean and then ignored, as Neutron does.
  bool special_match_all(const Model&, const Ctx&, const Obj& net,
                         const std::vector<std::pair<std::string, std::string>>& filters) const override {
    std::map<std::string, std::vector<std::string>> wanted;
    for (const auto& [k, v] : filters)
      if (k != "is_default") wanted[k].push_back(v);
    if (wanted.empty()) return true;
    for (const auto& seg : network_segments(net)) {
      auto fields = segment_json(seg);
      bool all = true;
      for (const auto& [k, values] : wanted) {
        const auto& have = fields.at(k);
        auto text = have.is_string() ? std::string(have.get_string()) : have.is_int64() ? std::to_string(have.get_int64()) : "";
        bool any = false;
        for (const auto& v : values)
          any = any || (!text.empty() && (text == v || (have.is_int64() && parse_int64(v) == have.get_int64())));
        all = all && any;
      }
      if (all) return true;
    }
    return false;
  }

  Result<Obj> create(Txn& txn, Obj net, const Ctx& ctx) override {
    auto id = jget::str(net.if_contains("id"));
    NT_ASSIGN(auto segs, choose_segments(txn, net, id));
    set_segments(net, segs);
    int max_mtu = INT32_MAX;
    for (const auto& seg : segs) max_mtu = std::min(max_mtu, segment_mtu(settings_, seg.network_type));
    if (auto* mtu = net.if_contains("mtu")) {
      if (mtu->as_int64() > max_mtu)
        return invalid_input("Requested MTU is too big, maximum is " + std::to_string(max_mtu));
    } else {
      net["mtu"] = max_mtu;
    }
    net["status"] = "ACTIVE";
    net["subnets"] = json::array{};
    net["availability_zones"] = json::array{};
    net["ipv4_address_scope"] = nullptr;
    net["ipv6_address_scope"] = nullptr;
    // is_default is stored with external networks only; the answer shows what was asked.
    bool is_default = explicitly_true(net, "is_default");
    if (is_default) NT_TRY(check_one_default(txn.model(), id));
    if (!net.at("router:external").as_bool()) net.erase("is_default");
    else net["is_default"] = is_default;
    txn.put("networks", net);
    NT_TRY(sync_network_policies(txn, Obj{}, net));
    net["is_default"] = is_default;
    return net;
  }

  Result<Obj> update(Txn& txn, const Obj& current, const Obj& changes, const Ctx& ctx) override {
    if (auto* mtu = changes.if_contains("mtu")) {
      int max_mtu = INT32_MAX;
      for (const auto& seg : network_segments(current)) max_mtu = std::min(max_mtu, segment_mtu(settings_, seg.network_type));
      if (mtu->as_int64() > max_mtu) return invalid_input("Requested MTU is too big, maximum is " + std::to_string(max_mtu));
    }
    // As ML2: `segments` is checked, then left as it is (only create uses it).
    if (const auto* given = changes.if_contains("segments")) NT_TRY(convert_segments(*given));
    NT_ASSIGN(Obj segment_changes, update_segment(txn, current, changes));
    auto* ext = changes.if_contains("router:external");
    if (ext && !ext->as_bool() && has_ports(txn.model(), current, std::string(owner::kGateway)))
      return conflict("ExternalNetworkInUse", "External network " + jget::str(current.if_contains("id")) +
                                                  " cannot be updated to be made non-external, since it has existing gateway ports.");
    Obj merged = changes;
    merged.erase("segments");
    for (const auto& kv : segment_changes) merged[kv.key()] = kv.value();
    NT_ASSIGN(auto is_default, update_is_default(txn.model(), current, merged));
    Obj next = current;
    for (const auto& kv : merged) next[kv.key()] = kv.value();
    if (!next.at("router:external").as_bool()) next.erase("is_default");
    txn.put("networks", next);
    NT_TRY(sync_network_policies(txn, current, next));
    if (is_default) next["is_default"] = *is_default;  // as Neutron answers, also on an internal network
    return next;
  }

  Status remove(Txn& txn, const Obj& net, const Ctx& ctx) override {
    auto id = jget::str(net.if_contains("id"));
    auto& ports = txn.model().ports_by_network[id];
    std::vector<std::string> service_ports;
    for (const auto& pid : ports) {
      const Obj* p = txn.model().find("ports", pid);
      auto owner = p ? jget::str(p->if_contains("device_owner")) : "";
      if (owner == owner::kDhcp || owner == owner::kDistributed) service_ports.push_back(pid);
      else
        return conflict("NetworkInUse", "Unable to complete operation on network " + id +
                                            ". There are one or more ports still in use on the network.");
    }
    // Through the ports handler: their addresses and MACs are released with them.
    for (const auto& pid : service_ports) NT_TRY(delete_internal(peer("ports"), txn, pid));
    for (const auto& sid : net.at("subnets").as_array()) txn.erase("subnets", jget::str(&sid));
    for (const auto& seg : network_segments(net)) release_segment(txn, seg);
    drop_object_policies(txn, id);
    forget_auto_allocated_network(txn, id);
    txn.erase("networks", id);
    return {};
  }

 private:
  // As ML2: only the segmentation id of a provider network may change, while none of its
  // ports is bound; the new id is reserved and the old one released.
  Result<Obj> update_segment(Txn& txn, const Obj& current, const Obj& changes) {
    if (current.contains("segments")) return update_multi_segment(current, changes);
    for (const char* k : {"provider:network_type", "provider:physical_network"})
      if (const auto* v = changes.if_contains(k); v && !v->is_null() && *v != current.at(k))
        return invalid_input("Plugin does not support updating the following provider network attributes: "
                             "provider:network_type, provider:physical_network");
    Obj out;
    for (const char* k : {"provider:network_type", "provider:physical_network"})
      if (changes.contains(k)) out[k] = current.at(k);
    const auto* want = changes.if_contains("provider:segmentation_id");
    if (!want || want->is_null() || (want->is_int64() && want->get_int64() == 0)) {
      if (want) out["provider:segmentation_id"] = current.at("provider:segmentation_id");
      return out;
    }
    auto id = jget::str(current.if_contains("id"));
    if (auto it = txn.model().ports_by_network.find(id); it != txn.model().ports_by_network.end())
      for (const auto& pid : it->second)
        if (const Obj* p = txn.model().find("ports", pid)) {
          auto vif = jget::str(p->if_contains("binding:vif_type"));
          if (vif != "unbound" && vif != "binding_failed")
            return invalid_input("Provider network attribute provider:segmentation_id cannot be updated if any port in "
                                 "the network has not the following binding:vif_type: unbound, binding_failed");
        }
    Segment old = segment_of(current);
    if (old.network_type != "vlan") return invalid_input("Only VLAN type networks can be updated.");
    Segment wanted = old;
    wanted.segmentation_id = static_cast<uint64_t>(want->as_int64());
    // The new id is reserved before the old one is released: the same id is in use.
    NT_ASSIGN(Segment seg, reserve_provider_segment(txn, settings_, wanted, id));
    release_segment(txn, old);
    out["provider:segmentation_id"] = static_cast<int64_t>(*seg.segmentation_id);
    return out;
  }

  static bool has_ports(const Model& m, const Obj& net, const std::string& owner) {
    auto it = m.ports_by_network.find(jget::str(net.if_contains("id")));
    if (it == m.ports_by_network.end()) return false;
    for (const auto& pid : it->second)
      if (const Obj* p = m.find("ports", pid); p && jget::str(p->if_contains("device_owner")) == owner) return true;
    return false;
  }

  // ML2's create_network_segments: the provider:* attributes or `segments` (not both),
  // every segment validated, no two fully given ones alike, then reserved in order; with
  // neither (or an empty list), one tenant segment.
  Result<std::vector<Segment>> choose_segments(Txn& txn, Obj& net, const std::string& id) {
    const auto* given = net.if_contains("segments");
    bool provider = false;
    for (const char* k : {"provider:network_type", "provider:physical_network", "provider:segmentation_id"})
      if (const auto* v = net.if_contains(k); v && !v->is_null()) provider = true;
    if (provider && given)
      return fail(Errc::invalid_argument, "SegmentsSetInConjunctionWithProviders",
                  "Segments and provider values cannot both be set.");
    std::vector<Segment> wanted;
    if (given) {
      NT_ASSIGN(wanted, convert_segments(*given));
      net.erase("segments");
    } else if (provider) {
      NT_ASSIGN(Segment seg, provider_segment(net));
      wanted.push_back(seg);
    }
    if (wanted.empty()) {
      NT_ASSIGN(Segment seg, allocate_tenant_segment(txn, settings_, id));
      return std::vector<Segment>{seg};
    }
    for (const auto& seg : wanted) {
      if (seg.network_type.empty()) return invalid_input("network_type required");
      NT_TRY(validate_provider_segment(settings_, seg));
    }
    for (size_t i = 0; i < wanted.size(); ++i)
      for (size_t j = i + 1; j < wanted.size(); ++j)
        if (!partial_segment(wanted[i]) && wanted[i].network_type == wanted[j].network_type &&
            wanted[i].physical_network == wanted[j].physical_network && wanted[i].segmentation_id == wanted[j].segmentation_id)
          return fail(Errc::invalid_argument, "SegmentsContainDuplicateEntry", "Duplicate segment entry in request.");
    std::vector<Segment> out;
    for (const auto& seg : wanted) {
      NT_ASSIGN(Segment reserved, reserve_provider_segment(txn, settings_, seg, id));
      out.push_back(reserved);
    }
    return out;
  }

  // The provider:* attributes of a POST as one segment (ML2's _process_provider_segment).
  static Result<Segment> provider_segment(const Obj& net) {
    const auto* type = net.if_contains("provider:network_type");
    if (!type || type->is_null()) return invalid_input("network_type required");
    Segment seg{jget::str(type), jget::str(net.if_contains("provider:physical_network")), std::nullopt};
    if (const auto* sid = net.if_contains("provider:segmentation_id"); sid && sid->is_int64())
      seg.segmentation_id = static_cast<uint64_t>(sid->get_int64());
    return seg;
  }

  // Stores the segments: provider:* hold the one the data plane builds; `segments` all of
  // them when there are several.
  static void set_segments(Obj& net, const std::vector<Segment>& segs) {
    for (const auto& kv : segment_json(segs[data_plane_segment(segs)])) net[kv.key()] = kv.value();
    if (segs.size() < 2) return;
    json::array all;
    for (const auto& seg : segs) all.push_back(segment_json(seg));
    net["segments"] = std::move(all);
  }

  // PUT of provider:* on a network with several segments (ML2 refuses any id change).
  static Result<Obj> update_multi_segment(const Obj& current, const Obj& changes) {
    Obj out;
    for (const char* k : {"provider:network_type", "provider:physical_network"})
      if (const auto* v = changes.if_contains(k); v && !v->is_null())
        return invalid_input("Plugin does not support updating the following provider network attributes: "
                             "provider:network_type, provider:physical_network");
    const auto* want = changes.if_contains("provider:segmentation_id");
    if (want && want->is_int64() && want->get_int64() != 0)
      return invalid_input("Provider network attributes can be updated only in provider networks with a single segment.");
    for (const char* k : {"provider:network_type", "provider:physical_network", "provider:segmentation_id"})
      if (changes.contains(k)) out[k] = current.at(k);
    return out;
  }

  // is_default on update: one default external network at a time; stored only with
  // external networks (a network made internal loses it, made external gets false).
  static Result<std::optional<bool>> update_is_default(const Model& m, const Obj& current, Obj& merged) {
    bool external = merged.contains("router:external") ? merged.at("router:external").as_bool()
                                                        : current.at("router:external").as_bool();
    std::optional<bool> asked;
    if (const auto* v = merged.if_contains("is_default")) asked = v->as_bool();
    if (asked && *asked) NT_TRY(check_one_default(m, jget::str(current.if_contains("id"))));
    if (!external) {
      merged.erase("is_default");  // and the caller drops a stored one
    } else if (!asked && !current.contains("is_default")) {
      merged["is_default"] = false;
    }
    return asked;
  }

  ResourceDef def_ = network_def();
};

}  // namespace

std::unique_ptr<Handler> make_networks(const Settings& s) { return std::make_unique<Networks>(s); }

}  // namespace nt
