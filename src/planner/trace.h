// `neutrino trace`: the path of one packet from a port to an address, hop by hop, computed
// from the planner's inputs (the model's rows, typed) and the host views it made, with no
// I/O. The API (src/api/trace.cc) turns it into JSON and, with live=1, asks each host's
// agent whether the kernel entries the hops name are installed (src/channel/probe.h).
//
// THE ENDPOINT CONTRACT (stable; the /ui page and the CLI use it):
//
//   GET /neutrino/v1/trace?port=<port id>&to=<IPv4>[&protocol=tcp|udp|icmp|any]
//                          [&dst_port=1..65535][&from=<IPv4>][&live=1]
//   Admin only (the API's auth: X-Auth-Token in keystone mode; in noauth mode a request
//   without X-Project-Id, or with X-Roles: admin). Errors are NeutronError JSON:
//   400 (a bad or missing parameter), 403 (not admin), 404 (no such port).
//   `from` (optional): trace inbound from that external address to `to`, a floating IP
//   of `port` (port is then the floating IP's port).
//
//   200 {"trace": {
//          "from": {"port": id, "name": str, "host": str|null, "ip": str|null, "mac": str,
//                   "network_id": str, "external": str|null},
//          "to": "10.0.0.5", "protocol": "icmp", "dst_port": null|N,
//          "hops": [{"host": str|null,        host the hop is on (null: off the hosts)
//                    "what": str,             kind of hop: binding, port, tap, secgroup,
//                                             bridge, vxlan, qrouter, route, arp, dhcp,
//                                             metadata, snat, gateway, fip, nat, external,
//                                             deliver
//                    "detail": str,           one line for people
//                    "namespace": str|null,   the namespace the hop is in (null: host's)
//                    "device": str|null,      the device it names
//                    "attrs": {str: str},     typed facts for tools (vni, remote_vtep,
//                                             remote_host, role, address, rule, ...)
//                    "live": null|"ok"|"missing: ..."|"different: ..."|"unknown: ..."},
//                   ...],
//          "result": "delivered" | "forwarded" (left through an external network) |
//                    "intercepted" (DHCP/metadata, served on the host) |
//                    "dropped: <why>" | "unbound: <why>" | "unreachable: <why>",
//          "live": null (not asked) | "ok" | "mismatch" (some hop's live is not "ok")}}
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "channel/probe.h"
#include "common/error.h"

namespace nt {
class Planner;
}

namespace nt::planner {

struct TraceQuery {
  std::string port_id;
  std::string to;                      // IPv4 address
  std::string protocol = "icmp";      // tcp, udp, icmp, any
  std::optional<int64_t> dst_port;     // tcp/udp only
  std::optional<std::string> from;     // inbound from this external address to `to` (a floating IP)
  std::string namespace_prefix = "";  // the agents' qrouter-/snat-/fip- prefix (as the sandbox sets it)
};

struct TraceFrom {
  std::string port, name, mac, network_id;
  std::optional<std::string> host, ip, external;
};

struct TraceHop {
  std::optional<std::string> host;
  std::string what, detail;
  std::optional<std::string> ns, device;
  std::map<std::string, std::string> attrs;
  std::optional<view::ProbeCheck> check;  // the kernel entry the hop stands for (for --live)
  std::optional<std::string> live;        // filled by the live check
};

struct Trace {
  TraceFrom from;
  std::string to, protocol;
  std::optional<int64_t> dst_port;
  std::vector<TraceHop> hops;
  std::string result;
  std::optional<std::string> live;
};

// The trace; an error only for a port that does not exist (not_found) or a query that
// does not read (invalid_argument). The planner's lock must be held by the caller.
Result<Trace> trace(const Planner& planner, const TraceQuery& query);

}  // namespace nt::planner
