// The API's request metrics: every request counted by resource, method and status with
// its latency. Label values come from fixed tables (a resource the server does not know
// is "other"), so no client can create series at will.
#pragma once
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"
#include "http/message.h"

namespace nt {

class RequestMetrics {
 public:
  // Adds neutrino_api_requests_total and neutrino_api_request_duration_seconds to `r`.
  explicit RequestMetrics(metrics::Registry& r);
  // `reply`, counting the request when it is called (the status and the time since now).
  Reply timed(std::string_view resource, std::string_view method, Reply reply);

 private:
  metrics::Family<metrics::Histogram> seconds_{{"resource", "method", "status"},
                                               [] { return std::make_unique<metrics::Histogram>(metrics::latency_buckets()); }};
};

// The resource label of a request path (split into segments): the collection under
// /v2.0 when it is one of `known`, "versions" (/), "v2.0", "agent_<call>" for the agent
// channel, "healthz"/"readyz"/"metrics", else "other". The view points into `known` or
// static text.
std::string_view request_resource(const std::vector<std::string>& segments, const std::set<std::string, std::less<>>& known);
// "GET", "POST", ... or "other".
std::string_view method_label(std::string_view method);
// "200", "404", ... ("other" outside 100..599).
std::string_view status_label(int status);

}  // namespace nt
