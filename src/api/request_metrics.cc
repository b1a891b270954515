#include "api/request_metrics.h"

#include <array>
#include <chrono>
#include <memory>

namespace nt {
namespace {

using Clock = std::chrono::steady_clock;

std::string_view agent_call(const std::vector<std::string>& s) {
  bool v1 = s.size() >= 3 && s[1] == "v1";
  if (v1 && s.size() == 3 && s[2] == "register") return "agent_register";
  if (v1 && s.size() == 3 && s[2] == "convergence") return "agent_convergence";
  if (v1 && s.size() == 5 && s[2] == "hosts") {
    if (s[4] == "watch") return "agent_watch";
    if (s[4] == "status") return "agent_status";
    if (s[4] == "fip-gateway") return "agent_fip_gateway";
  }
  return "agent_other";
}

}  // namespace

RequestMetrics::RequestMetrics(metrics::Registry& r) {
  using metrics::Type;
  r.collect("neutrino_api_requests_total", "API requests answered, by resource, method and status.", Type::counter,
            [this](metrics::Samples& s) {
              seconds_.each([&](const auto& values, const metrics::Histogram& h) {
                s.value(static_cast<double>(h.snapshot().count), metrics::zip_labels(seconds_.label_names(), values));
              });
            });
  r.collect("neutrino_api_request_duration_seconds",
            "Time from a request's arrival to its answer (a watch: to the start of its stream), by resource, method and status.",
            Type::histogram, [this](metrics::Samples& s) {
              seconds_.each([&](const auto& values, const metrics::Histogram& h) {
                s.histogram(h.snapshot(), metrics::zip_labels(seconds_.label_names(), values));
              });
            });
}

Reply RequestMetrics::timed(std::string_view resource, std::string_view method, Reply reply) {
  return [this, resource, method = method_label(method), started = Clock::now(), reply = std::move(reply)](HttpResponse r) {
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    seconds_.with({resource, method, status_label(r.status)}).observe(seconds);
    reply(std::move(r));
  };
}

std::string_view request_resource(const std::vector<std::string>& s, const std::set<std::string, std::less<>>& known) {
  if (s.empty()) return "versions";
  if (s.size() == 1) {
    for (std::string_view own : {"healthz", "readyz", "metrics", "v2.0"})
      if (s[0] == own) return own;
  }
  if (s[0] == "agent") return agent_call(s);
  if (s[0] != "v2.0") return "other";
  if (auto it = known.find(s[1]); it != known.end()) return *it;
  return "other";
}

std::string_view method_label(std::string_view method) {
  for (std::string_view m : {"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"})
    if (method == m) return m;
  return "other";
}

std::string_view status_label(int status) {
  static const auto codes = [] {
    std::array<std::string, 500> out;
    for (int i = 0; i < 500; ++i) out[i] = std::to_string(100 + i);
    return out;
  }();
  if (status < 100 || status > 599) return "other";
  return codes[status - 100];
}

}  // namespace nt
