// The planner turns the logical model into one host view per host: exactly what that
// host's agent must build. Contract (as OVN's incremental engine states its own):
//  - Input: changes of the logical model, one resource at a time (put or delete of a
//    network, port or host), in change-log order.
//  - Output: per host, a set of objects keyed by (kind, id), each a plain JSON value.
//    Kinds so far: "network" (segment, MTU, bridge, remote VTEPs of the network),
//    "port" (ports bound to the host), "l2pop" (ports of the host's networks bound
//    elsewhere, with their VTEP).
//  - Incremental: a change recomputes only the hosts it concerns (the port's old and new
//    host, and the hosts that have the port's network); every host view carries a
//    revision that moves only when its content changes.
//  - The result of any sequence of changes equals recompute() from scratch: the unit
//    tests check this after every step of random sequences (the recompute oracle).
// No I/O: the planner links nothing but common.
#pragma once
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nt {

using ViewKey = std::pair<std::string, std::string>;  // kind, id
using HostView = std::map<ViewKey, boost::json::object>;

// One change of one host view: put (obj set) or del.
struct ViewDelta {
  std::string host;
  int64_t revision;  // the host view's revision after this change
  std::string kind, id;
  std::optional<boost::json::object> obj;
};

class Planner {
 public:
  // kind is "networks", "ports" or "hosts" (store table names); obj nullopt = deleted.
  // `revision` is the model's (durable, global) revision of the change: a host view that
  // changes takes it, so revisions stay comparable across server restarts. 0 = the
  // host's previous revision + 1.
  void apply(const std::string& kind, const std::string& id, const std::optional<boost::json::object>& obj,
             int64_t revision = 0);
  const HostView& view(const std::string& host) const;
  int64_t host_revision(const std::string& host) const;
  const std::map<std::string, int64_t>& revisions() const { return revisions_; }
  std::set<std::string> hosts_with_views() const;
  // The views computed from scratch from the current inputs.
  std::map<std::string, HostView> recompute() const;
  // Which hosts the last apply() recomputed (for tests and metrics).
  const std::set<std::string>& last_touched() const { return touched_; }
  // The changes of host views made by the last apply().
  const std::vector<ViewDelta>& last_deltas() const { return deltas_; }

 private:
  HostView compute(const std::string& host) const;
  std::set<std::string> hosts_of_network(const std::string& network) const;
  void refresh(const std::set<std::string>& hosts, int64_t revision);

  std::map<std::string, boost::json::object> networks_, ports_, hosts_;
  std::map<std::string, std::set<std::string>> ports_by_network_;  // network -> ports bound anywhere
  std::map<std::string, std::set<std::string>> ports_by_host_;     // host -> ports bound there
  std::map<std::string, HostView> views_;
  std::map<std::string, int64_t> revisions_;
  std::set<std::string> touched_;
  std::vector<ViewDelta> deltas_;
};

}  // namespace nt
