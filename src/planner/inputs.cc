#include "planner/inputs.h"

#include <algorithm>
#include <array>
#include <tuple>
#include <utility>

#include "common/json_get.h"
#include "common/text.h"

namespace nt::planner {
namespace json = boost::json;
using jget::str;

namespace {

constexpr std::array<std::pair<Table, std::string_view>, 11> kTables{{{Table::networks, "networks"},
                                                                     {Table::ports, "ports"},
                                                                     {Table::hosts, "hosts"},
                                                                     {Table::routers, "routers"},
                                                                     {Table::subnets, "subnets"},
                                                                     {Table::floatingips, "floatingips"},
                                                                     {Table::l3_bindings, "l3_bindings"},
                                                                     {Table::port_forwardings, "port_forwardings"},
                                                                     {Table::security_groups, "security_groups"},
                                                                     {Table::security_group_rules, "security_group_rules"},
                                                                     {Table::address_groups, "address_groups"}}};

PortRow port_row(const std::string& id, const json::object& o) {
  PortRow p{id, str(o, "network_id"), str(o, "mac_address"), str(o, "device_owner"), str(o, "device_id"),
            str(o, "binding:host_id"), str(o, "binding:vif_type"), jget::flag(o, "admin_state_up", true), {}};
  for (const auto& ip : jget::arr(o, "fixed_ips"))
    if (ip.is_object()) p.fixed_ips.push_back({str(ip.as_object(), "subnet_id"), str(ip.as_object(), "ip_address")});
  p.project_id = str(o, "project_id");
  p.dns_name = str(o, "dns_name");
  for (const auto& opt : jget::arr(o, "extra_dhcp_opts"))
    if (opt.is_object()) {
      const auto& x = opt.as_object();
      // The API stores opt_value as given (a string, or null to delete); ip_version 4 or 6.
      p.extra_dhcp_opts.push_back({str(x, "opt_name"), str(x, "opt_value"), jget::num(x, "ip_version", 4)});
    }
  p.port_security_enabled = jget::flag(o, "port_security_enabled", true);
  for (const auto& g : jget::arr(o, "security_groups"))
    if (g.is_string()) p.security_groups.emplace_back(g.get_string());
  std::sort(p.security_groups.begin(), p.security_groups.end());
  p.security_groups.erase(std::unique(p.security_groups.begin(), p.security_groups.end()), p.security_groups.end());
  for (const auto& pair : jget::arr(o, "allowed_address_pairs"))
    if (pair.is_object())
      p.allowed_address_pairs.push_back({str(pair.as_object(), "ip_address"), jget::opt_str(pair.as_object(), "mac_address")});
  return p;
}

SubnetRow subnet_row(const std::string& id, const json::object& o) {
  SubnetRow s{id, str(o, "network_id"), str(o, "cidr"), jget::opt_str(o, "gateway_ip")};
  s.ip_version = jget::num(o, "ip_version", 4);
  s.enable_dhcp = jget::flag(o, "enable_dhcp", true);
  for (const auto& d : jget::arr(o, "dns_nameservers"))
    if (d.is_string()) s.dns_nameservers.emplace_back(d.get_string());
  for (const auto& rt : jget::arr(o, "host_routes"))
    if (rt.is_object()) s.host_routes.push_back({str(rt.as_object(), "destination"), str(rt.as_object(), "nexthop")});
  return s;
}

RouterRow router_row(const std::string& id, const json::object& o) {
  RouterRow r{id, "", true, {}};
  if (const auto* info = o.if_contains("external_gateway_info"); info && info->is_object()) {
    r.external_network = str(info->as_object(), "network_id");
    r.enable_snat = jget::flag(info->as_object(), "enable_snat", true);
  }
  for (const auto& rt : jget::arr(o, "routes"))
    if (rt.is_object()) r.routes.push_back({str(rt.as_object(), "destination"), str(rt.as_object(), "nexthop")});
  return r;
}

BindingRow binding_row(const std::string& id, const json::object& o) {
  BindingRow b{id, {}};
  for (const auto& h : jget::arr(o, "hosts"))
    if (h.is_string()) b.hosts.emplace_back(h.get_string());
  return b;
}

// "min:max" (or one port) as two numbers; 0 when it does not read.
std::pair<int64_t, int64_t> port_range(const std::string& text) {
  auto colon = text.find(':');
  auto lo = parse_int64(std::string_view(text).substr(0, colon)).value_or(0);
  auto hi = colon == std::string::npos ? lo : parse_int64(std::string_view(text).substr(colon + 1)).value_or(0);
  return {lo, hi};
}

PortForwardRow forward_row(const std::string& id, const json::object& o) {
  PortForwardRow f{id, str(o, "floatingip_id"), str(o, "protocol"), str(o, "internal_ip_address")};
  std::tie(f.external_min, f.external_max) = port_range(str(o, "external_port_range"));
  std::tie(f.internal_min, f.internal_max) = port_range(str(o, "internal_port_range"));
  return f;
}

SecurityGroupRuleRow rule_row(const std::string& id, const json::object& o) {
  SecurityGroupRuleRow r{id, str(o, "security_group_id"), {}};
  auto& v = r.rule;
  v.id = id, v.direction = str(o, "direction"), v.ethertype = str(o, "ethertype");
  v.protocol = jget::opt_str(o, "protocol");
  v.port_range_min = jget::opt_num(o, "port_range_min"), v.port_range_max = jget::opt_num(o, "port_range_max");
  v.remote_ip_prefix = jget::opt_str(o, "remote_ip_prefix");
  v.remote_group_id = jget::opt_str(o, "remote_group_id");
  v.remote_address_group_id = jget::opt_str(o, "remote_address_group_id");
  return r;
}

AddressGroupRow address_group_row(const std::string& id, const json::object& o) {
  AddressGroupRow g{id, {}};
  for (const auto& a : jget::arr(o, "addresses"))
    if (a.is_string()) g.addresses.emplace_back(a.get_string());
  std::sort(g.addresses.begin(), g.addresses.end());
  g.addresses.erase(std::unique(g.addresses.begin(), g.addresses.end()), g.addresses.end());
  return g;
}

template <class R>
void put_or_erase(std::map<std::string, R>& table, const std::string& id, const std::optional<Row>& row) {
  if (row) table.insert_or_assign(id, std::get<R>(*row));
  else table.erase(id);
}

}  // namespace

std::optional<Table> parse_table(std::string_view name) {
  for (const auto& [t, n] : kTables)
    if (n == name) return t;
  return std::nullopt;
}

Row parse_row(Table table, const std::string& id, const json::object& o) {
  switch (table) {
    case Table::networks:
      return NetworkRow{id, str(o, "provider:network_type"), jget::opt_str(o, "provider:physical_network"),
                        jget::opt_num(o, "provider:segmentation_id"), jget::num(o, "mtu", 1500)};
    case Table::ports: return port_row(id, o);
    case Table::hosts: return HostRow{id, str(o, "local_ip"), jget::opt_str(o, "dvr_mac")};
    case Table::routers: return router_row(id, o);
    case Table::subnets: return subnet_row(id, o);
    case Table::floatingips:
      return FipRow{id, str(o, "port_id"), str(o, "router_id"), str(o, "floating_ip_address"), str(o, "fixed_ip_address")};
    case Table::l3_bindings: return binding_row(id, o);
    case Table::port_forwardings: return forward_row(id, o);
    case Table::security_groups: return SecurityGroupRow{id, jget::flag(o, "stateful", true)};
    case Table::security_group_rules: return rule_row(id, o);
    case Table::address_groups: return address_group_row(id, o);
  }
  return NetworkRow{};
}

std::optional<Change> parse_change(std::string_view table, const std::string& id, const json::object* obj) {
  auto t = parse_table(table);
  if (!t) return std::nullopt;
  Change c{*t, id, std::nullopt};
  if (obj) c.row = parse_row(*t, id, *obj);
  return c;
}

void Inputs::apply(const Change& c) {
  switch (c.table) {
    case Table::networks: return put_or_erase(networks, c.id, c.row);
    case Table::ports: return put_or_erase(ports, c.id, c.row);
    case Table::hosts: return put_or_erase(hosts, c.id, c.row);
    case Table::routers: return put_or_erase(routers, c.id, c.row);
    case Table::subnets: return put_or_erase(subnets, c.id, c.row);
    case Table::floatingips: return put_or_erase(fips, c.id, c.row);
    case Table::l3_bindings: return put_or_erase(bindings, c.id, c.row);
    case Table::port_forwardings:
      if (auto old = forwardings.find(c.id); old != forwardings.end()) {
        auto& of_fip = fip_forwardings[old->second.floatingip_id];
        of_fip.erase(c.id);
        if (of_fip.empty()) fip_forwardings.erase(old->second.floatingip_id);
      }
      put_or_erase(forwardings, c.id, c.row);
      if (c.row) fip_forwardings[std::get<PortForwardRow>(*c.row).floatingip_id].insert(c.id);
      return;
    case Table::security_groups: return put_or_erase(security_groups, c.id, c.row);
    case Table::security_group_rules: return put_or_erase(security_group_rules, c.id, c.row);
    case Table::address_groups: return put_or_erase(address_groups, c.id, c.row);
  }
}

}  // namespace nt::planner
