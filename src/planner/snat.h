// Engine node "snat": a router's SNAT role on each of its gateway hosts (scheduling
// order; the first is active): its sg- ports, the qg- port, the internal CIDRs. It also
// says where a router's sg- and qg- ports are bound for L2: on the active gateway host.
#pragma once
#include <map>
#include <optional>
#include <string>

#include "planner/dvr.h"
#include "planner/topology.h"

namespace nt::planner {

class SnatNode : public RouterNode {
 public:
  using RouterNode::RouterNode;

  // The port as L2 sees it: a router's sg-/qg- port is bound to its active gateway host.
  std::optional<PortRow> effective(const std::optional<PortRow>& port) const;
  // Whether effective() changes the port (one of those two); the others L2 takes as stored.
  static bool moves(const PortRow& port);
  // Marks the snat keys of routers whose hosts or shape changed.
  void routers_changed(const std::map<std::string, RouterHosts>& routers, Keys& keys);

  std::optional<boost::json::object> entry(const std::string& host, const std::string& router) const;
  void recompute(const std::string& host, WireView& out) const;
  void build(const std::string& host, const std::set<std::string>& routers, SharedView& out) const;
};

}  // namespace nt::planner
