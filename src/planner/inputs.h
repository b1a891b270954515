// The planner's inputs, typed: the stored rows it follows, each read once from its JSON
// when a commit is followed (or at boot), with only the members the planner uses. A
// member that is missing or of another type reads as empty (the API validated what it
// stored; the planner must not throw on a damaged row either).
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "channel/entries.h"

namespace nt::planner {

enum class Table {
  networks,
  ports,
  hosts,
  routers,
  subnets,
  floatingips,
  l3_bindings,
  port_forwardings,
  security_groups,
  security_group_rules,
  address_groups
};
std::optional<Table> parse_table(std::string_view name);

struct NetworkRow {
  std::string id, network_type;
  std::optional<std::string> physical_network;
  std::optional<int64_t> segmentation_id;
  int64_t mtu = 1500;
};

struct FixedIp {
  std::string subnet_id, ip_address;
};

struct PortRow {
  std::string id, network_id, mac_address, device_owner, device_id;
  std::string host_id, vif_type;  // binding:host_id, binding:vif_type
  bool admin_state_up = true;
  std::vector<FixedIp> fixed_ips;
  std::string project_id, dns_name;
  std::vector<view::DhcpOption> extra_dhcp_opts;
  bool port_security_enabled = true;
  std::vector<std::string> security_groups;  // sorted, unique
  std::vector<view::AddressPair> allowed_address_pairs;
  // A router's sg-/qg- port only: its other gateway hosts in order, where it is kept warm
  // (plugged, with the network's L2) to take over without the server (gateway HA).
  std::vector<std::string> standby_hosts;
  bool gateway_port = false;  // a router's sg-/qg- port (its l2pop entry names its gateways)
  // The host the port is bound to; a failed binding binds it nowhere ("").
  std::string bound_host() const {
    return (vif_type == "binding_failed" || vif_type == "unbound") ? std::string() : host_id;
  }
};

struct HostRow {
  std::string id, local_ip;
  std::optional<std::string> dvr_mac;
};

struct RouterRow {
  std::string id;
  std::string external_network;  // of external_gateway_info ("" = no gateway)
  bool enable_snat = true;        // external_gateway_info.enable_snat
  std::vector<view::Route> routes;
};

struct SubnetRow {
  std::string id, network_id, cidr;
  std::optional<std::string> gateway_ip;
  int64_t ip_version = 4;
  bool enable_dhcp = true;
  std::vector<std::string> dns_nameservers;
  std::vector<view::Route> host_routes;
};

struct FipRow {
  std::string id, port_id, router_id, floating_ip_address, fixed_ip_address;
};

// A port forwarding of a floating IP: protocol, external port range to internal address
// and port range (equal sizes, or many external ports to one internal port).
struct PortForwardRow {
  std::string id, floatingip_id, protocol, internal_ip_address;
  int64_t external_min = 0, external_max = 0, internal_min = 0, internal_max = 0;
};

// A router's gateway hosts in scheduling order: the first is active.
struct BindingRow {
  std::string router_id;
  std::vector<std::string> hosts;
};

struct SecurityGroupRow {
  std::string id;
  bool stateful = true;
};

// A security group rule: its group, and the rule as the host view carries it.
struct SecurityGroupRuleRow {
  std::string id, security_group_id;
  view::SecurityGroupRule rule;
};

// An address group: its CIDRs (network/prefixlen as the API stored them), sorted, unique.
struct AddressGroupRow {
  std::string id;
  std::vector<std::string> addresses;
};

using Row = std::variant<NetworkRow, PortRow, HostRow, RouterRow, SubnetRow, FipRow, BindingRow, PortForwardRow,
                         SecurityGroupRow, SecurityGroupRuleRow, AddressGroupRow>;

// One change of one input: the new row, or nullopt when it was deleted.
struct Change {
  Table table;
  std::string id;
  std::optional<Row> row;
};

Row parse_row(Table table, const std::string& id, const boost::json::object& obj);
// A change of a stored table the planner follows; nullopt for the tables it ignores.
std::optional<Change> parse_change(std::string_view table, const std::string& id, const boost::json::object* obj);

// Every input, by id.
struct Inputs {
  std::map<std::string, NetworkRow> networks;
  std::map<std::string, PortRow> ports;  // all of them, bound or not
  std::map<std::string, HostRow> hosts;
  std::map<std::string, RouterRow> routers;
  std::map<std::string, SubnetRow> subnets;
  std::map<std::string, FipRow> fips;
  std::map<std::string, BindingRow> bindings;  // by router
  std::map<std::string, PortForwardRow> forwardings;
  std::map<std::string, std::set<std::string>> fip_forwardings;  // floating IP -> its forwardings
  std::map<std::string, SecurityGroupRow> security_groups;
  std::map<std::string, SecurityGroupRuleRow> security_group_rules;
  std::map<std::string, AddressGroupRow> address_groups;
  // Stores the change's row (or removes it).
  void apply(const Change& change);
};

}  // namespace nt::planner
