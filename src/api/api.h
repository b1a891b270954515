// The Neutron v2.0 API: routes requests to resources, runs reads under the model's shared
// lock and writes through the group-commit writer, and turns results into responses.
#pragma once
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <memory>
#include <set>

#include "api/request_metrics.h"
#include "api/live_probes.h"
#include "api/ui_events.h"
#include "api/resource.h"
#include "auth/keystone.h"
#include "policy/policy_file.h"
#include "channel/watch_hub.h"
#include "core/liveness.h"
#include "core/provisioning.h"
#include "planner/planner.h"
#include "core/writer.h"
#include "http/message.h"

namespace nt {

struct StatusReport;  // api/agents.h

class Api {
 public:
  Api(const Settings& settings, Model& model, Writer& writer);
  ~Api();
  void handle(HttpRequest&& req, Reply reply);
  // Stores agent liveness transitions and reschedules gateways (called periodically).
  // Periodic: keepalives for streams, and (when `decide`: this server leads) the liveness
  // sweep that stores transitions and reschedules gateways.
  void sweep(bool decide = true);
  Liveness& liveness() { return liveness_; }
  // auth_strategy = keystone: every request but the version list needs a valid token.
  void use_keystone(std::unique_ptr<auth::Authenticator> a) { authenticator_ = std::move(a); }
  // Ends token validation (at shutdown, once the HTTP server stopped).
  void stop_authentication() {
    if (authenticator_) authenticator_->stop();
  }
  // Drops live traces still waiting for agents (at shutdown, before the HTTP server that
  // owns their connections is destroyed).
  void stop_live_probes() { probes_.stop(); }
  // A clean stop: every watch stream writes what was published (bounded by `limit`).
  std::vector<std::string> drain_watches(std::chrono::milliseconds limit) { return watches_.drain(limit); }
  // The operator's policy file, watched for changes (else Neutron's defaults).
  void use_policy_file(std::unique_ptr<policy::PolicyFile> f) { policy_file_ = std::move(f); }

 private:
  int64_t model_revision();
  // /healthz, /readyz, /metrics (api/health.cc); true when the request was one of them.
  bool serve_health(const std::vector<std::string>& segments, const HttpRequest& req, Reply& reply);
  // /ui and /ui/events (api/ui.cc): the topology page; true when the request was one of them.
  bool serve_ui(const std::vector<std::string>& segments, const HttpRequest& req, Reply& reply);
  void ui_events_authenticated(const HttpRequest& req, Reply reply);
  void open_ui_events(Reply reply);
  // GET /neutrino/v1/trace (api/trace.cc; the contract is in planner/trace.h).
  void serve_neutrino(const std::vector<std::string>& segments, const std::string& method, const Params& params,
                      const Ctx& ctx, Reply reply);
  void serve_trace(const Params& params, const Ctx& ctx, Reply reply);
  // POST /agent/v1/hosts/{host}/probe: an agent's answer to a live trace's probe.
  Result<boost::json::value> probe_answer(const std::string& host, const std::string& body);
  void register_metrics();
  void planner_metrics();
  void host_metrics();
  void watch(const std::string& host, const HttpRequest& req, Reply reply);
  struct Route;
  std::optional<Error> refused_as_neutron_does(const Route& r, const HttpRequest& req) const;
  boost::json::value convergence();
  // GET /agent/v1/digests: per host, the digest of its view and of the planner's recompute.
  boost::json::value digests();
  Result<boost::json::value> ensure_fip_gateway(Txn& txn, const std::string& host, const std::string& body);
  void handle_agent_channel(const std::vector<std::string>& segments, const HttpRequest& req, Reply reply);
  void route(HttpRequest&& req, Route r, std::vector<std::string> segments, Reply reply);
  HttpResponse unauthenticated() const;
  void read(const Route& route, Reply reply);
  void write(Route route, Reply reply);
  Result<std::string> run_read(const Route& route);
  static HttpResponse read_answer(const Route& route, Result<std::string> r);
  Result<std::string> read_route(const Route& route);
  Result<boost::json::value> run_write(Txn& txn, const Route& route);

  const Settings& settings_;
  Model& model_;
  Writer& writer_;
  void follow(const std::vector<Committed>& committed);  // feeds the planner and the watches
  Liveness liveness_;
  std::mutex plan_mu_;  // the planner and the watch hub's snapshots (not the model's lock)
  Planner planner_;
  int64_t planned_revision_ = 0;  // the last model revision the planner followed (under plan_mu_)
  std::atomic<bool> digesting_{false};  // GET /agent/v1/digests is running (one at a time)
  WatchHub watches_;
  Provisioning provisioning_;  // ports reported up, waiting to be applied everywhere (under plan_mu_)
  // "Applied everywhere" for one status report: the ports it (and the hosts it caught
  // up) lets go ACTIVE (api/dispatch.cc).
  std::vector<Provisioning::Ready> provision(StatusReport& report, const std::map<std::string, std::string>& up);
  std::map<std::string, std::unique_ptr<Handler>> handlers_;  // by URL path segment
  std::unique_ptr<Handler> port_forwardings_;                  // under floatingips/{id}
  std::shared_ptr<const policy::Policy> default_policy_;
  std::unique_ptr<policy::PolicyFile> policy_file_;
  metrics::Registry metrics_;                                    // what /metrics renders
  RequestMetrics requests_{metrics_};
  metrics::Histogram planner_seconds_{metrics::latency_buckets()};  // per committed group
  std::set<std::string, std::less<>> resources_;                 // resource label values under /v2.0
  UiEvents ui_events_;                                           // the topology pages' change streams
  LiveProbes probes_;  // live traces waiting for the agents' answers (api/trace.cc)
  // Last member: its validation threads stop first, before what they call into.
  std::unique_ptr<auth::Authenticator> authenticator_;  // null in noauth mode
};

}  // namespace nt
