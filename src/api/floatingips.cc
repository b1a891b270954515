// Floating IPs: an address on an external network (held by a hidden network:floatingip
// port), associated with a fixed IP of a port through a router that has a gateway on that
// network and an interface on the port's subnet.
#include "api/handlers.h"
#include "api/l3.h"

namespace nt {
namespace json = boost::json;

namespace {

ResourceDef fip_def() {
  ResourceDef d{"floatingip", "floatingips", "floatingips", "FloatingIPNotFound", "Floating IP {} could not be found",
                standard_attrs(false)};
  auto& a = d.attrs;
  a.push_back({"floating_network_id", kPost | kFilter | kSort | kRequired, check::uuid(), std::nullopt});
  a.push_back({"floating_ip_address", kPost | kFilter | kSort | kAdminWrite, check::ip_address(), std::nullopt});
  a.push_back({"subnet_id", kPost | kInputOnly, check::nullable_uuid(), std::nullopt});
  a.push_back({"port_id", kPost | kPut | kFilter | kSort, check::nullable_uuid(), json::value(nullptr)});
  a.push_back({"fixed_ip_address", kPost | kPut | kFilter | kSort, check::ip_address(true), json::value(nullptr)});
  a.push_back({"router_id", kFilter | kSort, check::any(), std::nullopt});
  a.push_back({"status", kFilter | kSort, check::any(), std::nullopt});
  a.push_back({"dns_name", kPost, check::string(255), json::value("")});
  a.push_back({"dns_domain", kPost, check::string(255), json::value("")});
  a.push_back({"port_details", 0, check::any(), std::nullopt});
  a.push_back({"port_forwardings", 0, check::any(), std::nullopt});
  a.push_back({"qos_policy_id", kRetired, check::any(), std::nullopt});
  return d;
}

nt::unexpected<Error> bad_fip(const std::string& msg) {
  return fail(Errc::invalid_argument, "BadRequest", "Bad floatingip request: " + msg + ".");
}

class FloatingIps final : public Handler {
 public:
  using Handler::Handler;
  const ResourceDef& def() const override { return def_; }
  bool decorates() const override { return true; }

  Obj decorate(const Model& m, const Obj& fip) const override {
    Obj out = fip;
    auto added = added_attributes(m, fip);  // a named object: a range over *temporary would dangle
    for (auto& kv : *added) out[kv.key()] = std::move(kv.value());
    return out;
  }

  // Its port forwardings and its port's details, as Neutron shows them.
  std::optional<Obj> added_attributes(const Model& m, const Obj& fip) const override {
    Obj added;
    added["port_forwardings"] = forwardings_summary(m, jget::str(fip.if_contains("id")));
    const Obj* port = m.find("ports", jget::str(fip.if_contains("port_id")));
    if (!port) {
      added["port_details"] = nullptr;
      return added;
    }
    json::object details;
    for (const char* k : {"name", "network_id", "mac_address", "admin_state_up", "status", "device_id", "device_owner"})
      if (const json::value* v = port->if_contains(k)) details[k] = *v;
      else details[k] = nullptr;  // a stored port without it (an edited database): shown as null, not a 500
    added["port_details"] = std::move(details);
    return added;
  }

  Result<Obj> create(Txn& txn, Obj fip, const Ctx& ctx) override {
    auto id = jget::str(fip.if_contains("id"));
    auto net_id = jget::str(fip.if_contains("floating_network_id"));
    const Obj* net = txn.model().find("networks", net_id);
    if (!net || !network_visible(txn.model(), *net, ctx)) return not_found("NetworkNotFound", "Network " + net_id + " could not be found.");
    if (!net->at("router:external").as_bool()) return bad_fip("Network " + net_id + " is not a valid external network");
    Obj item{{"network_id", net_id}, {"device_owner", kOwnerFloatingIp}, {"device_id", id}, {"project_id", ""}};
    json::object want;
    if (auto* sid = fip.if_contains("subnet_id"); sid && !sid->is_null()) want["subnet_id"] = *sid;
    if (auto* ip = fip.if_contains("floating_ip_address")) want["ip_address"] = *ip;
    if (!want.empty()) item["fixed_ips"] = json::array{want};
    auto port = create_internal(peer("ports"), txn, std::move(item));
    if (!port && port.error().type == "IpAddressGenerationFailure")
      return fail(Errc::invalid_argument, "ExternalIpAddressExhausted",
                  "Unable to find any IP address on external network " + net_id + ".");
    if (!port) return nt::unexpected(std::move(port).error());
    const auto& ips = port->at("fixed_ips").as_array();
    if (ips.empty() || ips[0].as_object().at("ip_address").as_string().find(':') != json::string::npos)
      return fail(Errc::invalid_argument, "ExternalIpAddressExhausted",
                  "Unable to find any IP address on external network " + net_id + ".");
    fip.erase("subnet_id");
    fip["floating_ip_address"] = ips[0].as_object().at("ip_address");
    fip["status"] = "DOWN";
    fip["router_id"] = nullptr;
    fip["port_details"] = nullptr;
    auto port_id = fip["port_id"];
    auto fixed = fip["fixed_ip_address"];
    fip["port_id"] = nullptr;
    fip["fixed_ip_address"] = nullptr;
    if (!port_id.is_null()) NT_TRY(associate(txn, fip, port_id, fixed, ctx));
    else if (!fixed.is_null()) return bad_fip("fixed_ip_address cannot be specified without a port_id");
    txn.put("floatingips", fip);
    return fip;
  }

  Result<Obj> update(Txn& txn, const Obj& current, const Obj& changes, const Ctx& ctx) override {
    Obj fip = current;
    if (auto* d = changes.if_contains("description")) fip["description"] = *d;
    // As Neutron 21: an update that names no port_id leaves the floating IP unassociated
    // (also {} and a description alone); fixed_ip_address needs a port_id beside it.
    const auto* port = changes.if_contains("port_id");
    const auto* fixed = changes.if_contains("fixed_ip_address");
    if (fixed && !fixed->is_null() && (!port || port->is_null()))
      return bad_fip("fixed_ip_address cannot be specified without a port_id");
    if (port && !port->is_null() && fip_has_forwardings(txn.model(), jget::str(fip.if_contains("id"))))
      return conflict("FipInUseByPortForwarding",
                      "Floating IP " + jget::str(fip.if_contains("id")) + " in use by Port Forwarding resources.");
    // A forwarding floating IP keeps its router while it is not associated.
    bool forwards = fip_has_forwardings(txn.model(), jget::str(fip.if_contains("id")));
    auto router = fip["router_id"];
    NT_TRY(associate(txn, fip, port ? *port : json::value(nullptr), fixed ? *fixed : json::value(nullptr), ctx));
    if (forwards) fip["router_id"] = router;
    txn.put("floatingips", fip);
    return fip;
  }

  Status remove(Txn& txn, const Obj& fip, const Ctx& ctx) override {
    if (fip_has_forwardings(txn.model(), jget::str(fip.if_contains("id"))))
      return conflict("FipInUseByPortForwarding",
                      "Floating IP " + jget::str(fip.if_contains("id")) + " in use by Port Forwarding resources.");
    std::vector<std::string> ports;
    if (auto it = txn.model().ports_by_network.find(jget::str(fip.if_contains("floating_network_id")));
        it != txn.model().ports_by_network.end())
      for (const auto& pid : it->second)
        if (const Obj* p = txn.model().find("ports", pid);
            p && jget::str(p->if_contains("device_id")) == jget::str(fip.if_contains("id")))
          ports.push_back(pid);
    for (const auto& pid : ports) NT_TRY(delete_internal(peer("ports"), txn, pid));
    txn.erase("floatingips", jget::str(fip.if_contains("id")));
    return {};
  }

 private:
  static Result<std::string> choose_fixed_ip(const Obj& port, const json::value& wanted) {
    auto pid = jget::str(port.if_contains("id"));
    std::vector<std::string> v4;
    for (const auto& f : port.at("fixed_ips").as_array()) {
      auto ip = jget::str(f.as_object().if_contains("ip_address"));
      if (ip.find(':') == std::string::npos) v4.push_back(ip);
    }
    if (!wanted.is_null()) {
      auto ip = jget::str(&wanted);
      if (std::find(v4.begin(), v4.end(), ip) == v4.end()) return bad_fip("Port " + pid + " does not have fixed ip " + ip);
      return ip;
    }
    if (v4.empty()) return bad_fip("Port " + pid + " does not have any IPv4 address");
    if (v4.size() > 1)
      return bad_fip("Port " + pid + " has multiple fixed IPv4 addresses. Must provide a specific IPv4 address when assigning a floating IP");
    return v4[0];
  }

  Status associate(Txn& txn, Obj& fip, const json::value& port_v, const json::value& fixed_v, const Ctx& ctx) {
    if (port_v.is_null()) {
      if (!fixed_v.is_null()) return bad_fip("fixed_ip_address cannot be specified without a port_id");
      fip["port_id"] = nullptr;
      fip["fixed_ip_address"] = nullptr;
      fip["router_id"] = nullptr;
      fip["status"] = "DOWN";
      return {};
    }
    auto port_id = jget::str(&port_v);
    const Obj* port = txn.model().find("ports", port_id);
    if (!port || !(ctx.is_admin || project_of(*port) == ctx.project_id))
      return not_found("PortNotFound", "Port " + port_id + " could not be found.");
    if (!ctx.is_admin && project_of(*port) != project_of(fip))
      return bad_fip("Cannot create floating IP and bind it to Port " + port_id + ", since that port is owned by a different tenant");
    NT_TRY(check_port_not_forwarded(txn.model(), port_id));
    NT_ASSIGN(auto fixed, choose_fixed_ip(*port, fixed_v));
    auto ext_net = jget::str(fip.if_contains("floating_network_id"));
    for (const Obj* other : txn.model().holding("floatingips", "port_id", port_id))
      if (jget::str(other->if_contains("id")) != jget::str(fip.if_contains("id")) &&
          jget::str(other->if_contains("fixed_ip_address")) == fixed &&
          jget::str(other->if_contains("floating_network_id")) == ext_net)
        return conflict("FloatingIPPortAlreadyAssociated",
                        "Cannot associate floating IP " + jget::str(fip.if_contains("floating_ip_address")) + " (" +
                            jget::str(fip.if_contains("id")) + ") with port " + port_id + " using fixed IP " + fixed +
                            ", as that fixed IP already has a floating IP on external network " + ext_net + ".");
    std::string subnet;
    for (const auto& f : port->at("fixed_ips").as_array())
      if (jget::str(f.as_object().if_contains("ip_address")) == fixed) subnet = jget::str(f.as_object().if_contains("subnet_id"));
    auto router = router_reaching(txn.model(), ext_net, subnet);
    if (router.empty())
      return not_found("ExternalGatewayForFloatingIPNotFound",
                       "External network " + ext_net + " is not reachable from subnet " + subnet +
                           ". Therefore, cannot associate Port " + port_id + " with a Floating IP.");
    fip["port_id"] = port_id;
    fip["fixed_ip_address"] = fixed;
    fip["router_id"] = router;
    return {};
  }

  // A port that is the target of port forwardings through a distributed router takes no
  // floating IP (Neutron's PortHasPortForwarding).
  static Status check_port_not_forwarded(const Model& m, const std::string& port_id) {
    if (const Table* t = m.find_table("port_forwardings"))
      for (const auto& [id, pf] : *t) {
        if (jget::str(pf.if_contains("internal_port_id")) != port_id) continue;
        const Obj* fip = m.find("floatingips", jget::str(pf.if_contains("floatingip_id")));
        const Obj* router = fip ? m.find("routers", jget::str(fip->if_contains("router_id"))) : nullptr;
        if (router && jget::flag(*router, "distributed", false))
          return fail(Errc::invalid_argument, "PortHasPortForwarding",
                      "Cannot associate floating IP to port " + port_id + " because it already has a Port Forwarding binding.");
      }
    return {};
  }

  ResourceDef def_ = fip_def();
};

}  // namespace

std::unique_ptr<Handler> make_floating_ips(const Settings& s) { return std::make_unique<FloatingIps>(s); }

std::string router_reaching(const Model& m, const std::string& ext_net, const std::string& subnet) {
  if (const Table* t = m.find_table("routers"))
    for (const auto& [rid, r] : *t) {
      const auto* gw = r.at("external_gateway_info").if_object();
      if (!gw || jget::str(gw->if_contains("network_id")) != ext_net) continue;
      auto subnets = router_interface_subnets(m, rid);
      if (std::find(subnets.begin(), subnets.end(), subnet) != subnets.end()) return rid;
    }
  return "";
}

}  // namespace nt
