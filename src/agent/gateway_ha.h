// Gateway high availability on the host, decided locally from BFD (pure functions).
//
// The server orders each router's gateway hosts (the one it knows as active first) and
// sends that order as VTEPs: in the router's snat entry on its gateway hosts, and as the
// `candidates` of its sg-/qg- ports' l2pop entries on every host of their networks. A host
// then follows what it sees itself, with no server round trip:
//  - a compute sends to the first candidate it does not see failed by BFD;
//  - a gateway host is active for a router when it is that first candidate from its own
//    view, and never while it is isolated (every BFD session failed); a host before it
//    that it sees failed but another of its peers still sees up (a partition between the
//    gateways) counts as alive, so that only one gateway is active;
//  - a host that sees no candidate alive keeps the server's choice.
// "Failed" means a session that went down (detection time expired, or the peer said so),
// not one that has not come up yet: a starting host follows the server until BFD speaks.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "channel/entries.h"

namespace nt::agent {

struct Liveness {
  std::set<std::string> failed;  // peer VTEPs whose session went down
  bool isolated = false;         // every session failed: this host must not be active
  // Peers that another peer (up from here) still sees up: only cut off from this host.
  std::set<std::string> vouched;
  // Just back from isolation (hold-down): stay as you are, take over from a host before
  // you only later.
  bool settling = false;
};

// The candidate to use: the first one alive from this host's view ("" if none is).
std::string choose_gateway(const std::vector<std::string>& candidates, const std::string& self, const Liveness& live);

// The VTEPs this host keeps BFD sessions with: the gateway hosts of the routers it sends
// to, and, where it is a gateway host itself, the other gateway hosts and every host of the
// networks its sg-/qg- ports are on (they send to it).
std::vector<std::string> bfd_peers(const view::HostView& view, const std::string& self);

// The view as this host realises it: each snat entry active when this host is the gateway
// chosen from its view, and each gateway port's l2pop entry behind the chosen VTEP (none
// when it is this host: its own warm port takes the traffic). `roles`: router -> active |
// standby, for the server. Returns false (and leaves `out` alone) when nothing differs from
// the server's view, so an idle host copies nothing.
// `current`: the roles this host holds now (a settling host takes no new active role).
bool apply_gateway_roles(const view::HostView& view, const std::string& self, const Liveness& live,
                         const std::map<std::string, std::string>& current, view::HostView& out,
                         std::map<std::string, std::string>& roles);

}  // namespace nt::agent
