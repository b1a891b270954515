// The L3 host-view entries themselves (see l3.cc for which hosts get them).
#include "planner/planner.h"
#include "planner/port_facts.h"
#include "channel/entries.h"

#include <algorithm>

namespace nt {
namespace json = boost::json;

using planner_detail::is_interface;
using planner_detail::str;
using planner_detail::host_of;

// A router's interfaces as the router entry lists them; the same on every host, so
// cached for the duration of one refresh.
const std::vector<view::RouterPort>& Planner::router_interfaces(const std::string& router) const {
  if (caching_flood_ && !flood_frozen_)
    if (auto it = interface_cache_.find(router); it != interface_cache_.end()) return it->second;
  const auto& ports = router_ports_.at(router);
  std::map<std::string, std::string> sg_by_subnet;  // subnet -> the sg- address for it
  for (const auto& pid : ports) {
    const auto& p = all_ports_.at(pid);
    if (str(p, "device_owner") == owner::kCentralizedSnat)
      if (auto e = router_port(pid, "sg-"); e.ip && e.subnet_id) sg_by_subnet[*e.subnet_id] = *e.ip;
  }
  bool snat = !external_network(router).empty();
  std::vector<view::RouterPort> interfaces;
  for (const auto& pid : ports) {
    if (!is_interface(str(all_ports_.at(pid), "device_owner"))) continue;
    auto qr = router_port(pid, "qr-");
    if (!qr.ip || !qr.cidr || qr.cidr->empty()) continue;
    if (auto sg = sg_by_subnet.find(qr.subnet_id.value_or("")); snat && sg != sg_by_subnet.end()) qr.sg_ip = sg->second;
    interfaces.push_back(std::move(qr));
  }
  if (caching_flood_ && !flood_frozen_) return interface_cache_[router] = std::move(interfaces);
  thread_local std::vector<view::RouterPort> scratch;
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
  view::Router out;
  auto ext = external_network(router);
  out.interfaces = router_interfaces(router);
  for (const auto& rt : jget::arr(r->second, "routes"))
    if (rt.is_object()) out.routes.push_back({str(rt.as_object(), "destination"), str(rt.as_object(), "nexthop")});
  if (!ext.empty()) out.external_network_id = ext;
  const auto* info = r->second.if_contains("external_gateway_info");
  out.enable_snat = !ext.empty() && (info && info->is_object() ? jget::flag(info->as_object(), "enable_snat", true) : true);
  if (auto mine = router_fips_.find(router); mine != router_fips_.end())
    for (const auto& fid : mine->second) {
      const auto& f = fips_.at(fid);
      auto port = ports_.find(str(f, "port_id"));
      if (port == ports_.end() || host_of(port->second) != host || str(f, "fixed_ip_address").empty()) continue;
      out.floating_ips.push_back({fid, str(f, "floating_ip_address"), str(f, "fixed_ip_address")});
    }
  if (auto h = hosts_.find(host); h != hosts_.end()) out.dvr_mac = jget::opt_str(h->second, "dvr_mac");
  return view::encode(out);
}

std::optional<json::object> Planner::snat_entry(const std::string& host, const std::string& router) const {
  auto g = gateways_.find(router);
  auto ext = external_network(router);
  if (g == gateways_.end() || ext.empty()) return std::nullopt;
  auto at = std::find(g->second.begin(), g->second.end(), host);
  if (at == g->second.end()) return std::nullopt;
  view::Snat out;
  out.active = at == g->second.begin();
  out.priority = at - g->second.begin();
  if (auto ports = router_ports_.find(router); ports != router_ports_.end())
    for (const auto& pid : ports->second) {
      auto owner = str(all_ports_.at(pid), "device_owner");
      if (owner == owner::kCentralizedSnat) out.sg.push_back(router_port(pid, "sg-"));
      else if (owner == owner::kGateway) out.qg = router_port(pid, "qg-");
      else if (is_interface(owner))
        if (auto e = router_port(pid, "qr-"); e.cidr && !e.cidr->empty()) out.internal_cidrs.push_back(*e.cidr);
    }
  const auto* info = routers_.at(router).if_contains("external_gateway_info");
  out.enable_snat = info && info->is_object() ? jget::flag(info->as_object(), "enable_snat", true) : true;
  return view::encode(out);
}

std::optional<json::object> Planner::fip_entry(const std::string& host, const std::string& network) const {
  view::Fip out;
  // Only routers with floating IPs: on this external network, with a DVR instance here.
  for (const auto& [r, fids] : router_fips_) {
    if (external_network(r) != network || !dvr_hosts(r).count(host)) continue;
    view::FipRouter router{r, {}};
    for (const auto& fid : fids) {
      const auto& f = fips_.at(fid);
      auto port = ports_.find(str(f, "port_id"));
      if (port == ports_.end() || host_of(port->second) != host || str(f, "fixed_ip_address").empty()) continue;
      router.floating_ips.push_back(str(f, "floating_ip_address"));
    }
    if (!router.floating_ips.empty()) out.routers.push_back(std::move(router));
  }
  if (out.routers.empty()) return std::nullopt;
  out.network_id = network;
  out.bridge = devname::bridge(network);
  if (auto net = networks_.find(network); net != networks_.end()) out.mtu = jget::num(net->second, "mtu", 1500);
  if (auto fg = fg_ports_.find({host, network}); fg != fg_ports_.end()) out.fg = router_port(fg->second, "fg-");
  return view::encode(out);
}

// Permanent ARP in the router for one port of its subnets ("<router>|<port>"): its MAC
// and, per address in one of the router's subnets, the qr- device that reaches it.
std::optional<json::object> Planner::arp_entry(const std::string& host, const std::string& key, bool router_here) const {
  auto id = view::ArpId::parse(key);
  if (!id) return std::nullopt;
  const auto& [router, pid] = *id;
  auto port = all_ports_.find(pid);
  auto ports = router_ports_.find(router);
  // The router's own interfaces are no neighbours of it; its sg- (SNAT) ports are: the
  // qrouter sends SNAT traffic to them and must know their MACs (no ARP crosses a tunnel).
  if (port == all_ports_.end() || ports == router_ports_.end() ||
      (ports->second.count(pid) && is_interface(str(port->second, "device_owner"))) ||
      (!router_here && !dvr_hosts(router).count(host)))
    return std::nullopt;
  view::Arp out{router, str(port->second, "mac_address"), {}};
  for (const auto& ip : jget::arr(port->second, "fixed_ips")) {
    if (!ip.is_object()) continue;
    for (const auto& qr : ports->second) {
      const auto& q = all_ports_.at(qr);
      if (!is_interface(str(q, "device_owner"))) continue;
      const auto& qips = jget::arr(q, "fixed_ips");
      if (qips.empty() || !qips[0].is_object()) continue;
      if (str(qips[0].as_object(), "subnet_id") != str(ip.as_object(), "subnet_id")) continue;
      out.addresses.push_back({devname::qr(qr), str(ip.as_object(), "ip_address")});
    }
  }
  if (out.addresses.empty()) return std::nullopt;
  return view::encode(out);
}

void Planner::add_l3_entries(const std::string& host, const std::set<std::string>& routers, WireView& out, bool with_arp) const {
  std::set<std::string> externals;
  for (const auto& r : routers) {
    if (auto e = router_entry(host, r)) {
      out[{"router", r}] = std::move(*e);
      if (with_arp)
        for (const auto& pid : router_subnet_ports(r)) {
          auto id = view::ArpId{r, pid}.str();
          if (auto a = arp_entry(host, id, true)) out[{"arp", id}] = std::move(*a);
        }
    }
    if (auto e = snat_entry(host, r)) out[{"snat", r}] = std::move(*e);
    if (auto ext = external_network(r); !ext.empty()) externals.insert(ext);
  }
  for (const auto& n : externals)
    if (auto e = fip_entry(host, n)) out[{"fip", n}] = std::move(*e);
}

}  // namespace nt
