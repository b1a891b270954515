// Engine node "dvr": the distributed router entries.
//  - router: on every host with an instance port on one of the router's networks: its
//    interfaces (the same IP and MAC on every host), extra routes, the sg- address each
//    subnet's non-local traffic goes to, and the floating IPs of the host's own ports;
//  - arp: per router and port of its subnets, a permanent neighbour ("<router>|<port>").
// It also binds each router interface, for L2, on every DVR host of its router, and keeps
// which hosts were given each router's entries, so that hosts leaving get deletions.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "planner/l2.h"
#include "planner/topology.h"

namespace nt::planner {

// What changed for a router's hosts: the snat and fip nodes mark their keys from it.
struct RouterHosts {
  std::set<std::string> hosts;  // those given its entries before and after the change (see `only`)
  std::string external, old_external;
};

class DvrNode {
 public:
  // `views`: the host views as the engine holds them (a router's ARP entries that a host
  // has but should not have any more are found there).
  DvrNode(const Inputs& in, const Topology& topo, const std::map<std::string, SharedView>& views)
      : in_(in), topo_(topo), views_(views) {}

  // Re-binds the routers' interfaces on their DVR hosts (through `l2`), marks router and
  // ARP keys on the hosts that have or had the routers, and says who those hosts are.
  // `reshaped`: routers whose interfaces or subnets changed (all their ARP entries).
  // `only`: when a port that is none of a router's own changed, the hosts it was or is
  // bound to: the router's entries (and snat and fip) can differ only there and on hosts
  // the router came to or left (RouterHosts::hosts is then just those).
  std::map<std::string, RouterHosts> routers_changed(const std::set<std::string>& routers,
                                                     const std::set<std::string>& reshaped, L2Node& l2, Keys& keys,
                                                     const std::set<std::string>* only = nullptr);
  // A port changed: its interface bindings go (they come back with routers_changed).
  void unbind(const std::string& port, L2Node& l2, Keys& keys);
  // The hosts given the router's entries now (after routers_changed).
  const std::set<std::string>* given(const std::string& router) const;
  // The routers whose entries the host was given.
  std::set<std::string> routers_given_to(const std::string& host) const;

  std::optional<boost::json::object> entry(const std::string& host, view::Kind kind, const std::string& id) const;
  void recompute(const std::string& host, WireView& out) const;

  // Bulk: binds every interface, records the hosts, prepares the shared ARP entries.
  void load(L2Node& l2);
  void build(const std::string& host, SharedView& out) const;
  const std::set<std::string>& routers_of_host(const std::string& host) const;
  void finish();

  void begin_refresh();
  void end_refresh();
  mutable NodeStats stats;  // counted on the engine's (single) thread only

 private:
  std::optional<boost::json::object> router_entry(const std::string& host, const std::string& router) const;
  bool router_here(const std::string& host, const std::string& router) const;
  std::optional<boost::json::object> arp_entry(const std::string& host, const view::ArpId& id, bool router_here) const;
  const std::vector<view::RouterPort>& interfaces(const std::string& router) const;
  const std::set<std::string>& dvr_hosts(const std::string& router) const;
  void sync_bindings(const std::string& router, L2Node& l2, Keys& keys);
  void settle_arp_refs();
  void add_arp_keys(Keys& keys, const std::string& host, const std::string& router) const;

  const Inputs& in_;
  const Topology& topo_;
  const std::map<std::string, SharedView>& views_;
  std::map<std::string, std::set<std::string>> bound_;        // interface port -> hosts it is bound on
  std::map<std::string, std::set<std::string>> given_;        // router -> hosts given its entries
  std::map<std::string, std::string> given_external_;         // router -> external network given
  std::map<std::string, std::set<std::string>> dvr_given_;    // router -> DVR hosts given its ARP entries
  CacheMode cache_mode_ = CacheMode::off;
  mutable std::map<std::string, std::vector<view::RouterPort>> interface_cache_;
  mutable std::map<std::string, std::set<std::string>> dvr_hosts_cache_;
  std::map<std::string, std::set<std::string>> host_routers_;  // bulk: host -> routers it has
  // Bulk: a router's ARP entries, their references counted once per entry (as L2's shared
  // entries: one reserved per host given the router, those not taken given back at finish()).
  struct SharedArp {
    std::vector<std::pair<EntryId, ViewEntry>> entries;
    uint32_t reserved = 0;
    mutable std::atomic<uint32_t> taken{0};
  };
  std::map<std::string, SharedArp> shared_arp_;  // router -> its ARP entries
};

}  // namespace nt::planner
