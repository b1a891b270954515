// Two read-only views of IP address use: floatingip_pools (floatingip-pools: the subnets
// floating IPs come from) and network-ip-availabilities (network-ip-availability: used
// and total addresses per network and subnet, admins only), answered as Neutron 21 does.
#include <limits>
#include <map>

#include "api/handlers.h"
#include "core/ipam.h"

namespace nt {
namespace json = boost::json;

namespace {

// A count as JSON: exact up to 2^64 - 1, which an IPv6 /64 pool fills.
json::value count_json(u128 n) {
  return json::value(n > std::numeric_limits<uint64_t>::max() ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(n));
}

u128 pool_size(const Obj& sub) {
  u128 total = 0;
  if (auto pools = pools_from_json(sub.contains("allocation_pools") ? sub.at("allocation_pools") : json::value(json::array{})))
    for (const auto& p : *pools) total += p.size();
  return total;
}

// One pass over the network's own ports counts the addresses of each of its subnets.
json::object network_availability(const Model& m, const Obj& net) {
  auto id = jget::str(net.if_contains("id"));
  std::map<std::string, uint64_t> used_in;  // subnet -> addresses in use
  if (auto ports = m.ports_by_network.find(id); ports != m.ports_by_network.end())
    for (const auto& pid : ports->second)
      if (const Obj* port = m.find("ports", pid))
        for (const auto& ip : jget::arr(*port, "fixed_ips"))
          if (ip.is_object()) ++used_in[jget::str(ip.get_object(), "subnet_id")];
  json::array subnets;
  u128 total = 0;
  uint64_t used = 0;
  for (const auto& sid : jget::arr(net, "subnets")) {
    const Obj* sub = m.find("subnets", jget::str(&sid));
    if (!sub) continue;
    auto sub_id = jget::str(&sid);
    u128 size = pool_size(*sub);
    total += size;
    used += used_in[sub_id];
    subnets.push_back(json::object{{"subnet_id", sub_id}, {"subnet_name", jget::str(sub->if_contains("name"))},
                                   {"cidr", jget::str(sub->if_contains("cidr"))}, {"ip_version", jget::num(*sub, "ip_version", 4)},
                                   {"used_ips", used_in[sub_id]}, {"total_ips", count_json(size)}});
  }
  auto project = project_of(net);
  return json::object{{"network_id", id}, {"network_name", jget::str(net.if_contains("name"))}, {"tenant_id", project},
                      {"project_id", project}, {"subnet_ip_availability", std::move(subnets)}, {"used_ips", used},
                      {"total_ips", count_json(total)}};
}

}  // namespace

Result<json::value> floatingip_pools_doc(const Model& m, const Ctx& ctx) {
  json::array pools;
  if (const Table* subnets = m.find_table("subnets"))
    for (const auto& [sid, sub] : *subnets) {
      const Obj* net = m.find("networks", jget::str(sub.if_contains("network_id")));
      if (!net || !jget::flag(*net, "router:external", false) || jget::num(sub, "ip_version", 4) != 4) continue;
      pools.push_back(json::object{{"subnet_id", sid}, {"subnet_name", jget::str(sub.if_contains("name"))},
                                   {"tenant_id", ctx.project_id}, {"network_id", jget::str(sub.if_contains("network_id"))},
                                   {"cidr", jget::str(sub.if_contains("cidr"))}, {"project_id", ctx.project_id}});
    }
  return json::object{{"floatingip_pools", std::move(pools)}};
}

Result<json::value> ip_availability_doc(const Model& m, const Ctx& ctx, const std::string& network_id) {
  // Admins only (Neutron's policy): others see an empty list and no network.
  if (!network_id.empty()) {
    if (!ctx.is_admin) return not_found("HTTPNotFound", "The resource could not be found.");
    const Obj* net = m.find("networks", network_id);
    if (!net) return not_found("NetworkNotFound", "Network " + network_id + " could not be found.");
    return json::object{{"network_ip_availability", network_availability(m, *net)}};
  }
  json::array out;
  if (const Table* nets = m.find_table("networks"); nets && ctx.is_admin)
    for (const auto& [id, net] : *nets) out.push_back(network_availability(m, net));
  return json::object{{"network_ip_availabilities", std::move(out)}};
}

}  // namespace nt
