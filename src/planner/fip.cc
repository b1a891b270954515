#include "planner/fip.h"

#include "common/names.h"

namespace nt::planner {
namespace json = boost::json;
using view::Kind;

void FipNode::routers_changed(const std::map<std::string, RouterHosts>& routers, Keys& keys) {
  ++stats.changes;
  for (const auto& [r, rh] : routers)
    for (const auto& h : rh.hosts) {
      if (!rh.external.empty()) keys[h].insert(Kind::fip, rh.external), ++stats.keys;
      if (!rh.old_external.empty() && rh.old_external != rh.external) keys[h].insert(Kind::fip, rh.old_external), ++stats.keys;
    }
}

std::optional<json::object> FipNode::entry(const std::string& host, const std::string& network) const {
  view::Fip out;
  // Only routers with floating IPs: on this external network, with a DVR instance here.
  for (const auto& [r, fids] : topo_.all_router_fips()) {
    if (topo_.external_network(r) != network) continue;
    view::FipRouter router{r, {}};
    for (const auto& fid : fids) {
      const auto& f = in_.fips.at(fid);
      auto port = in_.ports.find(f.port_id);
      if (port == in_.ports.end() || port->second.bound_host() != host || f.fixed_ip_address.empty()) continue;
      router.floating_ips.push_back(f.floating_ip_address);
    }
    // (Its DVR hosts asked last: computing them costs more than the loop above.)
    if (!router.floating_ips.empty() && topo_.dvr_hosts(r).count(host)) out.routers.push_back(std::move(router));
  }
  if (out.routers.empty()) return std::nullopt;
  out.network_id = network;
  out.bridge = devname::bridge(network);
  if (auto net = in_.networks.find(network); net != in_.networks.end()) out.mtu = net->second.mtu;
  if (const auto* fg = topo_.fg_port(host, network)) out.fg = topo_.router_port(*fg, "fg-");
  return view::encode(out);
}

void FipNode::recompute(const std::string& host, WireView& out) const {
  std::set<std::string> externals;
  for (const auto& [r, row] : in_.routers)
    if (!row.external_network.empty()) externals.insert(row.external_network);
  for (const auto& n : externals)
    if (auto e = entry(host, n)) out[key(Kind::fip, n)] = std::move(*e);
  ++stats.recomputes;
}

void FipNode::build(const std::string& host, const std::set<std::string>& routers, SharedView& out) const {
  std::set<std::string> externals;
  for (const auto& r : routers)
    if (auto ext = topo_.external_network(r); !ext.empty()) externals.insert(ext);
  for (const auto& n : externals)
    if (auto e = entry(host, n)) out.add(Kind::fip, EntryId(n), ViewEntry::of(*e));
}

}  // namespace nt::planner
