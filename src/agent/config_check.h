// `neutrino-agent --config-file F --check-config`: is this agent.ini right for this host?
// First the file, as the agent reads it at start (the first error in it: file, line,
// option, "did you mean ...", types, ranges, values); then, for a file that reads, what
// only this host can tell: the bridge_mappings interfaces exist here, and the server at
// server_url answers (a bounded GET, 2 s). One line per problem:
//   agent.ini:4: unknown option "report_intervall" in [DEFAULT]; did you mean "report_interval"?
//   agent.ini:6: option "bridge_mappings" in [DEFAULT]: interface "eth9" (physnet1) does not exist on this host
//   agent.ini:7: option "server_url" in [DEFAULT]: http://127.0.0.1:1 is unreachable: Connection refused
#pragma once
#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

#include "common/error.h"

namespace nt::agent {

struct ConfigCheckOptions {
  bool check_server = true;  // false: the file and the interfaces only (systemd's ExecStartPre)
  std::chrono::milliseconds server_timeout{2000};
};

struct ConfigCheckReport {
  std::vector<std::string> problems;  // "file:line: option ...: what is wrong", one per problem
  std::vector<std::string> warnings;  // not wrong, but worth a look (an ignored section)
  std::string summary;                // what was found right, for the "OK" line
};

ConfigCheckReport check_agent_config(const std::string& path, const ConfigCheckOptions& options);

// Prints the report (problems and warnings to `err`, prefixed "neutrino-agent: ", or one
// "configuration OK" line to `out`); returns the exit status: 0 when there is no problem, 2.
int print_config_check(const ConfigCheckReport& report, std::ostream& out, std::ostream& err);

// Asks the server at `url` (http://host:port or unix:///path) for its version list
// (GET /) and waits at most `timeout` for the answer: OK on any HTTP 200, else why not.
Status probe_server(const std::string& url, std::chrono::milliseconds timeout);

}  // namespace nt::agent
