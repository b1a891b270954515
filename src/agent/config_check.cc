#include "agent/config_check.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <optional>
#include <ostream>

#include "agent/agent.h"
#include "agent/client.h"
#include "common/config.h"
#include "kernel/interfaces.h"

namespace nt::agent {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using ErrorCode = boost::system::error_code;

// One GET / and its answer; `result` is set once the exchange ends, either way.
struct Exchange {
  http::request<http::empty_body> request{http::verb::get, "/", 11};
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  std::optional<ErrorCode> result;
  void finish(ErrorCode ec) { result = ec; }
};

template <class Stream>
void get_version_list(Stream& stream, Exchange& x) {
  x.request.set(http::field::host, "neutrino-server");
  x.request.set(http::field::user_agent, "neutrino-agent --check-config");
  http::async_write(stream, x.request, [&stream, &x](ErrorCode ec, size_t) {
    if (ec) return x.finish(ec);
    http::async_read(stream, x.buffer, x.response, [&x](ErrorCode read_ec, size_t) { x.finish(read_ec); });
  });
}

std::string seconds_text(std::chrono::milliseconds t) {
  auto ms = t.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

// "file:line: option "NAME" in [DEFAULT]" for an option that was set; for one left at its
// default, the line of the [DEFAULT] header (where it would go).
std::string option_at(const Config& file, const std::string& name) {
  auto where = file.where("DEFAULT", name);
  if (!where.empty()) return where + ": option \"" + name + "\" in [DEFAULT]";
  return file.where_missing("DEFAULT") + ": option \"" + name + "\" in [DEFAULT] (not set, so its default)";
}

// Each bridge_mappings interface must exist in this host's (the current) network namespace.
void check_interfaces(const Config& file, const AgentConfig& agent, ConfigCheckReport& report) {
  for (const auto& [physnet, interface] : agent.l2.bridge_mappings) {
    auto exists = kernel::interface_exists(interface);
    if (!exists)
      report.problems.push_back(option_at(file, "bridge_mappings") + ": " + physnet + ":" + interface + ": " +
                                exists.error().message);
    else if (!*exists)
      report.problems.push_back(option_at(file, "bridge_mappings") + ": interface \"" + interface + "\" (" + physnet +
                                ") does not exist on this host");
  }
}

// Every server of server_url is asked. With one URL an unreachable server is a problem;
// with a list only none answering is (each unreachable one is its own line either way).
// Returns how many answered.
size_t check_server(const Config& file, const AgentConfig& agent, std::chrono::milliseconds timeout,
                    ConfigCheckReport& report) {
  auto urls = parse_server_urls(agent.server_url);
  if (!urls) return report.problems.push_back(option_at(file, "server_url") + ": " + urls.error().message), 0;
  std::vector<std::string> unreachable;
  size_t answered = 0;
  for (const auto& url : *urls) {
    if (auto reached = probe_server(url.display(), timeout); reached) ++answered;
    else unreachable.push_back(option_at(file, "server_url") + ": " + url.display() + " " + reached.error().message);
  }
  auto& into = answered == 0 ? report.problems : report.warnings;
  into.insert(into.end(), unreachable.begin(), unreachable.end());
  return answered;
}

std::string summary_of(const AgentConfig& agent, const ConfigCheckOptions& options, size_t answered) {
  auto mappings = agent.l2.bridge_mappings.size();
  std::string text = "host " + agent.host + ", agent_mode " + agent.agent_mode + ", local_ip " + agent.l2.local_ip;
  text += ", " + std::to_string(mappings) + (mappings == 1 ? " bridge mapping" : " bridge mappings");
  if (mappings > 0) text += " (interfaces present)";
  auto urls = parse_server_urls(agent.server_url);
  size_t listed = urls ? urls->size() : 1;
  if (!options.check_server) text += ", server not checked";
  else if (listed == 1) text += ", server " + agent.server_url + " answers";
  else text += ", " + std::to_string(answered) + " of " + std::to_string(listed) + " servers answer";
  return text;
}

}  // namespace

Status probe_server(const std::string& url, std::chrono::milliseconds timeout) {
  NT_ASSIGN(auto target, ServerUrl::parse(url));
  asio::io_context io;
  Exchange x;
  asio::ip::tcp::resolver resolver(io);
  std::optional<asio::ip::tcp::socket> tcp;
  std::optional<asio::local::stream_protocol::socket> local;
  if (target.unix_socket) {
    local.emplace(io);
    local->async_connect(asio::local::stream_protocol::endpoint(target.path), [&](ErrorCode ec) {
      if (ec) return x.finish(ec);
      get_version_list(*local, x);
    });
  } else {
    tcp.emplace(io);
    resolver.async_resolve(target.host, target.port, [&](ErrorCode ec, const asio::ip::tcp::resolver::results_type& found) {
      if (ec) return x.finish(ec);
      asio::async_connect(*tcp, found, [&](ErrorCode connect_ec, const asio::ip::tcp::endpoint&) {
        if (connect_ec) return x.finish(connect_ec);
        get_version_list(*tcp, x);
      });
    });
  }
  io.run_for(timeout);
  if (!x.result) return fail(Errc::unavailable, Origin::channel, "is unreachable: no answer within " + seconds_text(timeout));
  if (*x.result) return fail(Errc::unavailable, Origin::channel, "is unreachable: " + x.result->message());
  if (x.response.result_int() != 200)
    return fail(Errc::unavailable, Origin::channel,
                "answers HTTP " + std::to_string(x.response.result_int()) + " to GET / (is it a neutrino-server?)");
  return {};
}

ConfigCheckReport check_agent_config(const std::string& path, const ConfigCheckOptions& options) {
  ConfigCheckReport report;
  // The file first, read exactly as the agent reads it at start: the first error stops it.
  auto file = Config::load(path, agent_options());
  if (!file) return report.problems.push_back(file.error().message), report;
  auto agent = load_agent_config(path);
  if (!agent) return report.problems.push_back(agent.error().message), report;
  report.warnings = file->warnings();
  // Then what only this host can answer; every problem found is reported.
  check_interfaces(*file, *agent, report);
  size_t answered = options.check_server ? check_server(*file, *agent, options.server_timeout, report) : 0;
  report.summary = summary_of(*agent, options, answered);
  return report;
}

int print_config_check(const ConfigCheckReport& report, std::ostream& out, std::ostream& err) {
  for (const auto& w : report.warnings) err << "neutrino-agent: warning: " << w << "\n";
  for (const auto& p : report.problems) err << "neutrino-agent: " << p << "\n";
  if (!report.problems.empty()) return 2;
  out << "neutrino-agent: configuration OK: " << report.summary << "\n";
  return 0;
}

}  // namespace nt::agent
