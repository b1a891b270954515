// neutrino: the operator's tool. `neutrino sandbox ...` runs a multi-host cloud on this
// machine from real kernel parts (needs root).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "sandbox/sandbox.h"
#include "common/main_guard.h"
#include "exe/port_wait.h"
#include "exe/trace_cli.h"

namespace {

namespace sb = nt::sandbox;

int report(const nt::Status& s, const std::string& what) {
  if (s) return 0;
  std::cerr << "neutrino " << what << ": " << s.error().message << "\n";
  return 1;
}

// Where neutrino-server and neutrino-agent are: next to this binary.
std::string own_dir() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : self.parent_path().string();
}

int run(int argc, char** argv) {
  CLI::App app{"neutrino: tools for a Neutrino cloud"};
  app.require_subcommand(1);
  sb::Options o;
  o.bin_dir = own_dir();
  auto* sandbox = app.add_subcommand("sandbox", "a multi-host cloud on this machine (root)");
  sandbox->require_subcommand(1);
  sandbox->add_option("--prefix", o.prefix, "namespace name prefix (must start with nt-)")->default_val(o.prefix);
  sandbox->add_option("--state-dir", o.state_dir, "where state, database and logs are kept")->default_val(o.state_dir);

  auto* up = sandbox->add_subcommand("up", "start the server, build the fabric and hosts, start the agents");
  up->add_option("--computes", o.computes, "compute hosts cmp1..N")->default_val(o.computes);
  up->add_option("--gateways", o.gateways, "gateway hosts gw1..M")->default_val(o.gateways);
  up->add_option("--port", o.port, "API port on 127.0.0.1 (the first server's; 0: a free one)")->default_val(o.port);
  up->add_option("--servers", o.servers, "neutrino-servers sharing the database (more than 1 needs --database postgresql://...)")
      ->default_val(o.servers)
      ->check(CLI::Range(1, 9));
  up->add_option("--database", o.database, "the servers' database: postgresql://USER@HOST/DB or ...@/DB?host=SOCKETDIR (default: STATE_DIR/neutrino.db, SQLite)");
  up->add_option("--agent-down-time", o.agent_down_time, "server's agent_down_time (s)")->default_val(o.agent_down_time);
  up->add_option("--nova-metadata", o.nova_metadata, "HOST:PORT of a metadata backend the agents use (from each host's namespace) instead of the server's");
  up->add_option("--metadata-secret", o.metadata_secret, "metadata_proxy_shared_secret (default: a random one)");
  up->add_option("--bfd-interval-ms", o.bfd_interval_ms, "agents' BFD transmit/receive interval")->default_val(o.bfd_interval_ms)->check(CLI::Range(10, 60000));
  up->add_option("--bfd-detect-mult", o.bfd_detect_mult, "agents' BFD detection multiplier")->default_val(o.bfd_detect_mult)->check(CLI::Range(1, 255));
  up->add_flag("--ha-preempt", o.ha_preempt, "server's [ha] preempt: a recovered gateway host takes its routers back");
  auto* down = sandbox->add_subcommand("down", "stop everything and remove every sandbox namespace");
  auto* status = sandbox->add_subcommand("status", "hosts, agents and VMs");
  double wait_seconds = 30;
  auto* wait = sandbox->add_subcommand("wait", "wait until every host's agent has applied the current state to its kernel");
  wait->add_option("--timeout", wait_seconds, "seconds")->default_val(wait_seconds)->check(CLI::Range(0.0, 3600.0));
  auto* host = sandbox->add_subcommand("host", "hosts")->require_subcommand(1);
  std::string host_name;
  auto* host_add = host->add_subcommand("add", "add a host (cmpN or gwN) to the running sandbox");
  host_add->add_option("name", host_name)->required();

  bool kill = false;
  auto* restart = host->add_subcommand("restart-agent", "stop the host's agent (--kill: SIGKILL) and start it again");
  restart->add_option("name", host_name)->required();
  restart->add_flag("--kill", kill, "SIGKILL instead of SIGTERM");

  auto* vm = sandbox->add_subcommand("vm", "VMs")->require_subcommand(1);
  sb::VmRequest req;
  auto* vm_create = vm->add_subcommand("create", "a port bound to HOST and a VM namespace plugged to it");
  vm_create->add_option("name", req.name)->required();
  vm_create->add_option("--host", req.host, "cmpN or gwN")->required();
  vm_create->add_option("--network", req.network, "network name or id")->required();
  vm_create->add_option("--fixed-ip", req.fixed_ips, "subnet=S,ip-address=A (repeatable)");
  vm_create->add_option("--key", req.key_file, "an OpenSSH public key file, served as the VM's public_keys")->check(CLI::ExistingFile);
  vm_create->add_option("--user-data", req.user_data_file, "a file served as the VM's user_data")->check(CLI::ExistingFile);
  std::string vm_name;
  auto* vm_delete = vm->add_subcommand("delete", "delete the VM and its port");
  vm_delete->add_option("name", vm_name)->required();
  auto* vm_exec = vm->add_subcommand("exec", "run a command in a VM: vm exec NAME CMD...");
  vm_exec->add_option("name", vm_name)->required();
  vm_exec->prefix_command();
  auto* exec = sandbox->add_subcommand("exec", "run a command on a host: exec HOST CMD... (HOST: cmpN, gwN, internet, fabric)");
  exec->add_option("host", host_name)->required();
  exec->prefix_command();
  nt::cli::PortWaitOptions port_wait_options;
  auto* port_wait = nt::cli::add_port_wait(app, port_wait_options);
  nt::cli::TraceOptions trace_options;
  auto* trace = nt::cli::add_trace(app, trace_options);
  CLI11_PARSE(app, argc, argv);
  if (port_wait->parsed()) return nt::cli::run_port_wait(port_wait_options);
  if (trace->parsed()) return nt::cli::run_trace(trace_options);

  if (o.prefix.rfind("nt-", 0) != 0) return std::cerr << "neutrino sandbox: --prefix must start with nt-\n", 2;
  if (::geteuid() != 0) return std::cerr << "neutrino sandbox: needs root (network namespaces)\n", 2;
  o.state_dir = std::filesystem::absolute(o.state_dir).lexically_normal().string();
  // Everything after NAME/HOST is the command, verbatim (prefix_command keeps it in order).
  auto rest = [&] { return vm_exec->parsed() ? vm_exec->remaining() : exec->remaining(); };
  if ((vm_exec->parsed() || exec->parsed()) && rest().empty())
    return std::cerr << "neutrino sandbox: give the command to run\n", 2;
  if (up->parsed()) return report(sb::up(o), "sandbox up");
  if (down->parsed()) return report(sb::down(o), "sandbox down");
  if (status->parsed()) return report(sb::status(o), "sandbox status");
  if (wait->parsed())
    return report(sb::wait_converged(o, std::chrono::milliseconds(static_cast<int64_t>(wait_seconds * 1000))), "sandbox wait");
  if (host_add->parsed()) return report(sb::host_add(o, host_name), "sandbox host add");
  if (restart->parsed()) return report(sb::agent_restart(o, host_name, kill), "sandbox host restart-agent");
  if (vm_create->parsed()) return report(sb::vm_create(o, req), "sandbox vm create");
  if (vm_delete->parsed()) return report(sb::vm_delete(o, vm_name), "sandbox vm delete");
  if (vm_exec->parsed()) return report(sb::exec_in_vm(o, vm_name, rest()), "sandbox vm exec");
  if (exec->parsed()) return report(sb::exec_in_host(o, host_name, rest()), "sandbox exec");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return nt::guarded_main("neutrino", [&] { return run(argc, argv); });
}
