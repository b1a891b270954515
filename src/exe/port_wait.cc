#include "exe/port_wait.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "agent/client.h"
#include "exe/api_get.h"
#include "common/error.h"
#include "common/json_get.h"
#include "common/names.h"

namespace nt::cli {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

// The NeutronError's message of a refusal, else the body.
std::string refusal(const Answer& a) {
  boost::system::error_code ec;
  auto v = json::parse(a.body, ec);
  if (!ec && v.is_object())
    if (auto* e = v.as_object().if_contains("NeutronError"); e && e->is_object()) return jget::str(e->as_object(), "message");
  return "HTTP " + std::to_string(a.status) + " " + a.body.substr(0, 200);
}

// The port's status from an answer, or "" if the body is not a port.
std::string status_of(const Answer& a) {
  boost::system::error_code ec;
  auto v = json::parse(a.body, ec);
  if (ec || !v.is_object()) return "";
  auto* port = v.as_object().if_contains("port");
  return port && port->is_object() ? jget::str(port->as_object(), "status") : "";
}

}  // namespace

CLI::App* add_port_wait(CLI::App& app, PortWaitOptions& o) {
  auto* wait = app.add_subcommand("wait", "wait until a port is ACTIVE: its host plugged it and every host that must act on it applied it");
  wait->add_option("--port", o.port, "port id")->required();
  wait->add_option("--timeout", o.timeout_s, "seconds")->default_val(o.timeout_s)->check(CLI::Range(0.0, 86400.0));
  wait->add_option("--url", o.url, "the API: http://host:port or unix:///path")->default_val(o.url);
  wait->add_option("--token", o.token, "a Keystone token (X-Auth-Token)");
  return wait;
}

int run_port_wait(const PortWaitOptions& o) {
  auto url = agent::ServerUrl::parse(o.url);
  if (!url) return std::cerr << "neutrino wait: " << url.error().message << "\n", 2;
  // Ids are plain (letters, digits, '-'): nothing else may reach the request line.
  if (!devname::plain(o.port)) return std::cerr << "neutrino wait: --port: not a port id\n", 2;
  auto started = Clock::now();
  auto deadline = started + std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
  auto pause = std::chrono::milliseconds(20);
  std::string last = "not read yet";
  for (;;) {
    auto left = std::max<Clock::duration>(deadline - Clock::now(), std::chrono::milliseconds(200));
    auto r = fetch(*url, "/v2.0/ports/" + o.port + "?fields=status", o.token, std::min<Clock::duration>(left, std::chrono::seconds(5)));
    if (r && r->status == 200 && status_of(*r) == "ACTIVE") {
      double s = std::chrono::duration<double>(Clock::now() - started).count();
      std::printf("port %s is ACTIVE (waited %.2f s)\n", o.port.c_str(), s);
      return 0;
    }
    if (r && r->status != 200 && r->status < 500)
      return std::cerr << "neutrino wait: port " << o.port << ": " << refusal(*r) << "\n", 2;
    last = !r ? r.error().message : r->status == 200 ? "status " + status_of(*r) : refusal(*r);
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - Clock::now()));
    pause = std::min(pause * 3 / 2, std::chrono::milliseconds(250));
  }
  std::cerr << "neutrino wait: port " << o.port << " is not ACTIVE after " << o.timeout_s << " s (" << last << ")\n";
  return 1;
}

}  // namespace nt::cli
