// `neutrino wait --port P`: waits until the port's status is ACTIVE, which the server sets
// only once the port's host has its tap up and every host that must act on the port has
// applied it ("applied everywhere", docs/architecture.md). For scripts, as Nova waits for
// network-vif-plugged.
#pragma once
#include <string>

namespace CLI {
class App;
}

namespace nt::cli {

struct PortWaitOptions {
  std::string port;
  double timeout_s = 60;
  std::string url = "http://127.0.0.1:9696";  // http://host:port or unix:///path
  std::string token;                          // a Keystone token (X-Auth-Token), if the server wants one
};

// Adds `wait` to the app; returns it (parsed() says it ran).
CLI::App* add_port_wait(CLI::App& app, PortWaitOptions& o);
// Polls GET /v2.0/ports/{id}?fields=status with backoff (20 ms growing to 250 ms) and
// prints one line. 0: ACTIVE; 1: not ACTIVE within the timeout; 2: the server refused
// (no such port, not authorised, bad URL).
int run_port_wait(const PortWaitOptions& o);

}  // namespace nt::cli
