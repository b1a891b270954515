#include "agent/metrics.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>

#include "common/net.h"
#include "http/server.h"

namespace nt::agent {
namespace {

using metrics::Samples;
using metrics::Type;

Result<int> parse_port(std::string_view text) {
  int port = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 0 || port > 65535)
    return fail(Errc::invalid_argument, Origin::config, "\"" + std::string(text) + "\" is not a port (0-65535)");
  return port;
}

double seconds_since_epoch() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

HttpResponse render_error(const Error& e) {
  int status = e.code == Errc::too_large ? 413 : e.code == Errc::unavailable ? 503 : e.code == Errc::internal ? 500 : 400;
  return HttpResponse{status, e.message + "\n", "text/plain; charset=utf-8", {}};
}

HttpResponse answer(const HttpRequest& req, const AgentMetrics& metrics) {
  auto path = std::string_view(req.target).substr(0, req.target.find('?'));
  if (req.method != "GET" && req.method != "HEAD") return {405, "only GET and HEAD\n", "text/plain; charset=utf-8", {}};
  if (path == "/healthz") return {200, "ok\n", "text/plain; charset=utf-8", {}};
  if (path == "/metrics") return {200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8", {}};
  return {404, "/metrics and /healthz only\n", "text/plain; charset=utf-8", {}};
}

}  // namespace

Result<std::optional<BindAddress>> parse_metrics_bind(const std::string& text) {
  if (text.empty()) return std::optional<BindAddress>();
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return fail(Errc::invalid_argument, Origin::config, "\"" + text + "\" is not address:port");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos)
    return fail(Errc::invalid_argument, Origin::config, "\"" + text + "\": write an IPv6 address as [address]:port");
  if (!IpAddress::parse(host))
    return fail(Errc::invalid_argument, Origin::config, "\"" + host + "\" is not an IPv4 or IPv6 address");
  NT_ASSIGN(int port, parse_port(std::string_view(text).substr(colon + 1)));
  return std::optional<BindAddress>(BindAddress{host, port});
}

AgentMetrics::AgentMetrics()
    : passes_(registry_.counter("neutrino_agent_passes_total", "Reconcile passes run.")),
      operations_(registry_.counter("neutrino_agent_operations_total", "Kernel operations the passes made.")),
      pass_errors_(registry_.counter("neutrino_agent_pass_errors_total",
                                     "Passes that did not apply their view (an operation failed, something named is "
                                     "missing, or an entry did not decode).")),
      pass_seconds_(registry_.histogram("neutrino_agent_pass_seconds", "Time of a reconcile pass.", metrics::latency_buckets())),
      view_revision_(registry_.gauge("neutrino_agent_view_revision", "The revision of the host view the last pass worked on.")),
      applied_revision_(registry_.gauge("neutrino_agent_applied_revision",
                                        "The view revision last applied in full (-1: none yet); reported to the server.")),
      watch_ends_(registry_.counter("neutrino_agent_watch_disconnects_total", "Watch streams that ended (then resumed).")),
      report_failures_(registry_.counter("neutrino_agent_status_report_failures_total",
                                         "Status reports (heartbeats) the server did not take.")) {
  applied_revision_.set(-1);
  view_revision_.set(-1);
  registry_.collect("neutrino_agent_bfd_sessions", "BFD sessions with peer VTEPs (gateway HA), by state.", Type::gauge,
                    [this](Samples& s) {
                      if (!bfd_states_) return;
                      std::map<std::string, int> by_state{{"up", 0}, {"down", 0}, {"init", 0}, {"admin_down", 0}};
                      for (const auto& [peer, state] : bfd_states_()) ++by_state[state];
                      for (const auto& [state, n] : by_state) s.value(n, {{"state", state}});
                    });
  double started = seconds_since_epoch();
  registry_.collect("neutrino_agent_process_start_time_seconds", "When the agent started, in seconds since the epoch.",
                    Type::gauge, [started](Samples& s) { s.value(started); });
}

void AgentMetrics::pass(double seconds, size_t operations, bool applied, int64_t view_revision, int64_t applied_revision) {
  passes_.inc();
  operations_.inc(operations);
  if (!applied) pass_errors_.inc();
  pass_seconds_.observe(seconds);
  view_revision_.set(static_cast<double>(view_revision));
  applied_revision_.set(static_cast<double>(applied_revision));
}

void AgentMetrics::follow_bfd(std::function<std::map<std::string, std::string>()> states) {
  bfd_states_ = std::move(states);
}

Result<std::unique_ptr<MetricsListener>> MetricsListener::start(const BindAddress& bind, const AgentMetrics& metrics) {
  HttpServerOptions options;
  options.render_error = render_error;
  options.host = bind.host;
  options.port = bind.port;
  options.threads = 1;
  options.max_body = 4096;
  options.max_connections = 64;
  std::unique_ptr<MetricsListener> listener(new MetricsListener());
  listener->server_ = std::make_unique<HttpServer>(
      options, [&metrics](HttpRequest&& req, Reply reply) { reply(answer(req, metrics)); });
  if (auto started = listener->server_->start(); !started)
    return fail(Errc::unavailable, Origin::config, "metrics_bind: " + started.error().message);
  listener->thread_ = std::thread([l = listener.get()] { l->server_->run(); });
  spdlog::info("metrics on http://{}:{}/metrics", bind.host.find(':') == std::string::npos ? bind.host : "[" + bind.host + "]",
               listener->port());
  return listener;
}

MetricsListener::~MetricsListener() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

int MetricsListener::port() const { return server_->port(); }

}  // namespace nt::agent
