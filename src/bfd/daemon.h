// neutrino-bfd: BFD sessions to the other gateway hosts over one device (a VXLAN device
// whose FDB sends peer_mac(VTEP) to that VTEP), steered by the agent over a Unix socket of
// JSON lines. One Boost.Asio thread: the packet socket, one timer for every session, the
// control socket. The daemon outlives its clients: a client going away changes nothing,
// and the same configuration sent again keeps every session as it is.
//
// Control protocol (one JSON object per line, both ways):
//   client -> daemon
//     {"op":"config","local":"10.0.0.1","min_tx_ms":100,"min_rx_ms":100,"detect_mult":3,
//      "peers":["10.0.0.2",...]}   replaces the configuration (kept peers untouched, new
//                                    ones start Down, removed ones get one AdminDown)
//     {"op":"get"}                 asks for a states line
//   daemon -> client
//     {"op":"hello","protocol":1,"pid":N}             on connect
//     {"op":"states","local":"10.0.0.1"|null,"peers":{"10.0.0.2":{"state":"up",
//      "diag":"none","since_ms":N,"tx":N,"rx":N}}}     on connect when configured, after
//                                                     each config and for get (to that client)
//     {"op":"state","peer":"10.0.0.2","state":"down","diag":"..."}   to every client, on
//                                                     each session state change
//     {"op":"views","views":{"10.0.0.2":["10.0.0.3",...]}}   to every client when a peer's
//                                                     view changes or expires: the peers each up
//                                                     peer sees up (also a "views" member of states)
//     {"op":"error","message":"..."}                  a refused line; the connection is
//                                                     closed after it for lines over 1 MiB,
//                                                     invalid UTF-8 or invalid JSON
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "bfd/session.h"
#include "common/error.h"

namespace nt::bfd {

constexpr size_t kMaxPeers = 4096;
constexpr int64_t kMinIntervalMs = 10, kMaxIntervalMs = 60000;

struct Config {
  uint32_t local = 0;       // this host's VTEP
  Timers timers;
  std::vector<uint32_t> peers;  // distinct, sorted
  bool operator==(const Config&) const = default;
};

// A config line's object, every field checked (invalid_argument naming the field).
Result<Config> parse_config(const boost::json::object& o);

// Runs until SIGTERM/SIGINT (then AdminDown to every peer, the socket file removed, 0).
// 1 when the device or the control socket cannot be had (another daemon answering on it).
int run_daemon(const std::string& device, const std::string& control_path);

}  // namespace nt::bfd
