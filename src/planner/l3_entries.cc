// The L3 host-view entries themselves (see l3.cc for which hosts get them).
#include "planner/planner.h"
#include "planner/port_facts.h"

namespace nt {
namespace json = boost::json;

using planner_detail::is_interface;
using planner_detail::str;
using planner_detail::host_of;

// A router's interfaces as the router entry lists them; the same on every host, so
// cached for the duration of one refresh.
const json::array& Planner::router_interfaces(const std::string& router) const {
  if (caching_flood_ && !flood_frozen_)
    if (auto it = interface_cache_.find(router); it != interface_cache_.end()) return it->second;
  const auto& ports = router_ports_.at(router);
  std::map<std::string, std::string> sg_by_subnet;  // subnet -> the sg- address for it
  for (const auto& pid : ports) {
    const auto& p = all_ports_.at(pid);
    if (str(p, "device_owner") == owner::kCentralizedSnat)
      if (auto e = router_port(pid, "sg-"); e.contains("ip")) sg_by_subnet[str(e, "subnet_id")] = str(e, "ip");
  }
  bool snat = !external_network(router).empty();
  json::array interfaces;
  for (const auto& pid : ports) {
    if (!is_interface(str(all_ports_.at(pid), "device_owner"))) continue;
    auto qr = router_port(pid, "qr-");
    if (!qr.contains("ip") || str(qr, "cidr").empty()) continue;
    auto subnet = str(qr, "subnet_id");
    qr["sg_ip"] = snat && sg_by_subnet.count(subnet) ? json::value(sg_by_subnet[subnet]) : json::value(nullptr);
    interfaces.push_back(std::move(qr));
  }
  if (caching_flood_ && !flood_frozen_) return interface_cache_[router] = std::move(interfaces);
  thread_local json::array scratch;
  scratch = std::move(interfaces);
  return scratch;
}

std::optional<json::object> Planner::router_entry(const std::string& host, const std::string& router) const {
  auto r = routers_.find(router);
  auto ports = router_ports_.find(router);
  if (r == routers_.end() || ports == router_ports_.end()) return std::nullopt;
  bool here = false;
  for (const auto& pid : ports->second) {
    const auto& p = all_ports_.at(pid);
    if (!is_interface(str(p, "device_owner"))) continue;
    if (auto c = compute_hosts_.find(str(p, "network_id")); c != compute_hosts_.end() && c->second.count(host)) here = true;
  }
  if (!here) return std::nullopt;
  bool snat = !external_network(router).empty();
  json::array interfaces = router_interfaces(router);
  json::array fips;
  if (auto mine = router_fips_.find(router); mine != router_fips_.end())
    for (const auto& fid : mine->second) {
      const auto& f = fips_.at(fid);
      auto port = ports_.find(str(f, "port_id"));
      if (port == ports_.end() || host_of(port->second) != host || str(f, "fixed_ip_address").empty()) continue;
      fips.push_back(json::object{{"id", fid}, {"floating_ip", f.at("floating_ip_address")}, {"fixed_ip", f.at("fixed_ip_address")}});
    }
  auto h = hosts_.find(host);
  const auto* info = r->second.if_contains("external_gateway_info");
  return json::object{{"interfaces", std::move(interfaces)},
                      {"routes", r->second.contains("routes") ? r->second.at("routes") : json::value(json::array{})},
                      {"external_network_id", snat ? json::value(external_network(router)) : json::value(nullptr)},
                      {"enable_snat", snat && info->as_object().contains("enable_snat") ? info->as_object().at("enable_snat") : json::value(snat)},
                      {"floating_ips", std::move(fips)},
                      {"dvr_mac", h == hosts_.end() ? json::value(nullptr) : h->second.if_contains("dvr_mac") ? h->second.at("dvr_mac") : json::value(nullptr)}};
}

std::optional<json::object> Planner::snat_entry(const std::string& host, const std::string& router) const {
  auto g = gateways_.find(router);
  auto ext = external_network(router);
  if (g == gateways_.end() || ext.empty()) return std::nullopt;
  auto at = std::find(g->second.begin(), g->second.end(), host);
  if (at == g->second.end()) return std::nullopt;
  json::array sg, cidrs;
  json::value qg = nullptr;
  if (auto ports = router_ports_.find(router); ports != router_ports_.end())
    for (const auto& pid : ports->second) {
      auto owner = str(all_ports_.at(pid), "device_owner");
      if (owner == owner::kCentralizedSnat) sg.push_back(router_port(pid, "sg-"));
      else if (owner == owner::kGateway) qg = router_port(pid, "qg-");
      else if (is_interface(owner))
        if (auto e = router_port(pid, "qr-"); !str(e, "cidr").empty()) cidrs.push_back(e.at("cidr"));
    }
  const auto& info = routers_.at(router).at("external_gateway_info").as_object();
  return json::object{{"active", at == g->second.begin()},
                      {"priority", at - g->second.begin()},
                      {"sg", std::move(sg)},
                      {"qg", std::move(qg)},
                      {"internal_cidrs", std::move(cidrs)},
                      {"enable_snat", info.contains("enable_snat") ? info.at("enable_snat") : json::value(true)}};
}

std::optional<json::object> Planner::fip_entry(const std::string& host, const std::string& network) const {
  json::array routers;
  // Only routers with floating IPs: on this external network, with a DVR instance here.
  for (const auto& [r, fids] : router_fips_) {
    if (external_network(r) != network || !dvr_hosts(r).count(host)) continue;
    json::array addresses;
    for (const auto& fid : fids) {
      const auto& f = fips_.at(fid);
      auto port = ports_.find(str(f, "port_id"));
      if (port == ports_.end() || host_of(port->second) != host || str(f, "fixed_ip_address").empty()) continue;
      addresses.push_back(f.at("floating_ip_address"));
    }
    if (!addresses.empty()) routers.push_back(json::object{{"router_id", r}, {"floating_ips", std::move(addresses)}});
  }
  if (routers.empty()) return std::nullopt;
  auto fg = fg_ports_.find({host, network});
  auto net = networks_.find(network);
  return json::object{{"network_id", network},
                      {"bridge", devname::bridge(network)},
                      {"mtu", net == networks_.end() ? json::value(1500) : net->second.at("mtu")},
                      {"fg", fg == fg_ports_.end() ? json::value(nullptr) : json::value(router_port(fg->second, "fg-"))},
                      {"routers", std::move(routers)}};
}

// Permanent ARP in the router for one port of its subnets ("<router>|<port>"): its MAC
// and, per address in one of the router's subnets, the qr- device that reaches it.
std::optional<json::object> Planner::arp_entry(const std::string& host, const std::string& key, bool router_here) const {
  auto bar = key.find('|');
  if (bar == std::string::npos) return std::nullopt;
  auto router = key.substr(0, bar), pid = key.substr(bar + 1);
  auto port = all_ports_.find(pid);
  auto ports = router_ports_.find(router);
  // The router's own interfaces are no neighbours of it; its sg- (SNAT) ports are: the
  // qrouter sends SNAT traffic to them and must know their MACs (no ARP crosses a tunnel).
  if (port == all_ports_.end() || ports == router_ports_.end() ||
      (ports->second.count(pid) && is_interface(str(port->second, "device_owner"))) ||
      (!router_here && !dvr_hosts(router).count(host)))
    return std::nullopt;
  json::array addresses;
  if (auto* ips = port->second.if_contains("fixed_ips"); ips && ips->is_array())
    for (const auto& ip : ips->as_array())
      for (const auto& qr : ports->second) {
        const auto& q = all_ports_.at(qr);
        if (!is_interface(str(q, "device_owner"))) continue;
        auto* qips = q.if_contains("fixed_ips");
        if (!qips || !qips->is_array() || qips->as_array().empty()) continue;
        if (str(qips->as_array()[0].as_object(), "subnet_id") != str(ip.as_object(), "subnet_id")) continue;
        addresses.push_back(json::object{{"device", devname::qr(qr)}, {"ip", ip.as_object().at("ip_address")}});
      }
  if (addresses.empty()) return std::nullopt;
  return json::object{{"router_id", router}, {"mac", port->second.at("mac_address")}, {"addresses", std::move(addresses)}};
}

void Planner::add_l3_entries(const std::string& host, const std::set<std::string>& routers, HostView& view, bool with_arp) const {
  std::set<std::string> externals;
  for (const auto& r : routers) {
    if (auto e = router_entry(host, r)) {
      view[{"router", r}] = std::move(*e);
      if (with_arp)
        for (const auto& pid : router_subnet_ports(r))
        if (auto a = arp_entry(host, r + "|" + pid, true)) view[{"arp", r + "|" + pid}] = std::move(*a);
    }
    if (auto e = snat_entry(host, r)) view[{"snat", r}] = std::move(*e);
    if (auto ext = external_network(r); !ext.empty()) externals.insert(ext);
  }
  for (const auto& n : externals)
    if (auto e = fip_entry(host, n)) view[{"fip", n}] = std::move(*e);
}

}  // namespace nt
