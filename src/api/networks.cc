// Networks: provider attributes and segments from the type drivers, MTU per type,
// router:external and shared (admin only), and the in-use rules for delete.
#include "api/handlers.h"
#include "common/names.h"
#include "core/segments.h"

namespace nt {
namespace json = boost::json;

bool network_visible(const Obj& net, const Ctx& ctx) {
  if (ctx.is_admin || project_of(net) == ctx.project_id) return true;
  auto* shared = net.if_contains("shared");
  auto* external = net.if_contains("router:external");
  return (shared && shared->is_bool() && shared->get_bool()) || (external && external->is_bool() && external->get_bool());
}

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
  a.push_back({"provider:network_type", kPost | kFilter | kAdminOnly, check::string(32), std::nullopt});
  a.push_back({"provider:physical_network", kPost | kFilter | kAdminOnly, check::nullable_string(64), std::nullopt});
  a.push_back({"provider:segmentation_id", kPost | kFilter | kAdminOnly, check::integer(0, 4294967295LL), std::nullopt});
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

  bool visible(const Model&, const Obj& o, const Ctx& ctx) const override { return network_visible(o, ctx); }

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
    return net;
  }

  Result<Obj> update(Txn& txn, const Obj& current, const Obj& changes, const Ctx& ctx) override {
    if (auto* mtu = changes.if_contains("mtu")) {
      int max_mtu = segment_mtu(settings_, jget::str(current.if_contains("provider:network_type")));
      if (mtu->as_int64() > max_mtu) return invalid_input("Requested MTU is too big, maximum is " + std::to_string(max_mtu));
    }
    auto* ext = changes.if_contains("router:external");
    if (ext && !ext->as_bool() && has_ports(txn.model(), current, std::string(owner::kGateway)))
      return conflict("ExternalNetworkInUse", "External network " + jget::str(current.if_contains("id")) +
                                                  " cannot be updated to be made non-external, since it has existing gateway ports.");
    return Handler::update(txn, current, changes, ctx);
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
    txn.erase("networks", id);
    return {};
  }

 private:
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
