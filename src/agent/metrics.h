// The agent's metrics and its local listener for them ([DEFAULT] metrics_bind in
// agent.ini; off when empty): GET /metrics (Prometheus text format) and GET /healthz.
// The names are listed in docs/operator-guide.md, "Metrics and health".
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/error.h"
#include "common/metrics.h"

namespace nt {
class HttpServer;
}

namespace nt::agent {

struct BindAddress {
  std::string host;  // an IPv4 or IPv6 address
  int port = 0;      // 0: any free port
};
// "a.b.c.d:port" or "[v6]:port"; "" is nullopt (no listener).
Result<std::optional<BindAddress>> parse_metrics_bind(const std::string& text);

class AgentMetrics {
 public:
  AgentMetrics();
  // One reconcile pass: its time, the kernel operations it made, whether it applied its
  // view (every operation succeeded, nothing named missing), the view's revision and the
  // revision applied so far (-1: none).
  void pass(double seconds, size_t operations, bool applied, int64_t view_revision, int64_t applied_revision);
  void watch_ended() { watch_ends_.inc(); }
  void report_failed() { report_failures_.inc(); }
  // BFD sessions (peer VTEP -> up | down | init | admin_down), read at each scrape.
  void follow_bfd(std::function<std::map<std::string, std::string>()> states);
  std::string render() const { return registry_.render(); }

 private:
  metrics::Registry registry_;
  metrics::Counter& passes_;
  metrics::Counter& operations_;
  metrics::Counter& pass_errors_;
  metrics::Histogram& pass_seconds_;
  metrics::Gauge& view_revision_;
  metrics::Gauge& applied_revision_;
  metrics::Counter& watch_ends_;
  metrics::Counter& report_failures_;
  std::function<std::map<std::string, std::string>()> bfd_states_;  // set before the listener starts
};

// Serves /metrics and /healthz on its own thread until destroyed.
class MetricsListener {
 public:
  static Result<std::unique_ptr<MetricsListener>> start(const BindAddress& bind, const AgentMetrics& metrics);
  ~MetricsListener();
  int port() const;

 private:
  MetricsListener() = default;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

}  // namespace nt::agent
