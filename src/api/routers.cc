// Routers: external gateway (a port on the external network), extra routes, distributed
// and HA flags, interfaces by subnet or port, centralized SNAT (sg-) ports of distributed
// routers, and the rules that keep them consistent with floating IPs.
#include <set>

#include "api/handlers.h"
#include "api/l3.h"

namespace nt {
namespace json = boost::json;

namespace {

ResourceDef router_def() {
  ResourceDef d{"router", "routers", "routers", "RouterNotFound", "Router {} could not be found", standard_attrs()};
  auto& a = d.attrs;
  a.push_back({"admin_state_up", kPost | kPut | kFilter | kSort, check::boolean(), json::value(true)});
  a.push_back({"status", kFilter | kSort, check::any(), std::nullopt});
  a.push_back({"external_gateway_info", kPost | kPut, check::dict(true), json::value(nullptr)});
  // null clears the routes, as Neutron's convert_none_to_empty_list (tempest's cleanup sends it).
  a.push_back({"routes", kPut,
               [](const json::value& v) { return v.is_null() ? Result<json::value>(json::array{}) : check::host_routes()(v); },
               json::value(json::array{})});
  a.push_back({"distributed", kPost | kPut | kFilter | kAdminOnly, check::boolean(), std::nullopt});
  a.push_back({"ha", kPost | kPut | kFilter | kAdminOnly, check::boolean(), std::nullopt});
  a.push_back({"availability_zone_hints", kPost, check::string_list(255), json::value(json::array{})});
  a.push_back({"availability_zones", 0, check::any(), std::nullopt});
  a.push_back({"flavor_id", 0, check::any(), std::nullopt});
  return d;
}

nt::unexpected<Error> bad_router(const std::string& msg) {
  return fail(Errc::invalid_argument, "BadRequest", "Bad router request: " + msg + ".");
}

std::string subnet_of_port_ip(const Obj& port, size_t i) {
  return jget::str(port.at("fixed_ips").as_array()[i].as_object().if_contains("subnet_id"));
}

class Routers final : public Handler {
 public:
  using Handler::Handler;
  const ResourceDef& def() const override { return def_; }

  Result<Obj> create(Txn& txn, Obj router, const Ctx& ctx) override {
    if (!router.contains("distributed")) router["distributed"] = settings_.router_distributed;
    if (!router.contains("ha")) router["ha"] = settings_.l3_ha;
    router["status"] = "ACTIVE";
    router["availability_zones"] = json::array{};
    router["flavor_id"] = nullptr;
    json::value info = router["external_gateway_info"];
    router["external_gateway_info"] = nullptr;
    txn.put("routers", router);
    if (!info.is_null() && !info.as_object().empty()) {
      NT_ASSIGN(router, set_gateway(txn, router, info.as_object(), ctx));
    }
    return router;
  }

  Result<Obj> update(Txn& txn, const Obj& current, const Obj& changes, const Ctx& ctx) override {
    auto id = jget::str(current.if_contains("id"));
    bool active = current.at("admin_state_up").as_bool();
    if (auto* d = changes.if_contains("distributed"); d && *d != current.at("distributed")) {
      if (active)
        return bad_router("Cannot change the 'distributed' attribute of active routers. Please set router "
                          "admin_state_up to False prior to upgrade");
    }
    if (auto* h = changes.if_contains("ha"); h && *h != current.at("ha") && active)
      return bad_router("Cannot change HA attribute of active routers. Please set router admin_state_up to False prior to upgrade");
    Obj router = current;
    for (const auto& kv : changes)
      if (kv.key() != "external_gateway_info") router[kv.key()] = kv.value();
    if (changes.contains("routes")) NT_TRY(check_routes(txn.model(), router));
    txn.put("routers", router);
    if (changes.contains("distributed")) retag_interfaces(txn, router);
    if (auto* info = changes.if_contains("external_gateway_info")) {
      if (info->is_null() || info->as_object().empty()) {
        NT_ASSIGN(router, clear_gateway(txn, router));
      } else {
        NT_ASSIGN(router, set_gateway(txn, router, info->as_object(), ctx));
      }
    } else if (changes.contains("distributed")) {
      NT_TRY(sync_snat_ports(txn, router));
    }
    return *txn.model().find("routers", id);
  }

  Status remove(Txn& txn, const Obj& router, const Ctx& ctx) override {
    auto id = jget::str(router.if_contains("id"));
    std::string attached;
    for (const Obj* p : router_ports(txn.model(), id, {kOwnerInterface, kOwnerInterfaceDvr}))
      attached += (attached.empty() ? "" : ", ") + jget::str(p->if_contains("id"));
    if (!attached.empty()) return conflict("RouterInUse", "Router " + id + " has ports still attached: " + attached);
    NT_TRY(clear_gateway(txn, router));
    txn.erase("l3_bindings", id);
    txn.erase("routers", id);
    return {};
  }

  // The gateway port and the router's external_gateway_info.
  Result<Obj> set_gateway(Txn& txn, Obj router, const Obj& info, const Ctx& ctx) {
    auto id = jget::str(router.if_contains("id"));
    for (const auto& kv : info)
      if (kv.key() != "network_id" && kv.key() != "enable_snat" && kv.key() != "external_fixed_ips")
        return bad_request("Invalid input for external_gateway_info. Reason: Unexpected keys supplied: " + std::string(kv.key()) + ".");
    auto net_v = check::uuid()(info.contains("network_id") ? info.at("network_id") : json::value(nullptr));
    if (!net_v) return bad_request("Invalid input for external_gateway_info. Reason: " + net_v.error().message + ".");
    if (!ctx.is_admin && (info.contains("enable_snat") || info.contains("external_fixed_ips")))
      return fail(Errc::forbidden, "PolicyNotAuthorized",
                  "(rule:update_router:external_gateway_info:enable_snat and rule:update_router:external_gateway_info:external_fixed_ips) is disallowed by policy");
    bool snat = settings_.enable_snat_by_default;
    if (auto* e = info.if_contains("enable_snat")) {
      auto b = check::to_bool(*e);
      if (!b) return bad_request("Invalid input for external_gateway_info. Reason: " + b.error().message + ".");
      snat = *b;
    }
    auto net_id = jget::str(&*net_v);
    const Obj* net = txn.model().find("networks", net_id);
    if (!net || !network_visible(txn.model(), *net, ctx)) return not_found("NetworkNotFound", "Network " + net_id + " could not be found.");
    if (!net->at("router:external").as_bool()) return bad_router("Network " + net_id + " is not an external network");
    const auto* old = router.at("external_gateway_info").if_object();
    bool same_net = old && jget::str(old->if_contains("network_id")) == net_id;
    if (!same_net || info.contains("external_fixed_ips")) {
      if (old && !same_net && !router_floating_ips(txn.model(), id).empty())
        return conflict("RouterExternalGatewayInUseByFloatingIp",
                        "Gateway cannot be updated for router " + id + ", since a gateway to external network " +
                            jget::str(old->if_contains("network_id")) + " is required by one or more floating IPs.");
      NT_TRY(remove_gateway_port(txn, id));
      NT_ASSIGN(Obj port, create_gateway_port(txn, id, net_id, info));
      json::array fixed;
      for (const auto& f : port.at("fixed_ips").as_array()) fixed.push_back(f);
      router["external_gateway_info"] = json::object{{"network_id", net_id}, {"enable_snat", snat}, {"external_fixed_ips", fixed}};
    } else {
      router["external_gateway_info"].as_object()["enable_snat"] = snat;
    }
    txn.put("routers", router);
    NT_TRY(sync_snat_ports(txn, router));
    reschedule_gateways(txn, settings_);
    return router;
  }

  Result<Obj> clear_gateway(Txn& txn, Obj router) {
    auto id = jget::str(router.if_contains("id"));
    const auto* old = router.at("external_gateway_info").if_object();
    if (!old) return router;
    if (!router_floating_ips(txn.model(), id).empty())
      return conflict("RouterExternalGatewayInUseByFloatingIp",
                      "Gateway cannot be updated for router " + id + ", since a gateway to external network " +
                          jget::str(old->if_contains("network_id")) + " is required by one or more floating IPs.");
    NT_TRY(remove_gateway_port(txn, id));
    router["external_gateway_info"] = nullptr;
    txn.put("routers", router);
    NT_TRY(sync_snat_ports(txn, router));
    reschedule_gateways(txn, settings_);
    return router;
  }

  // One sg- port per internal IPv4 subnet while the router is distributed with a gateway.
  Status sync_snat_ports(Txn& txn, const Obj& router) {
    auto id = jget::str(router.if_contains("id"));
    std::set<std::string> wanted;
    if (router.at("distributed").as_bool() && !router.at("external_gateway_info").is_null())
      for (const auto& sid : router_interface_subnets(txn.model(), id))
        if (const Obj* s = txn.model().find("subnets", sid); s && s->at("ip_version").as_int64() == 4) wanted.insert(sid);
    std::vector<std::string> stale;
    for (const Obj* p : router_ports(txn.model(), id, {kOwnerSnat})) {
      auto sid = p->at("fixed_ips").as_array().empty() ? "" : subnet_of_port_ip(*p, 0);
      if (!wanted.erase(sid)) stale.push_back(jget::str(p->if_contains("id")));
    }
    for (const auto& pid : stale) NT_TRY(delete_internal(peer("ports"), txn, pid));
    for (const auto& sid : wanted) {
      const Obj* s = txn.model().find("subnets", sid);
      Obj item{{"network_id", s->at("network_id")}, {"device_owner", kOwnerSnat}, {"device_id", id},
               {"project_id", ""}, {"fixed_ips", json::array{json::object{{"subnet_id", sid}}}}};
      NT_TRY(create_internal(peer("ports"), txn, std::move(item)));
    }
    return {};
  }

 private:
  Result<Obj> create_gateway_port(Txn& txn, const std::string& router, const std::string& net_id, const Obj& info) {
    Obj item{{"network_id", net_id}, {"device_owner", kOwnerGateway}, {"device_id", router}, {"project_id", ""}};
    if (auto* fixed = info.if_contains("external_fixed_ips")) {
      if (!fixed->is_array()) return bad_request("Invalid input for external_fixed_ips. Reason: '" + check::show(*fixed) + "' is not a list.");
      for (const auto& f : fixed->as_array()) {
        const auto* fo = f.if_object();
        auto ip = fo ? jget::str(fo->if_contains("ip_address")) : "";
        for (const auto& sid : txn.model().find("networks", net_id)->at("subnets").as_array())
          if (const Obj* s = txn.model().find("subnets", jget::str(&sid)); s && !ip.empty() && jget::str(s->if_contains("gateway_ip")) == ip)
            return bad_router("The IP address " + ip + " is the gateway of subnet " + jget::str(&sid) + " and cannot be a router's external IP");
      }
      item["fixed_ips"] = *fixed;
    }
    return create_internal(peer("ports"), txn, std::move(item));
  }

  Status remove_gateway_port(Txn& txn, const std::string& router) {
    std::vector<std::string> ids;
    for (const Obj* p : router_ports(txn.model(), router, {kOwnerGateway})) ids.push_back(jget::str(p->if_contains("id")));
    for (const auto& pid : ids) NT_TRY(delete_internal(peer("ports"), txn, pid));
    return {};
  }

  void retag_interfaces(Txn& txn, const Obj& router) {
    auto owner = router.at("distributed").as_bool() ? kOwnerInterfaceDvr : kOwnerInterface;
    std::vector<std::string> ids;
    for (const Obj* p : router_ports(txn.model(), jget::str(router.if_contains("id")), {kOwnerInterface, kOwnerInterfaceDvr}))
      ids.push_back(jget::str(p->if_contains("id")));
    for (const auto& pid : ids) {
      Obj p = *txn.model().find("ports", pid);
      p["device_owner"] = owner;
      txn.put("ports", std::move(p));
    }
  }

  Status check_routes(const Model& m, const Obj& router) const {
    auto id = jget::str(router.if_contains("id"));
    const auto& routes = router.at("routes").as_array();
    if (static_cast<int>(routes.size()) > settings_.max_routes)
      return fail(Errc::invalid_argument, "RoutesExhausted", "Unable to complete operation for " + id +
                                                                  ". The number of routes exceeds the maximum " +
                                                                  std::to_string(settings_.max_routes) + ".");
    std::vector<Cidr> connected;
    std::set<std::string> own_ips;
    for (const Obj* p : router_ports(m, id, {kOwnerInterface, kOwnerInterfaceDvr}))
      for (const auto& f : p->at("fixed_ips").as_array()) {
        own_ips.insert(jget::str(f.as_object().if_contains("ip_address")));
        if (const Obj* s = m.find("subnets", jget::str(f.as_object().if_contains("subnet_id"))))
          connected.push_back(*Cidr::parse(jget::str(s->if_contains("cidr"))));
      }
    for (const auto& r : routes) {
      auto hop_text = jget::str(r.as_object().if_contains("nexthop"));
      auto hop = *IpAddress::parse(hop_text);
      auto shown = "[{'destination': '" + jget::str(r.as_object().if_contains("destination")) + "', 'nexthop': '" + hop_text + "'}]";
      if (own_ips.count(hop_text))
        return fail(Errc::invalid_argument, "InvalidRoutes", "Invalid format for routes: " + shown + ", the nexthop is used by router.");
      if (std::none_of(connected.begin(), connected.end(), [&](const Cidr& c) { return c.contains(hop); }))
        return fail(Errc::invalid_argument, "InvalidRoutes",
                    "Invalid format for routes: " + shown + ", the nexthop is not connected with router.");
    }
    return {};
  }

  ResourceDef def_ = router_def();
};

}  // namespace

std::unique_ptr<Handler> make_routers(const Settings& s) { return std::make_unique<Routers>(s); }

// Router-side operations the interface actions use; the Routers class owns them.
Status router_sync_snat(Handler& routers, Txn& txn, const Obj& router) {
  return static_cast<Routers&>(routers).sync_snat_ports(txn, router);
}

}  // namespace nt
