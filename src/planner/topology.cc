#include "planner/topology.h"

#include "common/names.h"
#include "common/net.h"

namespace nt::planner {

bool is_router_own(const std::string& owner) {
  return owner::is_router_interface(owner) || owner == owner::kCentralizedSnat || owner == owner::kGateway;
}

namespace {

bool is_instance(const std::string& owner) { return !owner::is_network_service(owner); }

void bump(std::map<std::string, std::map<std::string, int>>& index, const std::string& key, const std::string& sub, int delta) {
  auto& inner = index[key];
  if ((inner[sub] += delta) <= 0) inner.erase(sub);
  if (inner.empty()) index.erase(key);
}
void add_to(std::map<std::string, std::set<std::string>>& index, const std::string& key, const std::string& id, bool add) {
  if (add) index[key].insert(id);
  else if (auto it = index.find(key); it != index.end() && (it->second.erase(id), it->second.empty())) index.erase(it);
}
int prefix_of(const std::string& cidr) {
  auto parsed = Cidr::parse(cidr, false);
  return parsed ? parsed->prefix : 32;
}

}  // namespace

void Topology::index_port(const PortRow& port, bool add) {
  const auto& owner = port.device_owner;
  int delta = add ? 1 : -1;
  bool own = is_router_own(owner);
  for (const auto& ip : port.fixed_ips) {
    add_to(subnet_ports_, ip.subnet_id, port.id, add);
    if (own) bump(subnet_routers_, ip.subnet_id, port.device_id, delta);
  }
  if (own) {
    bump(network_routers_, port.network_id, port.device_id, delta);  // the network's MTU is in their entries
    add_to(router_ports_, port.device_id, port.id, add);
  }
  if (owner == owner::kFloatingIpAgentGateway) {
    std::pair<std::string, std::string> at{port.host_id, port.network_id};
    if (add) fg_ports_[at] = port.id;
    else if (auto it = fg_ports_.find(at); it != fg_ports_.end() && it->second == port.id) fg_ports_.erase(it);
  }
  if (is_instance(owner) && !port.host_id.empty() && !port.bound_host().empty())
    bump(compute_hosts_, port.network_id, port.host_id, delta);
}

void Topology::index_fip(const FipRow& fip, bool add) {
  if (!fip.port_id.empty()) add_to(port_fips_, fip.port_id, fip.id, add);
  if (!fip.router_id.empty()) add_to(router_fips_, fip.router_id, fip.id, add);
}

std::string Topology::external_network(const std::string& router) const {
  auto r = in_.routers.find(router);
  return r == in_.routers.end() ? "" : r->second.external_network;
}

std::set<std::string> Topology::routers_with_external(const std::string& network) const {
  std::set<std::string> out;
  for (const auto& [id, r] : in_.routers)
    if (r.external_network == network) out.insert(id);
  return out;
}

std::set<std::string> Topology::routers_of_port(const PortRow& port) const {
  std::set<std::string> out;
  if (is_router_own(port.device_owner)) out.insert(port.device_id);
  out.merge(arp_routers(port));
  if (auto it = network_routers_.find(port.network_id); it != network_routers_.end())
    for (const auto& [r, n] : it->second) out.insert(r);
  if (auto it = port_fips_.find(port.id); it != port_fips_.end())
    for (const auto& fip : it->second) out.insert(in_.fips.at(fip).router_id);
  if (port.device_owner == owner::kFloatingIpAgentGateway) out.merge(routers_with_external(port.network_id));
  out.erase("");
  return out;
}

std::set<std::string> Topology::arp_routers(const PortRow& port) const {
  std::set<std::string> out;
  for (const auto& ip : port.fixed_ips)
    if (auto it = subnet_routers_.find(ip.subnet_id); it != subnet_routers_.end())
      for (const auto& [r, n] : it->second) out.insert(r);
  return out;
}

std::set<std::string> Topology::dvr_hosts(const std::string& router) const {
  std::set<std::string> hosts;
  if (!in_.routers.count(router)) return hosts;
  for (const auto& pid : router_ports(router)) {
    const auto& p = in_.ports.at(pid);
    if (!owner::is_router_interface(p.device_owner)) continue;
    if (auto c = compute_hosts_.find(p.network_id); c != compute_hosts_.end())
      for (const auto& [h, n] : c->second) hosts.insert(h);
  }
  return hosts;
}

std::set<std::string> Topology::l3_hosts(const std::string& router) const {
  auto hosts = dvr_hosts(router);
  if (!external_network(router).empty()) {
    const auto& g = gateways(router);
    hosts.insert(g.begin(), g.end());
  }
  return hosts;
}

std::set<std::string> Topology::router_subnet_ports(const std::string& router) const {
  std::set<std::string> out;
  for (const auto& pid : router_ports(router)) {
    const auto& p = in_.ports.at(pid);
    if (!owner::is_router_interface(p.device_owner)) continue;
    for (const auto& ip : p.fixed_ips)
      if (auto members = subnet_ports_.find(ip.subnet_id); members != subnet_ports_.end())
        out.insert(members->second.begin(), members->second.end());
  }
  return out;
}

const std::vector<std::string>& Topology::gateways(const std::string& router) const {
  static const std::vector<std::string> none;
  auto b = in_.bindings.find(router);
  return b == in_.bindings.end() ? none : b->second.hosts;
}

view::RouterPort Topology::router_port(const std::string& id, const char* prefix) const {
  const auto& p = in_.ports.at(id);
  auto net = in_.networks.find(p.network_id);
  view::RouterPort out{id, devname::router_port(prefix, id), devname::tap(id), p.mac_address, p.network_id,
                       devname::bridge(p.network_id), net == in_.networks.end() ? 1500 : net->second.mtu};
  if (!p.fixed_ips.empty()) {
    const auto& first = p.fixed_ips[0];
    auto subnet = in_.subnets.find(first.subnet_id);
    auto cidr = subnet == in_.subnets.end() ? std::string() : subnet->second.cidr;
    out.subnet_id = first.subnet_id;
    out.ip = first.ip_address;
    out.cidr = cidr;
    out.prefixlen = prefix_of(cidr);
    if (subnet != in_.subnets.end()) out.gateway_ip = subnet->second.gateway_ip;
  }
  return out;
}

const std::set<std::string>& Topology::router_ports(const std::string& router) const {
  static const std::set<std::string> none;
  auto it = router_ports_.find(router);
  return it == router_ports_.end() ? none : it->second;
}

const std::set<std::string>& Topology::router_fips(const std::string& router) const {
  static const std::set<std::string> none;
  auto it = router_fips_.find(router);
  return it == router_fips_.end() ? none : it->second;
}

const std::map<std::string, int>* Topology::network_routers(const std::string& network) const {
  auto it = network_routers_.find(network);
  return it == network_routers_.end() ? nullptr : &it->second;
}

const std::map<std::string, int>* Topology::subnet_routers(const std::string& subnet) const {
  auto it = subnet_routers_.find(subnet);
  return it == subnet_routers_.end() ? nullptr : &it->second;
}

bool Topology::has_compute_host(const std::string& network, const std::string& host) const {
  auto c = compute_hosts_.find(network);
  return c != compute_hosts_.end() && c->second.count(host);
}

const std::string* Topology::fg_port(const std::string& host, const std::string& network) const {
  auto it = fg_ports_.find({host, network});
  return it == fg_ports_.end() ? nullptr : &it->second;
}

}  // namespace nt::planner
