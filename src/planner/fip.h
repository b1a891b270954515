// Engine node "fip": per external network, on each host with floating IPs of its own
// ports there: the host's fg- port and the floating IPs per router.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>

#include "planner/dvr.h"
#include "planner/topology.h"

namespace nt::planner {

class FipNode : public RouterNode {
 public:
  using RouterNode::RouterNode;

  // Marks the fip keys of the routers' external networks (old and new) on their hosts.
  void routers_changed(const std::map<std::string, RouterHosts>& routers, Keys& keys);

  std::optional<boost::json::object> entry(const std::string& host, const std::string& network) const;
  void recompute(const std::string& host, WireView& out) const;
  void build(const std::string& host, const std::set<std::string>& routers, SharedView& out) const;
};

}  // namespace nt::planner
