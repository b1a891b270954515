// add_router_interface / remove_router_interface, and the L3 helpers routers, floating IPs
// and agents share.
#include <set>

#include "api/handlers.h"
#include "api/l3.h"
#include "core/scheduler.h"

namespace nt {
namespace json = boost::json;

bool is_interface_owner(const std::string& owner) { return owner == kOwnerInterface || owner == kOwnerInterfaceDvr; }

std::vector<const Obj*> router_ports(const Model& m, const std::string& router, const std::vector<std::string>& owners) {
  static const std::vector<std::string> all = {kOwnerInterface, kOwnerInterfaceDvr, kOwnerGateway, kOwnerSnat};
  const auto& wanted = owners.empty() ? all : owners;
  std::vector<const Obj*> out;
  const Table* t = m.find_table("ports");
  if (!t || router.empty()) return out;
  auto rows = narrowed_rows(*t, m.attr_index(), "ports", {{"device_id", {boost::json::value(router)}}});
  for (const Obj* p : *rows)
    if (jget::str(p->if_contains("device_id")) == router &&
        std::find(wanted.begin(), wanted.end(), jget::str(p->if_contains("device_owner"))) != wanted.end())
      out.push_back(p);
  return out;
}

std::vector<std::string> router_interface_subnets(const Model& m, const std::string& router) {
  std::vector<std::string> out;
  for (const Obj* p : router_ports(m, router, {kOwnerInterface, kOwnerInterfaceDvr}))
    for (const auto& f : p->at("fixed_ips").as_array()) out.push_back(jget::str(f.as_object().if_contains("subnet_id")));
  return out;
}

std::vector<const Obj*> router_floating_ips(const Model& m, const std::string& router) {
  return m.holding("floatingips", "router_id", router);
}

void reschedule_gateways(Txn& txn, const Settings& s) {
  const Model& m = txn.model();
  std::vector<std::string> routers, eligible;
  if (const Table* t = m.find_table("routers"))
    for (const auto& [id, r] : *t)
      if (!r.at("external_gateway_info").is_null()) routers.push_back(id);
  if (const Table* t = m.find_table("hosts"))
    for (const auto& [host, h] : *t) {
      if (jget::str(h.if_contains("agent_mode")) != "dvr_snat" || !h.at("alive").as_bool()) continue;
      bool enabled = false;
      if (const Table* agents = m.find_table("agents"))
        for (const auto& [aid, a] : *agents)
          if (jget::str(a.if_contains("host")) == host && jget::str(a.if_contains("agent_type")) == "L3 agent")
            enabled = a.at("admin_state_up").as_bool();
      if (enabled) eligible.push_back(host);
    }
  Schedule current;
  if (const Table* t = m.find_table("l3_bindings"))
    for (const auto& [id, b] : *t)
      for (const auto& h : b.at("hosts").as_array()) current[id].push_back(jget::str(&h));
  auto next = schedule_gateways(routers, current, eligible, s.max_l3_agents_per_router);
  for (const auto& [id, hosts] : current)
    if (!next.count(id)) txn.erase("l3_bindings", id);
  for (const auto& [id, hosts] : next) {
    auto it = current.find(id);
    if (it != current.end() && it->second == hosts) continue;
    Obj row{{"id", id}, {"project_id", ""}, {"hosts", json::array(hosts.begin(), hosts.end())}, {"ha_state", json::object{}}};
    // Reported states stay valid only while the active (first) host stays the same.
    const Obj* old = m.find("l3_bindings", id);
    if (old && it != current.end() && !it->second.empty() && !hosts.empty() && it->second[0] == hosts[0])
      for (const auto& kv : old->at("ha_state").as_object())
        if (std::find(hosts.begin(), hosts.end(), std::string(kv.key())) != hosts.end()) row["ha_state"].as_object()[kv.key()] = kv.value();
    txn.put("l3_bindings", std::move(row));
  }
}

namespace {

struct InterfaceRequest {
  std::string subnet_id, port_id;
};

Result<InterfaceRequest> parse_interface_body(const std::string& body) {
  NT_ASSIGN(auto doc, parse_json(body));
  const auto* o = doc.if_object();
  if (!o) return bad_request("Body contains invalid data");
  InterfaceRequest r;
  for (const auto& kv : *o) {
    if (kv.key() == "subnet_id" || kv.key() == "port_id") {
      auto v = check::uuid()(kv.value());
      if (!v) return nt::unexpected(check::attribute_error(std::string(kv.key()), v.error()));
      (kv.key() == "subnet_id" ? r.subnet_id : r.port_id) = jget::str(&*v);
    } else {
      return bad_request("Unrecognized attribute(s) '" + std::string(kv.key()) + "'");
    }
  }
  if (r.subnet_id.empty() && r.port_id.empty())
    return fail(Errc::invalid_argument, "BadRequest", "Bad router request: Either subnet_id or port_id must be specified.");
  if (!r.subnet_id.empty() && !r.port_id.empty())
    return fail(Errc::invalid_argument, "BadRequest", "Bad router request: Cannot specify both subnet-id and port-id.");
  return r;
}

json::value interface_info(const Obj& router, const Obj& port) {
  json::array subnets;
  for (const auto& f : port.at("fixed_ips").as_array()) subnets.push_back(f.as_object().at("subnet_id"));
  return json::object{{"id", router.at("id")}, {"tenant_id", router.at("project_id")},
                      {"port_id", port.at("id")}, {"network_id", port.at("network_id")},
                      {"subnet_id", subnets.empty() ? json::value(nullptr) : subnets[0]}, {"subnet_ids", subnets}};
}

Status check_overlap(const Model& m, const std::string& router, const Obj& subnet) {
  auto cidr = *Cidr::parse(jget::str(subnet.if_contains("cidr")));
  for (const auto& sid : router_interface_subnets(m, router)) {
    const Obj* other = m.find("subnets", sid);
    if (!other) continue;
    auto oc = *Cidr::parse(jget::str(other->if_contains("cidr")));
    if (sid == jget::str(subnet.if_contains("id")))
      return fail(Errc::invalid_argument, "BadRequest", "Bad router request: Router already has a port on subnet " + sid + ".");
    if (oc.overlaps(cidr))
      return fail(Errc::invalid_argument, "BadRequest",
                  "Bad router request: Cidr " + cidr.str() + " of subnet " + jget::str(subnet.if_contains("id")) +
                      " overlaps with cidr " + oc.str() + " of subnet " + sid + ".");
  }
  return {};
}

Result<Obj> add_by_subnet(Handler& routers, Txn& txn, const Ctx& ctx, const Obj& router, const std::string& subnet_id) {
  const Obj* subnet = txn.model().find("subnets", subnet_id);
  if (!subnet || !(ctx.is_admin || project_of(*subnet) == ctx.project_id))
    return not_found("SubnetNotFound", "Subnet " + subnet_id + " could not be found.");
  if (subnet->at("gateway_ip").is_null())
    return fail(Errc::invalid_argument, "BadRequest", "Bad router request: Subnet for router interface must have a gateway IP.");
  NT_TRY(check_overlap(txn.model(), jget::str(router.if_contains("id")), *subnet));
  auto owner = router.at("distributed").as_bool() ? kOwnerInterfaceDvr : kOwnerInterface;
  Obj item{{"network_id", subnet->at("network_id")}, {"device_owner", owner}, {"device_id", router.at("id")},
           {"project_id", router.at("project_id")}, {"admin_state_up", true},
           {"fixed_ips", json::array{json::object{{"subnet_id", subnet_id}, {"ip_address", subnet->at("gateway_ip")}}}}};
  return create_internal(routers.peer("ports"), txn, std::move(item));
}

Result<Obj> add_by_port(Handler& routers, Txn& txn, const Ctx& ctx, const Obj& router, const std::string& port_id) {
  const Obj* found = txn.model().find("ports", port_id);
  if (!found || !(ctx.is_admin || project_of(*found) == ctx.project_id))
    return not_found("PortNotFound", "Port " + port_id + " could not be found.");
  Obj port = *found;
  if (!jget::str(port.if_contains("device_id")).empty())
    return conflict("PortInUse", "Unable to complete operation on port " + port_id + " for network " +
                                     jget::str(port.if_contains("network_id")) + ". Port already has an attached device " +
                                     jget::str(port.if_contains("device_id")) + ".");
  if (port.at("fixed_ips").as_array().empty())
    return fail(Errc::invalid_argument, "BadRequest", "Bad router request: Router port must have at least one fixed IP.");
  for (const auto& f : port.at("fixed_ips").as_array())
    if (const Obj* s = txn.model().find("subnets", jget::str(f.as_object().if_contains("subnet_id"))))
      NT_TRY(check_overlap(txn.model(), jget::str(router.if_contains("id")), *s));
  port["device_id"] = router.at("id");
  port["device_owner"] = router.at("distributed").as_bool() ? kOwnerInterfaceDvr : kOwnerInterface;
  port["security_groups"] = json::array{};
  txn.put("ports", port);
  bump_revision(txn, "ports", port_id);
  return port;
}

Result<Obj> remove_interface(Txn& txn, const Obj& router, const InterfaceRequest& req) {
  auto rid = jget::str(router.if_contains("id"));
  const Obj* port = nullptr;
  for (const Obj* p : router_ports(txn.model(), rid, {kOwnerInterface, kOwnerInterfaceDvr})) {
    if (!req.port_id.empty() && jget::str(p->if_contains("id")) == req.port_id) port = p;
    if (!req.subnet_id.empty())
      for (const auto& f : p->at("fixed_ips").as_array())
        if (jget::str(f.as_object().if_contains("subnet_id")) == req.subnet_id) port = p;
  }
  if (!port && !req.port_id.empty())
    return not_found("RouterInterfaceNotFound", "Router " + rid + " does not have an interface with id " + req.port_id);
  if (!port)
    return not_found("RouterInterfaceNotFoundForSubnet", "Router " + rid + " has no interface on subnet " + req.subnet_id);
  Obj found = *port;
  for (const auto& f : found.at("fixed_ips").as_array()) {
    auto sid = jget::str(f.as_object().if_contains("subnet_id"));
    auto cidr = *Cidr::parse(jget::str(txn.model().find("subnets", sid)->if_contains("cidr")));
    // Addresses behind the router's floating IPs: associated ports' and forwardings' targets.
    std::vector<std::string> behind;
    for (const Obj* fip : router_floating_ips(txn.model(), rid)) {
      behind.push_back(jget::str(fip->if_contains("fixed_ip_address")));
      for (const auto& pf : forwardings_summary(txn.model(), jget::str(fip->if_contains("id"))))
        behind.push_back(jget::str(pf.as_object().if_contains("internal_ip_address")));
    }
    for (const auto& address : behind)
      if (auto ip = IpAddress::parse(address); ip && cidr.contains(*ip))
        return conflict("RouterInterfaceInUseByFloatingIP",
                        "Router interface for subnet " + sid + " on router " + rid +
                            " cannot be deleted, as it is required by one or more floating IPs.");
    for (const auto& r : router.at("routes").as_array())
      if (auto hop = IpAddress::parse(jget::str(r.as_object().if_contains("nexthop"))); hop && cidr.contains(*hop))
        return conflict("RouterInterfaceInUseByRoute", "Router interface for subnet " + sid + " on router " + rid +
                                                           " cannot be deleted, as it is required by one or more routes.");
  }
  return found;
}

}  // namespace

Result<json::value> router_interface_action(Handler& routers, Txn& txn, const Ctx& ctx, const std::string& id,
                                            const std::string& action, const std::string& body) {
  NT_ASSIGN(const Obj* found, find_visible(routers, txn.model(), ctx, id));
  Obj router = *found;
  NT_TRY(enforce_policy(routers, txn.model(), ctx, action, router));
  NT_ASSIGN(auto req, parse_interface_body(body));
  Obj port;
  if (action == "add_router_interface") {
    if (!req.subnet_id.empty()) {
      NT_ASSIGN(port, add_by_subnet(routers, txn, ctx, router, req.subnet_id));
    } else {
      NT_ASSIGN(port, add_by_port(routers, txn, ctx, router, req.port_id));
    }
  } else {
    NT_ASSIGN(port, remove_interface(txn, router, req));
    NT_TRY(delete_internal(routers.peer("ports"), txn, jget::str(port.if_contains("id"))));
  }
  bump_revision(txn, "routers", id);
  NT_TRY(router_sync_snat(routers, txn, *txn.model().find("routers", id)));
  return interface_info(router, port);
}

}  // namespace nt
