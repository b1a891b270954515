// neutrino-bfd: BFD sessions (RFC 5880) to the other gateway hosts over one device, for
// gateway high availability; the agent configures it over a Unix socket of JSON lines
// (the protocol is described in src/bfd/daemon.h). It outlives the agent.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "bfd/daemon.h"
#include "common/main_guard.h"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"neutrino-bfd: BFD sessions to the gateway peers, steered over a control socket"};
  std::string device, control;
  bool debug = false;
  app.add_option("--device", device, "the device BFD frames go out of and come in on (a VXLAN device)")->required();
  app.add_option("--control", control, "the Unix socket of the control protocol")->required();
  app.add_flag("--debug", debug, "log every send error");
  CLI11_PARSE(app, argc, argv);
  if (debug) spdlog::set_level(spdlog::level::debug);
  ::signal(SIGPIPE, SIG_IGN);  // a control client gone: a write error, not a signal
  return nt::bfd::run_daemon(device, control);
}

}  // namespace

int main(int argc, char** argv) {
  return nt::guarded_main("neutrino-bfd", [&] { return run(argc, argv); });
}
