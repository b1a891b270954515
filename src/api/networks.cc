// Networks: provider attributes and segments from the type drivers, MTU per type,
// router:external and shared (admin only), and the in-use rules for delete.
#include "api/handlers.h"
#include "common/names.h"
#include "core/segments.h"

namespace nt {
namespace json = boost::json;

bool network_visible(const Model& m, const Obj& net, const Ctx& ctx) { return rbac_readable(m, net, "networks", ctx); }

namespace {

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
  a.push_back({"is_default", kRetired, check::any(), std::nullopt});
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

  Result<Obj> create(Txn& txn, Obj net, const Ctx& ctx) override {
    auto id = jget::str(net.if_contains("id"));
    NT_ASSIGN(Segment seg, choose_segment(txn, net, id));
    net["provider:network_type"] = seg.network_type;
    net["provider:physical_network"] = seg.physical_network.empty() ? json::value(nullptr) : json::value(seg.physical_network);
    net["provider:segmentation_id"] = seg.segmentation_id ? json::value(static_cast<int64_t>(*seg.segmentation_id)) : json::value(nullptr);
    int max_mtu = segment_mtu(settings_, seg.network_type);
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
    txn.put("networks", net);
    NT_TRY(sync_network_policies(txn, Obj{}, net));
    return net;
  }

  Result<Obj> update(Txn& txn, const Obj& current, const Obj& changes, const Ctx& ctx) override {
    if (auto* mtu = changes.if_contains("mtu")) {
      int max_mtu = segment_mtu(settings_, jget::str(current.if_contains("provider:network_type")));
      if (mtu->as_int64() > max_mtu) return invalid_input("Requested MTU is too big, maximum is " + std::to_string(max_mtu));
    }
    NT_ASSIGN(Obj segment_changes, update_segment(txn, current, changes));
    auto* ext = changes.if_contains("router:external");
    if (ext && !ext->as_bool() && has_ports(txn.model(), current, std::string(owner::kGateway)))
      return conflict("ExternalNetworkInUse", "External network " + jget::str(current.if_contains("id")) +
                                                  " cannot be updated to be made non-external, since it has existing gateway ports.");
    Obj merged = changes;
    for (const auto& kv : segment_changes) merged[kv.key()] = kv.value();
    NT_ASSIGN(Obj next, Handler::update(txn, current, merged, ctx));
    NT_TRY(sync_network_policies(txn, current, next));
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
    for (const auto& pid : service_ports) txn.erase("ports", pid);
    for (const auto& sid : net.at("subnets").as_array()) txn.erase("subnets", jget::str(&sid));
    Segment seg{jget::str(net.if_contains("provider:network_type")), jget::str(net.if_contains("provider:physical_network")), {}};
    if (auto* sid = net.if_contains("provider:segmentation_id"); sid && sid->is_int64())
      seg.segmentation_id = static_cast<uint64_t>(sid->get_int64());
    release_segment(txn, seg);
    drop_object_policies(txn, id);
    txn.erase("networks", id);
    return {};
  }

 private:
  // As ML2: only the segmentation id of a provider network may change, while none of its
  // ports is bound; the new id is reserved and the old one released.
  Result<Obj> update_segment(Txn& txn, const Obj& current, const Obj& changes) {
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
    if (*want == current.at("provider:segmentation_id")) return out;
    auto id = jget::str(current.if_contains("id"));
    if (auto it = txn.model().ports_by_network.find(id); it != txn.model().ports_by_network.end())
      for (const auto& pid : it->second)
        if (const Obj* p = txn.model().find("ports", pid)) {
          auto vif = jget::str(p->if_contains("binding:vif_type"));
          if (vif != "unbound" && vif != "binding_failed")
            return invalid_input("Provider network attribute provider:segmentation_id cannot be updated if any port in "
                                 "the network has not the following binding:vif_type: unbound, binding_failed");
        }
    Segment old{jget::str(current.if_contains("provider:network_type")),
                jget::str(current.if_contains("provider:physical_network")), std::nullopt};
    if (const auto* sid = current.if_contains("provider:segmentation_id"); sid && sid->is_int64())
      old.segmentation_id = static_cast<uint64_t>(sid->get_int64());
    Segment wanted = old;
    wanted.segmentation_id = static_cast<uint64_t>(want->as_int64());
    release_segment(txn, old);
    NT_ASSIGN(Segment seg, reserve_provider_segment(txn, settings_, wanted, id));
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

  Result<Segment> choose_segment(Txn& txn, const Obj& net, const std::string& id) {
    auto* type = net.if_contains("provider:network_type");
    auto* phys = net.if_contains("provider:physical_network");
    auto* seg_id = net.if_contains("provider:segmentation_id");
    if (!type && !phys && !seg_id) return allocate_tenant_segment(txn, settings_, id);
    if (!type) return invalid_input("network_type required");
    Segment seg{jget::str(type), phys ? jget::str(phys) : "", std::nullopt};
    if (seg_id) seg.segmentation_id = static_cast<uint64_t>(seg_id->as_int64());
    return reserve_provider_segment(txn, settings_, seg, id);
  }

  ResourceDef def_ = network_def();
};

}  // namespace

std::unique_ptr<Handler> make_networks(const Settings& s) { return std::make_unique<Networks>(s); }

}  // namespace nt
