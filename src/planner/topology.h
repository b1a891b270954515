// Engine node "topology": the L3 indexes over the inputs that the dvr, snat and fip nodes
// read (which ports a router has, which ports have an address in a subnet, which hosts
// have instance ports on a network, ...). It owns no entries; a change tells the engine
// which routers it concerns.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "channel/entries.h"
#include "planner/inputs.h"
#include "planner/node.h"

namespace nt::planner {

// A router's own port: one of its interfaces, its SNAT (sg-) port or its gateway (qg-) port.
bool is_router_own(const std::string& owner);

class Topology {
 public:
  explicit Topology(const Inputs& in) : in_(in) {}

  // Indexes a port or floating IP (add) or forgets it; the row as it is in the inputs.
  void index_port(const PortRow& port, bool add);
  void index_fip(const FipRow& fip, bool add);

  // The external network of a router ("" = none).
  std::string external_network(const std::string& router) const;
  std::set<std::string> routers_with_external(const std::string& network) const;
  // Routers whose entries mention the port (as their own, by subnet, network, fip, fg).
  std::set<std::string> routers_of_port(const PortRow& port) const;
  // Routers whose interface subnets hold an address of the port (its ARP entries).
  std::set<std::string> arp_routers(const PortRow& port) const;
  // Hosts with an instance port on one of the router's interface networks.
  std::set<std::string> dvr_hosts(const std::string& router) const;
  // Those and, for a router with a gateway, its gateway hosts.
  std::set<std::string> l3_hosts(const std::string& router) const;
  // Ports with an address in one of the router's interface subnets.
  std::set<std::string> router_subnet_ports(const std::string& router) const;
  // The router's gateway hosts, active first (empty: none scheduled).
  const std::vector<std::string>& gateways(const std::string& router) const;
  // One router port as the entries show it (prefix "qr-", "sg-", "qg-" or "fg-").
  view::RouterPort router_port(const std::string& port_id, const char* prefix) const;

  const std::set<std::string>& router_ports(const std::string& router) const;
  const std::set<std::string>& router_fips(const std::string& router) const;
  const std::map<std::string, std::set<std::string>>& all_router_fips() const { return router_fips_; }
  const std::map<std::string, int>* network_routers(const std::string& network) const;
  const std::map<std::string, int>* subnet_routers(const std::string& subnet) const;
  bool has_compute_host(const std::string& network, const std::string& host) const;
  const std::string* fg_port(const std::string& host, const std::string& network) const;

 private:
  const Inputs& in_;
  std::map<std::string, std::set<std::string>> router_ports_;          // router -> its qr/sg/qg ports
  std::map<std::string, std::set<std::string>> subnet_ports_;          // subnet -> ports with an address in it
  std::map<std::string, std::map<std::string, int>> subnet_routers_;   // subnet -> routers with ports on it
  std::map<std::string, std::map<std::string, int>> network_routers_;  // network -> routers with ports on it
  std::map<std::string, std::set<std::string>> port_fips_;             // port -> its floating IPs
  std::map<std::string, std::set<std::string>> router_fips_;           // router -> its floating IPs
  std::map<std::string, std::map<std::string, int>> compute_hosts_;    // network -> host -> instance ports
  std::map<std::pair<std::string, std::string>, std::string> fg_ports_;  // (host, external network) -> fg port
};

// What the router-scoped nodes (snat, fip) share: the inputs and the topology they read,
// the same three operations (mark keys for changed routers, build one entry, compute a
// host from scratch or, at boot, for the host's routers) and their counters.
class RouterNode {
 public:
  RouterNode(const Inputs& in, const Topology& topo) : in_(in), topo_(topo) {}
  mutable NodeStats stats;  // counted on the engine's (single) thread only

 protected:
  const Inputs& in_;
  const Topology& topo_;
};

}  // namespace nt::planner
