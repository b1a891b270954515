// What a running sandbox is made of (STATE_DIR/sandbox.json), the processes it started,
// and its client of the Neutron API (over the server's Unix socket).
#pragma once
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "sandbox/sandbox.h"

namespace nt::sandbox {

struct HostRecord {
  std::string name, role, underlay_ip;  // role: "compute" | "gateway"
  int agent_pid = 0;
};
struct VmRecord {
  std::string name, host, port_id, network_id, ip;
  int dhcp_pid = 0;  // the VM's udhcpc (0: a subnet without DHCP)
};
// One neutrino-server: its API on 127.0.0.1:port and on the Unix socket the agents use
// (STATE_DIR/server.sock for the first, server-2.sock, ... for the others).
struct ServerRecord {
  int pid = 0;
  int port = 0;
  std::string socket;
};
struct SandboxState {
  int server_pid = 0;  // the first server's (sandbox.json keeps them for older readers)
  int port = 0;
  std::vector<ServerRecord> servers;  // every server, the first first
  std::string database;               // as given to the servers, a password masked
  std::vector<HostRecord> hosts;
  std::vector<VmRecord> vms;
  const HostRecord* host(const std::string& name) const;
};

std::string state_file(const Options& o);
Result<SandboxState> load_state(const Options& o);  // not_found when no sandbox is up
Status save_state(const Options& o, const SandboxState& s);

std::string host_ns(const Options& o, const std::string& host);
std::string vm_ns(const Options& o, const std::string& vm);
std::string fabric_ns(const Options& o);

// Starts argv detached (own session), output appended to log, inside netns ("" = here).
Result<int> spawn(const std::vector<std::string>& argv, const std::string& log, const std::string& netns);
// Replaces this process with argv (PATH searched); returns only on failure.
Status exec_argv(const std::vector<std::string>& argv);
bool child_exited(int pid);  // a child of this process has exited (and is reaped)
bool running_as(int pid, const std::string& program);  // pid alive and runs that program
// SIGTERM, up to 5 s, then SIGKILL; only if the pid still runs `program`. Returns once
// every thread of it has exited (its sockets are closed), or after 10 s.
void stop_process(int pid, const std::string& program);
// SIGKILL, and up to 5 s for every thread of it to exit; only if the pid still runs `program`.
void kill_process(int pid, const std::string& program);

// The Neutron API of the sandbox's servers: the first whose Unix socket accepts a
// connection answers (a GET also moves on when the server fails while answering; a write
// does not, it may have been done). Errors carry the NeutronError message.
Result<boost::json::value> api(const Options& o, const std::string& method, const std::string& path,
                               const boost::json::value& body = nullptr);
// id of the resource (collection "networks", "subnets") named or with id `name_or_id`.
Result<boost::json::object> find_resource(const Options& o, const std::string& collection, const std::string& name_or_id);

}  // namespace nt::sandbox
