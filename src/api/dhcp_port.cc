// The network's DHCP port. In Neutron the DHCP agent keeps a network:dhcp port on every
// network with a DHCP-enabled subnet, holding the DHCP server's address on each of them.
// Here every host's agent serves DHCP with that one port's addresses and MAC, so the server
// keeps the port itself, in the transaction of the subnet change that calls for it.
#include "api/handlers.h"
#include "common/names.h"
#include "core/ipam.h"

namespace nt {
namespace json = boost::json;

namespace {

// Neutron's agent names its port dhcp<uuid5(NAMESPACE_DNS, its host name)>-<network id>;
// every host serves ours, so the id is that of a host named "neutrino".
constexpr std::string_view kDhcpHostId = "0b4d3e8c-c6ed-5cbf-bbd6-594070320dd9";

const Obj* find_dhcp_port(const Model& m, const std::string& network_id) {
  auto it = m.ports_by_network.find(network_id);
  if (it == m.ports_by_network.end()) return nullptr;
  auto device_id = dhcp_port_device_id(network_id);
  for (const auto& pid : it->second)
    if (const Obj* p = m.find("ports", pid);
        p && jget::str(p->if_contains("device_owner")) == owner::kDhcp && jget::str(p->if_contains("device_id")) == device_id)
      return p;
  return nullptr;
}

// IPv4 subnets with DHCP on: the ones the port holds an address on (IPv6 is not served).
bool served(const Obj& sub) { return sub.at("ip_version").as_int64() == 4 && sub.at("enable_dhcp").as_bool(); }

}  // namespace

std::string dhcp_port_device_id(const std::string& network_id) {
  return "dhcp" + std::string(kDhcpHostId) + "-" + network_id;
}

Status sync_dhcp_port(Handler& ports, Txn& txn, const std::string& network_id) {
  if (!ports.settings().dhcp_agent_notification) return {};
  const Obj* net = txn.model().find("networks", network_id);
  if (!net) return {};
  const Obj* port = find_dhcp_port(txn.model(), network_id);
  json::array held = port ? port->at("fixed_ips").as_array() : json::array{};
  // The addresses it keeps (on subnets still served), then the first free address of each
  // served subnet it has none on, as Neutron's IPAM gives a network:dhcp port. A subnet
  // with no free address is left without one (Neutron's agent fails there alike).
  json::array wanted;
  size_t kept = 0;
  for (const auto& sid_v : net->at("subnets").as_array()) {
    auto sid = jget::str(&sid_v);
    const Obj* sub = txn.model().find("subnets", sid);
    if (!sub || !served(*sub)) continue;
    bool has = false;
    for (const auto& f : held)
      if (jget::str(f.as_object().if_contains("subnet_id")) == sid) wanted.push_back(f), has = true, ++kept;
    if (has) continue;
    auto pools = pools_from_json(sub->at("allocation_pools"));
    if (!pools) continue;
    if (auto ip = first_free_ip(txn.model(), sid, *pools))
      wanted.push_back(json::object{{"subnet_id", sid}, {"ip_address", ip->str()}});
  }
  if (wanted.empty()) return port ? delete_internal(ports, txn, jget::str(port->if_contains("id"))) : Status{};
  if (port) {
    if (kept == held.size() && wanted.size() == kept) return {};
    NT_TRY(update_internal(ports, txn, jget::str(port->if_contains("id")), Obj{{"fixed_ips", std::move(wanted)}}));
    return {};
  }
  // The network's project owns it (counted in its port quota, not refused by it: Neutron's
  // agent creates it through the plugin, past the API's quota check).
  Obj item{{"network_id", network_id}, {"device_owner", owner::kDhcp}, {"device_id", dhcp_port_device_id(network_id)},
           {"project_id", project_of(*net)}, {"name", ""}, {"admin_state_up", true}, {"fixed_ips", std::move(wanted)}};
  NT_ASSIGN(Obj created, create_internal(ports, txn, std::move(item)));
  created["status"] = "ACTIVE";  // served by every host's agent from the start
  txn.put("ports", std::move(created));
  return {};
}

}  // namespace nt
