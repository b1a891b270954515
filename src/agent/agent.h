// The agent loop: register, heartbeat (with the state of the host's ports), watch the
// host view from the server and reconcile the kernel whenever it changes, resuming the
// watch from the last revision after a disconnect. Stateless: on start it adopts what the
// kernel already has, so a restart changes nothing.
#pragma once
#include <iosfwd>
#include <string>

#include "agent/bfd_client.h"
#include "agent/l2_reconciler.h"
#include "metadata/proxy.h"
#include "common/config.h"
#include "common/error.h"

namespace nt::agent {

struct AgentConfig {
  std::string host, agent_mode, server_url, token;
  std::string namespace_prefix;  // of the qrouter-/snat-/fip- namespaces it makes
  std::string state_path;        // where the host's own channel token is kept
  L2Settings l2;
  int report_interval = 2;
  metadata::BackendSettings metadata;  // where the metadata proxy forwards (Neutron's option names)
  BfdOptions bfd;                      // [ha]: gateway HA's BFD sessions (l2.bfd_vni: its VNI)
  std::string metrics_bind;            // address:port of the local /metrics listener ("" = none)
};

Result<AgentConfig> load_agent_config(const std::string& path);
// agent.ini's options (sections, names, types, ranges): what load_agent_config parses.
const std::vector<OptionSpec>& agent_options();
// The file that holds the host token the server issued at enrolment (mode 0600).
std::string host_token_file(const AgentConfig& c);
// The token in that file, "" if there is none yet.
std::string read_host_token(const std::string& file);
// Writes the token atomically (temporary file, fsync, rename), readable by the owner only.
Status write_host_token(const std::string& file, const std::string& token);
// "physnet:interface" entries (agent.ini bridge_mappings, --bridge-mapping) into a map.
Result<std::map<std::string, std::string>> parse_bridge_mappings(const std::vector<std::string>& entries);
Result<HostView> read_view_file(const std::string& path);
// Plans and (unless dry_run) applies one reconcile against the netlink kernel; prints the
// operations to `out`; returns how many there were.
Result<size_t> reconcile_once(const HostView& view, const L2Settings& settings, bool dry_run, std::ostream& out);
int run_agent(const AgentConfig& config, bool once, bool dry_run);

}  // namespace nt::agent
