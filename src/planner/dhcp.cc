#include "planner/dhcp.h"

#include <algorithm>

#include "common/names.h"
#include "common/net.h"

namespace nt::planner {
namespace json = boost::json;
using view::Kind;

namespace {

constexpr const char* kMetadataRoute = "169.254.169.254/32";

bool is_v4(const std::string& ip) {
  auto a = IpAddress::parse(ip);
  return a && a->version == 4;
}

std::string dashed(std::string ip) {
  std::replace(ip.begin(), ip.end(), '.', '-');
  return ip;
}

}  // namespace

// Instance ports: bound somewhere and not one of the network's own (router, DHCP, ...).
bool DhcpNode::served(const PortRow& p) {
  return !p.bound_host().empty() && !owner::is_network_service(p.device_owner);
}

void DhcpNode::index(const PortRow& p, int delta) {
  auto update = [&](std::map<std::string, std::set<std::string>>& m, const std::string& key) {
    auto& s = m[key];
    if (delta > 0) s.insert(p.id);
    else s.erase(p.id);
    if (s.empty()) m.erase(key);
  };
  if (served(p)) update(by_host_, p.bound_host()), update(by_network_, p.network_id);
  if (p.device_owner == owner::kDhcp) update(dhcp_ports_, p.network_id);
  if (owner::is_router_interface(p.device_owner))
    for (const auto& ip : p.fixed_ips) {
      auto& count = router_ips_[ip.subnet_id][ip.ip_address];
      count += delta;
      if (count <= 0) router_ips_[ip.subnet_id].erase(ip.ip_address);
      if (router_ips_[ip.subnet_id].empty()) router_ips_.erase(ip.subnet_id);
    }
}

void DhcpNode::mark_network(Keys& keys, const std::string& network) const {
  auto it = by_network_.find(network);
  if (it == by_network_.end()) return;
  for (const auto& id : it->second) {
    auto p = in_.ports.find(id);
    if (p == in_.ports.end()) continue;
    keys[p->second.bound_host()].insert(Kind::dhcp, id);
    ++stats.keys;
  }
}

Keys DhcpNode::port_changed(const PortRow* before, const PortRow* after) {
  ++stats.changes;
  Keys keys;
  std::set<std::string> networks;
  for (const auto* p : {before, after}) {
    if (!p) continue;
    if (served(*p)) keys[p->bound_host()].insert(Kind::dhcp, p->id), ++stats.keys;
    if (p->device_owner == owner::kDhcp || owner::is_router_interface(p->device_owner)) networks.insert(p->network_id);
  }
  if (before) index(*before, -1);
  if (after) index(*after, +1);
  for (const auto& n : networks) mark_network(keys, n);
  return keys;
}

Keys DhcpNode::network_changed(const std::string& network) {
  ++stats.changes;
  Keys keys;
  mark_network(keys, network);
  return keys;
}

// The network's DHCP port with an address on the subnet: the server's own (device_id
// dhcp...) before any other network:dhcp port an admin may have made.
const PortRow* DhcpNode::dhcp_port(const std::string& network, const std::string& subnet) const {
  auto it = dhcp_ports_.find(network);
  if (it == dhcp_ports_.end()) return nullptr;
  const PortRow* found = nullptr;
  for (const auto& id : it->second) {
    auto p = in_.ports.find(id);
    if (p == in_.ports.end()) continue;
    bool on_subnet = std::any_of(p->second.fixed_ips.begin(), p->second.fixed_ips.end(),
                                 [&](const FixedIp& ip) { return ip.subnet_id == subnet; });
    if (!on_subnet) continue;
    if (p->second.device_id.rfind("dhcp", 0) == 0) return &p->second;
    if (!found) found = &p->second;
  }
  return found;
}

// Neutron's test: a subnet is routed when a router interface holds its gateway address.
bool DhcpNode::isolated(const SubnetRow& s) const {
  if (!s.gateway_ip || s.gateway_ip->empty()) return true;
  auto it = router_ips_.find(s.id);
  return it == router_ips_.end() || !it->second.count(*s.gateway_ip);
}

std::optional<view::Dhcp> DhcpNode::describe(const PortRow& p) const {
  auto net = in_.networks.find(p.network_id);
  if (net == in_.networks.end()) return std::nullopt;
  view::Dhcp d;
  const SubnetRow* chosen = nullptr;
  for (const auto& ip : p.fixed_ips) {
    auto s = in_.subnets.find(ip.subnet_id);
    if (s == in_.subnets.end() || !is_v4(ip.ip_address)) continue;
    d.addresses.push_back(ip.ip_address);
    if (!chosen || (!chosen->enable_dhcp && s->second.enable_dhcp)) chosen = &s->second, d.ip = ip.ip_address;
  }
  if (!chosen) return std::nullopt;
  auto cidr = Cidr::parse(chosen->cidr);
  d.network_id = p.network_id, d.subnet_id = chosen->id, d.device = devname::tap(p.id), d.mac = p.mac_address;
  d.prefixlen = cidr ? cidr->prefix : 32;
  if (chosen->gateway_ip && !chosen->gateway_ip->empty()) d.gateway = chosen->gateway_ip;
  // Neutron: dns_nameservers 0.0.0.0 means "no DNS option"; none given: the defaults.
  bool suppress = std::count(chosen->dns_nameservers.begin(), chosen->dns_nameservers.end(), "0.0.0.0") > 0;
  for (const auto& dns : chosen->dns_nameservers)
    if (is_v4(dns) && !suppress) d.dns.push_back(dns);
  if (chosen->dns_nameservers.empty()) d.dns = settings.dns_servers;
  d.mtu = net->second.mtu, d.lease = settings.lease, d.domain = settings.domain;
  d.hostname = p.dns_name.empty() ? "host-" + dashed(d.ip) : p.dns_name;
  d.device_id = p.device_id, d.project_id = p.project_id;
  for (const auto& o : p.extra_dhcp_opts)
    if (o.ip_version == 4) d.options.push_back(o);
  if (settings.serve && chosen->enable_dhcp)
    if (const auto* server = dhcp_port(p.network_id, chosen->id))
      for (const auto& ip : server->fixed_ips)
        if (ip.subnet_id == chosen->id) d.server_ip = ip.ip_address, d.server_mac = server->mac_address, d.server_port = server->id;
  for (const auto& r : chosen->host_routes)
    if (is_v4(r.nexthop)) d.routes.push_back(r);
  // Neutron's dnsmasq: the network's other IPv4 subnets are on-link.
  if (auto mine = network_subnets_.find(p.network_id); mine != network_subnets_.end())
    for (const auto& sid : mine->second) {
      auto s = in_.subnets.find(sid);
      if (s != in_.subnets.end() && sid != chosen->id && s->second.ip_version == 4) d.routes.push_back({s->second.cidr, "0.0.0.0"});
    }
  bool isolated_now = isolated(*chosen);
  if (d.server_ip && (settings.force_metadata || (settings.isolated_metadata && isolated_now)))
    d.routes.push_back({kMetadataRoute, *d.server_ip});
  else if (!isolated_now && d.gateway)  // routed: through the router (Neutron's dnsmasq, whatever the options)
    d.routes.push_back({kMetadataRoute, *d.gateway});
  return d;
}

std::optional<json::object> DhcpNode::entry(const std::string& host, const std::string& port) const {
  auto p = in_.ports.find(port);
  if (p == in_.ports.end() || !served(p->second) || p->second.bound_host() != host) return std::nullopt;
  auto d = describe(p->second);
  if (!d) return std::nullopt;
  return view::encode(*d);
}

void DhcpNode::recompute(const std::string& host, WireView& out) const {
  auto mine = by_host_.find(host);
  if (mine == by_host_.end()) return;
  for (const auto& id : mine->second)
    if (auto e = entry(host, id)) out[key(Kind::dhcp, id)] = std::move(*e);
  ++stats.recomputes;
}

void DhcpNode::prepare() {
  bulk_by_host_.clear();
  for (const auto& [id, p] : in_.ports)
    if (served(p)) bulk_by_host_[p.bound_host()].push_back(&p);
}

void DhcpNode::build(const std::string& host, SharedView& out) const {
  auto mine = bulk_by_host_.find(host);
  if (mine == bulk_by_host_.end()) return;
  for (const auto* p : mine->second)
    if (auto d = describe(*p)) out.add(Kind::dhcp, EntryId(p->id), ViewEntry::of(view::encode(*d)));
}

std::set<std::string> DhcpNode::hosts() const {
  std::set<std::string> out;
  for (const auto& [h, ports] : by_host_) out.insert(h);
  return out;
}

void DhcpNode::clear() {
  by_host_.clear(), by_network_.clear(), dhcp_ports_.clear(), router_ips_.clear();
  network_subnets_.clear();
  for (const auto& [id, s] : in_.subnets) network_subnets_[s.network_id].insert(id);
}

void DhcpNode::load(const PortRow& port) { index(port, +1); }

void DhcpNode::subnet_moved(const std::string& subnet, const std::string& from, const std::string& to) {
  if (!from.empty())
    if (auto it = network_subnets_.find(from); it != network_subnets_.end() && it->second.erase(subnet) && it->second.empty())
      network_subnets_.erase(it);
  if (!to.empty()) network_subnets_[to].insert(subnet);
}

}  // namespace nt::planner
