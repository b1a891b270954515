#include "planner/l2.h"

#include <algorithm>
#include <thread>

#include "common/names.h"

namespace nt::planner {
namespace json = boost::json;
using view::Kind;

namespace {

// A router interface is the same port (IP and MAC) on every host of the router: never an
// l2pop entry, which would point that MAC at one host's VTEP.
bool distributed(const PortRow& p) { return owner::is_router_interface(p.device_owner); }

std::vector<std::string> ips_of(const PortRow& p) {
  std::vector<std::string> out;
  out.reserve(p.fixed_ips.size());
  for (const auto& ip : p.fixed_ips) out.push_back(ip.ip_address);
  return out;
}

view::Port port_of(const std::string& id, const PortRow& p, const NetworkRow& net) {
  return {p.network_id, p.mac_address, ips_of(p), devname::tap(id), p.admin_state_up, net.mtu, !owner::is_network_service(p.device_owner)};
}
json::object port_json(const std::string& id, const PortRow& p, const NetworkRow& net) { return view::encode(port_of(id, p, net)); }

// Where the binding has its tap: its host, and the standby gateway hosts of an sg-/qg- port.
std::vector<std::string> homes(const PortRow& p) {
  std::vector<std::string> out{p.bound_host()};
  for (const auto& h : p.standby_hosts)
    if (h != out[0] && std::find(out.begin(), out.end(), h) == out.end()) out.push_back(h);
  return out;
}

bool home_of(const PortRow& p, const std::string& host) {
  return p.bound_host() == host || std::find(p.standby_hosts.begin(), p.standby_hosts.end(), host) != p.standby_hosts.end();
}

}  // namespace

json::object L2Node::l2pop_json(const PortRow& p, const HostRow& host) const {
  bool vm = !owner::is_network_service(p.device_owner);
  view::L2pop out{p.network_id, p.mac_address, ips_of(p), host.local_ip, {},
                  vm && (!p.allowed_address_pairs.empty() || !p.port_security_enabled)};
  // Also with one gateway host: the hosts that send to it keep BFD sessions with it, as it
  // does with them (sessions configured at one end only never come up).
  if (p.gateway_port && !host.local_ip.empty()) {
    out.candidates.push_back(host.local_ip);
    for (const auto& h : p.standby_hosts)
      if (auto row = in_.hosts.find(h); row != in_.hosts.end() && !row->second.local_ip.empty())
        out.candidates.push_back(row->second.local_ip);
  }
  return view::encode(out);
}

std::set<std::string> L2Node::hosts() const {
  std::set<std::string> out;
  for (const auto& [host, ports] : ports_by_host_) out.insert(host);
  return out;
}

std::set<std::string> L2Node::hosts_of_network(const std::string& network) const {
  std::set<std::string> out;
  if (auto it = network_hosts_.find(network); it != network_hosts_.end())
    for (const auto& [host, count] : it->second) out.insert(host);
  return out;
}

L2Node::HostNetworks L2Node::networks_of(const std::string& host) const {
  HostNetworks out;
  out.node_ = this;
  out.host_ = &host;
  return out;
}

bool L2Node::HostNetworks::has(const Common& c) {
  if (!found_) {
    found_ = true;
    if (auto h = node_->host_networks_.find(*host_); h != node_->host_networks_.end()) networks_ = &h->second;
  }
  if (!networks_ || *host_ == c.except) return false;
  if (!asked_ || c.network != last_) asked_ = true, last_ = c.network, last_on_ = networks_->count(c.network) > 0;
  return last_on_;
}

bool L2Node::host_on_network(const std::string& host, const std::string& network) const {
  auto h = host_networks_.find(host);
  return h != host_networks_.end() && h->second.count(network) > 0;
}

json::object L2Node::network_json(const NetworkRow& n) const {
  return view::encode(view::Network{n.network_type, n.physical_network, n.segmentation_id, n.mtu, devname::bridge(n.id)});
}

// "<network>|<other host>": on the network's hosts but the other, which must have a VTEP.
L2Node::Common L2Node::flood_common(const std::string& id) const {
  auto parsed = view::ArpId::parse(id);
  if (!parsed) return {};
  auto& [network, other] = *parsed;
  if (!in_.networks.count(network) || !host_on_network(other, network)) return {};
  auto h = in_.hosts.find(other);
  if (h == in_.hosts.end() || h->second.local_ip.empty()) return {};
  return {view::encode(view::Flood{network, h->second.local_ip}), std::move(network), std::move(other)};
}

// A bound port behind its host's VTEP, on the other hosts of its network.
L2Node::Common L2Node::l2pop_common(const std::string& id) const {
  auto it = bound_.find(id);
  if (it == bound_.end()) return {};
  const auto& p = it->second;
  auto h = in_.hosts.find(p.bound_host());
  if (distributed(p) || h == in_.hosts.end() || !in_.networks.count(p.network_id)) return {};
  return {l2pop_json(p, h->second), p.network_id, p.bound_host()};
}

L2Node::Common L2Node::common(Kind kind, const std::string& id) const {
  if (kind == Kind::flood) return flood_common(id);
  if (kind == Kind::l2pop) return l2pop_common(id);
  if (kind != Kind::network) return {};
  auto net = in_.networks.find(id);
  if (net == in_.networks.end()) return {};
  return {network_json(net->second), id, {}};
}

std::optional<json::object> L2Node::entry(const std::string& host, Kind kind, const std::string& id) const {
  if (common_kind(kind)) {
    auto c = common(kind, id);
    return c.content && has(host, c) ? std::move(c.content) : std::nullopt;
  }
  if (kind != Kind::port) return std::nullopt;
  auto it = bound_.find(id);
  return it == bound_.end() ? std::nullopt : port_entry(host, id, it->second);
}

std::optional<json::object> L2Node::port_entry(const std::string& host, const std::string& id, const PortRow& p) const {
  auto net = in_.networks.find(p.network_id);
  if (net == in_.networks.end() || !home_of(p, host)) return std::nullopt;
  return port_json(id, p, net->second);
}

void L2Node::recompute(const std::string& host, WireView& out) const {
  auto mine = ports_by_host_.find(host);
  if (mine == ports_by_host_.end()) return;
  std::set<std::string> networks;
  for (const auto& [id, row] : mine->second) {
    const auto& p = *row;
    auto net = in_.networks.find(p.network_id);
    if (net == in_.networks.end()) continue;  // the port's network is not known (yet)
    networks.insert(p.network_id);
    out[key(Kind::port, id)] = port_json(id, p, net->second);
  }
  for (const auto& net_id : networks) {
    out[key(Kind::network, net_id)] = network_json(in_.networks.at(net_id));
    for (const auto& other : hosts_of_network(net_id)) {
      auto id = net_id + "|" + other;
      if (auto e = entry(host, Kind::flood, id)) out[key(Kind::flood, id)] = std::move(*e);
    }
    auto ports = l2pop_ports_.find(net_id);
    if (ports == l2pop_ports_.end()) continue;
    for (const auto& id : ports->second) {
      const auto& p = bound_.at(id);
      auto h = in_.hosts.find(p.bound_host());
      if (p.bound_host() == host || h == in_.hosts.end()) continue;
      out[key(Kind::l2pop, id)] = l2pop_json(p, h->second);
    }
  }
  ++stats.recomputes;
}

void L2Node::index(const std::string& id, const PortRow& port, int delta) {
  const auto& net = port.network_id;
  auto& of_networks = distributed(port) ? interfaces_ : l2pop_ports_;
  // A boot indexes the bindings in id order: inserts hinted at the end cost no search.
  auto& by_net = of_networks[net];
  if (delta > 0) by_net.insert(by_net.end(), id);
  else by_net.erase(id);
  if (by_net.empty()) of_networks.erase(net);
  for (const auto& host : homes(port)) {
    // Each map looked up once (a boot indexes every binding here).
    auto by_host = ports_by_host_.try_emplace(host).first;
    auto nets_of_host = host_networks_.try_emplace(host).first;
    auto hosts_of_net = network_hosts_.try_emplace(net).first;
    auto count = nets_of_host->second.try_emplace(net, 0).first;
    if (delta > 0) by_host->second.insert_or_assign(by_host->second.end(), id, &port);
    else by_host->second.erase(id);
    count->second += delta;
    hosts_of_net->second[host] = count->second;
    if (count->second == 0) nets_of_host->second.erase(count), hosts_of_net->second.erase(host);
    if (nets_of_host->second.empty()) host_networks_.erase(nets_of_host);
    if (hosts_of_net->second.empty()) network_hosts_.erase(hosts_of_net);
    if (by_host->second.empty()) ports_by_host_.erase(by_host);
  }
}

// `others`: every host on the network before or after the change (some may have left with
// it). Says how many marks it made.
size_t L2Node::add_network_keys(Keys& keys, const std::string& host, const std::string& network,
                                const std::vector<const std::string*>& others) const {
  auto& mine = keys[host];
  size_t marked = mine.size();
  mine.insert(Kind::network, network);
  if (auto ports = l2pop_ports_.find(network); ports != l2pop_ports_.end())
    for (const auto& id : ports->second) mine.insert(Kind::l2pop, id);
  marked = mine.size() - marked;
  // Its VTEP in the others' flood entries, theirs in its own: one entry each way per host.
  auto prefix = network + "|";
  for (const auto* other : others) {
    if (*other == host) continue;
    mine.insert(Kind::flood, prefix + *other);
    keys[*other].insert(Kind::flood, prefix + host);
    marked += 2;
  }
  return marked;
}

void L2Node::bind(const std::string& id, const std::optional<PortRow>& port, Keys& keys) {
  ++stats.changes;
  std::set<std::string> nets, homes;
  auto old = bound_.find(id);
  auto add_homes = [&](const PortRow& p) {
    for (auto& h : planner::homes(p)) homes.insert(std::move(h));
  };
  if (old != bound_.end()) nets.insert(old->second.network_id), add_homes(old->second);
  bool bound = port && !port->bound_host().empty();
  if (bound) nets.insert(port->network_id), add_homes(*port);
  // Only this binding's homes can join or leave a network with it.
  struct Membership {
    const std::string *host, *network;
    bool before, after = false;
  };
  std::vector<Membership> memberships;
  for (const auto& h : homes)
    for (const auto& n : nets) memberships.push_back({&h, &n, host_on_network(h, n)});
  std::optional<PortRow> old_row;
  if (old != bound_.end()) old_row = std::move(old->second), index(id, *old_row, -1), bound_.erase(old);
  if (bound) {
    const auto& row = bound_[id] = *port;
    index(id, row, +1);  // the row where bound_ holds it: the host's index points at it
  }
  for (auto& m : memberships) m.after = host_on_network(*m.host, *m.network);
  // A network's hosts before or after: those on it now and the homes that left it.
  auto members = [&](const std::string& network) {
    std::vector<const std::string*> out;
    if (auto it = network_hosts_.find(network); it != network_hosts_.end())
      for (const auto& [h, count] : it->second) out.push_back(&h);
    for (const auto& m : memberships)
      if (*m.network == network && m.before && !m.after) out.push_back(m.host);
    return out;
  };
  size_t marked = 0;
  // Its port entry is only where it has (had) its tap; its l2pop entry on every host of its
  // networks before and after (its homes among them), unless it has none anywhere (a router
  // interface: the same MAC on every host of the router); a network entry changes only on a
  // host joining or leaving it (below).
  for (const auto& h : homes) keys[h].insert(Kind::port, id), ++marked;
  if ((old_row && !distributed(*old_row)) || (bound && !distributed(*port)))
    for (const auto& n : nets)
      for (const auto* h : members(n)) keys[*h].insert(Kind::l2pop, id), ++marked;
  // A host joining or leaving a network gains or loses all of that network's entries.
  for (const auto& m : memberships)
    if (m.before != m.after) marked += add_network_keys(keys, *m.host, *m.network, members(*m.network));
  stats.keys += marked;
}

Keys L2Node::network_changed(const std::string& network) {
  ++stats.changes;
  Keys keys;
  auto ports = l2pop_ports_.find(network);
  auto hosts = hosts_of_network(network);
  // Flood entries depend on the network only by its existence: re-derived when it comes or goes.
  bool exists = in_.networks.count(network) > 0;
  bool came_or_went = exists != (known_networks_.count(network) > 0);
  if (exists) known_networks_.insert(network);
  else known_networks_.erase(network);
  for (const auto& h : hosts) {
    auto& mine = keys[h];
    mine.insert(Kind::network, network);
    if (ports != l2pop_ports_.end())
      for (const auto& id : ports->second) mine.insert(Kind::l2pop, id);
    if (came_or_went)
      for (const auto& other : hosts)
        if (other != h) mine.insert(Kind::flood, network + "|" + other);
  }
  // Port entries (they carry the network's MTU) where the bindings have their taps.
  for (const auto* bindings : {&l2pop_ports_, &interfaces_})
    if (auto it = bindings->find(network); it != bindings->end())
      for (const auto& id : it->second)
        for (const auto& h : homes(bound_.at(id))) keys[h].insert(Kind::port, id);
  for (const auto& [h, ks] : keys) stats.keys += ks.size();
  return keys;
}

Keys L2Node::host_changed(const std::string& host) {
  ++stats.changes;
  Keys keys;
  // The host's VTEP is in the flood lists and l2pop entries of the hosts sharing its networks.
  std::map<std::string, std::vector<std::string>> mine_by_net;
  if (auto mine = ports_by_host_.find(host); mine != ports_by_host_.end())
    for (const auto& [id, row] : mine->second) mine_by_net[row->network_id].push_back(id);
  for (const auto& [net, ids] : mine_by_net)
    for (const auto& h : hosts_of_network(net)) {
      auto& theirs = keys[h];
      theirs.insert(Kind::flood, net + "|" + host);
      for (const auto& id : ids) theirs.insert(Kind::l2pop, id);
    }
  keys[host];  // touched, even if nothing of its own view depends on its record
  for (const auto& [h, ks] : keys) stats.keys += ks.size();
  return keys;
}

void L2Node::clear() {
  bound_.clear(), l2pop_ports_.clear(), interfaces_.clear(), ports_by_host_.clear(), host_networks_.clear(), network_hosts_.clear();
}

void L2Node::load(const std::string& id, const PortRow& port) {
  if (!port.bound_host().empty()) load(id, PortRow(port));
}

void L2Node::load(const std::string& id, PortRow&& port) {
  if (port.bound_host().empty()) return;
  // Usually after every binding loaded so far (the ports come in id order): no search.
  auto at = bound_.empty() || bound_.rbegin()->first < id ? bound_.end() : bound_.lower_bound(id);
  if (at != bound_.end() && at->first == id) index(id, at->second, -1), at->second = std::move(port);
  else at = bound_.emplace_hint(at, id, std::move(port));
  index(id, at->second, +1);
}

void L2Node::prepare() {
  known_networks_.clear();
  for (const auto& [id, net] : in_.networks) known_networks_.insert(id);
  settle_refs();  // (a rebuild that threw before finish(): its views are gone, its reserve is not)
  shared_by_name_.clear(), shared_.clear();
  // Every network's entry once; the host views share them.
  for (const auto& [id, net] : in_.networks)
    if (network_hosts_.count(id))
      shared_[id].network.emplace(nullptr, EntryId(id), ViewEntry::of(network_json(net)));
  // Every (network, host) flood entry once, on a thread of its own: it writes only the
  // flood lists of networks that have their entry already (a network with hosts does).
  std::jthread floods([this] {
    for (const auto& [net, hosts] : network_hosts_) {
      auto shared = shared_.find(net);
      if (shared == shared_.end()) continue;
      for (const auto& [host, count] : hosts)
        if (auto h = in_.hosts.find(host); h != in_.hosts.end() && !h->second.local_ip.empty())
          shared->second.flood.emplace_back(&h->first, EntryId(net + "|" + host),
                                            ViewEntry::of(view::encode(view::Flood{net, h->second.local_ip})));
    }
  });
  // Every binding's l2pop entry once, by network in port order; a router interface's port
  // entry once for all the hosts it is bound on (its bindings, "<port>@<host>", are
  // neighbours in id order: each one's content is compared with the last one's).
  interface_ports_.clear();
  interface_ports_.reserve(bound_.size() / 2);
  std::optional<view::Port> last_port;
  ViewEntry last_entry;
  uint32_t order = 0;
  for (const auto& [id, p] : bound_) {
    if (distributed(p)) {
      auto net = in_.networks.find(p.network_id);
      if (net == in_.networks.end()) continue;
      auto port = port_of(id, p, net->second);
      if (port != last_port) last_entry = ViewEntry::of(view::encode(port)), last_port = std::move(port);
      interface_ports_.emplace(&p, last_entry);
      continue;
    }
    auto h = in_.hosts.find(p.bound_host());
    auto shared = shared_.find(p.network_id);
    if (h == in_.hosts.end() || shared == shared_.end()) continue;
    shared->second.l2pop.emplace_back(&h->first, EntryId(id), ViewEntry::of(l2pop_json(p, h->second)), order++);
  }
  floods.join();
  reserve_refs();
  // Hashed for the workers, who look every network of every host up (a search of the
  // sorted map is a dozen cache misses on its nodes).
  shared_by_name_.reserve(shared_.size());
  for (const auto& [net, shared] : shared_) shared_by_name_.emplace(net, &shared);
}

void L2Node::reserve_refs() {
  for (auto& [net, shared] : shared_) {
    auto hosts = network_hosts_.find(net);
    uint32_t reserved = hosts == network_hosts_.end() ? 0 : static_cast<uint32_t>(hosts->second.size());
    shared.reserved = reserved;
    shared.each([reserved](const Shared& item) { item.id.add_refs(reserved), item.entry.add_refs(reserved); });
  }
}

// What each entry's holders took of its reserve: every host that visited the network but
// the one that skipped it (never more than reserved: each host of the network builds once).
void L2Node::settle_refs() {
  for (const auto& [net, shared] : shared_) {
    uint32_t reserved = shared.reserved, visits = shared.visits;
    shared.each([reserved, visits](const Shared& item) {
      uint32_t taken = visits - item.skipped;
      item.id.settle_refs(reserved, taken), item.entry.settle_refs(reserved, taken);
    });
  }
}

void L2Node::build(const std::string& host, SharedView& out) const {
  auto mine = ports_by_host_.find(host);
  if (mine == ports_by_host_.end()) return;
  for (const auto& [id, row] : mine->second) {
    // (Only a router interface can have a shared entry: the others skip the lookup.)
    auto shared = distributed(*row) ? interface_ports_.find(row) : interface_ports_.end();
    if (shared != interface_ports_.end()) {
      if (home_of(*row, host)) out.add(Kind::port, EntryId(id), shared->second);
    } else if (auto e = port_entry(host, id, *row)) {
      out.add(Kind::port, EntryId(id), ViewEntry::of(*e));
    }
  }
  // The shared entries name hosts by their key in in_.hosts: compared as pointers.
  auto me = in_.hosts.find(host);
  const std::string* self = me == in_.hosts.end() ? nullptr : &me->first;
  std::vector<std::pair<uint32_t, const Shared*>> remote;  // l2pop entries by their place in id order
  std::vector<const SharedOfNetwork*> networks;  // the host's, each looked up once
  size_t more = 0, l2pops = 0;
  for (const auto& [net, count] : host_networks_.at(host))
    if (auto items = shared_by_name_.find(net); items != shared_by_name_.end() && items->second->network) {
      const auto& shared = *items->second;
      networks.push_back(&shared);
      more += 1 + shared.flood.size() + shared.l2pop.size(), l2pops += shared.l2pop.size();
    }
  out.reserve(more);
  remote.reserve(l2pops);
  for (const auto* of_network : networks) {
    const auto& shared = *of_network;
    shared.visits.fetch_add(1, std::memory_order_relaxed);
    out.add(Kind::network, shared.network->id.adopt<EntryId>(), shared.network->entry.adopt<ViewEntry>());
    for (const auto& item : shared.flood)
      if (item.host != self) out.add(Kind::flood, item.id.adopt<EntryId>(), item.entry.adopt<ViewEntry>());
      else item.skipped.fetch_add(1, std::memory_order_relaxed);
    for (const auto& item : shared.l2pop)
      if (item.host != self) remote.emplace_back(item.order, &item);
      else item.skipped.fetch_add(1, std::memory_order_relaxed);
  }
  // Added in key order: the view need not sort them (ids are unique). Sorted by the place
  // kept beside the pointer: no item read per comparison.
  std::sort(remote.begin(), remote.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, item] : remote) out.add(Kind::l2pop, item->id.adopt<EntryId>(), item->entry.adopt<ViewEntry>());
}

void L2Node::finish() {
  settle_refs();
  shared_by_name_.clear(), shared_.clear(), interface_ports_.clear();
}

}  // namespace nt::planner
