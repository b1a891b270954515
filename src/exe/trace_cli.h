// `neutrino trace PORT_OR_VM TO_IP`: asks the server's GET /neutrino/v1/trace (the contract
// is at the top of src/planner/trace.h) and prints the path, one aligned line per hop, or
// the JSON answer with -f json.
#pragma once
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace nt::cli {

struct TraceOptions {
  std::string port;  // a port id, or a port's name (a sandbox VM's port is named after the VM)
  std::string to;
  std::string protocol = "icmp";
  std::optional<int> dst_port;
  std::string from;  // inbound from this external address (to: a floating IP)
  bool live = false;
  std::string format = "table";  // table | json
  std::string url;               // default: the sandbox's server (--sandbox-dir), else http://127.0.0.1:9696
  std::string token;
  std::string sandbox_dir = "run/sandbox";
};

CLI::App* add_trace(CLI::App& app, TraceOptions& o);
// 0: traced (whatever the result); 2: the server refused or was not reached.
int run_trace(const TraceOptions& o);

}  // namespace nt::cli
