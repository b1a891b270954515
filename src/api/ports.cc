// Ports: MAC allocation, fixed IPs (by subnet and/or address, Neutron's defaults), port
// security with security groups and allowed address pairs, binding attributes.
#include "api/binding.h"
#include "common/names.h"
#include "api/handlers.h"
#include "api/l3.h"
#include "api/port_policy.h"
#include "core/ipam.h"
#include "core/mac.h"

#include <algorithm>

namespace nt {
namespace json = boost::json;

namespace {

const std::vector<std::string> kVnicTypes = {
    "normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder", "smart-nic", "vdpa",
    "accelerator-direct", "accelerator-direct-physical", "remote-managed"};

// fixed_ips entries are checked for shape and types before anything is looked up.
check::Check fixed_ips_check() {
  return [](const json::value& v) -> Result<json::value> {
    if (!v.is_array()) return bad_request("'" + check::show(v) + "' is not a list");
    for (const auto& item : v.as_array()) {
      const auto* o = item.if_object();
      if (!o) return bad_request("'" + check::show(item) + "' is not a dictionary");
      for (const auto& kv : *o) {
        if (kv.key() == "subnet_id") {
          NT_TRY(check::uuid()(kv.value()));
        } else if (kv.key() == "ip_address") {
          NT_TRY(check::ip_address()(kv.value()));
        } else {
          return bad_request("Unrecognized attribute(s) '" + std::string(kv.key()) + "'");
        }
      }
    }
    return v;
  };
}

// A DNS host name or FQDN label sequence, as Neutron's dns_host_name validator wants.
check::Check dns_name_check() {
  return [](const json::value& v) -> Result<json::value> {
    NT_TRY(check::string(255)(v));
    std::string name(v.get_string());
    if (name.empty()) return v;
    std::string trimmed = name.back() == '.' ? name.substr(0, name.size() - 1) : name;
    size_t start = 0;
    while (start <= trimmed.size()) {
      auto end = trimmed.find('.', start);
      if (end == std::string::npos) end = trimmed.size();
      auto label = trimmed.substr(start, end - start);
      bool ok = !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-' &&
                std::all_of(label.begin(), label.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; });
      if (!ok)
        return bad_request("'" + name + "' not a valid PQDN or FQDN. Reason: labels must be 1-63 characters of letters, "
                           "digits and '-', not starting or ending with '-'");
      start = end + 1;
    }
    return v;
  };
}

check::Check nullable_mac() {
  auto mac = check::mac_address();
  return [mac](const check::Value& v) -> Result<check::Value> { return v.is_null() ? v : mac(v); };
}

ResourceDef port_def() {
  ResourceDef d{"port", "ports", "ports", "PortNotFound", "Port {} could not be found.", standard_attrs()};
  auto& a = d.attrs;
  a.push_back({"network_id", kPost | kFilter | kSort | kRequired, check::uuid(), std::nullopt});
  a.push_back({"admin_state_up", kPost | kPut | kFilter | kSort, check::boolean(), json::value(true)});
  // null asks for a new random MAC (port-mac-address-regenerate).
  a.push_back({"mac_address", kPost | kPut | kFilter | kSort, nullable_mac(), std::nullopt});
  a.push_back({"fixed_ips", kPost | kPut, fixed_ips_check(), std::nullopt});
  a.push_back({"device_id", kPost | kPut | kFilter | kSort, check::string(255), json::value("")});
  a.push_back({"device_owner", kPost | kPut | kFilter | kSort, check::string(255), json::value("")});
  a.push_back({"status", kFilter | kSort, check::any(), std::nullopt});
  a.push_back({"security_groups", kPost | kPut | kFilter, check::uuid_list(), std::nullopt});
  a.push_back({"port_security_enabled", kPost | kPut | kFilter, check::boolean(), std::nullopt});
  a.push_back({"allowed_address_pairs", kPost | kPut, check::list_of(check::dict()), json::value(json::array{})});
  a.push_back({"extra_dhcp_opts", kPost | kPut, check::list_of(check::dict()), json::value(json::array{})});
  a.push_back({"binding:host_id", kPost | kPut | kFilter | kAdminOnly, check::string(255), json::value("")});
  a.push_back({"binding:vnic_type", kPost | kPut | kFilter, check::one_of(kVnicTypes), json::value("normal")});
  a.push_back({"binding:profile", kPost | kPut | kAdminOnly, check::dict(true), json::value(json::object{})});
  a.push_back({"binding:vif_type", kAdminOnly, check::any(), std::nullopt});
  a.push_back({"binding:vif_details", kAdminOnly, check::any(), std::nullopt});
  a.push_back({"dns_name", kPost | kPut | kFilter, dns_name_check(), json::value("")});
  a.push_back({"dns_assignment", 0, check::any(), std::nullopt});
  a.push_back({"ip_allocation", kRetired, check::any(), std::nullopt});
  a.push_back({"propagate_uplink_status", kRetired, check::any(), std::nullopt});
  a.push_back({"qos_policy_id", kRetired, check::any(), std::nullopt});
  a.push_back({"qos_network_policy_id", kRetired, check::any(), std::nullopt});
  a.push_back({"resource_request", kRetired, check::any(), std::nullopt});
  return d;
}

bool trusted_owner(const std::string& o) { return owner::is_network_service(o); }

bool is_l3_owner(const std::string& owner) {
  static const std::vector<std::string> owners = {
      std::string(owner::kInterface), std::string(owner::kInterfaceDistributed), std::string(owner::kGateway),
      std::string(owner::kCentralizedSnat), std::string(owner::kFloatingIp), std::string(owner::kFloatingIpAgentGateway),
      std::string(owner::kHaReplicatedInterface), std::string(owner::kHaInterface)};
  return std::find(owners.begin(), owners.end(), owner) != owners.end();
}

// A deleted port takes its floating IPs' associations with it, as in Neutron.
void disassociate_floating_ips(Txn& txn, const std::string& port_id) {
  std::vector<std::string> fips;
  for (const Obj* fip : txn.model().holding("floatingips", "port_id", port_id)) fips.push_back(jget::str(fip->if_contains("id")));
  for (const auto& id : fips) {
    Obj fip = *txn.model().find("floatingips", id);
    fip["port_id"] = nullptr;
    fip["fixed_ip_address"] = nullptr;
    fip["router_id"] = nullptr;
    fip["status"] = "DOWN";
    fip["port_details"] = nullptr;
    txn.put("floatingips", std::move(fip));
    bump_revision(txn, "floatingips", id);
  }
}

struct FixedIpFilter {
  StringSet ips, subnets;
  bool by_ip = false, by_subnet = false;
  std::vector<std::string> substrings;
  bool matches(const Obj& fixed_ip) const {
    auto ip = jget::str(fixed_ip.if_contains("ip_address"));
    if (by_ip && !ips.contains(ip)) return false;
    if (by_subnet && !subnets.contains(jget::str(fixed_ip.if_contains("subnet_id")))) return false;
    return substrings.empty() ||
           std::any_of(substrings.begin(), substrings.end(), [&](const std::string& sub) { return ip.find(sub) != std::string::npos; });
  }
};

class Ports final : public Handler {
 public:
  using Handler::Handler;
  const ResourceDef& def() const override { return def_; }
  std::vector<std::string> special_filters() const override { return {"fixed_ips"}; }

  // Neutron's port policy (api/port_policy.h): the network's owner sees and may delete others'
  // ports on it; sensitive attributes are for admins and network owners.
  bool visible(const Model& m, const Obj& o, const Ctx& ctx) const override { return port_readable(m, o, ctx); }
  Status validate_ownership(const Model& m, const Obj& checked, const Ctx& ctx) const override {
    return network_usable_for_create(m, checked, ctx);
  }
  Status authorize(const Model& m, const std::string& action, const Obj& target, const Obj& request,
                   const Ctx& ctx) const override {
    if (action == "update") return authorize_port_update(m, target, request, ctx);
    if (action != "create") return {};  // delete_port allows whoever may read the port
    const Obj* net = m.find("networks", jget::str(target.if_contains("network_id")));
    if (!net || !usable(m, *net, ctx)) return {};  // create() answers NetworkNotFound
    return authorize_port_create(m, *net, target, ctx);
  }

  // fixed_ips=ip_address=A, subnet_id=S, ip_address_substr=T, as Neutron 21 joins its IP
  // allocations: a port with one fixed IP that meets every field given (values of one field
  // OR); other fields are ignored. Prepared once per list: addresses and subnets looked up
  // in sets (a query string holds ~2,000 of them), substrings searched one by one.
  Status check_special(const std::vector<std::pair<std::string, std::string>>& filters) const override {
    for (const auto& [key, value] : filters)
      if (key == "fixed_ips" && value.find('=') == std::string::npos)
        return invalid_input("'" + value + "' is not of the form <key>=[value]");
    return {};
  }
  SpecialMatcher special_matcher(const std::vector<std::pair<std::string, std::string>>& filters) const override {
    auto want = std::make_shared<FixedIpFilter>();
    for (const auto& [key, value] : filters) {
      auto eq = value.find('=');
      if (key != "fixed_ips" || eq == std::string::npos) continue;
      auto field = std::string_view(value).substr(0, eq);
      auto text = value.substr(eq + 1);
      if (field == "ip_address") want->ips.insert(std::move(text)), want->by_ip = true;
      else if (field == "subnet_id") want->subnets.insert(std::move(text)), want->by_subnet = true;
      else if (field == "ip_address_substr") want->substrings.push_back(std::move(text));
    }
    if (!want->by_ip && !want->by_subnet && want->substrings.empty()) return {};
    return [want](const Model&, const Ctx&, const Obj& o) {
      const auto& fixed = o.at("fixed_ips").as_array();
      return std::any_of(fixed.begin(), fixed.end(), [&](const json::value& f) { return want->matches(f.as_object()); });
    };
  }

  bool needs_setup(const Model& m, const Ctx& ctx) const override { return !has_default_sg(m, ctx.project_id); }
  Status setup(Txn& txn, const Ctx& ctx) override {
    NT_TRY(ensure_default_sg(txn, ctx.project_id));
    return {};
  }

  Result<Obj> create(Txn& txn, Obj port, const Ctx& ctx) override {
    auto id = jget::str(port.if_contains("id"));
    auto net_id = jget::str(port.if_contains("network_id"));
    const Obj* net = txn.model().find("networks", net_id);
    if (!net || !usable(txn.model(), *net, ctx))
      return not_found("NetworkNotFound", "Network " + net_id + " could not be found.");
    NT_TRY(assign_mac(txn, port, net_id, id));
    json::array wanted = port.contains("fixed_ips") ? port["fixed_ips"].as_array() : json::array{};
    NT_ASSIGN(auto fixed, port.contains("fixed_ips") ? allocate_given(txn, *net, wanted, id, ctx, jget::str(port.if_contains("device_owner")))
                                                      : allocate_default(txn, *net, port, id));
    port["fixed_ips"] = std::move(fixed);
    if (!port.contains("port_security_enabled")) port["port_security_enabled"] = net->at("port_security_enabled");
    NT_TRY(apply_security(txn, port, ctx, true));
    NT_ASSIGN(port["allowed_address_pairs"], check_pairs(port, port.at("allowed_address_pairs")));
    NT_ASSIGN(port["extra_dhcp_opts"], check_dhcp_opts(port.at("extra_dhcp_opts")));
    port["status"] = "DOWN";
    bind_port(txn.model(), port);
    port["dns_assignment"] = dns_assignment(port);
    txn.put("ports", port);
    return port;
  }

  Result<Obj> update(Txn& txn, const Obj& current, const Obj& changes, const Ctx& ctx) override {
    auto id = jget::str(current.if_contains("id"));
    auto net_id = jget::str(current.if_contains("network_id"));
    Obj port = current;
    for (const auto& kv : changes) port[kv.key()] = kv.value();
    if (changes.contains("mac_address") && port["mac_address"] != current.at("mac_address")) {
      if (!jget::str(current.if_contains("binding:host_id")).empty())
        return conflict("PortBound", "Unable to complete operation on port " + id + ", port is already bound, port type: " +
                                         jget::str(current.if_contains("binding:vif_type")) + ", old_mac " +
                                         jget::str(current.if_contains("mac_address")) + ", new_mac " +
                                         jget::str(port.if_contains("mac_address")) + ".");
      txn.release_mac(net_id, *Mac::parse(jget::str(current.if_contains("mac_address"))));
      NT_TRY(assign_mac(txn, port, net_id, id));
    }
    if (changes.contains("fixed_ips")) {
      const Obj* net = txn.model().find("networks", net_id);
      release_ips(txn, current);
      NT_ASSIGN(port["fixed_ips"], allocate_given(txn, *net, changes.at("fixed_ips").as_array(), id, ctx,
                                                   jget::str(port.if_contains("device_owner"))));
      NT_TRY(check_router_port_ips(txn.model(), current, port));
    }
    if (changes.contains("port_security_enabled") && !port.at("port_security_enabled").as_bool()) {
      if (!changes.contains("security_groups") && !port.at("security_groups").as_array().empty())
        return conflict("PortSecurityPortHasSecurityGroup",
                        "Port has security group associated. Cannot disable port security or ip address until "
                        "security group is removed");
      if (!changes.contains("allowed_address_pairs") && !port.at("allowed_address_pairs").as_array().empty())
        return conflict("AddressPairAndPortSecurityRequired",
                        "Port Security must be enabled in order to have allowed address pairs on a port.");
    }
    NT_TRY(apply_security(txn, port, ctx, false));
    if (changes.contains("allowed_address_pairs") || changes.contains("port_security_enabled")) {
      NT_ASSIGN(port["allowed_address_pairs"], check_pairs(port, port.at("allowed_address_pairs")));
    }
    if (changes.contains("extra_dhcp_opts")) {
      NT_ASSIGN(auto given, check_dhcp_opts(port.at("extra_dhcp_opts"), true));
      port["extra_dhcp_opts"] = merge_dhcp_opts(current.at("extra_dhcp_opts"), given.as_array());
    }
    port["dns_assignment"] = dns_assignment(port);
    if (binding_inputs_changed(changes)) {
      if (changes.contains("binding:host_id") && changes.at("binding:host_id") != current.at("binding:host_id"))
        port["status"] = "DOWN";  // the new host's agent reports it up once plugged
      bind_port(txn.model(), port);
    }
    txn.put("ports", port);
    if (changes.contains("fixed_ips")) remove_forwardings_of_port(txn, port, false);
    return port;
  }

  Status remove(Txn& txn, const Obj& port, const Ctx& ctx) override {
    auto owner = jget::str(port.if_contains("device_owner"));
    if (!ctx.internal && is_l3_owner(owner))
      return conflict("ServicePortInUse", "Port " + jget::str(port.if_contains("id")) +
                                         " cannot be deleted directly via the port API: has device owner " + owner + ".");
    disassociate_floating_ips(txn, jget::str(port.if_contains("id")));
    remove_forwardings_of_port(txn, port, true);
    release_ips(txn, port);
    if (auto mac = Mac::parse(jget::str(port.if_contains("mac_address"))))
      txn.release_mac(jget::str(port.if_contains("network_id")), *mac);
    txn.erase("ports", jget::str(port.if_contains("id")));
    return {};
  }

 private:
  // Networks a port may be created on: own, shared (to all or by RBAC), or any as admin.
  static bool usable(const Model& m, const Obj& net, const Ctx& ctx) {
    return ctx.is_admin || project_of(net) == ctx.project_id || net.at("shared").as_bool() ||
           rbac_grants(m, jget::str(net.if_contains("id")), "access_as_shared", ctx.project_id);
  }

  // l3-port-ip-change-not-allowed: a router's interface and sg- ports keep their IPv4
  // addresses (the gateway of a subnet, the SNAT next hop); only adding or removing IPv6
  // ones is allowed, as Neutron's IPAM has it.
  static Status check_router_port_ips(const Model& m, const Obj& before, const Obj& after) {
    static const std::set<std::string> kFixed = {"network:router_interface", "network:router_interface_distributed",
                                                 "network:router_centralized_snat", "network:ha_router_replicated_interface",
                                                 "network:router_ha_interface"};
    if (!kFixed.count(jget::str(before.if_contains("device_owner"))) ||
        !m.find("routers", jget::str(before.if_contains("device_id"))))
      return {};
    auto v4 = [](const Obj& p) {
      std::set<std::pair<std::string, std::string>> out;
      for (const auto& f : p.at("fixed_ips").as_array()) {
        auto ip = jget::str(f.as_object().if_contains("ip_address"));
        if (ip.find(':') == std::string::npos) out.emplace(jget::str(f.as_object().if_contains("subnet_id")), ip);
      }
      return out;
    };
    if (v4(before) == v4(after)) return {};
    return fail(Errc::invalid_argument, "BadRequest",
                "Bad ports request: IP updates for port " + jget::str(before.if_contains("id")) + " are not allowed.");
  }

  Status assign_mac(Txn& txn, Obj& port, const std::string& net_id, const std::string& id) {
    if (auto* given = port.if_contains("mac_address"); given && !given->is_null()) {
      auto mac = *Mac::parse(jget::str(given));
      if (!txn.claim_mac(net_id, mac, id))
        return conflict("MacAddressInUse", "Unable to complete operation for network " + net_id + ". The mac address " +
                                               mac.str() + " is in use.");
      return {};
    }
    auto mac = random_free_mac(txn.model(), net_id, settings_.base_mac);
    if (!mac || !txn.claim_mac(net_id, *mac, id))
      return fail(Errc::unavailable, "NetworkMacAddressGenerationFailure",
                  "Unable to generate unique mac on network " + net_id + ".");
    port["mac_address"] = mac->str();
    return {};
  }

  static void release_ips(Txn& txn, const Obj& port) {
    for (const auto& f : port.at("fixed_ips").as_array()) {
      const auto& fo = f.as_object();
      if (auto ip = IpAddress::parse(jget::str(fo.if_contains("ip_address"))))
        txn.release_ip(jget::str(fo.if_contains("subnet_id")), *ip);
    }
  }

  static std::optional<Cidr> cidr_of(const Obj& sub) {
    auto c = Cidr::parse(jget::str(sub.if_contains("cidr")));
    return c ? std::optional<Cidr>(*c) : std::nullopt;
  }

  // Claims `ip` on `sub` or answers Neutron's IpAddressAlreadyAllocated.
  static Result<json::value> claim(Txn& txn, const Obj& sub, const IpAddress& ip, const std::string& port) {
    auto sid = jget::str(sub.if_contains("id"));
    if (!txn.claim_ip(sid, ip, port))
      return conflict("IpAddressAlreadyAllocated", "IP address " + ip.str() + " already allocated in subnet " + sid);
    return json::object{{"subnet_id", sid}, {"ip_address", ip.str()}};
  }

  static Result<json::value> allocate_from(Txn& txn, const Obj& sub, const std::string& port, const Obj* mac_port) {
    auto sid = jget::str(sub.if_contains("id"));
    auto cidr = *cidr_of(sub);
    auto mode = jget::str(sub.if_contains("ipv6_address_mode"));
    if (mac_port && cidr.network.version == 6 && (mode == "slaac" || mode == "dhcpv6-stateless"))
      return claim(txn, sub, eui64_address(cidr, *Mac::parse(jget::str(mac_port->if_contains("mac_address")))), port);
    NT_ASSIGN(auto pools, pools_from_json(sub.at("allocation_pools")));
    auto ip = pick_free_ip(txn.model(), sid, pools);
    if (!ip)
      return conflict("IpAddressGenerationFailure",
                      "No more IP addresses available on network " + jget::str(sub.if_contains("network_id")) + ".");
    return claim(txn, sub, *ip, port);
  }

  Result<json::array> allocate_default(Txn& txn, const Obj& net, const Obj& port, const std::string& id) {
    json::array out;
    bool v4_tried = false, v4_done = false;
    bool router = jget::str(port.if_contains("device_owner")).rfind(owner::kInterface, 0) == 0;
    for (const auto& sid : net.at("subnets").as_array()) {
      const Obj* sub = txn.model().find("subnets", jget::str(&sid));
      if (!sub) continue;
      auto version = sub->at("ip_version").as_int64();
      if (version == 4) {
        if (v4_done) continue;
        v4_tried = true;
        auto r = allocate_from(txn, *sub, id, nullptr);
        if (r) out.push_back(std::move(*r)), v4_done = true;
        continue;
      }
      auto mode = jget::str(sub->if_contains("ipv6_address_mode"));
      bool auto_addr = mode == "slaac" || mode == "dhcpv6-stateless";
      if (auto_addr && router) continue;
      NT_ASSIGN(auto f, allocate_from(txn, *sub, id, &port));
      out.push_back(std::move(f));
    }
    if (v4_tried && !v4_done)
      return conflict("IpAddressGenerationFailure",
                      "No more IP addresses available on network " + jget::str(net.if_contains("id")) + ".");
    return out;
  }

  Result<json::array> allocate_given(Txn& txn, const Obj& net, const json::array& wanted, const std::string& id,
                                     const Ctx& ctx, const std::string& device_owner) {
    auto net_id = jget::str(net.if_contains("id"));
    json::array out;
    std::set<std::string> seen;
    for (const auto& w : wanted) {
      const auto& wo = w.as_object();
      for (const auto& kv : wo)
        if (kv.key() != "subnet_id" && kv.key() != "ip_address")
          return bad_request("Invalid input for fixed_ips. Reason: Unrecognized attribute(s) '" + std::string(kv.key()) + "'.");
      auto* sid_v = wo.if_contains("subnet_id");
      auto* ip_v = wo.if_contains("ip_address");
      if (!sid_v && !ip_v) return invalid_input("Exceeded maximum amount of fixed ips per port.");
      std::optional<IpAddress> ip;
      if (ip_v) {
        auto parsed = IpAddress::parse(jget::str(ip_v));
        if (!parsed) return bad_request("Invalid input for fixed_ips. Reason: '" + check::show(*ip_v) + "' is not a valid IP address.");
        ip = *parsed;
        if (!seen.insert(ip->str()).second) return bad_request("Duplicate IP address '" + ip->str() + "'");
      }
      const Obj* sub = nullptr;
      if (sid_v) {
        auto sid = jget::str(sid_v);
        sub = txn.model().find("subnets", sid);
        if (!sub) return not_found("SubnetNotFound", "Subnet " + sid + " could not be found.");
        if (jget::str(sub->if_contains("network_id")) != net_id)
          return invalid_input("Failed to create port on network " + net_id + ", because fixed_ips included invalid subnet " + sid);
        if (ip && !cidr_of(*sub)->contains(*ip))
          return fail(Errc::invalid_argument, "InvalidIpForSubnet",
                      "IP address " + ip->str() + " is not a valid IP for the specified subnet.");
      } else {
        for (const auto& s : net.at("subnets").as_array()) {
          const Obj* cand = txn.model().find("subnets", jget::str(&s));
          if (cand && cidr_of(*cand)->contains(*ip)) sub = cand;
        }
        if (!sub)
          return fail(Errc::invalid_argument, "InvalidIpForNetwork",
                      "IP address " + ip->str() + " is not a valid IP for any of the subnets on the specified network.");
      }
      // SLAAC and stateless DHCPv6 subnets give each port its EUI-64 address; only a router
      // port takes a given one (its gateway address), as Neutron's IPAM has it.
      if (ip && !ctx.internal && !owner::is_router_interface(device_owner)) {
        auto mode = jget::str(sub->if_contains("ipv6_address_mode"));
        if (mode == "slaac" || mode == "dhcpv6-stateless")
          return fail(Errc::invalid_argument, "AllocationOnAutoAddressSubnet",
                      "IPv6 address " + ip->str() + " cannot be directly assigned to a port on subnet " +
                          jget::str(sub->if_contains("id")) + " as the subnet is configured for automatic addresses");
      }
      if (ip) {
        auto cidr = *cidr_of(*sub);
        if (cidr.network.version == 4 && cidr.prefix < 31 && (*ip == cidr.first() || *ip == cidr.last()))
          return fail(Errc::invalid_argument, sid_v ? "InvalidIpForSubnet" : "InvalidIpForNetwork",
                      "IP address " + ip->str() + " is not a valid IP for " +
                          (sid_v ? std::string("the specified subnet.") : std::string("any of the subnets on the specified network.")));
      }
      NT_ASSIGN(auto f, ip ? claim(txn, *sub, *ip, id) : allocate_from(txn, *sub, id, nullptr));
      out.push_back(std::move(f));
    }
    return out;
  }

  Status apply_security(Txn& txn, Obj& port, const Ctx& ctx, bool creating) {
    bool secure = port.at("port_security_enabled").as_bool();
    auto owner = jget::str(port.if_contains("device_owner"));
    if (!port.contains("security_groups")) {
      std::string def_sg = default_sg_id(txn.model(), project_of(port));
      if (def_sg.empty() && secure && !trusted_owner(owner)) {
        NT_ASSIGN(def_sg, ensure_default_sg(txn, project_of(port)));
      }
      port["security_groups"] = (secure && !trusted_owner(owner) && creating) ? json::array{json::value(def_sg)} : json::array{};
      return {};
    }
    const auto& groups = port.at("security_groups").as_array();
    if (!groups.empty() && (!secure || port.at("fixed_ips").as_array().empty()))
      return fail(Errc::invalid_argument, "PortSecurityAndIPRequiredForSecurityGroups",
                  "Port security must be enabled and port must have an IP address in order to use security groups.");
    for (const auto& g : groups) {
      const Obj* sg = txn.model().find("security_groups", jget::str(&g));
      if (!sg || !rbac_readable(txn.model(), *sg, "security_groups", ctx))
        return not_found("SecurityGroupNotFound", "Security group " + jget::str(&g) + " does not exist");
    }
    return {};
  }

  Result<json::value> check_pairs(const Obj& port, const json::value& pairs) const {
    const auto& list = pairs.as_array();
    if (list.empty()) return pairs;
    // The pairs' own validity first, then whether the port may have them (as Neutron).
    if (static_cast<int>(list.size()) > settings_.max_allowed_address_pair)
      return fail(Errc::invalid_argument, "AllowedAddressPairExhausted",
                  "The number of allowed address pair exceeds the maximum " + std::to_string(settings_.max_allowed_address_pair) + ".");
    json::array out;
    std::set<std::string> seen;
    for (const auto& p : list) {
      const auto& po = p.as_object();
      auto* ip = po.if_contains("ip_address");
      if (!ip) return fail(Errc::invalid_argument, "AllowedAddressPairsMissingIP", "AllowedAddressPair must contain ip_address");
      auto cidr = Cidr::parse(jget::str(ip));
      if (!cidr) return bad_request("'" + check::show(*ip) + "' is not a valid IP address");
      std::string mac = jget::str(port.if_contains("mac_address"));
      if (auto* m = po.if_contains("mac_address")) {
        auto parsed = Mac::parse(jget::str(m));
        if (!parsed) return bad_request("Invalid input for allowed_address_pairs. Reason: '" + check::show(*m) + "' is not a valid MAC address.");
        mac = parsed->str();
      }
      auto text = jget::str(ip);
      auto shown = text.find('/') == std::string::npos ? cidr->network.str() : cidr->str();
      if (!seen.insert(shown + mac).second)
        return fail(Errc::invalid_argument, "DuplicateAddressPairInRequest",
                    "Request contains duplicate address pair: mac_address " + mac + " ip_address " + shown + ".");
      out.push_back(json::object{{"ip_address", shown}, {"mac_address", mac}});
    }
    if (!port.at("port_security_enabled").as_bool())
      return conflict("AddressPairAndPortSecurityRequired",
                      "Port Security must be enabled in order to have allowed address pairs on a port.");
    return json::value(std::move(out));
  }

  // Neutron's update of extra_dhcp_opts: options named (opt_name, ip_version) replace their
  // value, a null value deletes the option, the options not named stay.
  static json::array merge_dhcp_opts(const json::value& stored, const json::array& given) {
    json::array out = stored.is_array() ? stored.as_array() : json::array{};
    auto same = [](const json::value& a, const json::value& b) {
      return a.as_object().at("opt_name") == b.as_object().at("opt_name") &&
             a.as_object().at("ip_version") == b.as_object().at("ip_version");
    };
    for (const auto& g : given) {
      auto it = std::find_if(out.begin(), out.end(), [&](const json::value& o) { return o.is_object() && same(o, g); });
      bool remove = g.as_object().at("opt_value").is_null();
      if (it != out.end()) {
        if (remove) out.erase(it);
        else *it = g;
      } else if (!remove) {
        out.push_back(g);
      }
    }
    return out;
  }

  // keep_null: an update's null values (deletions) are kept for merge_dhcp_opts; a create
  // stores none (Neutron skips them).
  static Result<json::value> check_dhcp_opts(const json::value& opts, bool keep_null = false) {
    json::array out;
    for (const auto& o : opts.as_array()) {
      const auto& oo = o.as_object();
      auto* name = oo.if_contains("opt_name");
      auto* value = oo.if_contains("opt_value");
      if (!name || !name->is_string() || !value || (!value->is_string() && !value->is_null()))
        return bad_request("Invalid input for extra_dhcp_opts. Reason: Invalid data format for extra-dhcp-opt: " + check::show(o) + ".");
      int64_t version = 4;
      if (auto* v = oo.if_contains("ip_version")) {
        auto conv = check::integer(4, 6)(*v);
        if (!conv || (conv->as_int64() != 4 && conv->as_int64() != 6))
          return bad_request("Invalid input for extra_dhcp_opts. Reason: '" + check::show(*v) + "' is not in [4, 6].");
        version = conv->as_int64();
      }
      if (value->is_null() && !keep_null) continue;
      out.push_back(json::object{{"opt_name", *name}, {"opt_value", *value}, {"ip_version", version}});
    }
    return json::value(std::move(out));
  }

  static json::array dns_assignment(const Obj& port) {
    json::array out;
    for (const auto& f : port.at("fixed_ips").as_array()) {
      auto ip = jget::str(f.as_object().if_contains("ip_address"));
      std::string name = "host-" + ip;
      for (auto& c : name)
        if (c == '.' || c == ':') c = '-';
      out.push_back(json::object{{"hostname", name}, {"ip_address", ip}, {"fqdn", name + ".openstacklocal."}});
    }
    return out;
  }

  ResourceDef def_ = port_def();
};

}  // namespace

std::unique_ptr<Handler> make_ports(const Settings& s) { return std::make_unique<Ports>(s); }

}  // namespace nt
