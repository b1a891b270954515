// neutrino-agent, first stage: reconciles the L2 part of a host view with the kernel of
// the network namespace it runs in. The view is read from a file in the watch stream's
// line format (`curl -N .../agent/v1/hosts/H/watch > view.jsonl` up to "synced"). With
// --dry-run it only prints what it would change. Registration, heartbeats and the live
// watch loop come next (issue 4).
#include <boost/json.hpp>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "agent/l2_reconciler.h"
#include "kernel/netlink_kernel.h"

namespace {

nt::Result<nt::HostView> read_view(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nt::fail(nt::Errc::invalid_argument, "ViewError", path + ": cannot open");
  nt::HostView view;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object())
      return nt::fail(nt::Errc::invalid_argument, "ViewError", path + ":" + std::to_string(n) + ": not a JSON object");
    const auto& o = v.as_object();
    auto op = o.if_contains("op");
    if (!op || !op->is_string()) continue;
    if (op->as_string() == "synced") break;
    auto kind = std::string(o.at("kind").as_string()), id = std::string(o.at("id").as_string());
    if (op->as_string() == "put") view[{kind, id}] = o.at("obj").as_object();
    else if (op->as_string() == "del") view.erase({kind, id});
  }
  return view;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"neutrino-agent: builds a host's virtual network from its host view"};
  std::string view_file;
  std::vector<std::string> mappings;
  nt::agent::L2Settings settings;
  bool dry_run = false, show = false;
  app.add_option("--view", view_file, "host view, in the watch stream's JSON lines")->required();
  app.add_option("--local-ip", settings.local_ip, "this host's VTEP address")->required();
  app.add_option("--bridge-mapping", mappings, "physnet:interface (repeatable)");
  app.add_flag("--dry-run", dry_run, "print the operations, change nothing");
  app.add_flag("--show-kernel", show, "print the kernel state the agent reads, then plan");
  bool once = true;
  app.add_flag("--once", once, "reconcile once and exit (the only mode so far)");
  CLI11_PARSE(app, argc, argv);
  for (const auto& m : mappings) {
    auto colon = m.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == m.size()) {
      std::cerr << "neutrino-agent: --bridge-mapping \"" << m << "\" is not physnet:interface\n";
      return 2;
    }
    settings.bridge_mappings[m.substr(0, colon)] = m.substr(colon + 1);
  }
  auto view = read_view(view_file);
  if (!view) {
    std::cerr << "neutrino-agent: " << view.error().message << "\n";
    return 2;
  }
  auto kernel = nt::kernel::open_netlink_kernel();
  if (!kernel) {
    std::cerr << "neutrino-agent: " << kernel.error().message << "\n";
    return 1;
  }
  auto actual = (*kernel)->read();
  if (!actual) {
    std::cerr << "neutrino-agent: " << actual.error().message << "\n";
    return 1;
  }
  if (show) {
    for (const auto& [name, l] : actual->links)
      std::cout << "link " << name << " kind=" << l.kind << " master=" << l.master << " mtu=" << l.mtu << " up=" << l.up
                << " vni=" << l.vni << " local=" << l.local_ip << " learning=" << l.learning << " proxy=" << l.proxy
                << " port_learning=" << l.port_learning << "\n";
    for (const auto& f : actual->fdb) std::cout << "fdb " << f.dev << " " << f.mac << " dst=" << f.dst << "\n";
    for (const auto& n : actual->neighbours) std::cout << "neigh " << n.dev << " " << n.ip << " " << n.mac << "\n";
  }
  auto ops = nt::agent::plan_l2(*view, *actual, settings);
  for (const auto& op : ops) std::cout << op.describe() << "\n";
  std::cout << ops.size() << " change(s)" << (dry_run ? " (dry run)" : "") << std::endl;
  if (dry_run) return 0;
  if (auto applied = (*kernel)->apply(ops); !applied) {
    std::cerr << "neutrino-agent: " << applied.error().message << "\n";
    return 1;
  }
  return 0;
}
