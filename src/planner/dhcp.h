// Engine node "dhcp": per VM port bound to a host, what that host's DHCP server answers
// and what its metadata proxy knows of the port (view::Dhcp). The options follow Neutron's
// dnsmasq driver: the subnet's gateway, DNS servers (or the configured defaults), host
// routes plus on-link routes to the network's other IPv4 subnets, the metadata route
// (169.254.169.254/32 via the DHCP port on isolated subnets, via the gateway on routed
// ones, when enable_isolated_metadata is on; always via the DHCP port with
// force_metadata), the network's MTU, the lease time, the domain and the port's
// extra_dhcp_opts. The server's address and MAC are the network's network:dhcp port's.
#pragma once
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "channel/entries.h"
#include "planner/inputs.h"
#include "planner/node.h"

namespace nt::planner {

struct DhcpSettings {
  bool serve = true;  // dhcp_agent_notification
  int64_t lease = 86400;
  std::string domain = "openstacklocal";
  std::vector<std::string> dns_servers;
  bool isolated_metadata = true, force_metadata = false;
};

class DhcpNode {
 public:
  explicit DhcpNode(const Inputs& in) : in_(in) {}
  DhcpSettings settings;
  mutable NodeStats stats;

  // A port changed from `before` to `after` (either may be null); call with the inputs
  // already holding `after`. Marks the port on its old and new host, and every served
  // port of the network when the port is its DHCP port or a router interface.
  Keys port_changed(const PortRow* before, const PortRow* after);
  // A subnet or the network itself changed: every served port of the network.
  Keys network_changed(const std::string& network);
  // Keeps the network -> subnets index (call with the subnet's network before and after).
  void subnet_moved(const std::string& subnet, const std::string& from, const std::string& to);

  std::optional<boost::json::object> entry(const std::string& host, const std::string& port) const;
  void recompute(const std::string& host, WireView& out) const;
  void build(const std::string& host, SharedView& out) const;
  std::set<std::string> hosts() const;

  // Boot: forget everything, then index every port; prepare() before build(), which may
  // then run on many threads, finish() after.
  void clear();
  void load(const PortRow& port);
  void prepare();
  void finish() { bulk_by_host_.clear(); }

 private:
  static bool served(const PortRow& port);
  void index(const PortRow& port, int delta);
  void mark_network(Keys& keys, const std::string& network) const;
  std::optional<view::Dhcp> describe(const PortRow& port) const;
  bool isolated(const SubnetRow& subnet) const;
  const PortRow* dhcp_port(const std::string& network, const std::string& subnet) const;

  const Inputs& in_;
  std::map<std::string, std::set<std::string>> by_host_, by_network_;  // served (VM) ports
  std::map<std::string, std::set<std::string>> dhcp_ports_;            // network -> its network:dhcp ports
  std::map<std::string, std::map<std::string, int>> router_ips_;       // subnet -> router interface IPs on it
  std::map<std::string, std::set<std::string>> network_subnets_;       // network -> its subnets
  // Bulk only: each host's served ports as the inputs hold them, in id order (no lookup
  // by id per port).
  std::map<std::string, std::vector<const PortRow*>> bulk_by_host_;
};

}  // namespace nt::planner
