// The planner turns the logical model into one host view per host: exactly what that
// host's agent must build. It is an incremental engine (the model is OVN's inc-proc-eng):
//  - Input: changes of the stored tables it follows (planner/inputs.h), one row at a
//    time, in change-log order, read once into typed rows.
//  - Nodes, one file each: topology (the L3 indexes, no entries of its own), l2 (network,
//    port, l2pop), dvr (router, arp), snat, fip, dhcp, secgroups (portsec, secgroup,
//    sgmembers, addrgroup). Each keeps its own indexes, says which
//    (host, entry) keys a change may affect, builds any one of its entries, and computes
//    all of them for a host from scratch (recompute). This file wires them.
//  - Output: per host, a set of entries keyed by (kind, id) (channel/entries.h), each
//    stored as the JSON of its struct; every host view carries a revision that moves only
//    when its content changes, and each change is a ViewDelta for the watch streams.
//  - The result of any sequence of changes equals recompute() from scratch, node by node:
//    the unit tests check this after every step of random sequences (the oracle).
// No I/O and no locks: the caller serialises apply() and the reads.
#pragma once
#include <boost/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "channel/entries.h"
#include "channel/view.h"
#include "planner/dhcp.h"
#include "planner/dvr.h"
#include "planner/fip.h"
#include "planner/inputs.h"
#include "planner/l2.h"
#include "planner/secgroups.h"
#include "planner/snat.h"
#include "planner/topology.h"

namespace nt {

class Planner {
 public:
  Planner();
  Planner(const Planner&) = delete;
  Planner& operator=(const Planner&) = delete;

  // One change. `revision` is the model's (durable, global) revision of the change: a
  // host view that changes takes it, so revisions stay comparable across server
  // restarts. 0 = the host's previous revision + 1.
  void apply(const planner::Change& change, int64_t revision = 0);
  // The same from a stored row: `kind` is its table's name ("networks", "ports", "hosts",
  // "routers", "subnets", "floatingips", "l3_bindings", "port_forwardings",
  // "security_groups", "security_group_rules", "address_groups"; others are ignored), obj nullopt
  // = deleted.
  void apply(const std::string& kind, const std::string& id, const std::optional<boost::json::object>& obj,
             int64_t revision = 0);
  // A host's view as plain objects (a copy; for tests and tools).
  WireView view(const std::string& host) const;
  // The same without copying (the watch hub's snapshots).
  const SharedView& shared_view(const std::string& host) const;
  int64_t host_revision(const std::string& host) const;
  const std::map<std::string, int64_t>& revisions() const { return revisions_; }
  std::set<std::string> hosts_with_views() const;
  // The hosts with an L2 binding on `network` (each has the l2pop entries of its ports).
  std::set<std::string> hosts_of_network(const std::string& network) const { return l2_.network_hosts(network); }
  // The views computed from scratch from the current inputs, by every node.
  std::map<std::string, WireView> recompute() const;
  // Which hosts the last apply() recomputed (for tests and metrics).
  const std::set<std::string>& last_touched() const { return touched_; }
  // The changes of host views made by the last apply().
  const std::vector<ViewDelta>& last_deltas() const { return deltas_; }
  // The same, moved out to the caller (the server publishes them: a router interface
  // added is ~14,000 deltas, not copied).
  std::vector<ViewDelta> take_deltas() { return std::exchange(deltas_, {}); }
  // How many (host, entry) keys the last apply() looked at (each maybe a delta).
  size_t last_keys() const { return keys_looked_; }
  // Per node: changes handled, keys marked, entries built, hosts recomputed.
  std::map<std::string, planner::NodeStats> stats() const;
  // The typed inputs as last applied (for `neutrino trace`, src/planner/trace.h).
  const planner::Inputs& inputs() const { return in_; }
  // The DHCP options the server's configuration decides (set before load/apply).
  void set_dhcp_settings(planner::DhcpSettings settings) { dhcp_.settings = std::move(settings); }

  // Bulk start (the server's boot): load() every input without computing, in any order,
  // then rebuild() computes every host view once, all at `revision`, on every core.
  void load(const std::string& kind, const std::string& id, const boost::json::object& obj);
  void rebuild(int64_t revision);

 private:
  using Keys = planner::Keys;
  Keys port_changed(const planner::Change& c);
  Keys l3_changed(const planner::Change& c);
  // The routers' entries (and their interfaces' bindings) on the hosts that have them.
  void routers_changed(Keys& keys, const std::set<std::string>& routers, const std::set<std::string>& reshaped = {},
                       const std::set<std::string>* only = nullptr);
  std::optional<boost::json::object> entry(const std::string& host, view::Kind kind, const std::string& id);
  std::optional<boost::json::object> build_entry(const std::string& host, view::Kind kind, const std::string& id);
  planner::NodeStats& owner_stats(view::Kind kind);
  void refresh(Keys& keys, int64_t revision);
  // One refresh's host-independent entries: one object (and one id) for every host that
  // has it; the L2 and sgmember ones are built once (their content), then only their
  // presence is asked per host.
  // Keyed by the marks' ids, which outlive the refresh.
  struct SharedEntry {
    EntryId id;
    ViewEntry obj;
    std::optional<planner::L2Node::Common> l2;
  };
  using SharedKey = std::pair<view::Kind, std::string_view>;
  struct SharedKeyHash {
    size_t operator()(const SharedKey& k) const {
      return std::hash<std::string_view>()(k.second) * 31 + static_cast<size_t>(k.first);
    }
  };
  using SharedEntries = std::unordered_map<SharedKey, SharedEntry, SharedKeyHash>;
  ViewEntry wanted_entry(const std::string& host, planner::L2Node::HostNetworks& networks, const planner::Mark& mark,
                         SharedEntries& shared);

  planner::Inputs in_;
  std::map<std::string, SharedView> views_;
  planner::Topology topo_;
  planner::L2Node l2_;
  planner::DvrNode dvr_;
  planner::SnatNode snat_;
  planner::FipNode fip_;
  planner::DhcpNode dhcp_;
  planner::SecGroupNode secgroups_;
  std::map<std::string, int64_t> revisions_;
  std::set<std::string> touched_;
  std::vector<ViewDelta> deltas_;
  size_t keys_looked_ = 0;
  std::vector<SharedView::Change> changes_;  // a refresh's changes of one host view
  SharedEntries shared_;                     // a refresh's, empty between them
  static constexpr size_t kSharedBucketsKept = 1 << 16;
};

}  // namespace nt
