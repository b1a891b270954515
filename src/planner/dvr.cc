#include "planner/dvr.h"

#include "common/names.h"

namespace nt::planner {
namespace json = boost::json;
using view::Kind;

namespace {

// The L2 binding of a router interface on one DVR host: its port entry there plugs the
// qr- tap into the network's bridge.
std::string binding_id(const std::string& port, const std::string& host) { return port + "@" + host; }

PortRow bound_on(const PortRow& p, const std::string& host) {
  PortRow bound = p;
  bound.host_id = host;
  bound.vif_type = "bridge";
  return bound;
}

}  // namespace

// A router's interfaces as the router entry lists them: the same on every host, so
// cached for one refresh (or, frozen, for a rebuild).
const std::vector<view::RouterPort>& DvrNode::interfaces(const std::string& router) const {
  if (cache_mode_ != CacheMode::off)
    if (auto it = interface_cache_.find(router); it != interface_cache_.end()) return it->second;
  const auto& ports = topo_.router_ports(router);
  std::map<std::string, std::string> sg_by_subnet;  // subnet -> the sg- address for it
  for (const auto& pid : ports)
    if (in_.ports.at(pid).device_owner == owner::kCentralizedSnat)
      if (auto e = topo_.router_port(pid, "sg-"); e.ip && e.subnet_id) sg_by_subnet[*e.subnet_id] = *e.ip;
  bool snat = !topo_.external_network(router).empty();
  std::vector<view::RouterPort> out;
  for (const auto& pid : ports) {
    if (!owner::is_router_interface(in_.ports.at(pid).device_owner)) continue;
    auto qr = topo_.router_port(pid, "qr-");
    if (!qr.ip || !qr.cidr || qr.cidr->empty()) continue;
    if (auto sg = sg_by_subnet.find(qr.subnet_id.value_or("")); snat && sg != sg_by_subnet.end()) qr.sg_ip = sg->second;
    out.push_back(std::move(qr));
  }
  if (cache_mode_ == CacheMode::filling) return interface_cache_[router] = std::move(out);
  thread_local std::vector<view::RouterPort> scratch;
  scratch = std::move(out);
  return scratch;
}

// The router's DVR hosts: asked for each of its ARP entries on each host, so cached for
// one refresh too.
const std::set<std::string>& DvrNode::dvr_hosts(const std::string& router) const {
  if (cache_mode_ != CacheMode::off)
    if (auto it = dvr_hosts_cache_.find(router); it != dvr_hosts_cache_.end()) return it->second;
  auto hosts = topo_.dvr_hosts(router);
  if (cache_mode_ == CacheMode::filling) return dvr_hosts_cache_[router] = std::move(hosts);
  thread_local std::set<std::string> scratch;
  scratch = std::move(hosts);
  return scratch;
}

std::optional<json::object> DvrNode::router_entry(const std::string& host, const std::string& router) const {
  auto r = in_.routers.find(router);
  const auto& ports = topo_.router_ports(router);
  if (r == in_.routers.end() || ports.empty()) return std::nullopt;
  if (!router_here(host, router)) return std::nullopt;
  const auto& ext = r->second.external_network;
  view::Router out;
  out.interfaces = interfaces(router);
  out.routes = r->second.routes;
  if (!ext.empty()) out.external_network_id = ext;
  out.enable_snat = !ext.empty() && r->second.enable_snat;
  for (const auto& fid : topo_.router_fips(router)) {
    const auto& f = in_.fips.at(fid);
    auto port = in_.ports.find(f.port_id);
    if (port == in_.ports.end() || port->second.bound_host() != host || f.fixed_ip_address.empty()) continue;
    out.floating_ips.push_back({fid, f.floating_ip_address, f.fixed_ip_address});
  }
  if (auto h = in_.hosts.find(host); h != in_.hosts.end()) out.dvr_mac = h->second.dvr_mac;
  return view::encode(out);
}

// Whether the host has an instance port on one of the router's networks: its DVR hosts
// when they are cached (a refresh, a rebuild), else its interfaces' networks, one by one.
bool DvrNode::router_here(const std::string& host, const std::string& router) const {
  if (cache_mode_ != CacheMode::off) return dvr_hosts(router).count(host) > 0;
  for (const auto& pid : topo_.router_ports(router)) {
    const auto& p = in_.ports.at(pid);
    if (owner::is_router_interface(p.device_owner) && topo_.has_compute_host(p.network_id, host)) return true;
  }
  return false;
}

// Permanent ARP in the router for one port of its subnets: its MAC and, per address in
// one of the router's subnets, the qr- device that reaches it.
std::optional<json::object> DvrNode::arp_entry(const std::string& host, const view::ArpId& id, bool router_here) const {
  auto port = in_.ports.find(id.port);
  const auto& ports = topo_.router_ports(id.router);
  // The router's own interfaces are no neighbours of it; its sg- (SNAT) ports are: the
  // qrouter sends SNAT traffic to them and must know their MACs (no ARP crosses a tunnel).
  if (port == in_.ports.end() || ports.empty() ||
      (ports.count(id.port) && owner::is_router_interface(port->second.device_owner)) ||
      (!router_here && !dvr_hosts(id.router).count(host)))
    return std::nullopt;
  view::Arp out{id.router, port->second.mac_address, {}};
  for (const auto& ip : port->second.fixed_ips)
    for (const auto& qr : ports) {
      const auto& q = in_.ports.at(qr);
      if (!owner::is_router_interface(q.device_owner) || q.fixed_ips.empty()) continue;
      if (q.fixed_ips[0].subnet_id != ip.subnet_id) continue;
      out.addresses.push_back({devname::qr(qr), ip.ip_address});
    }
  if (out.addresses.empty()) return std::nullopt;
  return view::encode(out);
}

std::optional<json::object> DvrNode::entry(const std::string& host, Kind kind, const std::string& id) const {
  if (kind == Kind::router) return router_entry(host, id);
  auto arp = view::ArpId::parse(id);
  if (kind != Kind::arp || !arp) return std::nullopt;
  return arp_entry(host, *arp, false);
}

void DvrNode::recompute(const std::string& host, WireView& out) const {
  for (const auto& [r, row] : in_.routers) {
    auto e = router_entry(host, r);
    if (!e) continue;
    out[key(Kind::router, r)] = std::move(*e);
    for (const auto& pid : topo_.router_subnet_ports(r)) {
      view::ArpId id{r, pid};
      if (auto a = arp_entry(host, id, true)) out[key(Kind::arp, id.str())] = std::move(*a);
    }
  }
  ++stats.recomputes;
}

void DvrNode::unbind(const std::string& port, L2Node& l2, Keys& keys) {
  auto it = bound_.find(port);
  if (it == bound_.end()) return;
  for (const auto& h : it->second) l2.bind(binding_id(port, h), std::nullopt, keys);
  bound_.erase(it);
}

// Each interface of the router is bound, for L2, on every DVR host of the router: those
// hosts get the network, its bridge plugs the qr- tap, and they are in its flood lists.
void DvrNode::sync_bindings(const std::string& router, L2Node& l2, Keys& keys) {
  auto hosts = topo_.dvr_hosts(router);
  for (const auto& pid : topo_.router_ports(router)) {
    const auto& p = in_.ports.at(pid);
    if (!owner::is_router_interface(p.device_owner)) continue;
    auto& have = bound_[pid];
    for (const auto& h : std::set<std::string>(have))
      if (!hosts.count(h)) l2.bind(binding_id(pid, h), std::nullopt, keys), have.erase(h);
    for (const auto& h : hosts)
      if (have.insert(h).second)  // a changed port was unbound everywhere first (unbind)
        l2.bind(binding_id(pid, h), bound_on(p, h), keys);
    if (have.empty()) bound_.erase(pid);
  }
}

// Every ARP entry of the router on a host: those it should have and those it has.
void DvrNode::add_arp_keys(Keys& keys, const std::string& host, const std::string& router) const {
  auto& mine = keys[host];
  for (const auto& pid : topo_.router_subnet_ports(router)) mine.insert(Kind::arp, view::ArpId{router, pid}.str());
  auto prefix = router + "|";
  if (auto v = views_.find(host); v != views_.end())
    for (auto it = v->second.lower_bound(Kind::arp, prefix);
         it != v->second.end() && it.item().kind() == Kind::arp && it.item().id.str().starts_with(prefix); ++it)
      mine.insert(Kind::arp, it.item().id.str());
}

std::map<std::string, RouterHosts> DvrNode::routers_changed(const std::set<std::string>& routers,
                                                            const std::set<std::string>& reshaped, L2Node& l2, Keys& keys,
                                                            const std::set<std::string>* only) {
  ++stats.changes;
  for (const auto& r : routers) sync_bindings(r, l2, keys);
  std::map<std::string, RouterHosts> out;
  for (const auto& r : routers) {
    auto now = topo_.l3_hosts(r);
    auto& given = given_[r];
    auto& old_ext = given_external_[r];
    RouterHosts& rh = out[r];
    rh.hosts = given;
    rh.hosts.insert(now.begin(), now.end());
    rh.external = topo_.external_network(r);
    rh.old_external = old_ext;
    // ARP entries come and go whole on hosts joining or leaving its DVR hosts (a gateway
    // host may be one too), or with a router reshaped.
    auto dvr = topo_.dvr_hosts(r);
    auto& dvr_given = dvr_given_[r];
    for (const auto& h : rh.hosts)
      if (reshaped.count(r) || dvr_given.count(h) != dvr.count(h)) add_arp_keys(keys, h, r);
    for (const auto& h : dvr_given)
      if (!rh.hosts.count(h)) add_arp_keys(keys, h, r);
    dvr_given = std::move(dvr);
    if (dvr_given.empty()) dvr_given_.erase(r);
    if (only)
      std::erase_if(rh.hosts, [&](const std::string& h) { return !only->count(h) && given.count(h) == now.count(h); });
    for (const auto& h : rh.hosts) keys[h].insert(Kind::router, r), ++stats.keys;
    given = std::move(now);
    old_ext = rh.external;
    if (given.empty()) given_.erase(r);
    if (old_ext.empty()) given_external_.erase(r);
  }
  return out;
}

const std::set<std::string>* DvrNode::given(const std::string& router) const {
  auto it = given_.find(router);
  return it == given_.end() ? nullptr : &it->second;
}

std::set<std::string> DvrNode::routers_given_to(const std::string& host) const {
  std::set<std::string> out;
  for (const auto& [r, hosts] : given_)
    if (hosts.count(host)) out.insert(r);
  return out;
}

void DvrNode::begin_refresh() {
  cache_mode_ = CacheMode::filling;
  interface_cache_.clear();
  dvr_hosts_cache_.clear();
}

void DvrNode::end_refresh() {
  cache_mode_ = CacheMode::off;
  interface_cache_.clear();
  dvr_hosts_cache_.clear();
}

void DvrNode::load(L2Node& l2) {
  // Router interfaces bound on their routers' DVR hosts (every view is built after). L2
  // forgot every binding before this: so does this node, or a second rebuild would skip
  // the interfaces it bound the first time.
  bound_.clear();
  for (const auto& [r, row] : in_.routers) {
    auto dvr = topo_.dvr_hosts(r);
    for (const auto& pid : topo_.router_ports(r)) {
      const auto& p = in_.ports.at(pid);
      if (!owner::is_router_interface(p.device_owner)) continue;
      for (const auto& h : dvr)
        if (bound_[pid].insert(h).second) l2.load(binding_id(pid, h), bound_on(p, h));
    }
  }
  // The routers each host gets entries for.
  given_.clear(), given_external_.clear(), dvr_given_.clear(), host_routers_.clear();
  for (const auto& [r, row] : in_.routers) {
    auto hosts = topo_.l3_hosts(r);
    for (const auto& h : hosts) host_routers_[h].insert(r);
    if (!hosts.empty()) given_[r] = std::move(hosts);
    if (!row.external_network.empty()) given_external_[r] = row.external_network;
    if (auto dvr = topo_.dvr_hosts(r); !dvr.empty()) dvr_given_[r] = std::move(dvr);
  }
  // A router's ARP entries and interfaces are the same on every host that has it: built
  // once, shared (the rebuild's threads only read them).
  cache_mode_ = CacheMode::filling;
  interface_cache_.clear();
  dvr_hosts_cache_.clear();
  settle_arp_refs();  // (a rebuild that threw before finish(): its reserve given back)
  shared_arp_.clear();
  for (const auto& [r, hosts] : given_) {
    interfaces(r);
    dvr_hosts(r);
    for (const auto& pid : topo_.router_subnet_ports(r)) {
      view::ArpId id{r, pid};
      if (auto a = arp_entry("", id, true)) {
        auto& shared = shared_arp_[r];
        shared.reserved = static_cast<uint32_t>(hosts.size());
        auto& [arp_id, entry] = shared.entries.emplace_back(EntryId(id.str()), ViewEntry::of(*a));
        arp_id.add_refs(shared.reserved), entry.add_refs(shared.reserved);
      }
    }
  }
  cache_mode_ = CacheMode::frozen;
}

const std::set<std::string>& DvrNode::routers_of_host(const std::string& host) const {
  static const std::set<std::string> none;
  auto it = host_routers_.find(host);
  return it == host_routers_.end() ? none : it->second;
}

void DvrNode::build(const std::string& host, SharedView& out) const {
  for (const auto& r : routers_of_host(host)) {
    auto e = router_entry(host, r);
    if (!e) continue;
    out.add(Kind::router, EntryId(r), ViewEntry::of(*e));
    if (auto a = shared_arp_.find(r); a != shared_arp_.end()) {
      a->second.taken.fetch_add(1, std::memory_order_relaxed);
      for (const auto& [id, entry] : a->second.entries) out.add(Kind::arp, id.adopt<EntryId>(), entry.adopt<ViewEntry>());
    }
  }
}

// Each host given the router built it at most once: what was not taken is given back.
void DvrNode::settle_arp_refs() {
  for (const auto& [r, shared] : shared_arp_)
    for (const auto& [id, entry] : shared.entries) id.settle_refs(shared.reserved, shared.taken), entry.settle_refs(shared.reserved, shared.taken);
}

void DvrNode::finish() {
  settle_arp_refs();
  shared_arp_.clear();
  host_routers_.clear();
  end_refresh();
}

}  // namespace nt::planner
