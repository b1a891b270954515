// The sandbox cloud (ARCHITECTURE §7): a multi-host cloud on one machine from real kernel
// parts. A fabric namespace holds the underlay switch (198.51.100.0/24) and the external
// switch (203.0.113.0/24); every host namespace (cmp1..N, gw1..M) has an underlay link
// `eth0` and an external link `ex0` (bridge_mappings physnet1:ex0) and runs its
// neutrino-agent (its /metrics on 127.0.0.1:9180 in that namespace); the `internet` host is
// 203.0.113.1 on the external switch. The server runs in the root namespace on
// 127.0.0.1:PORT and a Unix socket for the agents; with `up --servers N --database
// postgresql://...` N servers share the database (free ports, server-2.sock, ...) and the
// agents' server_url lists them all, the first first. VMs are namespaces whose eth0 is one
// end of a veth; the other end is the host's tap, plugged the way Nova's os-vif plugs one.
// What was started is recorded in STATE_DIR/sandbox.json.
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "common/error.h"

namespace nt::sandbox {

struct Options {
  std::string prefix = "nt-";          // every namespace name starts with it
  std::string state_dir = "run/sandbox";
  std::string bin_dir;                 // neutrino-server and neutrino-agent live here
  int computes = 2, gateways = 2;
  int port = 9696;                     // the first server's; the others' are free ports
  // `up` only: how many neutrino-servers share the database, and the database ("" = the
  // SQLite file STATE_DIR/neutrino.db; more than one server needs a postgresql:// URL).
  int servers = 1;
  std::string database;
  int agent_down_time = 10;            // the server's, in seconds
  // `up` only: the agents' metadata backend (host:port of a Nova-style metadata API)
  // instead of the server's built-in one, and the shared secret ("" = a random one).
  std::string nova_metadata, metadata_secret;
  // `up` only: gateway HA's BFD timers for every agent (kept in STATE_DIR/agent-ha.ini for
  // hosts added or restarted later) and the server's [ha] preempt.
  int bfd_interval_ms = 100, bfd_detect_mult = 3;
  bool ha_preempt = false;
};

struct VmRequest {
  std::string name, host, network;
  std::vector<std::string> fixed_ips;  // "ip-address=A", "subnet=S", "subnet=S,ip-address=A"
  std::string key_file, user_data_file;  // served by the metadata service (public_keys, user_data)
};

Status up(const Options& o);
// Stops what `up` started and removes every sandbox namespace with the prefix, also
// leftovers of a crashed run.
Status down(const Options& o);
Status status(const Options& o);
Status vm_create(const Options& o, const VmRequest& vm);
// Waits until every live host's agent reports its current view applied to its kernel
// (GET /agent/v1/convergence); on timeout the error names the hosts behind.
Status wait_converged(const Options& o, std::chrono::milliseconds limit);
Status vm_delete(const Options& o, const std::string& name);
// Adds a compute or gateway host (cmpN / gwN) to a running sandbox.
Status host_add(const Options& o, const std::string& name);
// Stops the host's agent (SIGTERM, or SIGKILL with kill) and starts it again.
Status agent_restart(const Options& o, const std::string& host, bool kill);
// Replaces this process with argv run inside the host's or VM's namespace.
Status exec_in_host(const Options& o, const std::string& host, const std::vector<std::string>& argv);
Status exec_in_vm(const Options& o, const std::string& vm, const std::vector<std::string>& argv);

}  // namespace nt::sandbox
