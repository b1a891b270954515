#include "agent/gateway_ha.h"

#include <algorithm>

namespace nt::agent {

std::string choose_gateway(const std::vector<std::string>& candidates, const std::string& self, const Liveness& live) {
  // A compute needs a gateway it reaches itself; a gateway deciding its own role asks its
  // peers too (peer views), so a partition between gateways does not make two actives.
  bool deciding_own_role = std::find(candidates.begin(), candidates.end(), self) != candidates.end();
  for (const auto& c : candidates) {
    bool alive = c == self ? !live.isolated : !live.failed.count(c) || (deciding_own_role && live.vouched.count(c));
    if (alive) return c;
  }
  return "";
}

// Only VXLAN networks: their FDB entries are what a host repoints (on a flat or VLAN
// network the physical switch learns the new active from its gratuitous ARP).
std::vector<std::string> bfd_peers(const view::HostView& view, const std::string& self) {
  std::set<std::string> peers;
  auto tunnelled = [&](const std::string& network) {
    auto n = view.networks.find(network);
    return n != view.networks.end() && n->second.network_type == "vxlan" ? &n->second : nullptr;
  };
  auto network_hosts = [&](const std::string& network) {
    if (!tunnelled(network)) return;
    for (const auto& [id, f] : view.flood)
      if (f.network_id == network) peers.insert(f.vtep);
  };
  for (const auto& [id, l] : view.l2pop) {
    if (l.candidates.empty() || !tunnelled(l.network_id)) continue;
    peers.insert(l.candidates.begin(), l.candidates.end());
    if (std::find(l.candidates.begin(), l.candidates.end(), self) != l.candidates.end()) network_hosts(l.network_id);
  }
  for (const auto& [id, sn] : view.snat) {
    peers.insert(sn.gateways.begin(), sn.gateways.end());
    for (const auto& sg : sn.sg) network_hosts(sg.network_id);
    if (sn.qg) network_hosts(sn.qg->network_id);
  }
  peers.erase(self);
  peers.erase("");
  return {peers.begin(), peers.end()};
}

namespace {

bool active_here(const view::Snat& sn, const std::string& self, const Liveness& live) {
  return sn.gateways.empty() ? sn.active : choose_gateway(sn.gateways, self, live) == self;
}

}  // namespace

bool apply_gateway_roles(const view::HostView& view, const std::string& self, const Liveness& live,
                         const std::map<std::string, std::string>& current, view::HostView& out,
                         std::map<std::string, std::string>& roles) {
  roles.clear();
  bool differs = false;
  for (const auto& [id, sn] : view.snat) {
    bool active = active_here(sn, self, live);
    // (Hold-down only where a host comes before this one: its sessions and peers' views
    // may not have said yet that it is alive. First in the order, nobody is to wait for.)
    if (live.settling && active && sn.gateways.front() != self) {
      auto was = current.find(id);
      active = was != current.end() && was->second == "active";
    }
    roles[id] = active ? "active" : "standby";
    differs = differs || active != sn.active;
  }
  for (const auto& [id, l] : view.l2pop) {
    if (l.candidates.empty()) continue;
    auto chosen = choose_gateway(l.candidates, self, live);
    differs = differs || (!chosen.empty() && chosen != l.vtep) || chosen == self;
  }
  if (!differs) return false;
  out = view;
  for (auto& [id, sn] : out.snat) sn.active = roles[id] == "active";
  for (auto it = out.l2pop.begin(); it != out.l2pop.end();) {
    auto chosen = it->second.candidates.empty() ? "" : choose_gateway(it->second.candidates, self, live);
    if (!chosen.empty() && chosen == self) {
      it = out.l2pop.erase(it);  // this host's own warm port has that MAC
      continue;
    }
    if (!chosen.empty()) it->second.vtep = chosen;
    ++it;
  }
  return true;
}

}  // namespace nt::agent
