#include "planner/planner.h"

#include <algorithm>

namespace nt {
namespace json = boost::json;

namespace {

std::string str(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
}

// The host a port is bound to; a failed binding binds it nowhere.
std::string host_of(const json::object& port) {
  auto vif = str(port, "binding:vif_type");
  return (vif == "binding_failed" || vif == "unbound") ? std::string() : str(port, "binding:host_id");
}

json::array ips_of(const json::object& port) {
  json::array out;
  if (auto* f = port.if_contains("fixed_ips"); f && f->is_array())
    for (const auto& ip : f->as_array())
      if (ip.is_object()) out.push_back(ip.as_object().at("ip_address"));
  return out;
}

}  // namespace

const HostView& Planner::view(const std::string& host) const {
  static const HostView empty;
  auto it = views_.find(host);
  return it == views_.end() ? empty : it->second;
}

int64_t Planner::host_revision(const std::string& host) const {
  auto it = revisions_.find(host);
  return it == revisions_.end() ? 0 : it->second;
}

std::set<std::string> Planner::hosts_with_views() const {
  std::set<std::string> out;
  for (const auto& [h, v] : views_)
    if (!v.empty()) out.insert(h);
  return out;
}

std::set<std::string> Planner::hosts_of_network(const std::string& network) const {
  std::set<std::string> out;
  auto it = ports_by_network_.find(network);
  if (it == ports_by_network_.end()) return out;
  for (const auto& pid : it->second) out.insert(host_of(ports_.at(pid)));
  return out;
}

HostView Planner::compute(const std::string& host) const {
  HostView view;
  auto mine = ports_by_host_.find(host);
  if (mine == ports_by_host_.end() || !networks_.size()) return view;
  std::set<std::string> networks;
  for (const auto& pid : mine->second) {
    const auto& p = ports_.at(pid);
    auto net_id = str(p, "network_id");
    auto net = networks_.find(net_id);
    if (net == networks_.end()) continue;  // the port's network is not known (yet)
    networks.insert(net_id);
    view[{"port", pid}] = json::object{{"network_id", net_id}, {"mac_address", p.at("mac_address")},
                                       {"fixed_ips", ips_of(p)}, {"device", "tap" + pid.substr(0, 11)},
                                       {"admin_state_up", p.at("admin_state_up")}, {"mtu", net->second.at("mtu")}};
  }
  for (const auto& net_id : networks) {
    const auto& net = networks_.at(net_id);
    json::array vteps;
    std::set<std::string> seen;
    for (const auto& other : hosts_of_network(net_id)) {
      if (other == host) continue;
      auto h = hosts_.find(other);
      if (h == hosts_.end()) continue;
      auto vtep = str(h->second, "local_ip");
      if (!vtep.empty() && seen.insert(vtep).second) vteps.push_back(json::value(vtep));
    }
    view[{"network", net_id}] = json::object{
        {"network_type", net.at("provider:network_type")}, {"physical_network", net.at("provider:physical_network")},
        {"segmentation_id", net.at("provider:segmentation_id")}, {"mtu", net.at("mtu")},
        {"bridge", "brq" + net_id.substr(0, 11)}, {"flood", std::move(vteps)}};
    for (const auto& pid : ports_by_network_.at(net_id)) {
      const auto& p = ports_.at(pid);
      auto other = host_of(p);
      auto h = hosts_.find(other);
      if (other == host || h == hosts_.end()) continue;
      view[{"l2pop", pid}] = json::object{{"network_id", net_id}, {"mac_address", p.at("mac_address")},
                                          {"fixed_ips", ips_of(p)}, {"vtep", str(h->second, "local_ip")}};
    }
  }
  return view;
}

std::map<std::string, HostView> Planner::recompute() const {
  std::map<std::string, HostView> out;
  for (const auto& [host, ports] : ports_by_host_) {
    auto v = compute(host);
    if (!v.empty()) out[host] = std::move(v);
  }
  return out;
}

void Planner::refresh(const std::set<std::string>& hosts, int64_t revision) {
  touched_ = hosts;
  deltas_.clear();
  for (const auto& h : hosts) {
    if (h.empty()) continue;
    auto next = compute(h);
    auto& current = views_[h];
    if (next != current) {
      auto& slot = revisions_[h];
      int64_t rev = slot = std::max(slot + 1, revision);
      for (const auto& [key, obj] : current)
        if (!next.count(key)) deltas_.push_back({h, rev, key.first, key.second, std::nullopt});
      for (const auto& [key, obj] : next) {
        auto it = current.find(key);
        if (it == current.end() || it->second != obj) deltas_.push_back({h, rev, key.first, key.second, obj});
      }
      current = std::move(next);
    }
    if (current.empty()) views_.erase(h);
  }
}

void Planner::apply(const std::string& kind, const std::string& id, const std::optional<json::object>& obj,
                    int64_t revision) {
  std::set<std::string> hosts;
  if (kind == "ports") {
    if (auto old = ports_.find(id); old != ports_.end()) {
      auto old_host = host_of(old->second), old_net = str(old->second, "network_id");
      hosts = hosts_of_network(old_net);
      ports_by_network_[old_net].erase(id);
      ports_by_host_[old_host].erase(id);
      if (ports_by_host_[old_host].empty()) ports_by_host_.erase(old_host);
      ports_.erase(old);
    }
    if (obj && !host_of(*obj).empty()) {
      ports_[id] = *obj;
      auto net = str(*obj, "network_id");
      ports_by_network_[net].insert(id);
      ports_by_host_[host_of(*obj)].insert(id);
      for (const auto& h : hosts_of_network(net)) hosts.insert(h);
    }
  } else if (kind == "networks") {
    hosts = hosts_of_network(id);
    if (obj) networks_[id] = *obj;
    else networks_.erase(id);
  } else if (kind == "hosts") {
    // A host's VTEP appears in the views of hosts sharing a network with it.
    hosts.insert(id);
    if (auto mine = ports_by_host_.find(id); mine != ports_by_host_.end())
      for (const auto& pid : mine->second)
        for (const auto& h : hosts_of_network(str(ports_.at(pid), "network_id"))) hosts.insert(h);
    if (obj) hosts_[id] = *obj;
    else hosts_.erase(id);
  } else {
    touched_.clear();
    return;
  }
  refresh(hosts, revision);
}

}  // namespace nt
