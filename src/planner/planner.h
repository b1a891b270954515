// The planner turns the logical model into one host view per host: exactly what that
// host's agent must build. Contract (as OVN's incremental engine states its own):
//  - Input: changes of the logical model, one resource at a time (put or delete of a
//    network, port or host), in change-log order.
//  - Output: per host, a set of objects keyed by (kind, id), each a plain JSON value;
//    the kinds are listed in channel/view.h.
//  - Incremental: a change re-derives only the entries it can affect, on the hosts it
//    concerns (a port: its own entries and its networks' entries on the hosts of its old
//    and new network; a whole network's entries only on a host joining or leaving it);
//    every host view carries a revision that moves only when its content changes.
//  - The result of any sequence of changes equals recompute() from scratch: the unit
//    tests check this after every step of random sequences (the recompute oracle).
// No I/O: the planner links nothing but common.
#pragma once
#include <boost/json.hpp>

#include "channel/entries.h"
#include "channel/view.h"
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nt {

class Planner {
 public:
  // kind is a store table name: "networks", "ports", "hosts" (L2) and "routers",
  // "subnets", "floatingips", "l3_bindings" (L3); obj nullopt = deleted.
  // `revision` is the model's (durable, global) revision of the change: a host view that
  // changes takes it, so revisions stay comparable across server restarts. 0 = the
  // host's previous revision + 1.
  void apply(const std::string& kind, const std::string& id, const std::optional<boost::json::object>& obj,
             int64_t revision = 0);
  // A host's view as plain objects (a copy; for tests and tools).
  WireView view(const std::string& host) const;
  // The same without copying (the watch hub's snapshots).
  const SharedView& shared_view(const std::string& host) const;
  int64_t host_revision(const std::string& host) const;
  const std::map<std::string, int64_t>& revisions() const { return revisions_; }
  std::set<std::string> hosts_with_views() const;
  // The views computed from scratch from the current inputs.
  std::map<std::string, WireView> recompute() const;
  // Which hosts the last apply() recomputed (for tests and metrics).
  const std::set<std::string>& last_touched() const { return touched_; }
  // The changes of host views made by the last apply().
  const std::vector<ViewDelta>& last_deltas() const { return deltas_; }

  // Bulk start (the server's boot): load() every input without computing, then rebuild()
  // computes every host view once, all at `revision`.
  void load(const std::string& kind, const std::string& id, const boost::json::object& obj);
  void rebuild(int64_t revision);

 private:
  using Keys = std::map<std::string, std::set<ViewKey>>;  // host -> entries to re-derive

  // The whole view from scratch (recompute(), the oracle's reference).
  WireView compute(const std::string& host) const;
  // One entry of a host's view as it should be now (nullopt: absent); what apply() uses.
  std::optional<boost::json::object> entry(const std::string& host, const ViewKey& key) const;
  std::optional<boost::json::object> network_entry(const std::string& host, const std::string& net) const;
  std::optional<boost::json::object> port_entry(const std::string& host, const std::string& pid) const;
  std::optional<boost::json::object> l2pop_entry(const std::string& host, const std::string& pid) const;
  std::set<std::string> hosts_of_network(const std::string& network) const;
  struct FloodMembers {
    std::vector<std::pair<const std::string*, std::string_view>> vteps;  // (host, VTEP) in host order
    bool shared = false;                                      // some hosts share a VTEP
  };
  const FloodMembers& flood_members(const std::string& network) const;
  mutable std::map<std::string, FloodMembers> flood_cache_;
  mutable bool caching_flood_ = false;
  bool flood_frozen_ = false;
  mutable std::map<std::string, std::vector<view::RouterPort>> interface_cache_;  // router -> interfaces, per refresh
  const std::vector<view::RouterPort>& router_interfaces(const std::string& router) const;  // during rebuild's parallel phase: the cache is read-only
  bool host_on_network(const std::string& host, const std::string& net) const;
  // Every entry of host's view that belongs to network net (when membership changes).
  void add_network_keys(Keys& keys, const std::string& host, const std::string& net) const;
  void index_port(const std::string& id, const boost::json::object& port, int delta);
  Keys port_change(const std::string& id, const std::optional<boost::json::object>& obj);
  Keys network_change(const std::string& id, const std::optional<boost::json::object>& obj);
  Keys host_change(const std::string& id, const std::optional<boost::json::object>& obj);
  void refresh(const Keys& keys, int64_t revision);

  // --- L3 (planner/l3.cc): kinds "router" (a DVR instance on every host with a port on
  // the router's networks), "snat" (the router's gateway hosts, active first) and "fip"
  // (per external network, on the hosts of the floating IPs' ports).
  Keys l3_change(const std::string& kind, const std::string& id, const std::optional<boost::json::object>& obj);
  Keys port_with_l3(const std::string& id, const std::optional<boost::json::object>& obj);
  // The port as L2 sees it: a router's sg-/qg- port is bound to its active gateway host.
  std::optional<boost::json::object> effective(const std::optional<boost::json::object>& port) const;
  std::set<std::string> routers_of_port(const boost::json::object& port) const;
  void index_l3_port(const std::string& id, const boost::json::object& port, bool add);
  std::set<std::string> l3_hosts(const std::string& router) const;
  std::set<std::string> dvr_hosts(const std::string& router) const;
  void sync_dvr_ports(const std::string& router, Keys& keys);
  void unbind_dvr_port(const std::string& port, Keys& keys);
  void add_router_keys(Keys& keys, const std::set<std::string>& routers, const std::set<std::string>& reshaped = {});
  void add_arp_keys(Keys& keys, const std::string& host, const std::string& router) const;
  std::set<std::string> router_subnet_ports(const std::string& router) const;
  std::set<std::string> arp_routers(const boost::json::object& port) const;
  // router_here: the caller knows the host has the router (skips that check).
  std::optional<boost::json::object> arp_entry(const std::string& host, const std::string& key, bool router_here = false) const;
  void add_l3_entries(const std::string& host, const std::set<std::string>& routers, WireView& view, bool with_arp = true) const;
  using ArpByRouter = std::map<std::string, std::vector<std::pair<ViewKey, ViewEntry>>>;
  void index_fip(const std::string& id, const boost::json::object& fip, bool add);
  std::set<std::string> routers_with_external(const std::string& network) const;
  std::optional<boost::json::object> router_entry(const std::string& host, const std::string& router) const;
  std::optional<boost::json::object> snat_entry(const std::string& host, const std::string& router) const;
  std::optional<boost::json::object> fip_entry(const std::string& host, const std::string& network) const;
  view::RouterPort router_port(const std::string& id, const char* prefix) const;
  std::string external_network(const std::string& router) const;

  std::map<std::string, boost::json::object> routers_, subnets_, fips_, all_ports_;
  std::map<std::string, std::vector<std::string>> gateways_;       // router -> gateway hosts, active first
  std::map<std::string, std::set<std::string>> router_ports_;      // router -> its qr/sg/qg ports
  std::map<std::string, std::set<std::string>> subnet_ports_;      // subnet -> ports with an address in it
  std::map<std::string, std::map<std::string, int>> subnet_routers_;   // subnet -> routers with interfaces on it
  std::map<std::string, std::map<std::string, int>> network_routers_;  // network -> routers with ports on it
  std::map<std::string, std::set<std::string>> port_fips_;         // port -> its floating IPs
  std::map<std::string, std::set<std::string>> router_fips_;       // router -> its floating IPs
  std::map<std::string, std::map<std::string, int>> compute_hosts_;  // network -> host -> instance ports
  std::map<std::pair<std::string, std::string>, std::string> fg_ports_;  // (host, external network) -> fg port
  std::map<std::string, std::set<std::string>> l3_hosts_;          // router -> hosts given its entries
  std::map<std::string, std::string> l3_external_;                 // router -> external network given
  std::map<std::string, std::set<std::string>> dvr_given_;         // router -> DVR hosts given its entries
  std::map<std::string, std::set<std::string>> dvr_bound_;         // interface port -> hosts it is bound on
  struct L2popItem {
    const std::string* pid;
    const std::string* host;  // where the port is bound
    ViewEntry entry;
  };
  using L2popByNetwork = std::map<std::string, std::vector<L2popItem>>;
  SharedView build_view(const std::string& host, const L2popByNetwork& l2pop, const std::set<std::string>& routers,
                        const ArpByRouter& arp) const;

  std::map<std::string, boost::json::object> networks_, ports_, hosts_;
  std::map<std::string, std::set<std::string>> ports_by_network_;  // network -> ports bound anywhere
  std::map<std::string, std::set<std::string>> ports_by_host_;     // host -> ports bound there
  std::map<std::string, std::map<std::string, int>> host_networks_;  // host -> network -> its ports there
  std::map<std::string, std::map<std::string, int>> network_hosts_;  // the same, network -> host -> ports
  std::map<std::string, SharedView> views_;
  std::map<std::string, int64_t> revisions_;
  std::set<std::string> touched_;
  std::vector<ViewDelta> deltas_;
};

}  // namespace nt
