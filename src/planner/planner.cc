#include "planner/planner.h"

#include "planner/port_facts.h"
#include "channel/entries.h"

#include <algorithm>
#include <thread>

namespace nt {
namespace json = boost::json;

using planner_detail::host_of;
using planner_detail::str;

namespace {

// A router interface is the same port (IP and MAC) on every host of the router: never an
// l2pop entry, which would point that MAC at one host's VTEP.
bool distributed(const json::object& port) { return planner_detail::is_interface(str(port, "device_owner")); }

std::vector<std::string> ips_of(const json::object& port) {
  std::vector<std::string> out;
  for (const auto& ip : jget::arr(port, "fixed_ips"))
    if (ip.is_object()) out.push_back(str(ip.as_object(), "ip_address"));
  return out;
}

// The three L2 entries, built the same way by the incremental path, rebuild and the oracle.
json::object network_json(const std::string& net_id, const json::object& n, std::vector<std::string> flood) {
  return view::encode(view::Network{str(n, "provider:network_type"), jget::opt_str(n, "provider:physical_network"),
                                    jget::opt_num(n, "provider:segmentation_id"), jget::num(n, "mtu", 1500),
                                    devname::bridge(net_id), std::move(flood)});
}
json::object port_json(const std::string& pid, const json::object& p, const json::object& net) {
  return view::encode(view::Port{str(p, "network_id"), str(p, "mac_address"), ips_of(p), devname::tap(pid),
                                 jget::flag(p, "admin_state_up", true), jget::num(net, "mtu", 1500)});
}
json::object l2pop_json(const json::object& p, const json::object& host) {
  return view::encode(view::L2pop{str(p, "network_id"), str(p, "mac_address"), ips_of(p), str(host, "local_ip")});
}

}  // namespace

const SharedView& Planner::shared_view(const std::string& host) const {
  static const SharedView empty;
  auto it = views_.find(host);
  return it == views_.end() ? empty : it->second;
}

WireView Planner::view(const std::string& host) const {
  WireView out;
  for (const auto& [key, obj] : shared_view(host)) out.emplace(key, *obj);
  return out;
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
  if (auto it = network_hosts_.find(network); it != network_hosts_.end())
    for (const auto& [host, count] : it->second) out.insert(host);
  return out;
}

WireView Planner::compute(const std::string& host) const {
  WireView view;
  std::set<std::string> routers;
  for (const auto& [r, obj] : routers_) routers.insert(r);
  add_l3_entries(host, routers, view);
  auto mine = ports_by_host_.find(host);
  if (mine == ports_by_host_.end() || !networks_.size()) return view;
  std::set<std::string> networks;
  for (const auto& pid : mine->second) {
    const auto& p = ports_.at(pid);
    auto net_id = str(p, "network_id");
    auto net = networks_.find(net_id);
    if (net == networks_.end()) continue;  // the port's network is not known (yet)
    networks.insert(net_id);
    view[{"port", pid}] = port_json(pid, p, net->second);
  }
  for (const auto& net_id : networks) {
    std::vector<std::string> vteps;
    std::set<std::string> seen;
    for (const auto& other : hosts_of_network(net_id)) {
      if (other == host) continue;
      auto h = hosts_.find(other);
      if (h == hosts_.end()) continue;
      auto vtep = str(h->second, "local_ip");
      if (!vtep.empty() && seen.insert(vtep).second) vteps.push_back(vtep);
    }
    view[{"network", net_id}] = network_json(net_id, networks_.at(net_id), std::move(vteps));
    for (const auto& pid : ports_by_network_.at(net_id)) {
      const auto& p = ports_.at(pid);
      auto other = host_of(p);
      auto h = hosts_.find(other);
      if (other == host || h == hosts_.end() || distributed(p)) continue;
      view[{"l2pop", pid}] = l2pop_json(p, h->second);
    }
  }
  return view;
}

std::map<std::string, WireView> Planner::recompute() const {
  std::map<std::string, WireView> out;
  std::set<std::string> hosts;
  for (const auto& [host, ports] : ports_by_host_) hosts.insert(host);
  for (const auto& [router, gws] : gateways_) hosts.insert(gws.begin(), gws.end());
  for (const auto& host : hosts) {
    auto v = compute(host);
    if (!v.empty()) out[host] = std::move(v);
  }
  return out;
}

bool Planner::host_on_network(const std::string& host, const std::string& net) const {
  auto h = host_networks_.find(host);
  return h != host_networks_.end() && h->second.count(net) > 0;
}

// The (host, VTEP) pairs of a network, in host order; cached for the duration of one
// refresh(), where every host of a network asks for the same list.
const Planner::FloodMembers& Planner::flood_members(const std::string& net_id) const {
  if (caching_flood_)
    if (auto it = flood_cache_.find(net_id); it != flood_cache_.end()) return it->second;
  FloodMembers m;
  std::set<std::string_view> seen;
  for (const auto& [other, count] : network_hosts_.at(net_id)) {
    auto h = hosts_.find(other);
    if (h == hosts_.end()) continue;
    auto* ip = h->second.if_contains("local_ip");
    if (!ip || !ip->is_string() || ip->get_string().empty()) continue;
    std::string_view vtep = ip->get_string();  // stable: hosts_ does not change during a refresh
    if (!seen.insert(vtep).second) m.shared = true;
    m.vteps.emplace_back(&other, vtep);
  }
  if (!caching_flood_ || flood_frozen_) {
    thread_local FloodMembers scratch;
    scratch = std::move(m);
    return scratch;
  }
  return flood_cache_[net_id] = std::move(m);
}

std::optional<json::object> Planner::network_entry(const std::string& host, const std::string& net_id) const {
  auto net = networks_.find(net_id);
  if (net == networks_.end() || !host_on_network(host, net_id)) return std::nullopt;
  const auto& members = flood_members(net_id);
  std::vector<std::string> vteps;
  vteps.reserve(members.vteps.size());
  std::set<std::string_view> seen;
  for (const auto& [other, vtep] : members.vteps) {
    if (*other == host) continue;
    if (!members.shared || seen.insert(vtep).second) vteps.emplace_back(vtep);
  }
  return network_json(net_id, net->second, std::move(vteps));
}

std::optional<json::object> Planner::port_entry(const std::string& host, const std::string& pid) const {
  auto it = ports_.find(pid);
  if (it == ports_.end() || host_of(it->second) != host) return std::nullopt;
  auto net = networks_.find(str(it->second, "network_id"));
  if (net == networks_.end()) return std::nullopt;
  return port_json(pid, it->second, net->second);
}

std::optional<json::object> Planner::l2pop_entry(const std::string& host, const std::string& pid) const {
  auto it = ports_.find(pid);
  if (it == ports_.end()) return std::nullopt;
  const auto& p = it->second;
  auto other = host_of(p);
  auto net_id = str(p, "network_id");
  auto h = hosts_.find(other);
  if (distributed(p) || other == host || h == hosts_.end() || !networks_.count(net_id) || !host_on_network(host, net_id)) return std::nullopt;
  return l2pop_json(p, h->second);
}

std::optional<json::object> Planner::entry(const std::string& host, const ViewKey& key) const {
  auto kind = view::parse_kind(key.first);
  if (!kind) return std::nullopt;
  switch (*kind) {
    case view::Kind::network: return network_entry(host, key.second);
    case view::Kind::port: return port_entry(host, key.second);
    case view::Kind::l2pop: return l2pop_entry(host, key.second);
    case view::Kind::router: return router_entry(host, key.second);
    case view::Kind::snat: return snat_entry(host, key.second);
    case view::Kind::fip: return fip_entry(host, key.second);
    case view::Kind::arp: return arp_entry(host, key.second);
  }
  return std::nullopt;
}

void Planner::add_network_keys(Keys& keys, const std::string& host, const std::string& net) const {
  auto& mine = keys[host];
  mine.insert({"network", net});
  if (auto ports = ports_by_network_.find(net); ports != ports_by_network_.end())
    for (const auto& pid : ports->second) mine.insert({"l2pop", pid});
}

void Planner::index_port(const std::string& id, const json::object& port, int delta) {
  auto host = host_of(port), net = str(port, "network_id");
  auto& by_net = ports_by_network_[net];
  auto& by_host = ports_by_host_[host];
  auto& count = host_networks_[host][net];
  if (delta > 0) by_net.insert(id), by_host.insert(id);
  else by_net.erase(id), by_host.erase(id);
  count += delta;
  network_hosts_[net][host] = count;
  if (count == 0) host_networks_[host].erase(net), network_hosts_[net].erase(host);
  if (host_networks_[host].empty()) host_networks_.erase(host);
  if (network_hosts_[net].empty()) network_hosts_.erase(net);
  if (by_net.empty()) ports_by_network_.erase(net);
  if (by_host.empty()) ports_by_host_.erase(host);
}

Planner::Keys Planner::port_change(const std::string& id, const std::optional<json::object>& obj) {
  std::set<std::string> nets, homes, hosts;
  auto old = ports_.find(id);
  if (old != ports_.end()) nets.insert(str(old->second, "network_id")), homes.insert(host_of(old->second));
  bool bound = obj && !host_of(*obj).empty();
  if (bound) nets.insert(str(*obj, "network_id")), homes.insert(host_of(*obj));
  std::map<std::pair<std::string, std::string>, bool> member_before;
  for (const auto& h : homes)
    for (const auto& n : nets) member_before[{h, n}] = host_on_network(h, n);
  for (const auto& n : nets) hosts.merge(hosts_of_network(n));
  if (old != ports_.end()) index_port(id, old->second, -1), ports_.erase(old);
  if (bound) ports_[id] = *obj, index_port(id, *obj, +1);
  for (const auto& n : nets) hosts.merge(hosts_of_network(n));
  hosts.insert(homes.begin(), homes.end());
  Keys keys;
  for (const auto& h : hosts) {
    auto& mine = keys[h];
    mine.insert({"port", id});
    mine.insert({"l2pop", id});
    for (const auto& n : nets) mine.insert({"network", n});
  }
  // A host joining or leaving a network gains or loses all of that network's entries.
  for (const auto& [hn, was] : member_before)
    if (was != host_on_network(hn.first, hn.second)) add_network_keys(keys, hn.first, hn.second);
  return keys;
}

Planner::Keys Planner::network_change(const std::string& id, const std::optional<json::object>& obj) {
  if (obj) networks_[id] = *obj;
  else networks_.erase(id);
  Keys keys;
  auto ports = ports_by_network_.find(id);
  for (const auto& h : hosts_of_network(id)) {
    auto& mine = keys[h];
    mine.insert({"network", id});
    if (ports != ports_by_network_.end())
      for (const auto& pid : ports->second) mine.insert({"port", pid}), mine.insert({"l2pop", pid});
  }
  return keys;
}

Planner::Keys Planner::host_change(const std::string& id, const std::optional<json::object>& obj) {
  if (obj) hosts_[id] = *obj;
  else hosts_.erase(id);
  Keys keys;
  // The host's VTEP is in the flood lists and l2pop entries of the hosts sharing its networks.
  std::map<std::string, std::vector<std::string>> mine_by_net;
  if (auto mine = ports_by_host_.find(id); mine != ports_by_host_.end())
    for (const auto& pid : mine->second) mine_by_net[str(ports_.at(pid), "network_id")].push_back(pid);
  for (const auto& [net, pids] : mine_by_net)
    for (const auto& h : hosts_of_network(net)) {
      auto& theirs = keys[h];
      theirs.insert({"network", net});
      for (const auto& pid : pids) theirs.insert({"l2pop", pid});
    }
  keys[id];  // touched, even if nothing of its own view depends on its record
  return keys;
}

void Planner::refresh(const Keys& keys, int64_t revision) {
  touched_.clear();
  deltas_.clear();
  caching_flood_ = true;
  flood_cache_.clear();
  interface_cache_.clear();
  struct StopCaching {
    const Planner* p;
    ~StopCaching() { p->caching_flood_ = false, p->flood_cache_.clear(), p->interface_cache_.clear(); }
  } stop{this};
  std::map<std::string, ViewEntry> l2pop;  // one object per port for every host that gets it
  for (const auto& [host, wanted] : keys) {
    if (host.empty()) continue;
    touched_.insert(host);
    auto& view = views_[host];
    std::vector<std::pair<ViewKey, std::optional<json::object>>> changes;
    for (const auto& key : wanted) {
      auto want = entry(host, key);
      auto cur = view.find(key);
      if (cur == view.end() ? !want : (want && *want == *cur->second)) continue;
      changes.emplace_back(key, std::move(want));
    }
    if (!changes.empty()) {
      auto& slot = revisions_[host];
      int64_t rev = slot = std::max(slot + 1, revision);
      for (auto& [key, want] : changes) {
        if (!want) {
          view.erase(key);
        } else if (key.first == "l2pop") {
          auto& shared = l2pop[key.second];
          if (!shared) shared = std::make_shared<const json::object>(*want);
          view[key] = shared;
        } else {
          view[key] = std::make_shared<const json::object>(*want);
        }
        deltas_.push_back({host, rev, key.first, key.second, std::move(want)});
      }
    }
    if (view.empty()) views_.erase(host);
  }
}

void Planner::apply(const std::string& kind, const std::string& id, const std::optional<json::object>& obj,
                    int64_t revision) {
  if (kind == "ports") return refresh(port_with_l3(id, obj), revision);
  if (kind == "networks") {
    auto keys = network_change(id, obj);
    auto routers = routers_with_external(id);
    if (auto it = network_routers_.find(id); it != network_routers_.end())
      for (const auto& [r, n] : it->second) routers.insert(r);
    add_router_keys(keys, routers);
    return refresh(keys, revision);
  }
  if (kind == "hosts") {
    auto keys = host_change(id, obj);
    std::set<std::string> routers;  // its DVR MAC is in their entries
    for (const auto& [r, hosts] : l3_hosts_)
      if (hosts.count(id)) routers.insert(r);
    add_router_keys(keys, routers);
    return refresh(keys, revision);
  }
  if (kind == "routers" || kind == "subnets" || kind == "floatingips" || kind == "l3_bindings")
    return refresh(l3_change(kind, id, obj), revision);
  touched_.clear();
  deltas_.clear();
}

void Planner::load(const std::string& kind, const std::string& id, const json::object& obj) {
  if (kind == "networks") networks_[id] = obj;
  else if (kind == "hosts") hosts_[id] = obj;
  else if (kind == "ports") {
    // L3 inputs (gateways_ above all) load first: the L2 side sees the effective port.
    if (auto old = all_ports_.find(id); old != all_ports_.end()) index_l3_port(id, old->second, false);
    auto& stored = all_ports_[id] = obj;
    stored["id"] = id;
    index_l3_port(id, stored, true);
    auto eff = *effective(obj);
    if (host_of(eff).empty()) return;
    if (auto old = ports_.find(id); old != ports_.end()) index_port(id, old->second, -1);
    ports_[id] = eff;
    index_port(id, eff, +1);
  } else if (kind == "routers" || kind == "subnets" || kind == "floatingips" || kind == "l3_bindings") {
    l3_change(kind, id, obj);
  }
}

SharedView Planner::build_view(const std::string& host, const L2popByNetwork& l2pop,
                                const std::set<std::string>& routers, const ArpByRouter& arp) const {
  SharedView view;
  WireView l3;
  add_l3_entries(host, routers, l3, false);
  for (auto& [key, obj] : l3) {
    view.emplace(key, std::make_shared<const json::object>(std::move(obj)));
    // A router's ARP entries are the same on every host that has it: shared.
    if (key.first == "router")
      if (auto a = arp.find(key.second); a != arp.end()) view.insert(a->second.begin(), a->second.end());
  }
  if (!ports_by_host_.count(host)) return view;
  for (const auto& pid : ports_by_host_.at(host))
    if (auto e = port_entry(host, pid)) view.emplace(ViewKey{"port", pid}, std::make_shared<const json::object>(std::move(*e)));
  std::vector<const L2popItem*> remote;
  for (const auto& [net, count] : host_networks_.at(host)) {
    auto e = network_entry(host, net);
    if (!e) continue;
    view.emplace(ViewKey{"network", net}, std::make_shared<const json::object>(std::move(*e)));
    if (auto items = l2pop.find(net); items != l2pop.end())
      for (const auto& item : items->second)
        if (*item.host != host) remote.push_back(&item);
  }
  // Inserted in key order, each at the end: no searching.
  std::sort(remote.begin(), remote.end(), [](const auto* a, const auto* b) { return *a->pid < *b->pid; });
  auto hint = view.end();
  for (const auto* item : remote) hint = std::next(view.emplace_hint(hint, ViewKey{"l2pop", *item->pid}, item->entry));
  return view;
}

void Planner::rebuild(int64_t revision) {
  // Router interfaces bound, for L2, on their routers' DVR hosts (indexes only: every
  // view is computed below anyway).
  for (const auto& [r, obj] : routers_) {
    auto ports = router_ports_.find(r);
    if (ports == router_ports_.end()) continue;
    auto dvr = dvr_hosts(r);
    for (const auto& pid : ports->second) {
      const auto& p = all_ports_.at(pid);
      if (!distributed(p)) continue;
      for (const auto& h : dvr) {
        if (!dvr_bound_[pid].insert(h).second) continue;
        json::object bound = p;
        bound["binding:host_id"] = h;
        bound["binding:vif_type"] = "bridge";
        auto id = pid + "@" + h;
        index_port(id, bound, +1);
        ports_[id] = std::move(bound);
      }
    }
  }
  // Every port's l2pop entry once, grouped by network; the host views share them.
  L2popByNetwork l2pop;
  for (const auto& [pid, p] : ports_) {
    auto h = hosts_.find(host_of(p));
    auto net = str(p, "network_id");
    if (h == hosts_.end() || !networks_.count(net) || distributed(p)) continue;
    auto entry = std::make_shared<const json::object>(l2pop_json(p, h->second));
    l2pop[net].push_back(L2popItem{&pid, &h->first, std::move(entry)});
  }
  // The routers each host gets entries for.
  l3_hosts_.clear();
  l3_external_.clear();
  dvr_given_.clear();
  std::map<std::string, std::set<std::string>> host_routers;
  for (const auto& [r, obj] : routers_) {
    auto hosts = l3_hosts(r);
    for (const auto& h : hosts) host_routers[h].insert(r);
    if (!hosts.empty()) l3_hosts_[r] = std::move(hosts);
    if (auto ext = external_network(r); !ext.empty()) l3_external_[r] = ext;
    if (auto dvr = dvr_hosts(r); !dvr.empty()) dvr_given_[r] = std::move(dvr);
  }
  ArpByRouter arp;
  for (const auto& [r, hosts] : l3_hosts_)
    for (const auto& pid : router_subnet_ports(r))
      if (auto a = arp_entry("", view::ArpId{r, pid}.str(), true))
        arp[r].emplace_back(ViewKey{"arp", view::ArpId{r, pid}.str()}, std::make_shared<const json::object>(std::move(*a)));
  // Every network's flood members once; the workers only read them.
  caching_flood_ = true;
  flood_cache_.clear();
  for (const auto& [net, hosts] : network_hosts_) flood_members(net);
  flood_frozen_ = true;
  // Hosts are independent: build them on every core.
  static const std::set<std::string> none;
  std::set<std::string> names;
  for (const auto& [host, pids] : ports_by_host_) names.insert(host);
  for (const auto& [host, rs] : host_routers) names.insert(host);
  std::vector<const std::string*> hosts;
  for (const auto& host : names) hosts.push_back(&host);
  std::vector<SharedView> built(hosts.size());
  unsigned workers = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < workers; ++w)
    pool.emplace_back([&, w] {
      for (size_t i = w; i < hosts.size(); i += workers) built[i] = build_view(*hosts[i], l2pop, host_routers.count(*hosts[i]) ? host_routers.at(*hosts[i]) : none, arp);
    });
  for (auto& t : pool) t.join();
  flood_frozen_ = caching_flood_ = false;
  flood_cache_.clear();
  views_.clear();
  for (size_t i = 0; i < hosts.size(); ++i)
    if (!built[i].empty()) {
      views_.emplace_hint(views_.end(), *hosts[i], std::move(built[i]));
      revisions_[*hosts[i]] = std::max(revisions_[*hosts[i]], revision);
    }
  touched_.clear();
  deltas_.clear();
}

}  // namespace nt
