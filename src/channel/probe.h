// `neutrino trace --live`: the server asks a host's agent whether kernel entries are
// installed. The question travels on the host's watch stream as a line
//   {"op":"probe","probe":{"id":"<id>","checks":[ProbeCheck...]}}
// (an agent that does not know the op ignores it), and the agent answers with
//   POST /agent/v1/hosts/{host}/probe  ProbeAnswer
// with its host token: one result per check, in order: "ok", "missing: <entry>" or
// "different: <what the kernel has>". The agent reads its kernel for each namespace once.
#pragma once
#include <boost/describe.hpp>
#include <boost/json.hpp>

#include <string>
#include <vector>

namespace nt::view {

// One kernel entry: kind fdb (dev, mac, dst: the VTEP of a VXLAN entry, "" for the bridge
// entry), neigh (dev, ip, mac), addr (dev, cidr in `ip`), route (table, dst, via, dev), rule
// (table, `ip` = from CIDR) or nft (`dst` = the table, "ip nt-snat"; `text` = a line it holds).
// An empty member (table 0 for route and rule) matches anything.
// `ns`: "" for the host itself, else the namespace's name without the agent's prefix
// (qrouter-<router>, snat-<router>, fip-<network>); the agent adds its namespace_prefix.
struct ProbeCheck {
  std::string kind, ns, dev, mac, ip, dst, via, text;
  int64_t table = 254;
  bool operator==(const ProbeCheck&) const = default;
};
BOOST_DESCRIBE_STRUCT(ProbeCheck, (), (kind, ns, dev, mac, ip, dst, via, text, table))

struct Probe {
  std::string id;
  std::vector<ProbeCheck> checks;
};
BOOST_DESCRIBE_STRUCT(Probe, (), (id, checks))

struct ProbeAnswer {
  std::string id;
  std::vector<std::string> results;
};
BOOST_DESCRIBE_STRUCT(ProbeAnswer, (), (id, results))

}  // namespace nt::view
