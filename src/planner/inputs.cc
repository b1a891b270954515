#include "planner/inputs.h"

#include <array>
#include <utility>

#include "common/json_get.h"

namespace nt::planner {
namespace json = boost::json;
using jget::str;

namespace {

constexpr std::array<std::pair<Table, std::string_view>, 7> kTables{{{Table::networks, "networks"},
                                                                     {Table::ports, "ports"},
                                                                     {Table::hosts, "hosts"},
                                                                     {Table::routers, "routers"},
                                                                     {Table::subnets, "subnets"},
                                                                     {Table::floatingips, "floatingips"},
                                                                     {Table::l3_bindings, "l3_bindings"}}};

PortRow port_row(const std::string& id, const json::object& o) {
  PortRow p{id, str(o, "network_id"), str(o, "mac_address"), str(o, "device_owner"), str(o, "device_id"),
            str(o, "binding:host_id"), str(o, "binding:vif_type"), jget::flag(o, "admin_state_up", true), {}};
  for (const auto& ip : jget::arr(o, "fixed_ips"))
    if (ip.is_object()) p.fixed_ips.push_back({str(ip.as_object(), "subnet_id"), str(ip.as_object(), "ip_address")});
  return p;
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
    case Table::subnets: return SubnetRow{id, str(o, "network_id"), str(o, "cidr"), jget::opt_str(o, "gateway_ip")};
    case Table::floatingips:
      return FipRow{id, str(o, "port_id"), str(o, "router_id"), str(o, "floating_ip_address"), str(o, "fixed_ip_address")};
    case Table::l3_bindings: return binding_row(id, o);
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
  }
}

}  // namespace nt::planner
