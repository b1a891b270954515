#include "agent/l3_runner.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <regex>

#include "common/net.h"


namespace nt::agent {

kernel::Kernel* L3Runner::kernel_of(const std::string& ns) {
  auto k = host_.in_namespace(ns);
  if (!k) return report_error("namespace {}: {}", ns, k.error().message), nullptr;
  return *k;
}

size_t L3Runner::apply(kernel::Kernel& k, const std::vector<kernel::Op>& ops, const std::string& where) {
  for (const auto& op : ops) spdlog::info("{}{}{}", dry_run_ ? "would " : "", op.describe(), where.empty() ? "" : " in " + where);
  if (!dry_run_ && !ops.empty())
    if (auto r = k.apply(ops); !r) report_error("reconcile{}: {}", where.empty() ? "" : " " + where, r.error().message);
  return ops.size();
}

size_t L3Runner::ensure_sysctls(const std::string& ns, const std::map<std::string, std::string>& values) {
  auto done = host_.set_sysctls(ns, values, dry_run_);
  if (!done) return report_error("sysctls in {}: {}", ns, done.error().message), 0;
  for (const auto& key : done->changed) spdlog::info("{}set {} = {} in {}", dry_run_ ? "would " : "", key, values.at(key), ns);
  // One key failing (an interface not there yet) leaves the others set; the next pass retries.
  for (const auto& [key, why] : done->failed) spdlog::warn("sysctl {} in {}: {}", key, ns, why);
  return done->changed.size();
}

// The rfp- /31 each existing qrouter namespace already has (kept across restarts).
void L3Runner::learn_link_local() {
  for (const auto& ns : host_.namespaces(prefix_ + "qrouter-")) {
    auto* k = kernel_of(ns);
    auto state = k ? k->read() : Result<kernel::State>(nt::unexpected(Error{}));
    if (!state) continue;
    for (const auto& a : state->addresses) {
      // rfp- ends are 169.254.<64 + i / 128>.<2 * (i % 128)>/31 (link_local_pair).
      auto cidr = Cidr::parse(a.cidr, false);
      if (a.dev.rfind("rfp-", 0) != 0 || !cidr || cidr->network.version != 4 || cidr->prefix != 31) continue;
      auto v = static_cast<uint32_t>(cidr->network.value);
      if ((v >> 16) != 0xa9fe) continue;  // 169.254/16
      unsigned third = (v >> 8) & 0xff, fourth = v & 0xff;
      rfp_[ns.substr(prefix_.size() + 8)] = static_cast<int>((third - 64) * 128 + fourth / 2);
    }
  }
}

size_t L3Runner::before_l2(const HostView& view, const kernel::State& host) {
  if (!learned_) learn_link_local(), learned_ = true;
  rfp_ = allocate_link_local(view, rfp_);
  desired_ = desired_l3(view, prefix_, rfp_);
  size_t changes = 0;
  for (const auto& [ns, plan] : desired_.namespaces) {
    if (host_.namespace_exists(ns)) continue;
    ++changes;
    spdlog::info("{}add namespace {}", dry_run_ ? "would " : "", ns);
    if (dry_run_) continue;
    if (auto made = host_.create_namespace(ns); !made) {
      report_error("{}", made.error().message);
      continue;
    }
    // Before any port arrives: interfaces made later take default's values (no redirects).
    // IPv6's key is absent on a kernel without IPv6: not an error.
    (void)host_.set_sysctls(ns, {{"net/ipv6/conf/default/disable_ipv6", "1"}}, false);
    auto set = host_.set_sysctls(ns, {{"net/ipv4/conf/all/send_redirects", "0"}, {"net/ipv4/conf/default/send_redirects", "0"}},
                                 false);
    if (!set || !set->failed.empty())
      report_error("sysctls in {}: {}", ns, set ? set->failed.begin()->second : set.error().message);
  }
  size_t veths = apply(host_.root(), plan_host_veths(desired_.host, host), "");
  host_links_changed_ = veths > 0;
  return changes + veths + security_pass(view, host);
}

// Security groups before L2 plugs a new port: its tap is filtered from its first frame (the
// tables name taps, which need not exist yet), and a port whose filtering is not in place is
// not plugged at all (withheld). Then the connections no rule allows any more are cut, after
// the tables that stop new ones are in. A pass whose inputs did not change plans nothing.
size_t L3Runner::security_pass(const HostView& view, const kernel::State& host) {
  if (!numbers_learned_) learn_sg_numbers(view, host), numbers_learned_ = true;
  if (!sg_inputs_ || !sg_inputs_->same_as(view)) {
    planned_ = plan_security(view, sg_numbers_);
    sg_inputs_ = SgInputs::of(view);
    ++planned_generation_;
  }
  size_t changes = 0;
  bool failed_before = failed_;
  failed_ = false;
  changes += sync_sg_table("bridge nt-sg", planned_.bridge, host);
  changes += sync_sg_table("inet nt-sg", planned_.inet, host);
  // br_netfilter: bridged IP goes through the inet hooks of this namespace (conntrack). No
  // mid-stream pickup: a connection whose entry was cut stays cut, whichever end speaks first.
  // (After the tables: conntrack's keys exist once something in the namespace uses it.)
  if (!planned_.ports.empty()) {
    auto set = host_.set_sysctls("", {{"net/bridge/bridge-nf-call-iptables", "1"},
                                      {"net/bridge/bridge-nf-call-ip6tables", "1"},
                                      {"net/netfilter/nf_conntrack_tcp_loose", "0"}},
                                 dry_run_);
    if (!set || !set->failed.empty())
      report_error("security groups need br_netfilter and conntrack (modprobe br_netfilter): {}",
                   set ? set->failed.begin()->first + ": " + set->failed.begin()->second : set.error().message);
    else
      changes += set->changed.size();
  }
  bool applied = !failed_;
  failed_ = failed_ || failed_before;
  if (applied || dry_run_) {  // (a dry run shows what would be plugged were it applied)
    filtered_.clear();
    for (const auto& [id, p] : planned_.ports) filtered_.insert(id);
  }
  withhold(view, planned_.open_ports);
  if (applied && !dry_run_ && enforced_generation_ != planned_generation_) {
    auto cuts = flows_to_cut(enforced_, planned_);
    auto gone = cuts.empty() ? Result<size_t>(size_t{0}) : host_.delete_flows(cuts);
    if (!gone) report_error("cutting connections: {}", gone.error().message);  // retried next pass
    else if (*gone) spdlog::info("cut {} connections no rule allows any more", *gone);
    if (gone) enforced_ = planned_, enforced_generation_ = planned_generation_;
  }
  return changes;
}

L3Runner::SgInputs L3Runner::SgInputs::of(const HostView& v) {
  return SgInputs{v.portsec, v.secgroups, v.sgmembers, v.addrgroups, v.networks};
}

bool L3Runner::SgInputs::same_as(const HostView& v) const {
  return portsec == v.portsec && secgroups == v.secgroups && sgmembers == v.sgmembers && addrgroups == v.addrgroups &&
         networks == v.networks;
}

// Brings one security table to `want` (empty: no table). Unchanged while the kernel holds
// what this agent last put there; edited in place (one transaction of element and chain
// changes) when parts differ; created or replaced whole otherwise: the first time, after a
// failure, or when someone else replaced it. A restarted agent adopts a table whose digest
// chain says it holds `want` already.
size_t L3Runner::sync_sg_table(const std::string& name, const NftTable& want, const kernel::State& host) {
  auto actual = host.nft.find(name);
  auto known = sg_tables_.find(name);
  // Only on the first pass: the listing is what the table held then, not after later passes.
  auto listed = sg_listed_digest_.extract(name);
  using kernel::Op;
  if (want.empty()) {
    sg_tables_.erase(name);
    if (actual == host.nft.end()) return 0;
    Op del{Op::del_nft};
    del.nft_table = name;
    return apply_sg(del), 1;
  }
  NftTable parts = want;
  auto digest_chain = "digest-" + table_digest(want.text());
  parts.chains[digest_chain] = "";
  bool ours = known != sg_tables_.end() && actual != host.nft.end() && actual->second == known->second.tag;
  if (ours && known->second.parts == parts) return 0;
  if (!ours && known == sg_tables_.end() && actual != host.nft.end() && !listed.empty() && listed.mapped() == digest_chain) {
    sg_tables_[name] = SgTable{actual->second, std::move(parts)};
    return 0;
  }
  Op op{Op::put_nft};
  op.nft_table = name;
  auto script = ours ? edit_script(name, known->second.parts, parts) : std::nullopt;
  if (script) op.kind = Op::edit_nft, op.nft_body = std::move(*script);
  else op.nft_body = parts.text(), op.nft_digest = table_digest(op.nft_body);
  auto tag = script ? known->second.tag : op.nft_digest;
  if (apply_sg(op)) sg_tables_[name] = SgTable{tag, std::move(parts)};
  else sg_tables_.erase(name);  // the next pass replaces it whole
  return 1;
}

bool L3Runner::apply_sg(const kernel::Op& op) {
  spdlog::info("{}{}", dry_run_ ? "would " : "", op.describe());
  if (dry_run_) return false;
  auto done = host_.root().apply({op});
  if (!done) report_error("reconcile: {}", done.error().message);
  return done.has_value();
}

// A restarted agent keeps the zones and port numbers its tables have (a zone that moved
// would orphan its bridge's connections; a moved number would rewrite the tables).
void L3Runner::learn_sg_numbers(const HostView& view, const kernel::State& host) {
  auto text = [&](const char* table) {
    auto t = host.nft.count(table) ? host_.root().list_nft(table) : Result<std::string>(std::string());
    return t ? *t : std::string();
  };
  std::map<std::string, std::string> port_of_tap;
  for (const auto& [id, p] : view.portsec) port_of_tap[p.device] = id;
  auto inet = text("inet nt-sg"), bridge = text("bridge nt-sg");
  sg_numbers_ = learn_numbers(inet, bridge, port_of_tap);
  static const std::regex digest("chain (digest-[0-9a-f]{1,16}) \\{");
  for (const auto& [name, listing] : {std::pair{"inet nt-sg", &inet}, std::pair{"bridge nt-sg", &bridge}})
    if (std::smatch m; std::regex_search(*listing, m, digest)) sg_listed_digest_[name] = m[1].str();
  if (!sg_numbers_.zones.empty()) spdlog::info("kept {} conntrack zones and {} port numbers", sg_numbers_.zones.size(), sg_numbers_.ports.size());
}

// L2 plugs a VM's port only when the host knows how to treat it (an allow-list: a port
// without its portsec entry yet, or one that could not be read, stays out): filtered by the
// tables in place, or port security off.
void L3Runner::withhold(const HostView& view, const std::set<std::string>& open) {
  withheld_.clear();
  for (const auto& [id, port] : view.ports)
    if (port.vm && !filtered_.count(id) && !open.count(id)) withheld_.insert(id);
  if (!withheld_.empty())
    spdlog::warn("{} ports are not filtered yet, not plugged: {}{}", withheld_.size(), *withheld_.begin(),
                 withheld_.size() > 1 ? ", ..." : "");
}

// An address that arrives on this host's external side is announced with gratuitous ARP
// once its port is on the external bridge, so the external network forgets the host that
// had it before: a floating IP from the fip namespace's fg- port (proxy ARP answers for
// it), and a router's gateway addresses from its qg- port when this host becomes its
// active gateway (failover). Each is announced once per arrival.
void L3Runner::announce(const std::string& ns, const NamespacePlan& plan, const kernel::State& host) {
  bool fip = ns.find("fip-", prefix_.size()) == prefix_.size(), snat = ns.find("snat-", prefix_.size()) == prefix_.size();
  if (!fip && !snat) return;
  const kernel::Link* port = nullptr;
  for (const auto& [name, l] : plan.want.links)
    if (name.rfind(fip ? "fg-" : "qg-", 0) == 0) port = &l;
  std::set<std::string> now;
  if (fip) {
    for (const auto& r : plan.want.routes)
      if (r.dst.size() > 3 && r.dst.ends_with("/32")) now.insert(r.dst.substr(0, r.dst.size() - 3));
  } else if (port) {
    for (const auto& a : plan.want.addresses)
      if (a.dev == port->name) now.insert(a.cidr.substr(0, a.cidr.find('/')));
  }
  auto& done = announced_[ns];
  std::erase_if(done, [&](const auto& kv) { return !now.count(kv.first); });
  if (!port || dry_run_) return;
  bool plugged = false;
  for (const auto& [name, l] : desired_.host.links)
    if (l.peer == port->name)
      if (auto tap = host.links.find(name); tap != host.links.end()) plugged = !tap->second.master.empty();
  if (!plugged) return;
  // Three times, one per pass (as Neutron's send_arp_for_ha): a port just plugged may not
  // forward yet (carrier comes up asynchronously) and the first one can be lost.
  for (const auto& ip : now) {
    int& sent_times = done[ip];
    if (sent_times >= 3) continue;
    auto sent = host_.send_gratuitous_arp(ns, port->name, ip, port->mac);
    if (!sent) {
      spdlog::warn("{}", sent.error().message);
      continue;
    }
    if (sent_times++ == 0) spdlog::info("announced {} from {} in {}", ip, port->name, ns);
    repeat_ = true;
  }
}

size_t L3Runner::after_l2(const kernel::State& host) {
  size_t changes = apply(host_.root(), plan_host_l3(desired_.host, host), "");
  // Routers before fip namespaces: a floating IP becomes reachable (its /32 route in the
  // fip namespace) only once its DNAT is in place, or the first packets would leave a
  // conntrack entry without NAT that keeps a steady flow (a ping) from ever reaching the VM.
  std::vector<const std::string*> order;
  for (const char* kind : {"qrouter-", "snat-", "fip-", "meta-"})
    for (const auto& [ns, plan] : desired_.namespaces)
      if (ns.compare(prefix_.size(), std::strlen(kind), kind) == 0) order.push_back(&ns);
  for (const auto* name : order) {
    const auto& ns = *name;
    const auto& plan = desired_.namespaces.at(ns);
    auto* k = host_.namespace_exists(ns) ? kernel_of(ns) : nullptr;
    if (!k) continue;
    auto actual = k->read();
    if (!actual) {
      report_error("reading {}: {}", ns, actual.error().message);
      continue;
    }
    auto ops = plan_namespace(plan.want, *actual);
    changes += apply(*k, ops, ns);
    changes += ensure_sysctls(ns, plan.sysctls);
    announce(ns, plan, host);
  }
  for (const auto& ns : host_.namespaces(prefix_)) {
    if (!l3_namespace(ns, prefix_) || desired_.namespaces.count(ns)) continue;
    ++changes;
    spdlog::info("{}del namespace {}", dry_run_ ? "would " : "", ns);
    if (!dry_run_)
      if (auto gone = host_.delete_namespace(ns); !gone) report_error("{}", gone.error().message);
  }
  return changes;
}

}  // namespace nt::agent
