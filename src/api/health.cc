// /healthz, /readyz and /metrics: the server's own health and its metrics in the
// Prometheus text format (docs/operator-guide.md, "Metrics and health"). None needs a
// token; /metrics answers only clients in [DEFAULT] metrics_allowed_cidrs (and the Unix
// socket).
#include <spdlog/spdlog.h>

#include <chrono>

#include "api/api.h"
#include "api/errors.h"

namespace nt {
namespace json = boost::json;
using metrics::Labels;
using metrics::Samples;
using metrics::Type;

namespace {

HttpResponse text(int status, std::string body) { return HttpResponse{status, std::move(body), "text/plain; charset=utf-8", {}}; }

// An IPv4 client on a dual-stack listener shows as ::ffff:a.b.c.d.
std::optional<IpAddress> client_address(const std::string& peer) {
  std::string_view p = peer;
  if (p.starts_with("::ffff:") && p.find('.') != std::string_view::npos) p.remove_prefix(7);
  auto ip = IpAddress::parse(std::string(p));
  return ip ? std::optional<IpAddress>(*ip) : std::nullopt;
}

bool may_scrape(const Settings& settings, const HttpRequest& req) {
  if (req.peer.empty()) return true;  // the Unix socket: whoever may open it
  auto ip = client_address(req.peer);
  if (!ip) return false;
  for (const auto& cidr : settings.metrics_allowed_cidrs)
    if (cidr.contains(*ip)) return true;
  return false;
}

double seconds_since_epoch() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void writer_metrics(metrics::Registry& r, const WriterMetrics& w) {
  r.collect("neutrino_writer_group_size", "Write requests per group commit.", Type::histogram,
            [&w](Samples& s) { s.histogram(w.group_size.snapshot()); });
  r.collect("neutrino_writer_commit_seconds", "Time of a group's COMMIT (its fsync), for groups that wrote.",
            Type::histogram, [&w](Samples& s) { s.histogram(w.commit_seconds.snapshot()); });
  r.collect("neutrino_writer_locked_seconds", "Time a group held the model's exclusive lock (its requests; the commit runs outside it).",
            Type::histogram, [&w](Samples& s) { s.histogram(w.locked_seconds.snapshot()); });
  r.collect("neutrino_writer_lock_wait_seconds", "Time a group waited for the readers in progress before it could lock the model.",
            Type::histogram, [&w](Samples& s) { s.histogram(w.lock_wait_seconds.snapshot()); });
  r.collect("neutrino_writer_commit_failures_total", "Group commits that failed (their requests were undone in the model).",
            Type::counter, [&w](Samples& s) { s.value(static_cast<double>(w.commit_failures.value())); });
  r.collect("neutrino_writer_replayed_total", "Other servers' commits replayed into this server's model (shared store).",
            Type::counter, [&w](Samples& s) { s.value(static_cast<double>(w.replayed.value())); });
}

}  // namespace

// GET /healthz: the process answers. GET /readyz: the model is loaded (it is before the
// server listens) and the writer reaches the store (an empty group: BEGIN IMMEDIATE and
// ROLLBACK through the writer thread). GET /metrics: the text exposition format.
bool Api::serve_health(const std::vector<std::string>& segments, const HttpRequest& req, Reply& reply) {
  if (segments.size() != 1) return false;
  const auto& what = segments[0];
  if (what != "healthz" && what != "readyz" && what != "metrics") return false;
  if (req.method != "GET" && req.method != "HEAD") {
    reply(error_response(Error{Errc::not_allowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource."}));
    return true;
  }
  if (what == "healthz") {
    reply(text(200, "ok\n"));
  } else if (what == "readyz") {
    writer_.submit([](Txn&) -> Result<json::value> { return json::value(nullptr); },
                   [reply](Result<json::value> r) {
                     if (!r) spdlog::warn("/readyz: the store is not reachable: {}", r.error().message);
                     reply(r ? text(200, "ready\n") : text(503, "not ready: " + r.error().message + "\n"));
                   });
  } else if (!may_scrape(settings_, req)) {
    reply(error_response(Error{Errc::forbidden, "HTTPForbidden",
                               "Metrics are served only to [DEFAULT] metrics_allowed_cidrs."}));
  } else {
    reply(HttpResponse{200, metrics_.render(), "text/plain; version=0.0.4; charset=utf-8", {}});
  }
  return true;
}

// The collectors read the model, the planner and the watches at each scrape, each under
// its own lock; the request, writer and planner timings are recorded as they happen.
void Api::register_metrics() {
  auto& r = metrics_;
  double started = seconds_since_epoch();
  r.collect("neutrino_process_start_time_seconds", "When the server started, in seconds since the epoch.", Type::gauge,
            [started](Samples& s) { s.value(started); });
  r.collect("neutrino_revision", "The model's current revision (one more per write that changed something).",
            Type::gauge, [this](Samples& s) { s.value(static_cast<double>(model_revision())); });
  writer_metrics(r, writer_.metrics());
  r.collect("neutrino_store_background_checkpoints_total",
            "SQLite write-ahead log checkpoints made by the store's own thread, off the commits' path.", Type::counter,
            [this](Samples& s) { s.value(static_cast<double>(writer_.store().background_checkpoints())); });
  r.collect("neutrino_planner_apply_seconds", "Time to plan a committed group and publish its host view changes.",
            Type::histogram, [this](Samples& s) { s.histogram(planner_seconds_.snapshot()); });
  planner_metrics();
  r.collect("neutrino_watchers", "Open agent watch streams.", Type::gauge,
            [this](Samples& s) { s.value(static_cast<double>(watches_.watchers())); });
  r.collect("neutrino_watch_starts_total",
            "Watch streams started, by how: resumed from the history, resumed by an equal view digest, or with the full view.",
            Type::counter, [this](Samples& s) {
              auto n = watches_.resumes();
              s.value(static_cast<double>(n.history), {{"how", "history"}});
              s.value(static_cast<double>(n.digest), {{"how", "digest"}});
              s.value(static_cast<double>(n.full), {{"how", "full"}});
            });
  host_metrics();
}

void Api::planner_metrics() {
  struct Stat {
    const char* name;
    const char* help;
    uint64_t planner::NodeStats::*field;
  };
  static const Stat stats[] = {
      {"neutrino_planner_node_changes_total", "Input changes a planner node handled.", &planner::NodeStats::changes},
      {"neutrino_planner_node_keys_total", "Host view entries a planner node marked to re-derive.", &planner::NodeStats::keys},
      {"neutrino_planner_node_entries_total", "Host view entries a planner node built.", &planner::NodeStats::entries},
      {"neutrino_planner_node_recomputes_total", "Host views a planner node computed from scratch.",
       &planner::NodeStats::recomputes},
  };
  for (const auto& st : stats)
    metrics_.collect(st.name, st.help, Type::counter, [this, field = st.field](Samples& s) {
      std::lock_guard plan(plan_mu_);
      for (const auto& [node, values] : planner_.stats()) s.value(static_cast<double>(values.*field), {{"node", node}});
    });
  metrics_.collect("neutrino_planner_node_seconds_total", "Time a planner node spent building host view entries.",
                   Type::counter, [this](Samples& s) {
                     std::lock_guard plan(plan_mu_);
                     for (const auto& [node, values] : planner_.stats())
                       s.value(static_cast<double>(values.build_ns) / 1e9, {{"node", node}});
                   });
}

// Per host with a view: the view's revision (what the server sent or will send on its
// watch), the revision its agent reported applied, and whether it is alive.
void Api::host_metrics() {
  auto per_host = [this](Samples& s, auto value) {
    std::lock_guard plan(plan_mu_);
    for (const auto& host : planner_.hosts_with_views())
      if (auto v = value(host)) s.value(*v, {{"host", host}});
  };
  metrics_.collect("neutrino_host_view_revision", "The revision of a host's view (its latest change).", Type::gauge,
                   [this, per_host](Samples& s) {
                     per_host(s, [this](const std::string& h) {
                       return std::optional<double>(static_cast<double>(planner_.host_revision(h)));
                     });
                   });
  metrics_.collect("neutrino_host_applied_revision",
                   "The view revision a host's agent last reported applied to its kernel (absent until it reports one).",
                   Type::gauge, [this, per_host](Samples& s) {
                     per_host(s, [this](const std::string& h) -> std::optional<double> {
                       auto applied = liveness_.applied(h);
                       return applied ? std::optional<double>(static_cast<double>(*applied)) : std::nullopt;
                     });
                   });
  metrics_.collect("neutrino_host_alive", "1 while a host's agent heartbeats within agent_down_time, else 0.", Type::gauge,
                   [this, per_host](Samples& s) {
                     per_host(s, [this](const std::string& h) {
                       return std::optional<double>(liveness_.alive(h, settings_.agent_down_time) ? 1 : 0);
                     });
                   });
}

}  // namespace nt
