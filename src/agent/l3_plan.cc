// Diffs for the L3 reconciler: desired against actual, the smallest list of operations.
#include "agent/l3_reconciler.h"

namespace nt::agent {
using kernel::Op;

namespace {

template <class T, class Make>
void add_missing(const std::set<T>& want, const std::set<T>& have, std::vector<Op>& ops, Make&& make) {
  for (const auto& x : want)
    if (!have.count(x)) ops.push_back(make(x));
}
template <class T, class Make>
void drop_extra(const std::set<T>& have, const std::set<T>& want, std::vector<Op>& ops, Make&& make) {
  for (const auto& x : have)
    if (!want.count(x)) ops.push_back(make(x));
}

Op link_op(Op::Kind k, const kernel::Link& l) { return Op{k, l, {}, {}}; }
Op fdb_op(Op::Kind k, const kernel::Fdb& f) { return Op{k, {}, f, {}}; }
Op neigh_op(Op::Kind k, const kernel::Neighbour& n) { return Op{k, {}, {}, n}; }
Op addr_op(Op::Kind k, const kernel::Address& a) {
  Op op{k, {}, {}, {}};
  op.addr = a;
  return op;
}
Op route_op(Op::Kind k, const kernel::Route& r) {
  Op op{k, {}, {}, {}};
  op.route = r;
  return op;
}
Op rule_op(Op::Kind k, const kernel::Rule& r) {
  Op op{k, {}, {}, {}};
  op.rule = r;
  return op;
}
Op nft_op(Op::Kind k, const std::string& table, const kernel::State& want) {
  Op op{k, {}, {}, {}};
  op.nft_table = table;
  if (k == Op::put_nft) op.nft_digest = want.nft.at(table), op.nft_body = want.nft_bodies.at(table);
  return op;
}

void plan_nft(const kernel::State& want, const kernel::State& actual, bool owns_all, std::vector<Op>& ops) {
  for (const auto& [table, digest] : want.nft)
    if (auto it = actual.nft.find(table); it == actual.nft.end() || it->second != digest) ops.push_back(nft_op(Op::put_nft, table, want));
  if (owns_all)
    for (const auto& [table, digest] : actual.nft)
      if (!want.nft.count(table)) ops.push_back(nft_op(Op::del_nft, table, want));
}

}  // namespace

std::vector<Op> plan_namespace(const kernel::State& want, const kernel::State& actual) {
  std::vector<Op> ops;
  auto exists = [&](const std::string& dev) { return actual.links.count(dev) || (want.links.count(dev) && !want.links.at(dev).peer.empty()); };
  // What goes: entries first, then links (with what hangs off them).
  auto on_kept = [&](const std::string& dev) { return want.links.count(dev) > 0; };
  for (const auto& n : actual.neighbours)
    if (!want.neighbours.count(n) && on_kept(n.dev)) ops.push_back(neigh_op(Op::del_neigh, n));
  for (const auto& r : actual.rules)
    if (!want.rules.count(r)) ops.push_back(rule_op(Op::del_rule, r));
  for (const auto& r : actual.routes)
    if (!want.routes.count(r) && on_kept(r.dev)) ops.push_back(route_op(Op::del_route, r));
  for (const auto& a : actual.addresses)
    if (!want.addresses.count(a) && on_kept(a.dev)) ops.push_back(addr_op(Op::del_addr, a));
  for (const auto& [name, l] : actual.links)
    if (!want.links.count(name) && name != "lo") ops.push_back(link_op(Op::del_link, l));
  // What comes: links made here (veths with a peer), changed links, then what uses them.
  for (const auto& [name, l] : want.links) {
    auto a = actual.links.find(name);
    if (a == actual.links.end()) {
      if (!l.peer.empty()) ops.push_back(link_op(Op::add_link, l));
    } else if (kernel::link_differs(l, a->second)) {
      ops.push_back(link_op(Op::set_link, l));
    }
  }
  auto here = [&](const std::string& dev) { return dev.empty() || exists(dev); };
  for (const auto& a : want.addresses)
    if (!actual.addresses.count(a) && here(a.dev)) ops.push_back(addr_op(Op::add_addr, a));
  for (const auto& r : want.routes)
    if (!actual.routes.count(r) && here(r.dev)) ops.push_back(route_op(Op::add_route, r));
  add_missing(want.rules, actual.rules, ops, [](const auto& r) { return rule_op(Op::add_rule, r); });
  for (const auto& n : want.neighbours)
    if (!actual.neighbours.count(n) && here(n.dev)) ops.push_back(neigh_op(Op::add_neigh, n));
  plan_nft(want, actual, true, ops);
  return ops;
}

std::vector<Op> plan_host_veths(const kernel::State& want, const kernel::State& actual) {
  std::vector<Op> ops;
  for (const auto& [name, l] : want.links)
    if (!actual.links.count(name)) ops.push_back(link_op(Op::add_link, l));
  return ops;
}

std::vector<Op> plan_host_tables(const kernel::State& want, const kernel::State& actual, const std::vector<std::string>& ours) {
  std::vector<Op> ops;
  for (const auto& table : ours) {
    auto w = want.nft.find(table);
    auto a = actual.nft.find(table);
    if (w != want.nft.end() && (a == actual.nft.end() || a->second != w->second)) ops.push_back(nft_op(Op::put_nft, table, want));
    if (w == want.nft.end() && a != actual.nft.end()) ops.push_back(nft_op(Op::del_nft, table, want));
  }
  return ops;
}

std::vector<Op> plan_host_l3(const kernel::State& want, const kernel::State& actual) {
  std::vector<Op> ops;
  for (const auto& f : want.fdb)
    if (!actual.fdb.count(f) && actual.links.count(f.dev) && !actual.links.at(f.dev).master.empty())
      ops.push_back(fdb_op(Op::add_fdb, f));
  // The host's tables are ours only by name: nt-dvr, nt-dhcp (nt-sg: the security pass).
  auto tables = plan_host_tables(want, actual, {"bridge nt-dvr", "bridge nt-dhcp"});
  ops.insert(ops.end(), tables.begin(), tables.end());
  return ops;
}

}  // namespace nt::agent
