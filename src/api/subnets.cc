// Subnets: CIDR and gateway rules, allocation pools, DNS servers and host routes, IPv6
// modes, overlap on one network, and in-use rules for delete.
#include "api/handlers.h"
#include "common/names.h"
#include "core/ipam.h"

namespace nt {
namespace json = boost::json;

namespace {

const std::vector<std::string> kV6Modes = {"slaac", "dhcpv6-stateful", "dhcpv6-stateless"};

ResourceDef subnet_def() {
  ResourceDef d{"subnet", "subnets", "subnets", "SubnetNotFound", "Subnet {} could not be found.", standard_attrs()};
  auto& a = d.attrs;
  a.push_back({"network_id", kPost | kFilter | kSort | kRequired, check::uuid(), std::nullopt});
  a.push_back({"ip_version", kPost | kFilter | kSort | kRequired, check::integer(4, 6), std::nullopt});
  // Not required by the attribute map: without it Neutron asks for a subnet pool instead.
  a.push_back({"cidr", kPost | kFilter | kSort, check::nullable_string(64), std::nullopt});
  a.push_back({"prefixlen", kPost | kInputOnly, check::integer(0, 128), std::nullopt});
  a.push_back({"use_default_subnetpool", kPost | kInputOnly, check::boolean(), std::nullopt});
  a.push_back({"gateway_ip", kPost | kPut | kFilter | kSort, check::ip_address(true), std::nullopt});
  a.push_back({"allocation_pools", kPost | kPut, check::any(), std::nullopt});
  a.push_back({"dns_nameservers", kPost | kPut, check::nameservers(), json::value(json::array{})});
  a.push_back({"host_routes", kPost | kPut, check::host_routes(), json::value(json::array{})});
  a.push_back({"enable_dhcp", kPost | kPut | kFilter | kSort, check::boolean(), json::value(true)});
  a.push_back({"ipv6_ra_mode", kPost | kFilter | kSort, check::one_of(kV6Modes, true), json::value(nullptr)});
  a.push_back({"ipv6_address_mode", kPost | kFilter | kSort, check::one_of(kV6Modes, true), json::value(nullptr)});
  a.push_back({"subnetpool_id", kPost | kFilter | kSort, check::nullable_uuid(), json::value(nullptr)});
  a.push_back({"segment_id", kRetired, check::any(), std::nullopt});
  a.push_back({"service_types", kPost | kPut | kFilter, check::string_list(255), json::value(json::array{})});
  a.push_back({"dns_publish_fixed_ip", kRetired, check::any(), std::nullopt});
  a.push_back({"router:external", kRetired, check::any(), std::nullopt});
  return d;
}


class Subnets final : public Handler {
 public:
  using Handler::Handler;
  const ResourceDef& def() const override { return def_; }

  bool visible(const Model& m, const Obj& o, const Ctx& ctx) const override {
    if (ctx.is_admin || project_of(o) == ctx.project_id) return true;
    const Obj* net = m.find("networks", jget::str(o.if_contains("network_id")));
    return net && network_visible(m, *net, ctx);
  }

  // ?shared=: whether the subnet's network is shared with the caller (Neutron filters
  // subnets through their network's RBAC entries; the attribute itself is not shown).
  std::vector<std::string> special_filters() const override { return {"shared"}; }
  bool special_match(const Model& m, const Ctx& ctx, const Obj& o, const std::string& key,
                     const std::string& value) const override {
    auto want = check::to_bool(json::value(value));
    if (key != "shared" || !want) return false;
    auto net_id = jget::str(o.if_contains("network_id"));
    const Obj* net = m.find("networks", net_id);
    bool shared = net && (jget::flag(*net, "shared", false) || rbac_grants(m, net_id, "access_as_shared", ctx.project_id));
    return shared == *want;
  }

  Status validate_ownership(const Model& m, const Obj& checked, const Ctx& ctx) const override {
    return network_usable_for_create(m, checked, ctx);
  }
  bool decorates() const override { return true; }
  Obj decorate(const Model& m, const Obj& stored) const override {
    Obj out = stored;
    const Obj* net = m.find("networks", jget::str(stored.if_contains("network_id")));
    out["router:external"] = net && net->at("router:external").as_bool();
    return out;
  }

  Result<Obj> create(Txn& txn, Obj sub, const Ctx& ctx) override {
    auto net_id = jget::str(sub.if_contains("network_id"));
    const Obj* net = txn.model().find("networks", net_id);
    if (!net || !network_visible(txn.model(), *net, ctx)) return not_found("NetworkNotFound", "Network " + net_id + " could not be found.");
    if (!ctx.is_admin && project_of(*net) != ctx.project_id)
      return fail(Errc::forbidden, "PolicyNotAuthorized", "(rule:create_subnet) is disallowed by policy");
    NT_ASSIGN(const Obj* pool, subnet_pool_request(peer("subnetpools"), txn, sub, ctx));
    if (const auto* c = sub.if_contains("cidr"); !c || c->is_null())
      return fail(Errc::invalid_argument, "BadRequest", "Bad subnets request: a subnetpool must be specified in the absence of a cidr.");
    NT_ASSIGN(Cidr cidr, parse_cidr(sub));
    NT_TRY(check_overlap(txn.model(), *net, cidr, net_id));
    if (pool || !net->at("subnets").as_array().empty()) NT_TRY(check_subnet_pool_affinity(txn.model(), *net, sub));
    NT_ASSIGN(auto gateway, choose_gateway(sub, cidr));
    NT_TRY(check_lists(sub, cidr));
    NT_TRY(check_v6_modes(sub, cidr));
    std::vector<Pool> pools;
    if (auto* given = sub.if_contains("allocation_pools")) {
      NT_ASSIGN(auto parsed, pools_from_json(*given));
      NT_ASSIGN(pools, check_pools(std::move(parsed), cidr, gateway));
    } else {
      pools = default_pools(cidr, gateway);
    }
    sub["cidr"] = cidr.str();
    sub["gateway_ip"] = gateway ? json::value(gateway->str()) : json::value(nullptr);
    sub["allocation_pools"] = pools_json(pools);
    sub.erase("router:external");
    txn.put("subnets", sub);
    Obj next_net = *net;
    next_net["subnets"].as_array().push_back(sub["id"]);
    txn.put("networks", std::move(next_net));
    bump_revision(txn, "networks", net_id);
    if (pool) refresh_network_scopes(txn, net_id);
    NT_TRY(sync_dhcp_port(peer("ports"), txn, net_id));
    return sub;
  }

  Result<Obj> update(Txn& txn, const Obj& current, const Obj& changes, const Ctx& ctx) override {
    Obj next = current;
    for (const auto& kv : changes) next[kv.key()] = kv.value();
    NT_ASSIGN(Cidr cidr, Cidr::parse(jget::str(current.if_contains("cidr"))));
    std::optional<IpAddress> gateway;
    if (auto* g = next.if_contains("gateway_ip"); g && g->is_string()) {
      NT_ASSIGN(gateway, IpAddress::parse(g->get_string()));
      NT_TRY(check_gateway(*gateway, cidr));
    }
    NT_TRY(check_lists(next, cidr));
    if (changes.contains("enable_dhcp") && !next.at("enable_dhcp").as_bool() &&
        (!next.at("ipv6_ra_mode").is_null() || !next.at("ipv6_address_mode").is_null()))
      return invalid_input("Cannot disable enable_dhcp with ipv6 attributes set");
    NT_ASSIGN(auto pools, pools_from_json(next.at("allocation_pools")));
    NT_ASSIGN(pools, check_pools(std::move(pools), cidr, gateway));
    next["allocation_pools"] = pools_json(pools);
    if (changes.contains("gateway_ip") && gateway && *gateway != gateway_of(current))
      NT_TRY(check_gateway_unused(txn.model(), current, *gateway));
    txn.put("subnets", next);
    if (changes.contains("enable_dhcp") && next.at("enable_dhcp") != current.at("enable_dhcp"))
      NT_TRY(sync_dhcp_port(peer("ports"), txn, jget::str(current.if_contains("network_id"))));
    return next;
  }

  Status remove(Txn& txn, const Obj& sub, const Ctx& ctx) override {
    auto id = jget::str(sub.if_contains("id"));
    auto net_id = jget::str(sub.if_contains("network_id"));
    std::vector<std::string> service_ports;
    for (const auto& pid : txn.model().ports_by_network[net_id]) {
      const Obj* p = txn.model().find("ports", pid);
      if (!p || !port_uses_subnet(*p, id)) continue;
      auto owner = jget::str(p->if_contains("device_owner"));
      if (owner != owner::kDhcp && owner != owner::kDistributed)
        return conflict("SubnetInUse", "Unable to complete operation on subnet " + id +
                                           ": One or more ports have an IP allocation from this subnet.");
      service_ports.push_back(pid);
    }
    for (const auto& pid : service_ports) drop_subnet_ips(txn, pid, id);
    txn.erase("subnets", id);
    if (const Obj* net = txn.model().find("networks", net_id)) {
      Obj next = *net;
      auto& list = next["subnets"].as_array();
      for (auto it = list.begin(); it != list.end();)
        it = (jget::str(&*it) == id) ? list.erase(it) : it + 1;
      txn.put("networks", std::move(next));
      bump_revision(txn, "networks", net_id);
      if (!jget::str(sub.if_contains("subnetpool_id")).empty()) refresh_network_scopes(txn, net_id);
      NT_TRY(sync_dhcp_port(peer("ports"), txn, net_id));
    }
    return {};
  }

 private:
  static std::optional<IpAddress> gateway_of(const Obj& s) {
    auto ip = IpAddress::parse(jget::str(s.if_contains("gateway_ip")));
    return ip ? std::optional<IpAddress>(*ip) : std::nullopt;
  }

  static bool port_uses_subnet(const Obj& port, const std::string& subnet) {
    for (const auto& f : port.at("fixed_ips").as_array())
      if (jget::str(f.as_object().if_contains("subnet_id")) == subnet) return true;
    return false;
  }

  static void drop_subnet_ips(Txn& txn, const std::string& port_id, const std::string& subnet) {
    Obj port = *txn.model().find("ports", port_id);
    json::array kept;
    for (const auto& f : port.at("fixed_ips").as_array()) {
      if (jget::str(f.as_object().if_contains("subnet_id")) != subnet) kept.push_back(f);
      else if (auto ip = IpAddress::parse(jget::str(f.as_object().if_contains("ip_address")))) txn.release_ip(subnet, *ip);
    }
    port["fixed_ips"] = std::move(kept);
    txn.put("ports", std::move(port));
  }

  static Result<Cidr> parse_cidr(const Obj& sub) {
    auto text = jget::str(sub.if_contains("cidr"));
    // Host bits are dropped (10.0.0.1/24 is 10.0.0.0/24), as Neutron 21 does.
    auto cidr = Cidr::parse(text);
    if (!cidr) return invalid_input(text + " is not in a CIDR format");
    if (cidr->network.version != sub.at("ip_version").as_int64()) {
      if (sub.at("ip_version").as_int64() != 4 && sub.at("ip_version").as_int64() != 6)
        return bad_request("Invalid input for ip_version. Reason: '" + check::show(sub.at("ip_version")) +
                           "' is not in [4, 6].");
      return invalid_input("Cidr " + cidr->str() + " does not match ip_version " + check::show(sub.at("ip_version")));
    }
    if (cidr->prefix == 0) return invalid_input("0 is not allowed as CIDR prefix length");
    bool dhcp = sub.at("enable_dhcp").as_bool();
    if (dhcp && cidr->network.version == 4 && cidr->prefix > 30)
      return invalid_input("Invalid CIDR " + cidr->str() + " for DHCP-enabled IPv4 subnet: the prefix length must be /30 or shorter");
    if (dhcp && cidr->network.version == 6 && cidr->prefix > 126)
      return invalid_input("Invalid CIDR " + cidr->str() + " for DHCP-enabled IPv6 subnet: the prefix length must be /126 or shorter");
    return *cidr;
  }

  static Status check_overlap(const Model& m, const Obj& net, const Cidr& cidr, const std::string& net_id) {
    for (const auto& sid : net.at("subnets").as_array()) {
      const Obj* other = m.find("subnets", jget::str(&sid));
      if (!other) continue;
      auto oc = Cidr::parse(jget::str(other->if_contains("cidr")));
      if (oc && oc->overlaps(cidr))
        return invalid_input("Requested subnet with cidr: " + cidr.str() + " for network: " + net_id +
                             " overlaps with another subnet");
    }
    return {};
  }

  static Status check_gateway(const IpAddress& gw, const Cidr& cidr) {
    if (gw.version != cidr.network.version) return invalid_input("Gateway IP version inconsistent with subnet IP version");
    if (cidr.network.version == 4 && cidr.prefix < 31 && cidr.contains(gw) &&
        (gw == cidr.first() || gw == cidr.last()))
      return invalid_input("Gateway is not valid on subnet");
    return {};
  }

  static Result<std::optional<IpAddress>> choose_gateway(const Obj& sub, const Cidr& cidr) {
    auto* g = sub.if_contains("gateway_ip");
    if (g && g->is_null()) return std::optional<IpAddress>();
    if (!g) {
      if (cidr.size() <= 1) return std::optional<IpAddress>();
      // IPv6: the subnet-router anycast address (prefix::), as Neutron 21 picks it; the
      // pool then starts at ::1. IPv4: the first host address.
      if (cidr.network.version == 6) return std::optional<IpAddress>(cidr.network);
      return std::optional<IpAddress>(IpAddress{cidr.network.version, cidr.network.value + 1});
    }
    NT_ASSIGN(auto gw, IpAddress::parse(g->get_string()));
    NT_TRY(check_gateway(gw, cidr));
    return std::optional<IpAddress>(gw);
  }

  Status check_lists(const Obj& sub, const Cidr& cidr) const {
    auto id = jget::str(sub.if_contains("id"));
    if (static_cast<int>(sub.at("dns_nameservers").as_array().size()) > settings_.max_dns_nameservers)
      return fail(Errc::invalid_argument, "DNSNameServersExhausted",
                  "Unable to complete operation for " + id + ". The number of DNS nameservers exceeds the limit " +
                      std::to_string(settings_.max_dns_nameservers) + ".");
    const auto& routes = sub.at("host_routes").as_array();
    if (static_cast<int>(routes.size()) > settings_.max_subnet_host_routes)
      return fail(Errc::invalid_argument, "HostRoutesExhausted",
                  "Unable to complete operation for " + id + ". The number of host routes exceeds the limit " +
                      std::to_string(settings_.max_subnet_host_routes) + ".");
    for (const auto& r : routes) {
      auto hop = IpAddress::parse(jget::str(r.as_object().if_contains("nexthop")));
      auto dest = Cidr::parse(jget::str(r.as_object().if_contains("destination")));
      if (hop->version != cidr.network.version || dest->network.version != cidr.network.version)
        return invalid_input("Host route " + dest->str() + " via " + hop->str() + " does not match the subnet's IP version");
    }
    return {};
  }

  static Status check_v6_modes(const Obj& sub, const Cidr& cidr) {
    auto ra = jget::str(sub.if_contains("ipv6_ra_mode")), addr = jget::str(sub.if_contains("ipv6_address_mode"));
    if (ra.empty() && addr.empty()) return {};
    if (cidr.network.version == 4)
      return invalid_input(std::string(ra.empty() ? "ipv6_address_mode" : "ipv6_ra_mode") + " is not valid when ip_version is 4");
    if (!ra.empty() && !addr.empty() && ra != addr)
      return invalid_input("ipv6_ra_mode set to '" + ra + "' with ipv6_address_mode set to '" + addr +
                           "' is not valid. If both attributes are set, they must be the same value");
    if (!sub.at("enable_dhcp").as_bool())
      return invalid_input("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False");
    auto mode = addr.empty() ? ra : addr;
    if ((mode == "slaac" || mode == "dhcpv6-stateless") && cidr.prefix != 64)
      return invalid_input("Invalid CIDR " + cidr.str() +
                           " for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64");
    return {};
  }

  static Status check_gateway_unused(const Model& m, const Obj& sub, const IpAddress& gw) {
    auto id = jget::str(sub.if_contains("id"));
    if (!m.ip_used(id, gw.value)) return {};
    for (const auto& pid : m.ports_by_network.at(jget::str(sub.if_contains("network_id")))) {
      const Obj* p = m.find("ports", pid);
      for (const auto& f : p->at("fixed_ips").as_array())
        if (jget::str(f.as_object().if_contains("ip_address")) == gw.str())
          return conflict("GatewayIpInUse", "Current gateway ip " + gw.str() + " already in use by port " + pid +
                                                ". Unable to update.");
    }
    return {};
  }

  ResourceDef def_ = subnet_def();
};

}  // namespace

std::unique_ptr<Handler> make_subnets(const Settings& s) { return std::make_unique<Subnets>(s); }

}  // namespace nt
