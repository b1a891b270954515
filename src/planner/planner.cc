// The engine's wiring: which nodes an input change goes through, in which order, and how
// the keys they mark become host view changes.
#include "planner/planner.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <thread>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common/names.h"

namespace nt {
namespace json = boost::json;

namespace planner {

void Marks::insert(view::Kind kind, std::string_view id) {
  sorted_ = false;
  if (id.empty()) {  // (no block to point into yet, maybe)
    items_.push_back({kind, {}});
    return;
  }
  char* at;
  if (id.size() > kBlock / 4) {  // a long id: a block of its own, before the current one
    auto own = std::make_unique_for_overwrite<char[]>(id.size());
    at = own.get();
    blocks_.insert(blocks_.empty() ? blocks_.end() : blocks_.end() - 1, std::move(own));
  } else {
    if (id.size() > room_) {
      size_t size = blocks_.empty() && id.size() <= kFirstBlock ? kFirstBlock : kBlock;
      next_ = blocks_.emplace_back(std::make_unique_for_overwrite<char[]>(size)).get();
      room_ = size;  // (only once the block is there: an allocation may throw)
    }
    at = next_;
    next_ += id.size(), room_ -= id.size();
  }
  std::copy(id.begin(), id.end(), at);
  items_.push_back({kind, std::string_view(at, id.size())});
}

void Marks::merge(Marks& other) {
  if (items_.empty() && blocks_.empty()) {  // (most merges: the first node to mark the host)
    std::swap(items_, other.items_);
    std::swap(blocks_, other.blocks_);
    std::swap(next_, other.next_), std::swap(room_, other.room_), std::swap(sorted_, other.sorted_);
    return;
  }
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
  // The other's blocks come along (the ids stay where they are); its last block's room
  // is lost, ours is kept as the last (the room reserved first: no throw in between).
  blocks_.reserve(blocks_.size() + other.blocks_.size());
  std::unique_ptr<char[]> ours;
  if (!blocks_.empty()) ours = std::move(blocks_.back()), blocks_.pop_back();
  for (auto& b : other.blocks_) blocks_.push_back(std::move(b));
  if (ours) blocks_.push_back(std::move(ours));
  else next_ = nullptr, room_ = 0;
  other.items_.clear();
  other.blocks_.clear();
  other.next_ = nullptr, other.room_ = 0;
  sorted_ = false;
}

const std::vector<Mark>& Marks::sorted() {
  if (sorted_ || items_.size() < 2) return items_;
  auto before = [](const Mark& a, const Mark& b) {
    int ra = SharedView::kind_rank(a.kind), rb = SharedView::kind_rank(b.kind);
    return ra != rb ? ra < rb : a.id < b.id;
  };
  std::sort(items_.begin(), items_.end(), before);
  items_.erase(std::unique(items_.begin(), items_.end(), [](const Mark& a, const Mark& b) { return a.kind == b.kind && a.id == b.id; }),
               items_.end());
  sorted_ = true;
  return items_;
}

}  // namespace planner

using planner::Change;
using planner::PortRow;
using planner::Table;
using view::Kind;

Planner::Planner()
    : topo_(in_), l2_(in_), dvr_(in_, topo_, views_), snat_(in_, topo_), fip_(in_, topo_), dhcp_(in_), secgroups_(in_) {}

const SharedView& Planner::shared_view(const std::string& host) const {
  static const SharedView empty;
  auto it = views_.find(host);
  return it == views_.end() ? empty : it->second;
}

WireView Planner::view(const std::string& host) const {
  WireView out;
  for (const auto& [key, obj] : shared_view(host)) out.emplace_hint(out.end(), ViewKey{key.first, std::string(key.second)}, obj.object());
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

std::map<std::string, planner::NodeStats> Planner::stats() const {
  return {{"l2", l2_.stats}, {"dvr", dvr_.stats}, {"snat", snat_.stats}, {"fip", fip_.stats}, {"dhcp", dhcp_.stats},
          {"secgroups", secgroups_.stats}};
}

std::map<std::string, WireView> Planner::recompute() const {
  std::set<std::string> hosts = l2_.hosts();
  for (const auto& [router, binding] : in_.bindings) hosts.insert(binding.hosts.begin(), binding.hosts.end());
  hosts.merge(dhcp_.hosts());
  hosts.merge(secgroups_.hosts());
  std::map<std::string, WireView> out;
  for (const auto& host : hosts) {
    WireView v;
    dvr_.recompute(host, v);
    snat_.recompute(host, v);
    fip_.recompute(host, v);
    l2_.recompute(host, v);
    dhcp_.recompute(host, v);
    secgroups_.recompute(host, v);
    if (!v.empty()) out[host] = std::move(v);
  }
  return out;
}

planner::NodeStats& Planner::owner_stats(Kind kind) {
  switch (kind) {
    case Kind::network:
    case Kind::port:
    case Kind::l2pop:
    case Kind::flood: return l2_.stats;
    case Kind::router:
    case Kind::arp: return dvr_.stats;
    case Kind::snat: return snat_.stats;
    case Kind::fip: return fip_.stats;
    case Kind::dhcp: return dhcp_.stats;
    case Kind::portsec:
    case Kind::secgroup:
    case Kind::sgmember:
    case Kind::addrgroup: return secgroups_.stats;
  }
  return l2_.stats;
}

std::optional<json::object> Planner::build_entry(const std::string& host, Kind kind, const std::string& id) {
  switch (kind) {
    case Kind::network:
    case Kind::port:
    case Kind::l2pop:
    case Kind::flood: return l2_.entry(host, kind, id);
    case Kind::router:
    case Kind::arp: return dvr_.entry(host, kind, id);
    case Kind::snat: return snat_.entry(host, id);
    case Kind::fip: return fip_.entry(host, id);
    case Kind::dhcp: return dhcp_.entry(host, id);
    case Kind::portsec:
    case Kind::secgroup:
    case Kind::sgmember:
    case Kind::addrgroup: return secgroups_.entry(host, kind, id);
  }
  return std::nullopt;
}

namespace {

// `build()`, charged to a node: one entry built and its time.
template <class Build>
auto charged(planner::NodeStats& stats, Build build) {
  auto started = std::chrono::steady_clock::now();
  auto built = build();
  ++stats.entries;
  stats.build_ns += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count());
  return built;
}

}  // namespace

// Built by the node that owns the kind, which is charged the entry and its time.
std::optional<json::object> Planner::entry(const std::string& host, Kind kind, const std::string& id) {
  return charged(owner_stats(kind), [&] { return build_entry(host, kind, id); });
}

void Planner::routers_changed(Keys& keys, const std::set<std::string>& routers, const std::set<std::string>& reshaped,
                              const std::set<std::string>* only) {
  auto hosts = dvr_.routers_changed(routers, reshaped, l2_, keys, only);
  snat_.routers_changed(hosts, keys);
  fip_.routers_changed(hosts, keys);
}

// A port: its L2 binding, the routers whose entries mention it, and its ARP entries on
// the hosts of the routers whose subnets it is (or was) on.
Planner::Keys Planner::port_changed(const Change& c) {
  std::set<std::string> routers, arp, reshaped;
  Keys keys;
  std::optional<PortRow> previous;
  // A port none of a router's own (a VM's, DHCP's) changes a router's entries only on the
  // hosts it was and is bound to (its presence there, its floating IPs).
  bool routers_own = false;
  std::set<std::string> its_hosts;
  auto note = [&](const PortRow& p) {
    routers.merge(topo_.routers_of_port(p));
    arp.merge(topo_.arp_routers(p));
    if (owner::is_router_interface(p.device_owner)) reshaped.insert(p.device_id);
    routers_own = routers_own || planner::is_router_own(p.device_owner) || p.device_owner == owner::kFloatingIpAgentGateway;
    if (!p.host_id.empty()) its_hosts.insert(p.host_id);
  };
  if (auto old = in_.ports.find(c.id); old != in_.ports.end()) {
    dvr_.unbind(c.id, l2_, keys);  // bound again by routers_changed if it stays an interface
    previous = old->second;
    note(old->second);
    topo_.index_port(old->second, false);
  }
  in_.apply(c);
  std::optional<PortRow> now;
  if (auto it = in_.ports.find(c.id); it != in_.ports.end()) {
    topo_.index_port(it->second, true);
    note(it->second);
    now = it->second;
  }
  l2_.bind(c.id, snat_.effective(now), keys);
  planner::merge_keys(keys, dhcp_.port_changed(previous ? &*previous : nullptr, now ? &*now : nullptr));
  planner::merge_keys(keys, secgroups_.port_changed(previous ? &*previous : nullptr, now ? &*now : nullptr));
  std::map<std::string, std::set<std::string>> before;
  for (const auto& r : arp)
    if (const auto* given = dvr_.given(r)) before[r] = *given;
  routers_changed(keys, routers, reshaped, routers_own ? nullptr : &its_hosts);
  for (const auto& r : arp) {
    auto hosts = before[r];
    if (const auto* given = dvr_.given(r)) hosts.insert(given->begin(), given->end());
    for (const auto& h : hosts) keys[h].insert(Kind::arp, view::ArpId{r, c.id}.str());
  }
  return keys;
}

Planner::Keys Planner::l3_changed(const Change& c) {
  Keys keys;
  std::set<std::string> routers;
  switch (c.table) {
    case Table::routers:
      in_.apply(c);
      routers.insert(c.id);
      break;
    case Table::l3_bindings:
      in_.apply(c);
      // The router's sg- and qg- ports follow its active gateway host.
      for (const auto& pid : std::set<std::string>(topo_.router_ports(c.id)))
        l2_.bind(pid, snat_.effective(in_.ports.at(pid)), keys);
      routers.insert(c.id);
      break;
    case Table::subnets: {
      std::string net;
      if (c.row) net = std::get<planner::SubnetRow>(*c.row).network_id;
      else if (auto old = in_.subnets.find(c.id); old != in_.subnets.end()) net = old->second.network_id;
      std::string before;
      if (auto old = in_.subnets.find(c.id); old != in_.subnets.end()) before = old->second.network_id;
      in_.apply(c);
      // Its served ports' DHCP entries, on the network it left and the one it is on.
      dhcp_.subnet_moved(c.id, before, c.row ? net : std::string());
      planner::merge_keys(keys, dhcp_.network_changed(net));
      if (!before.empty() && before != net) planner::merge_keys(keys, dhcp_.network_changed(before));
      if (const auto* rs = topo_.subnet_routers(c.id))
        for (const auto& [r, n] : *rs) routers.insert(r);
      routers.merge(topo_.routers_with_external(net));
      break;
    }
    case Table::floatingips:
      if (auto old = in_.fips.find(c.id); old != in_.fips.end()) {
        routers.insert(old->second.router_id);
        topo_.index_fip(old->second, false);
      }
      in_.apply(c);
      if (auto now = in_.fips.find(c.id); now != in_.fips.end()) {
        topo_.index_fip(now->second, true);
        routers.insert(now->second.router_id);
      }
      routers.erase("");
      break;
    case Table::port_forwardings: {
      // The router of the floating IP it forwards (its snat entry carries the forwarding).
      auto router_of = [&](const std::string& pf) {
        auto f = in_.forwardings.find(pf);
        auto fip = f == in_.forwardings.end() ? in_.fips.end() : in_.fips.find(f->second.floatingip_id);
        if (fip != in_.fips.end() && !fip->second.router_id.empty()) routers.insert(fip->second.router_id);
      };
      router_of(c.id);
      in_.apply(c);
      router_of(c.id);
      break;
    }
    default: break;
  }
  bool reshapes = c.table == Table::routers || c.table == Table::subnets;
  routers_changed(keys, routers, reshapes ? routers : std::set<std::string>{});
  return keys;
}

namespace {

// Kinds whose entry is the same on every host that has it: one object (and one id) per
// refresh for all of them.
bool host_independent(Kind kind) {
  return kind == Kind::network || kind == Kind::l2pop || kind == Kind::flood || kind == Kind::arp || kind == Kind::sgmember;
}

}  // namespace

// What `host` should hold at `mark` now (null: nothing), as a shared object when the
// kind is the same on every host that has it.
ViewEntry Planner::wanted_entry(const std::string& host, planner::L2Node::HostNetworks& networks, const planner::Mark& mark,
                                SharedEntries& shared) {
  auto kind = mark.kind;
  if (planner::L2Node::common_kind(kind)) {
    auto [it, fresh] = shared.try_emplace(SharedKey{kind, mark.id});
    auto& s = it->second;
    if (fresh) {
      s.l2 = charged(l2_.stats, [&] { return l2_.common(kind, std::string(mark.id)); });
      if (s.l2->content) s.id = EntryId(mark.id), s.obj = ViewEntry::of(*s.l2->content);
    }
    return s.obj && networks.has(*s.l2) ? s.obj : ViewEntry();
  }
  std::string id(mark.id);
  if (kind == Kind::sgmember) {  // (a new member is marked on every host of its groups)
    auto [it, fresh] = shared.try_emplace(SharedKey{kind, mark.id});
    auto& s = it->second;
    if (fresh) {
      auto content = charged(secgroups_.stats, [&] { return secgroups_.member_content(id); });
      if (content) s.id = EntryId(id), s.obj = ViewEntry::of(*content);
    }
    return s.obj && secgroups_.member_needed(host, id) ? s.obj : ViewEntry();
  }
  auto want = entry(host, kind, id);
  if (!want) return {};
  if (!host_independent(kind)) return ViewEntry::of(*want);
  auto& s = shared[SharedKey{kind, mark.id}];
  if (!s.obj) s.id = EntryId(std::move(id)), s.obj = ViewEntry::of(*want);
  return s.obj;
}

void Planner::refresh(Keys& keys, int64_t revision) {
  touched_.clear();
  deltas_.clear();
  keys_looked_ = 0;
  dvr_.begin_refresh();
  // The shared entries are emptied at the end but kept, so that their buckets are not
  // allocated again for every change (a boot-sized change's many buckets are not kept).
  struct EndRefresh {
    Planner* p;
    ~EndRefresh() {
      p->dvr_.end_refresh();
      if (p->shared_.bucket_count() > kSharedBucketsKept) p->shared_ = {};
      else p->shared_.clear();
    }
  } end{this};
  auto& shared = shared_;
  for (auto& [host, marks] : keys) {
    if (host.empty()) continue;
    touched_.insert(touched_.end(), host);  // (the keys come in order)
    const auto& wanted = marks.sorted();
    keys_looked_ += wanted.size();
    auto& view = views_[host];
    int64_t rev = 0;
    auto& changes = changes_;  // kept from host to host
    changes.clear();
    auto networks = l2_.networks_of(host);
    SharedView::Slot slot;  // the marks are in the view's order: each located after the last
    for (const auto& mark : wanted) {
      ViewEntry want = wanted_entry(host, networks, mark, shared);
      slot = view.locate(mark.kind, mark.id, slot);
      const auto* cur = slot.entry;
      if (!cur ? !want : (want && cur->same(want))) continue;
      if (rev == 0) {
        // The change's global revision: the same on every server whatever the batches
        // (two changes of one revision share it; an agent resumes from the revision
        // before its last, so a revision cut in the middle is sent again whole).
        // (Without a revision, in tools and tests, each change counts one.)
        auto& at = revisions_[host];
        rev = at = revision > 0 ? std::max(at, revision) : at + 1;
      }
      // The id: the view's (a put over an entry, or an erase) or the shared one (a new
      // entry of many hosts); a handle each, the text copied only for a new host-own entry.
      EntryId id;
      if (slot.entry) id = view.id_at(slot);
      else id = host_independent(mark.kind) ? shared.at(SharedKey{mark.kind, mark.id}).id : EntryId(mark.id);
      deltas_.push_back({host, rev, SharedView::kind_string(mark.kind), id, want});
      changes.push_back({slot, mark.kind, std::move(id), std::move(want)});
    }
    view.apply(changes);
    if (view.empty()) views_.erase(host);
  }
}

void Planner::apply(const Change& c, int64_t revision) {
  Keys keys;
  switch (c.table) {
    case Table::ports: keys = port_changed(c); break;
    case Table::networks: {
      in_.apply(c);
      keys = l2_.network_changed(c.id);
      planner::merge_keys(keys, dhcp_.network_changed(c.id));
      auto routers = topo_.routers_with_external(c.id);  // the network's MTU is in their entries
      if (const auto* rs = topo_.network_routers(c.id))
        for (const auto& [r, n] : *rs) routers.insert(r);
      routers_changed(keys, routers);
      break;
    }
    case Table::hosts:
      in_.apply(c);
      keys = l2_.host_changed(c.id);
      routers_changed(keys, dvr_.routers_given_to(c.id));  // its DVR MAC is in their entries
      break;
    case Table::security_groups:
      in_.apply(c);
      keys = secgroups_.group_changed(c.id);
      break;
    case Table::address_groups:
      in_.apply(c);
      keys = secgroups_.address_group_changed(c.id);
      break;
    case Table::security_group_rules: {
      std::optional<planner::SecurityGroupRuleRow> previous;
      if (auto old = in_.security_group_rules.find(c.id); old != in_.security_group_rules.end()) previous = old->second;
      in_.apply(c);
      auto now = in_.security_group_rules.find(c.id);
      keys = secgroups_.rule_changed(previous ? &*previous : nullptr,
                                     now == in_.security_group_rules.end() ? nullptr : &now->second);
      break;
    }
    default: keys = l3_changed(c); break;
  }
  refresh(keys, revision);
}

void Planner::apply(const std::string& kind, const std::string& id, const std::optional<json::object>& obj,
                    int64_t revision) {
  auto c = planner::parse_change(kind, id, obj ? &*obj : nullptr);
  if (!c) {
    touched_.clear();
    deltas_.clear();
    keys_looked_ = 0;
    return;
  }
  apply(*c, revision);
}

void Planner::load(const std::string& kind, const std::string& id, const json::object& obj) {
  auto c = planner::parse_change(kind, id, &obj);
  if (!c) return;
  if (c->table == Table::ports)
    if (auto old = in_.ports.find(id); old != in_.ports.end()) topo_.index_port(old->second, false);
  if (c->table == Table::floatingips)
    if (auto old = in_.fips.find(id); old != in_.fips.end()) topo_.index_fip(old->second, false);
  in_.apply(*c);
  if (c->table == Table::ports) topo_.index_port(in_.ports.at(id), true);
  if (c->table == Table::floatingips) topo_.index_fip(in_.fips.at(id), true);
}

void Planner::rebuild(int64_t revision) {
  // The L2 bindings from the loaded ports (gateway ports on their active host), then the
  // routers' interfaces on their DVR hosts; shared entries and flood lists once.
  // DHCP and security groups read only the inputs and write only their own indexes: they
  // load on a thread of their own while L2 and DVR bind, and build their entries there too
  // (into the hosts' views, which the workers below take over).
  std::map<std::string, SharedView> early;
  std::jthread side([this, &early] {
    dhcp_.clear();
    for (const auto& [id, p] : in_.ports) dhcp_.load(p);
    dhcp_.prepare();
    secgroups_.clear();
    for (const auto& [id, p] : in_.ports) secgroups_.load(p);
    secgroups_.prepare();
    auto served = dhcp_.hosts();
    served.merge(secgroups_.hosts());
    for (const auto& host : served) {
      auto& view = early[host];
      dhcp_.build(host, view);
      secgroups_.build(host, view);
    }
  });
  l2_.clear();
  for (const auto& [id, p] : in_.ports) {
    if (planner::SnatNode::moves(p)) l2_.load(id, *snat_.effective(p));
    else l2_.load(id, p);  // no copy on the way
  }
  dvr_.load(l2_);
  l2_.prepare();
  side.join();
  std::set<std::string> names = l2_.hosts();  // and those given routers:
  for (const auto& [id, row] : in_.routers)
    if (const auto* given = dvr_.given(id)) names.insert(given->begin(), given->end());
  names.merge(dhcp_.hosts());
  names.merge(secgroups_.hosts());
  // Hosts are independent: build them on every core (the nodes only read now).
  std::vector<const std::string*> hosts;
  for (const auto& host : names) hosts.push_back(&host);
  std::vector<SharedView> built(hosts.size());
  unsigned workers = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < workers; ++w)
    pool.emplace_back([&, w] {
      for (size_t i = w; i < hosts.size(); i += workers) {
        if (auto e = early.find(*hosts[i]); e != early.end()) built[i] = std::move(e->second);
        const auto& routers = dvr_.routers_of_host(*hosts[i]);
        dvr_.build(*hosts[i], built[i]);
        snat_.build(*hosts[i], routers, built[i]);
        fip_.build(*hosts[i], routers, built[i]);
        l2_.build(*hosts[i], built[i]);
        built[i].seal();
      }
    });
  for (auto& t : pool) t.join();
  l2_.finish();
  dhcp_.finish();
  secgroups_.finish();
  dvr_.finish();
  views_.clear();
  for (size_t i = 0; i < hosts.size(); ++i)
    if (!built[i].empty()) {
      views_.emplace_hint(views_.end(), *hosts[i], std::move(built[i]));
      revisions_[*hosts[i]] = std::max(revisions_[*hosts[i]], revision);
    }
  touched_.clear();
  deltas_.clear();
  keys_looked_ = 0;
#if defined(__GLIBC__)
  // The build's scratch (per-host item lists, shared entries' indexes) is freed in the
  // middle of the heap: given back to the system, not kept as RSS.
  malloc_trim(0);
#endif
}

}  // namespace nt
