#include "planner/secgroups.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "common/names.h"

namespace nt::planner {
namespace json = boost::json;
using view::Kind;

namespace {

void count(std::map<std::string, std::map<std::string, int>>& m, const std::string& a, const std::string& b, int delta) {
  auto& inner = m[a];
  if ((inner[b] += delta) <= 0) inner.erase(b);
  if (inner.empty()) m.erase(a);
}

int count_of(const std::map<std::string, std::map<std::string, int>>& m, const std::string& a, const std::string& b) {
  auto it = m.find(a);
  if (it == m.end()) return 0;
  auto in = it->second.find(b);
  return in == it->second.end() ? 0 : in->second;
}

std::string member_id(const std::string& group, const std::string& ip) { return group + "|" + ip; }

const std::vector<std::string>& secure_groups(const PortRow* p) {
  static const std::vector<std::string> none;
  return p && p->port_security_enabled ? p->security_groups : none;
}

}  // namespace

// VM ports: bound somewhere and not one of the network's own (router, DHCP, ...).
bool SecGroupNode::instance(const PortRow& p) {
  return !p.bound_host().empty() && !owner::is_network_service(p.device_owner);
}

// A VM port the host filters: its groups' entries are on its host.
bool SecGroupNode::filtered(const PortRow& p) { return instance(p) && p.port_security_enabled; }

// What a member port of a group adds to its sgmembers entries. Only once it is bound
// somewhere: an unbound port sends nothing (Neutron also lists unbound ports' addresses;
// here a Nova boot's port create then changes no host's view, only its bind does).
std::vector<std::string> SecGroupNode::addresses(const PortRow& p) {
  std::vector<std::string> out;
  if (p.bound_host().empty()) return out;
  for (const auto& ip : p.fixed_ips)
    if (!ip.ip_address.empty()) out.push_back(ip.ip_address);
  for (const auto& pair : p.allowed_address_pairs)
    if (!pair.ip_address.empty()) out.push_back(pair.ip_address);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string SecGroupNode::remote(const SecurityGroupRuleRow& r) { return r.rule.remote_group_id.value_or(""); }

std::string SecGroupNode::address_group(const SecurityGroupRuleRow& r) {
  return r.rule.remote_address_group_id.value_or("");
}

void SecGroupNode::index(const PortRow& p, int delta) {
  auto update = [&](std::map<std::string, std::set<std::string>>& m, const std::string& key) {
    auto& s = m[key];
    if (delta > 0) s.insert(p.id);
    else s.erase(p.id);
    if (s.empty()) m.erase(key);
  };
  if (instance(p)) update(by_host_, p.bound_host());
  for (const auto& g : secure_groups(&p)) {
    for (const auto& ip : addresses(p)) count(member_ips_, g, ip, delta);
    if (instance(p)) count(group_hosts_, g, p.bound_host(), delta), count(host_groups_, p.bound_host(), g, delta);
  }
}

void SecGroupNode::index_rule(const SecurityGroupRuleRow& r, int delta) {
  auto& ids = rules_[r.security_group_id];
  if (delta > 0) ids.insert(r.id);
  else ids.erase(r.id);
  if (ids.empty()) rules_.erase(r.security_group_id);
  if (auto to = remote(r); !to.empty()) count(remotes_, r.security_group_id, to, delta), count(referrers_, to, r.security_group_id, delta);
  if (auto a = address_group(r); !a.empty())
    count(address_groups_, r.security_group_id, a, delta), count(address_referrers_, a, r.security_group_id, delta);
}

void SecGroupNode::mark(Keys& keys, const std::string& host, Kind kind, const std::string& id) const {
  keys[host].insert(kind, id);
  ++stats.keys;
}

// The entry on every host with a filtered port in `group`.
void SecGroupNode::mark_group_hosts(Keys& keys, const std::string& group, Kind kind, const std::string& id) const {
  auto it = group_hosts_.find(group);
  if (it == group_hosts_.end()) return;
  // The hosts come in order: each put after the last (the map not searched for each).
  auto hint = keys.end();
  for (const auto& [host, n] : it->second) {
    auto at = keys.try_emplace(hint, host);
    at->second.insert(kind, id);
    ++stats.keys;
    hint = std::next(at);
  }
}

// The sgmembers (or addrgroup) entry `id` on every host that needs it: the hosts of the
// groups whose rules name it (`referrers`: referrers_ or address_referrers_).
void SecGroupNode::mark_referrers(Keys& keys, const Counts& referrers, Kind kind, const std::string& id) const {
  auto it = referrers.find(id);
  if (it == referrers.end()) return;
  for (const auto& [referrer, n] : it->second) mark_group_hosts(keys, referrer, kind, id);
}

void SecGroupNode::mark_members(Keys& keys, const std::string& host, const std::string& group) const {
  if (auto it = member_ips_.find(group); it != member_ips_.end())
    for (const auto& [ip, n] : it->second) mark(keys, host, Kind::sgmember, member_id(group, ip));
}

// `ips` of `group` on every host whose groups' rules name it.
void SecGroupNode::mark_members_everywhere(Keys& keys, const std::string& group, const std::vector<std::string>& ips) const {
  auto it = referrers_.find(group);
  if (it == referrers_.end()) return;
  for (const auto& [referrer, n] : it->second)
    for (const auto& ip : ips) mark_group_hosts(keys, referrer, Kind::sgmember, member_id(group, ip));
}

bool SecGroupNode::needs(const Counts& referrers, const std::string& host, const std::string& id) const {
  auto it = referrers.find(id);
  if (it == referrers.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(),
                     [&](const auto& referrer) { return count_of(group_hosts_, referrer.first, host) > 0; });
}

Keys SecGroupNode::port_changed(const PortRow* before, const PortRow* after) {
  ++stats.changes;
  Keys keys;
  for (const auto* p : {before, after})
    if (p && instance(*p)) mark(keys, p->bound_host(), Kind::portsec, p->id);
  // Groups whose member addresses may differ now: those left or joined, or all of them
  // when the port's addresses changed.
  const auto& was = secure_groups(before);
  const auto& is = secure_groups(after);
  std::vector<std::string> changed;
  if (before && after && addresses(*before) == addresses(*after))
    std::set_symmetric_difference(was.begin(), was.end(), is.begin(), is.end(), std::back_inserter(changed));
  else
    std::set_union(was.begin(), was.end(), is.begin(), is.end(), std::back_inserter(changed));
  // (host, group) pairs whose count of filtered ports moves.
  std::map<std::pair<std::string, std::string>, int> moved;
  if (before && filtered(*before))
    for (const auto& g : before->security_groups) moved[{before->bound_host(), g}] -= 1;
  if (after && filtered(*after))
    for (const auto& g : after->security_groups) moved[{after->bound_host(), g}] += 1;
  // The addresses that may come or go in those groups, on the hosts that name them before
  // and after the change.
  std::vector<std::string> ips;
  for (const auto* p : {before, after})
    if (p) std::ranges::copy(addresses(*p), std::back_inserter(ips));
  for (const auto& g : changed) mark_members_everywhere(keys, g, ips);
  if (before) index(*before, -1);
  if (after) index(*after, +1);
  for (const auto& g : changed) mark_members_everywhere(keys, g, ips);
  // A host's first or last filtered port in a group: the group's entry and the members of
  // the groups its rules name come or go there.
  for (const auto& [at, delta] : moved) {
    if (delta == 0) continue;
    const auto& [host, g] = at;
    int now = count_of(group_hosts_, g, host);
    if ((now > 0) == (now - delta > 0)) continue;
    mark(keys, host, Kind::secgroup, g);
    if (auto r = remotes_.find(g); r != remotes_.end())
      for (const auto& [to, n] : r->second) mark_members(keys, host, to);
    if (auto a = address_groups_.find(g); a != address_groups_.end())
      for (const auto& [to, n] : a->second) mark(keys, host, Kind::addrgroup, to);
  }
  return keys;
}

Keys SecGroupNode::group_changed(const std::string& group) {
  ++stats.changes;
  Keys keys;
  mark_group_hosts(keys, group, Kind::secgroup, group);
  return keys;
}

Keys SecGroupNode::address_group_changed(const std::string& id) {
  ++stats.changes;
  Keys keys;
  mark_referrers(keys, address_referrers_, Kind::addrgroup, id);
  return keys;
}

Keys SecGroupNode::rule_changed(const SecurityGroupRuleRow* before, const SecurityGroupRuleRow* after) {
  ++stats.changes;
  Keys keys;
  for (const auto* r : {before, after})
    if (r) mark_group_hosts(keys, r->security_group_id, Kind::secgroup, r->security_group_id);
  // (group, remote group, address group) the rule names.
  using Named = std::tuple<std::string, std::string, std::string>;
  auto named = [&](const SecurityGroupRuleRow* r) {
    return r ? Named{r->security_group_id, remote(*r), address_group(*r)} : Named{};
  };
  auto old_named = named(before), new_named = named(after);
  if (before) index_rule(*before, -1);
  if (after) index_rule(*after, +1);
  // The rule's group's hosts do not depend on rules: marking after the update is enough.
  if (old_named != new_named)
    for (const auto& [g, to, a] : {old_named, new_named}) {
      if (auto hosts = group_hosts_.find(g); !to.empty() && hosts != group_hosts_.end())
        for (const auto& [host, n] : hosts->second) mark_members(keys, host, to);
      if (!a.empty()) mark_group_hosts(keys, g, Kind::addrgroup, a);
    }
  return keys;
}

view::PortSecurity SecGroupNode::describe(const PortRow& p) const {
  view::PortSecurity s;
  s.network_id = p.network_id, s.device = devname::tap(p.id), s.mac = p.mac_address;
  for (const auto& ip : p.fixed_ips) s.fixed_ips.push_back(ip.ip_address);
  s.port_security_enabled = p.port_security_enabled;
  s.security_groups = p.security_groups;
  s.allowed_address_pairs = p.allowed_address_pairs;
  return s;
}

std::optional<view::SecurityGroup> SecGroupNode::group_entry(const std::string& group) const {
  auto g = in_.security_groups.find(group);
  if (g == in_.security_groups.end()) return std::nullopt;
  view::SecurityGroup out;
  out.stateful = g->second.stateful;
  if (auto ids = rules_.find(group); ids != rules_.end())
    for (const auto& id : ids->second)
      if (auto r = in_.security_group_rules.find(id); r != in_.security_group_rules.end()) out.rules.push_back(r->second.rule);
  return out;
}

std::optional<json::object> SecGroupNode::entry(const std::string& host, Kind kind, const std::string& id) const {
  switch (kind) {
    case Kind::portsec: {
      auto p = in_.ports.find(id);
      if (p == in_.ports.end() || !instance(p->second) || p->second.bound_host() != host) return std::nullopt;
      return view::encode(describe(p->second));
    }
    case Kind::secgroup: {
      if (count_of(group_hosts_, id, host) == 0) return std::nullopt;
      auto g = group_entry(id);
      if (!g) return std::nullopt;
      return view::encode(*g);
    }
    case Kind::sgmember: return member_needed(host, id) ? member_content(id) : std::nullopt;
    case Kind::addrgroup: {
      auto a = in_.address_groups.find(id);
      if (a == in_.address_groups.end() || !needs(address_referrers_, host, id)) return std::nullopt;
      return view::encode(view::AddressGroup{a->second.addresses});
    }
    default: return std::nullopt;
  }
}

std::optional<json::object> SecGroupNode::member_content(const std::string& id) const {
  auto at = view::ArpId::parse(id);  // <group>|<address>
  if (!at || count_of(member_ips_, at->router, at->port) == 0) return std::nullopt;
  return view::encode(view::SgMember{at->port});
}

bool SecGroupNode::member_needed(const std::string& host, const std::string& id) const {
  auto at = view::ArpId::parse(id);
  return at && needs(referrers_, host, at->router);
}

// Walks the inputs, not the indexes, so that the oracle checks those too.
void SecGroupNode::recompute(const std::string& host, WireView& out) const {
  ++stats.recomputes;
  std::set<std::string> groups;
  for (const auto& [id, p] : in_.ports) {
    if (!instance(p) || p.bound_host() != host) continue;
    out[key(Kind::portsec, id)] = view::encode(describe(p));
    for (const auto& g : secure_groups(&p)) groups.insert(g);
  }
  if (groups.empty()) return;
  std::map<std::string, view::SecurityGroup> found;
  std::set<std::string> remotes, named;
  for (const auto& [id, r] : in_.security_group_rules) {
    if (!groups.count(r.security_group_id)) continue;
    found[r.security_group_id].rules.push_back(r.rule);  // the map's order: by id
    if (auto to = remote(r); !to.empty()) remotes.insert(to);
    if (auto a = address_group(r); !a.empty()) named.insert(a);
  }
  for (const auto& a : named)
    if (auto row = in_.address_groups.find(a); row != in_.address_groups.end())
      out[key(Kind::addrgroup, a)] = view::encode(view::AddressGroup{row->second.addresses});
  for (const auto& g : groups) {
    auto row = in_.security_groups.find(g);
    if (row == in_.security_groups.end()) continue;
    auto& e = found[g];
    e.stateful = row->second.stateful;
    out[key(Kind::secgroup, g)] = view::encode(e);
  }
  for (const auto& to : remotes) {
    std::set<std::string> ips;
    for (const auto& [id, p] : in_.ports) {
      const auto& mine = secure_groups(&p);
      if (std::binary_search(mine.begin(), mine.end(), to))
        for (auto& a : addresses(p)) ips.insert(std::move(a));
    }
    for (const auto& ip : ips) out[key(Kind::sgmember, member_id(to, ip))] = view::encode(view::SgMember{ip});
  }
}

void SecGroupNode::build(const std::string& host, SharedView& out) const {
  auto put = [&](Kind kind, const std::string& id) {
    if (auto e = entry(host, kind, id)) out.add(kind, EntryId(id), ViewEntry::of(*e));
  };
  if (auto mine = by_host_.find(host); mine != by_host_.end())
    for (const auto& id : mine->second) put(Kind::portsec, id);
  auto groups = host_groups_.find(host);
  if (groups == host_groups_.end()) return;
  std::set<std::string> remotes, named;
  for (const auto& [g, n] : groups->second) {
    put(Kind::secgroup, g);
    if (auto r = remotes_.find(g); r != remotes_.end())
      for (const auto& [to, k] : r->second) remotes.insert(to);
    if (auto a = address_groups_.find(g); a != address_groups_.end())
      for (const auto& [to, k] : a->second) named.insert(to);
  }
  for (const auto& to : remotes) {
    auto ips = member_ips_.find(to);
    if (ips == member_ips_.end()) continue;
    for (const auto& [ip, n] : ips->second) {
      auto id = member_id(to, ip);
      if (auto shared = shared_members_.find(id); shared != shared_members_.end())
        out.add(Kind::sgmember, shared->second.first, shared->second.second);
      else
        put(Kind::sgmember, id);
    }
  }
  for (const auto& a : named) put(Kind::addrgroup, a);
}

void SecGroupNode::prepare() {
  shared_members_.clear();
  for (const auto& [to, referrers] : referrers_)
    if (auto ips = member_ips_.find(to); ips != member_ips_.end())
      for (const auto& [ip, n] : ips->second) {
        auto id = member_id(to, ip);
        shared_members_[id] = {EntryId(id), ViewEntry::of(view::encode(view::SgMember{ip}))};
      }
}

std::set<std::string> SecGroupNode::hosts() const {
  std::set<std::string> out;
  for (const auto& [h, ports] : by_host_) out.insert(h);
  return out;
}

void SecGroupNode::clear() {
  by_host_.clear(), member_ips_.clear(), group_hosts_.clear(), host_groups_.clear();
  rules_.clear(), remotes_.clear(), referrers_.clear(), address_groups_.clear(), address_referrers_.clear();
  for (const auto& [id, r] : in_.security_group_rules) index_rule(r, +1);
}

void SecGroupNode::load(const PortRow& port) { index(port, +1); }

}  // namespace nt::planner
