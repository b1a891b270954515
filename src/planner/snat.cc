#include "planner/snat.h"

#include <algorithm>

#include "common/names.h"

namespace nt::planner {
namespace json = boost::json;
using view::Kind;

bool SnatNode::moves(const PortRow& port) {
  return port.device_owner == owner::kCentralizedSnat || port.device_owner == owner::kGateway;
}

std::optional<PortRow> SnatNode::effective(const std::optional<PortRow>& port) const {
  if (!port || !moves(*port)) return port;
  PortRow p = *port;
  const auto& gateways = topo_.gateways(p.device_id);
  p.host_id = gateways.empty() ? "" : gateways.front();
  p.vif_type = gateways.empty() ? "unbound" : "bridge";
  p.standby_hosts.assign(gateways.empty() ? gateways.end() : gateways.begin() + 1, gateways.end());
  p.gateway_port = true;
  return p;
}

void SnatNode::routers_changed(const std::map<std::string, RouterHosts>& routers, Keys& keys) {
  ++stats.changes;
  for (const auto& [r, rh] : routers)
    for (const auto& h : rh.hosts) keys[h].insert(Kind::snat, r), ++stats.keys;
}

std::optional<json::object> SnatNode::entry(const std::string& host, const std::string& router) const {
  auto r = in_.routers.find(router);
  const auto& gateways = topo_.gateways(router);
  if (r == in_.routers.end() || r->second.external_network.empty()) return std::nullopt;
  auto at = std::find(gateways.begin(), gateways.end(), host);
  if (at == gateways.end()) return std::nullopt;
  view::Snat out;
  out.active = at == gateways.begin();
  out.priority = at - gateways.begin();
  for (const auto& g : gateways)
    if (auto h = in_.hosts.find(g); h != in_.hosts.end()) out.gateways.push_back(h->second.local_ip);
  for (const auto& pid : topo_.router_ports(router)) {
    const auto& owner = in_.ports.at(pid).device_owner;
    if (owner == owner::kCentralizedSnat) out.sg.push_back(topo_.router_port(pid, "sg-"));
    else if (owner == owner::kGateway) out.qg = topo_.router_port(pid, "qg-");
    else if (owner::is_router_interface(owner))
      if (auto e = topo_.router_port(pid, "qr-"); e.cidr && !e.cidr->empty()) out.internal_cidrs.push_back(*e.cidr);
  }
  out.enable_snat = r->second.enable_snat;
  for (const auto& fid : topo_.router_fips(router)) {
    const auto& fip = in_.fips.at(fid);
    auto pfs = in_.fip_forwardings.find(fid);
    if (!fip.port_id.empty() || pfs == in_.fip_forwardings.end()) continue;
    for (const auto& pid : pfs->second) {
      const auto& f = in_.forwardings.at(pid);
      out.port_forwardings.push_back({fip.floating_ip_address, f.protocol, f.internal_ip_address, f.external_min,
                                      f.external_max, f.internal_min, f.internal_max});
    }
  }
  return view::encode(out);
}

void SnatNode::recompute(const std::string& host, WireView& out) const {
  for (const auto& [r, row] : in_.routers)
    if (auto e = entry(host, r)) out[key(Kind::snat, r)] = std::move(*e);
  ++stats.recomputes;
}

void SnatNode::build(const std::string& host, const std::set<std::string>& routers, SharedView& out) const {
  for (const auto& r : routers)
    if (auto e = entry(host, r)) out.add(Kind::snat, EntryId(r), ViewEntry::of(*e));
}

}  // namespace nt::planner
