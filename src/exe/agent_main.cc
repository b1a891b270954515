// neutrino-agent: registers its host, heartbeats, watches its host view and reconciles
// the kernel with it. `--view FILE --once` reconciles a saved view offline;
// `--check-config` checks agent.ini against this host (agent/config_check.h).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "agent/agent.h"
#include "agent/config_check.h"
#include "common/main_guard.h"

namespace {

int offline(const std::string& view_file, nt::agent::L2Settings settings, bool dry_run) {
  auto view = nt::agent::read_view_file(view_file);
  if (!view) return std::cerr << "neutrino-agent: " << view.error().message << "\n", 2;
  auto changes = nt::agent::reconcile_once(*view, settings, dry_run, std::cout);
  if (!changes) return std::cerr << "neutrino-agent: " << changes.error().message << "\n", 1;
  return 0;
}

int run(int argc, char** argv) {
  CLI::App app{"neutrino-agent: builds a host's virtual network from its host view"};
  std::string config_file, view_file, local_ip;
  std::vector<std::string> mappings;
  bool dry_run = false, once = false, check_only = false, no_server_check = false;
  app.add_option("--config-file", config_file, "agent.ini: host, local_ip, agent_mode, bridge_mappings, server_url, token");
  app.add_option("--view", view_file, "reconcile this saved view (watch stream lines) instead of watching the server");
  app.add_option("--local-ip", local_ip, "VTEP address (with --view)");
  app.add_option("--bridge-mapping", mappings, "physnet:interface (with --view, repeatable)");
  app.add_flag("--dry-run", dry_run, "print the operations, change nothing");
  app.add_flag("--once", once, "reconcile once and exit");
  app.add_flag("--check-config", check_only,
               "check the file, this host's bridge_mappings interfaces and that server_url answers; exit 0 or 2");
  app.add_flag("--no-server-check", no_server_check, "with --check-config: do not contact the server");
  CLI11_PARSE(app, argc, argv);

  if (!view_file.empty()) {
    auto parsed = nt::agent::parse_bridge_mappings(mappings);
    if (!parsed) return std::cerr << "neutrino-agent: --bridge-mapping " << parsed.error().message << "\n", 2;
    return offline(view_file, nt::agent::L2Settings{local_ip, std::move(*parsed)}, dry_run);
  }
  if (config_file.empty()) return std::cerr << "neutrino-agent: give --config-file (or --view FILE)\n", 2;
  if (check_only) {
    spdlog::set_pattern("neutrino-agent: %l: %v");  // what reading the file logs: a warning line like the others
    nt::agent::ConfigCheckOptions options;
    options.check_server = !no_server_check;
    return nt::agent::print_config_check(nt::agent::check_agent_config(config_file, options), std::cout, std::cerr);
  }
  auto config = nt::agent::load_agent_config(config_file);
  if (!config) return std::cerr << "neutrino-agent: " << config.error().message << "\n", 2;
  return nt::agent::run_agent(*config, once, dry_run);
}

}  // namespace

int main(int argc, char** argv) {
  return nt::guarded_main("neutrino-agent", [&] { return run(argc, argv); });
}
