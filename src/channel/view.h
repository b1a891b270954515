// A host view on the wire: everything one host's agent must build, as (kind, id) -> the
// JSON of the entry's struct (channel/entries.h, which the agent decodes it into). The
// planner makes it, the watch hub streams it as JSON lines. Kinds:
//   network  a network the host has a port on: segment, MTU, bridge, flood VTEPs
//   port     a port bound to the host (its tap)
//   l2pop    a port of one of those networks bound elsewhere, with its VTEP
//   router   a distributed router with an interface on one of the host's networks
//   arp      one permanent neighbour of such a router ("<router>|<port>")
//   snat     a router's SNAT role on a gateway host (active or standby, priority)
//   fip      the floating IP namespace of an external network on the host
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "channel/shared_view.h"

namespace nt {

using ViewKey = std::pair<std::string, std::string>;  // kind, id
using WireView = std::map<ViewKey, boost::json::object>;
// How the planner keeps views (ViewEntry, SharedView): channel/shared_view.h.

// One change of one host view: put (obj set) or del. `obj` is the entry as the view holds
// it: an entry shared by many hosts is one block of text, which the watch hub puts in one line
// for all of them.
// `id` is the view's own (a shared handle: no copy of its text per delta).
struct ViewDelta {
  std::string host;
  int64_t revision;  // the host view's revision after this change
  std::string kind;
  EntryId id;
  ViewEntry obj;
};

}  // namespace nt
