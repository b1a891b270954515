#include <spdlog/spdlog.h>
#include "common/names.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <set>

#include "api/api.h"
#include "api/errors.h"
#include "api/agents.h"
#include "api/handlers.h"
#include "api/l3.h"
#include "channel/view_digest.h"
#include "common/text.h"
#include "core/validate.h"

namespace nt {
namespace json = boost::json;

struct Api::Route {
  std::string method;
  std::vector<std::string> path;  // segments after /v2.0
  Params params;
  std::string body, base_url, collection_url, if_match;
  Ctx ctx;
  bool root = false, v2_root = false;
  Handler* handler = nullptr;  // for resource collections
};

namespace {

std::vector<std::string> split_path(std::string path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

HttpResponse json_response(int status, const json::value& v) { return HttpResponse{status, json::serialize(v), "application/json", {}}; }

// Status and whether the body is sent, as Neutron answers each kind of write.
std::pair<int, bool> success_status(const std::string& method, const std::vector<std::string>& path) {
  bool tag_item = path.size() == 4 && path[2] == "tags";
  if (method == "POST") return {201, true};
  if (method == "DELETE") return {204, false};
  if (tag_item) return {201, false};
  return {200, true};
}

// Ids, tags and project names come from the path, the query and the headers, and end up
// stored and echoed: bytes that are not UTF-8 stop here with a 400.
Status check_request_text(const HttpRequest& req, const std::string& path, const Params& params) {
  if (!valid_utf8(path)) return bad_request("The request path is not valid UTF-8 once percent-decoded.");
  for (const auto& [k, v] : params)
    if (!valid_utf8(k) || !valid_utf8(v)) return bad_request("The query string is not valid UTF-8 once percent-decoded.");
  for (const auto& [name, value] : req.headers)
    if (!valid_utf8(name) || !valid_utf8(value))
      return bad_request("The value of header " + (valid_utf8(name) ? name : std::string("?")) + " is not valid UTF-8.");
  return {};
}

}  // namespace

Api::Api(const Settings& settings, Model& model, Writer& writer) : settings_(settings), model_(model), writer_(writer) {
  auto defaults = policy::Policy::build({}, {settings.enforce_new_defaults, settings.enforce_scope});
  if (!defaults) throw std::logic_error("Neutron's default policy does not build: " + defaults.error().message);
  default_policy_ = std::make_shared<const policy::Policy>(std::move(*defaults));
  std::unique_ptr<Handler> all[] = {make_networks(settings),        make_subnets(settings),
                                     make_ports(settings),           make_security_groups(settings),
                                     make_security_group_rules(settings), make_routers(settings),
                                     make_floating_ips(settings),    make_agents(settings, liveness_),
                                     make_address_scopes(settings),  make_subnetpools(settings),
                                     make_rbac_policies(settings), make_address_groups(settings)};
  std::map<std::string, Handler*> peers;
  for (auto& h : all) {
    auto path = h->def().path;
    peers[path] = h.get();
    handlers_[path] = std::move(h);
  }
  for (auto& [path, h] : handlers_) h->link(peers);
  port_forwardings_ = make_port_forwardings(settings);
  port_forwardings_->link(peers);
  // Hosts alive before a restart get one agent_down_time of grace (a host stored dead stays
  // dead until its agent speaks). Grace is not a heartbeat: it is not shared with other
  // servers.
  if (const Table* hosts = model_.find_table("hosts"))
    for (const auto& [name, h] : *hosts)
      if (const auto* alive = h.if_contains("alive"); !alive || !alive->is_bool() || alive->as_bool()) liveness_.grace(name);
  planner_.set_dhcp_settings({settings.dhcp_agent_notification, settings.dhcp_lease_duration, settings.dns_domain,
                               settings.dnsmasq_dns_servers, settings.enable_isolated_metadata, settings.force_metadata});
  // The planner starts from every stored input at once (any order), then follows commits.
  for (const char* kind : {"hosts", "networks", "subnets", "routers", "floatingips", "l3_bindings", "ports",
                           "port_forwardings", "security_groups", "security_group_rules", "address_groups"})
    if (const Table* t = model_.find_table(kind))
      for (const auto& [id, obj] : *t) planner_.load(kind, id, obj);
  planner_.rebuild(model_.revision);
  planned_revision_ = model_.revision;
  // Changes before this start are not in the watch history: an agent resumes from the view
  // as it is now (known by its digest) or gets a snapshot.
  watches_.start_from(planner_, model_.revision);
  writer_.on_commit([this](const std::vector<Committed>& committed) { follow(committed); });
  for (const auto& [path, h] : handlers_) resources_.insert(path);
  for (const char* other : {"extensions", "availability_zones", "service-providers", "floatingip_pools",
                            "network-ip-availabilities", "quotas", "auto-allocated-topology"})
    resources_.insert(other);
  register_metrics();
}

// Runs on the writer thread after the commit, outside the model's exclusive lock: the
// rows are read into typed changes once, planned, and the deltas published, under the
// planner's own lock (the watch hub and the convergence report read under it).
// Each change set is planned under its own global revision, so that a host's view revision
// is the same on every server sharing the store whatever the batches were (an agent's
// `since` means the same on each).
void Api::follow(const std::vector<Committed>& committed) {
  auto started = std::chrono::steady_clock::now();
  std::lock_guard plan(plan_mu_);
  for (const auto& [revision, cs] : committed) {
    // One publication per change set: its entries (all of one revision) reach each host
    // together, so an agent does not report the revision applied with half of it.
    std::vector<ViewDelta> deltas;
    for (const auto& row : cs.rows) {
      if (row.kind == "hosts" && !row.body) {
        // The host's agents were deleted: its credential is void, and so are its open
        // streams and what it reported.
        watches_.end_host(row.id);
        liveness_.forget(row.id);
        provisioning_.keep_only(row.id, {});  // its ports' waits (under plan_mu_, as here)
      }
      std::optional<json::value> doc;
      if (row.body) {
        boost::system::error_code ec;
        doc = json::parse(*row.body, ec);
        if (ec || !doc->is_object()) {
          spdlog::error("planner cannot follow {} {}: the stored row is not a JSON object", row.kind, row.id);
          continue;
        }
      }
      auto change = planner::parse_change(row.kind, row.id, doc ? &doc->get_object() : nullptr);
      if (!change) continue;  // a table the planner does not follow
      planner_.apply(*change, revision);
      auto last = planner_.take_deltas();
      if (deltas.empty()) deltas = std::move(last);
      else deltas.insert(deltas.end(), std::make_move_iterator(last.begin()), std::make_move_iterator(last.end()));
    }
    watches_.publish(deltas);
  }
  if (!committed.empty()) {
    planned_revision_ = committed.back().revision;
    ui_events_.publish(planned_revision_);
  }
  planner_seconds_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}
Api::~Api() = default;

namespace {

// Accept values a JSON answer satisfies (none given: anything).
bool accepts_json(const std::string& accept) {
  if (accept.empty()) return true;
  for (const char* ok : {"json", "*/*", "application/*"})
    if (accept.find(ok) != std::string::npos) return true;
  return false;
}

}  // namespace

// Requests Neutron 21 refuses before routing them (checked side by side, tests/compat).
std::optional<Error> Api::refused_as_neutron_does(const Route& r, const HttpRequest& req) const {
  if (!accepts_json(req.header("accept")))
    return Error{Errc::not_acceptable, "HTTPNotAcceptable",
                 "The server could not comply with the request since it is either malformed or otherwise incorrect."};
  if (r.method == "HEAD" && !r.root) return Error{Errc::not_allowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource."};
  if (r.method == "DELETE" && !r.body.empty())
    return Error{Errc::invalid_argument, "HTTPBadRequest", "Request body is not supported in DELETE."};
  return std::nullopt;
}

void Api::handle(HttpRequest&& req, Reply reply) {
  Route r;
  r.method = req.method;
  std::string path;
  r.params = parse_query_string(req.target, &path);
  if (path.size() > 5 && path.ends_with(".json")) path.resize(path.size() - 5);
  auto segments = split_path(path);
  reply = requests_.timed(request_resource(segments, resources_), req.method, std::move(reply));
  if (auto valid = check_request_text(req, path, r.params); !valid) return reply(error_response(valid.error()));
  if (serve_health(segments, req, reply)) return;
  if (serve_ui(segments, req, reply)) return;
  if (!segments.empty() && segments[0] == "agent") return handle_agent_channel(segments, req, std::move(reply));
  // The version list (/) is public, as Neutron's; everything else needs a Keystone token.
  if (!authenticator_ || segments.empty()) {
    r.ctx = context_from(req, settings_.noauth_project_id);
    return route(std::move(req), std::move(r), std::move(segments), std::move(reply));
  }
  std::string token = req.header("x-auth-token");
  if (token.empty()) return reply(unauthenticated());
  auto pending = std::make_shared<std::tuple<HttpRequest, Route, std::vector<std::string>>>(
      std::move(req), std::move(r), std::move(segments));
  authenticator_->authenticate(token, [this, pending, reply = std::move(reply)](const auth::Validation& v) {
    if (v.verdict == auth::Verdict::invalid) return reply(unauthenticated());
    if (v.verdict == auth::Verdict::unavailable)
      return reply(error_response(Error{Errc::unavailable, "ServiceUnavailable",
                                        "The identity service (Keystone) cannot validate tokens now; try again later."}));
    // A token for no project (unscoped, or for a domain) names nobody whose objects these are.
    if (v.identity.project_id.empty() && !v.identity.system_scope) return reply(unauthenticated());
    auto& [request, route_, segs] = *pending;
    route_.ctx = context_from_identity(v.identity);
    route(std::move(request), std::move(route_), std::move(segs), std::move(reply));
  });
}

// 401 with the Keystone URL to get a token from, as keystonemiddleware answers.
HttpResponse Api::unauthenticated() const {
  auto res = error_response(Error{Errc::unauthenticated, "HTTPUnauthorized", "The request you have made requires authentication."});
  res.headers.emplace_back("WWW-Authenticate", "Keystone uri=\"" + settings_.keystone.www_authenticate_uri + "\"");
  return res;
}

void Api::route(HttpRequest&& req, Route r, std::vector<std::string> segments, Reply reply) {
  bind_policy(r.ctx, policy_file_ ? policy_file_->current() : default_policy_);
  if (!segments.empty() && segments[0] == "neutrino")
    return serve_neutrino(segments, r.method, r.params, r.ctx, std::move(reply));
  std::string proto = req.header("x-forwarded-proto");
  std::string host = req.header("host");
  r.base_url = (proto.empty() ? "http" : proto) + "://" + (host.empty() ? "localhost" : host);
  r.body = std::move(req.body);
  r.if_match = req.header("if-match");
  if (segments.empty()) {
    r.root = true;
  } else if (segments[0] != "v2.0") {
    return reply(error_response(Error{Errc::not_found, "HTTPNotFound", "The resource could not be found."}));
  } else if (segments.size() == 1) {
    r.v2_root = true;
  } else {
    r.path.assign(segments.begin() + 1, segments.end());
    if (auto it = handlers_.find(r.path[0]); it != handlers_.end()) r.handler = it->second.get();
    r.collection_url = r.base_url + "/v2.0/" + r.path[0];
  }
  if (auto refused = refused_as_neutron_does(r, req)) return reply(error_response(*refused));
  bool builds = r.method == "GET" && !r.path.empty() && r.path[0] == "auto-allocated-topology";  // GET may create
  if ((r.method == "GET" && !builds) || r.method == "HEAD") return read(r, std::move(reply));
  if (builds) return write(std::move(r), std::move(reply));
  if (r.method == "POST" || r.method == "PUT" || r.method == "DELETE") return write(std::move(r), std::move(reply));
  reply(error_response(Error{Errc::not_allowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource."}));
}

void Api::read(const Route& route, Reply reply) {
  Handler* h = route.handler;
  bool setup = false;
  {
    std::shared_lock lock(writer_.lock());
    setup = h && route.path.size() == 1 && h->needs_setup(model_, route.ctx);
    if (!setup) {
      auto r = std::make_shared<Result<std::string>>(run_read(route));
      // What was read may hold a group whose commit is under way: answered once it is durable.
      bool deferred = writer_.defer_until_durable([this, route, r, reply](bool durable) {
        if (durable) return reply(read_answer(route, std::move(*r)));
        read(route, reply);  // the group was undone
      });
      if (!deferred) {
        lock.unlock();
        reply(read_answer(route, std::move(*r)));
      }
      return;
    }
  }
  // The project's default security group is created on first use, as Neutron does.
  auto shared_route = std::make_shared<Route>(route);
  writer_.submit([shared_route](Txn& txn) -> Result<json::value> {
        NT_TRY(shared_route->handler->setup(txn, shared_route->ctx));
        return json::value(nullptr);
      },
      [this, shared_route, reply](Result<json::value> done) {
        if (!done) return reply(error_response(done.error()));
        auto lock = writer_.read_durable();
        auto r = run_read(*shared_route);
        lock.unlock();
        reply(r ? HttpResponse{200, std::move(*r), "application/json", {}} : error_response(r.error()));
      });
}

HttpResponse Api::read_answer(const Route& route, Result<std::string> r) {
  if (r && route.path.size() == 4 && route.path[2] == "tags") return HttpResponse{204, "", "application/json", {}};
  return r ? HttpResponse{200, std::move(*r), "application/json", {}} : error_response(r.error());
}

namespace {
Result<std::string> serialized(Result<json::value> r) {
  if (!r) return nt::unexpected(std::move(r).error());
  return json::serialize(*r);
}
}  // namespace

Result<std::string> Api::run_read(const Route& r) {
  try {
    return read_route(r);
  } catch (const std::exception& e) {
    spdlog::error("read failed with an exception: {}", e.what());
    return fail(Errc::internal, "HTTPInternalServerError",
                "Request Failed: internal server error while processing your request.");  // the cause is logged
  }
}

Result<std::string> Api::read_route(const Route& r) {
  if (r.root) return json::serialize(versions_doc(r.base_url));
  if (r.v2_root) return json::serialize(resources_doc(r.base_url));
  const auto& p = r.path;
  if (p[0] == "extensions" && p.size() <= 2) return serialized(extensions_doc(p.size() == 2 ? p[1] : ""));
  if (p[0] == "availability_zones" && p.size() == 1) return serialized(availability_zones_doc(r.params));
  if (p[0] == "service-providers" && p.size() == 1) return json::serialize(service_providers_doc(r.params));
  if (p[0] == "floatingip_pools" && p.size() == 1) return serialized(floatingip_pools_doc(model_, r.ctx));
  if (p[0] == "network-ip-availabilities" && p.size() <= 2)
    return serialized(ip_availability_doc(model_, r.ctx, p.size() == 2 ? p[1] : ""));
  if (p[0] == "quotas") return serialized(quotas_read(model_, settings_, r.ctx, p));
  if (!r.handler) return not_found("HTTPNotFound", "The resource could not be found.");
  if (p[0] == "address-groups" && p.size() <= 3)
    return address_group_read(*r.handler, model_, r.ctx, p, r.params, r.collection_url);
  if (p.size() == 1) return list_resources(*r.handler, model_, r.ctx, r.params, r.collection_url);
  if (p.size() == 2) return serialized(show_resource(*r.handler, model_, r.ctx, p[1], r.params));
  if (p.size() == 3 && p[0] == "routers" && p[2] == "l3-agents")
    return serialized(l3_agents_of_router(*handlers_.at("agents"), *r.handler, model_, r.ctx, p[1]));
  if (p.size() == 3 && p[0] == "agents" && p[2] == "l3-routers")
    return serialized(l3_routers_of_agent(*r.handler, *handlers_.at("routers"), model_, r.ctx, p[1]));
  if (p[0] == "floatingips" && p[2] == "port_forwardings" && p.size() <= 4)
    return port_forwardings_read(*port_forwardings_, *r.handler, model_, r.ctx, p, r.params, r.base_url);
  if (p[2] == "tags" && p.size() <= 4 && r.handler->def().attr("tags")) return serialized(tags_read(*r.handler, model_, r.ctx, p[1], p.size() == 4 ? p[3] : ""));
  return not_found("HTTPNotFound", "The resource could not be found.");
}

namespace {

// PUT /v2.0/routers/ID/add_extraroutes and remove_extraroutes (extraroute-atomic): the
// routes given are added to (or taken from) the router's, on the server, in one request;
// the result goes through the router's update, so it is checked like any PUT.
Result<json::value> edit_extraroutes(Handler& routers, Txn& txn, const Ctx& ctx, const std::string& id, bool add,
                                     const std::string& body) {
  NT_ASSIGN(auto doc, parse_json(body));
  const auto* router = doc.is_object() ? doc.get_object().if_contains("router") : nullptr;
  const auto* given = router && router->is_object() ? router->get_object().if_contains("routes") : nullptr;
  if (!given) return bad_request("Unable to find 'router' in request body");
  auto checked = check::host_routes()(*given);
  if (!checked) return nt::unexpected(check::attribute_error("routes", checked.error()));
  NT_ASSIGN(const Obj* found, find_visible(routers, txn.model(), ctx, id));
  NT_TRY(enforce_policy(routers, txn.model(), ctx, add ? "add_extraroutes" : "remove_extraroutes", *found));
  json::array routes = found->at("routes").as_array();
  for (const auto& route : checked->get_array()) {
    auto at = std::find(routes.begin(), routes.end(), route);
    if (add && at == routes.end()) routes.push_back(route);
    if (!add && at != routes.end()) routes.erase(at);
  }
  return update_resource(routers, txn, ctx, id, json::object{{"router", json::object{{"routes", std::move(routes)}}}}, "");
}

}  // namespace

Result<json::value> Api::run_write(Txn& txn, const Route& r) {
  if (r.root || r.v2_root) return fail(Errc::not_allowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource.");
  const auto& p = r.path;
  if (p[0] == "quotas") return quotas_write(txn, settings_, r.ctx, r.method, p, r.body);
  if (p[0] == "auto-allocated-topology")
    return auto_allocated_topology(*handlers_.at("networks"), txn, r.ctx, r.method, p, r.params);
  if (!r.handler) return not_found("HTTPNotFound", "The resource could not be found.");
  if (p.size() == 3 && p[0] == "routers" && r.method == "PUT" &&
      (p[2] == "add_router_interface" || p[2] == "remove_router_interface"))
    return router_interface_action(*r.handler, txn, r.ctx, p[1], p[2], r.body);
  if (p.size() == 3 && p[0] == "routers" && r.method == "PUT" && (p[2] == "add_extraroutes" || p[2] == "remove_extraroutes"))
    return edit_extraroutes(*r.handler, txn, r.ctx, p[1], p[2] == "add_extraroutes", r.body);
  if (p.size() >= 3 && p[0] == "floatingips" && p[2] == "port_forwardings" && p.size() <= 4)
    return port_forwardings_write(*port_forwardings_, *r.handler, txn, r.ctx, r.method, p, r.body, r.if_match);
  if (p.size() >= 3 && p[2] == "tags" && p.size() <= 4 && r.handler->def().attr("tags"))
    return tags_write(*r.handler, txn, r.ctx, r.method, p[1], p.size() == 4 ? p[3] : "", r.body);
  if (p.size() >= 3 && p[2] == "tags" && p.size() <= 4) return not_found("HTTPNotFound", "The resource could not be found.");
  if (p[0] == "subnetpools" && ((r.method == "PUT" && (p.size() == 2 || p.size() == 3)) || (r.method == "POST" && p.size() == 1)))
    return subnetpool_write(*r.handler, txn, r.ctx, r.method, p, r.body, r.if_match);
  if (p[0] == "address-groups" && p.size() >= 2 && p.size() <= 3)
    return address_group_write(*r.handler, txn, r.ctx, r.method, p, r.body);
  if (p.size() == 1 && r.method == "POST") {
    NT_ASSIGN(auto body, parse_json(r.body));
    return create_resources(*r.handler, txn, r.ctx, body);
  }
  if (p.size() == 2 && r.method == "PUT") {
    NT_ASSIGN(auto body, parse_json(r.body));
    return update_resource(*r.handler, txn, r.ctx, p[1], body, r.if_match);
  }
  if (p.size() == 2 && r.method == "DELETE") {
    NT_TRY(delete_resource(*r.handler, txn, r.ctx, p[1], r.if_match));
    return json::value(nullptr);
  }
  return fail(Errc::not_allowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource.");
}

void Api::write(Route route, Reply reply) {
  auto shared_route = std::make_shared<Route>(std::move(route));
  writer_.submit([this, shared_route](Txn& txn) { return run_write(txn, *shared_route); },
                 [shared_route, reply](Result<json::value> r) {
                   if (!r) {
                     if (r.error().code == Errc::internal) spdlog::error("internal error: {}", r.error().message);
                     return reply(error_response(r.error()));
                   }
                   auto [status, with_body] = success_status(shared_route->method, shared_route->path);
                   if (!with_body) return reply(HttpResponse{status, "", "application/json", {}});
                   reply(json_response(status, *r));
                 });
}

}  // namespace nt

namespace nt {

// /agent/v1/register and /agent/v1/hosts/{host}/status (ARCHITECTURE §5).
void Api::handle_agent_channel(const std::vector<std::string>& seg, const HttpRequest& req, Reply reply) {
  auto answer = [reply](Result<json::value> r) {
    reply(r ? json_response(200, *r) : error_response(r.error()));
  };
  auto presented = AgentCredentials::of(req);
  if (seg.size() >= 4 && seg[1] == "v1" && seg[2] == "hosts") {
    auto lock = writer_.read_durable();
    if (auto ok = check_host_credential(model_, settings_, seg[3], presented); !ok) {
      lock.unlock();
      return answer(nt::unexpected(ok.error()));
    }
  }
  if (seg.size() == 5 && seg[1] == "v1" && seg[2] == "hosts" && seg[4] == "probe") {
    if (req.method != "POST")
      return answer(fail(Errc::not_allowed, "HTTPMethodNotAllowed", "The method " + req.method + " is not allowed here."));
    return answer(probe_answer(seg[3], req.body));
  }
  bool v1 = seg.size() >= 3 && seg[1] == "v1";
  bool is_watch = v1 && seg.size() == 5 && seg[2] == "hosts" && seg[4] == "watch";
  bool is_convergence = v1 && seg.size() == 3 && (seg[2] == "convergence" || seg[2] == "digests");
  bool is_register = v1 && seg.size() == 3 && seg[2] == "register";
  bool is_status = v1 && seg.size() == 5 && seg[2] == "hosts" && seg[4] == "status";
  bool is_fip_gateway = v1 && seg.size() == 5 && seg[2] == "hosts" && seg[4] == "fip-gateway";
  bool get = req.method == "GET" || req.method == "HEAD";
  if (!is_watch && !is_convergence && !is_register && !is_status && !is_fip_gateway)
    return answer(not_found("HTTPNotFound", "The resource could not be found."));
  // HEAD of a stream is no stream: GET only for watch.
  bool allowed = is_watch ? req.method == "GET" : is_convergence ? get : req.method == "POST";
  if (!allowed)
    return answer(fail(Errc::not_allowed, "HTTPMethodNotAllowed", "The method " + req.method + " is not allowed here."));
  if (is_watch) return watch(seg[3], req, reply);
  if (is_convergence) {
    if (auto ok = check_enrolment_token(settings_, presented); !ok) return answer(nt::unexpected(ok.error()));
    if (seg[2] == "convergence") return answer(convergence());
    // A recompute of every view, under the planner's lock: one at a time, never queued
    // (each waiting caller would hold an API thread for a whole recompute).
    if (digesting_.exchange(true))
      return answer(fail(Errc::unavailable, "ServiceUnavailable", "Digests are being computed for another caller; try again when that ends."));
    struct Done {
      std::atomic<bool>& flag;
      ~Done() { flag = false; }
    } done{digesting_};
    return answer(digests());
  }
  if (is_fip_gateway) {
    auto host = seg[3];
    auto body = std::make_shared<std::string>(req.body);
    return writer_.submit([this, host, body](Txn& txn) { return ensure_fip_gateway(txn, host, *body); }, answer);
  }
  if (is_register) {
    auto body = std::make_shared<std::string>(req.body);
    return writer_.submit(
        [this, body, presented](Txn& txn) { return register_host(txn, settings_, liveness_, *body, presented); }, answer);
  }
  auto report = parse_status(seg[3], req.body);
  if (!report) return answer(nt::unexpected(report.error()));
  bool known = false, needs_write = false;
  std::map<std::string, std::string> up;  // reported up, not ACTIVE yet: port -> network
  {
    auto lock = writer_.read_durable();
    known = model_.find("hosts", report->host) != nullptr;
    needs_write = known && status_needs_write(model_, *report);
    if (known) up = ports_to_provision(model_, *report);
  }
  if (!known) return answer(not_found("HostNotFound", "Host " + report->host + " is not registered."));
  auto provisioned = provision(*report, up);
  needs_write = needs_write || !provisioned.empty();
  if (!needs_write) return answer(json::object{{"revision", model_revision()}});
  auto shared = std::make_shared<StatusReport>(std::move(*report));
  auto ready = std::make_shared<std::vector<Provisioning::Ready>>(std::move(provisioned));
  writer_.submit([this, shared, ready](Txn& txn) { return apply_status(txn, settings_, *shared, *ready); }, answer);
}

namespace {
// What provisioning needs to know of the hosts: their agents' applied revisions, liveness.
Provisioning::Hosts provisioning_hosts(const Liveness& liveness, int down_time) {
  return {[&liveness](const std::string& h) { return liveness.applied(h); },
          [&liveness, down_time](const std::string& h) { return liveness.alive(h, down_time); }};
}

// The ports reported up that wait for hosts to apply them, and those hosts (at most 100).
json::array waiting_ports(const Provisioning& p, const Provisioning::Hosts& hosts) {
  json::array out;
  for (const auto& [port, wait] : p.waits()) {
    if (out.size() == 100) break;
    json::array behind;
    for (const auto& h : Provisioning::behind(wait, hosts)) behind.emplace_back(h);
    out.push_back(json::object{{"port", port}, {"host", wait.host}, {"waiting_for", std::move(behind)}});
  }
  return out;
}
}  // namespace

// Records the report's heartbeat and applied revision, starts the waits of the ports it
// reports up (their needs: the view revisions now of their host and their network's
// hosts), and answers the ports waiting on this host that every live host has applied.
std::vector<Provisioning::Ready> Api::provision(StatusReport& report, const std::map<std::string, std::string>& up) {
  std::lock_guard plan(plan_mu_);
  // Deleted since the caller found it (follow() forgot its liveness, under this lock): a
  // beat now would count it alive again until agent_down_time.
  if (!planner_.inputs().hosts.contains(report.host)) return {};
  // A host cannot have applied a view revision it was never sent, so it cannot claim
  // convergence with one. Such a claim (also an agent still on a revision from before a
  // server restart) is not recorded; the heartbeat and port states still count.
  if (report.applied && *report.applied > planner_.host_revision(report.host)) report.applied.reset();
  liveness_.beat(report.host);
  if (report.applied) liveness_.applied(report.host, *report.applied);
  std::set<std::string> ids;
  for (const auto& [port, network] : up) ids.insert(port);
  provisioning_.keep_only(report.host, ids);
  auto view_revision = [this](const std::string& h) { return planner_.host_revision(h); };
  for (const auto& [port, network] : up)
    if (const auto* w = provisioning_.waiting(port); !w || w->host != report.host)
      provisioning_.wait(port, {report.host, Provisioning::needs_of(report.host, planner_.hosts_of_network(network), view_revision)});
  return provisioning_.ready(report.host, provisioning_hosts(liveness_, settings_.agent_down_time));
}

// POST /agent/v1/hosts/{host}/fip-gateway {"network_id": N}: the host's floating IP
// gateway port on external network N (network:floatingip_agent_gateway, bound to the
// host), created on first use, as Neutron's L3 agent asks for it.
Result<json::value> Api::ensure_fip_gateway(Txn& txn, const std::string& host, const std::string& body) {
  NT_ASSIGN(auto doc, parse_json(body));
  auto net_id = doc.is_object() ? jget::str(doc.as_object().if_contains("network_id")) : "";
  const Model& m = txn.model();
  if (!m.find("hosts", host)) return not_found("HostNotFound", "Host " + host + " is not registered.");
  const Obj* net = m.find("networks", net_id);
  if (!net || !net->at("router:external").as_bool())
    return bad_request("Invalid input for network_id. Reason: '" + net_id + "' is not an external network.");
  for (const Obj* p : m.holding("ports", "binding:host_id", host))
    if (jget::str(p->if_contains("device_owner")) == owner::kFloatingIpAgentGateway &&
        jget::str(p->if_contains("network_id")) == net_id)
      return json::object{{"port", *p}};
  Obj item{{"network_id", net_id}, {"device_owner", owner::kFloatingIpAgentGateway}, {"device_id", host},
           {"project_id", ""}, {"binding:host_id", host}};
  NT_ASSIGN(Obj port, create_internal(*handlers_.at("ports"), txn, std::move(item)));
  return json::object{{"port", port}};
}

// GET /agent/v1/hosts/{host}/watch?since=R: the host view as a stream of JSON lines.
void Api::watch(const std::string& host, const HttpRequest& req, Reply reply) {
  std::string path;
  std::optional<int64_t> since;
  std::optional<uint64_t> digest;  // of the agent's view, when it resumes (channel/view_digest.h)
  for (const auto& [k, v] : parse_query_string(req.target, &path)) {
    if (k == "digest") {
      digest = view::Digest::parse(v);
      if (!digest) return reply(error_response(Error{Errc::invalid_argument, "", "digest must be 1 to 16 hex digits, not '" + v + "'"}));
    }
    if (k != "since") continue;
    since = parse_int64(v);
    if (!since || *since < 0)
      return reply(error_response(Error{Errc::invalid_argument, "", "since must be a revision number, not '" + v + "'"}));
  }
  bool registered;
  {
    auto lock = writer_.read_durable();
    registered = model_.find("hosts", host) != nullptr;
  }
  if (!registered)
    return reply(error_response(Error{Errc::not_found, "HostNotFound", "Host " + host + " is not registered."}));
  auto subscribe = [this, host, since, digest, reply] {
    HttpResponse r{200, "", "application/x-ndjson", {}};
    {
      std::lock_guard plan(plan_mu_);
      r.stream = watches_.subscribe(host, since, planner_, digest);
    }
    reply(std::move(r));
  };
  // An agent that comes from another server sharing the store may be a few commits ahead
  // of this one. A write group with no request catches the model up (its begin() reads the
  // store's log, and the planner follows before the group answers), so the agent resumes
  // rather than getting a whole view; it is queued, so no API thread waits for it. A
  // revision still ahead after that (garbage, or a store restored from a backup) gets the
  // whole view.
  if (since && *since > writer_.model_revision())
    return writer_.submit([](Txn&) -> Result<json::value> { return json::value(nullptr); },
                          [subscribe](Result<json::value>) { subscribe(); });
  subscribe();
}

// GET /agent/v1/convergence: for each live host with a view, the revision of its view and
// the revision its agent reported applied; converged when the planner has followed the
// model's revision and every one has caught up. The sandbox and the tests wait on this
// rather than on time.
json::value Api::convergence() {
  auto revision = model_revision();
  std::lock_guard plan(plan_mu_);
  json::array hosts;
  // The model is committed before the planner follows it (writer.h): until it has, the
  // views are older than `revision` and nothing can be called converged.
  bool converged = planned_revision_ >= revision;
  for (const auto& host : planner_.hosts_with_views()) {
    if (!liveness_.alive(host, settings_.agent_down_time)) continue;
    auto view = planner_.host_revision(host);
    auto applied = liveness_.applied(host);
    bool done = applied && *applied >= view;
    converged = converged && done;
    hosts.push_back(json::object{{"host", host}, {"view_revision", view},
                                 {"applied_revision", applied ? json::value(*applied) : json::value(nullptr)},
                                 {"converged", done}});
  }
  json::object nodes;  // the planner's engine nodes, for the operator
  for (const auto& [name, st] : planner_.stats())
    nodes[name] = json::object{{"changes", st.changes}, {"keys", st.keys}, {"entries", st.entries}, {"recomputes", st.recomputes}};
  return json::object{{"revision", revision}, {"planned_revision", planned_revision_}, {"converged", converged},
                      {"hosts", std::move(hosts)}, {"planner", std::move(nodes)},
                      {"waiting_ports", waiting_ports(provisioning_, provisioning_hosts(liveness_, settings_.agent_down_time))}};
}

// GET /agent/v1/digests: for each host, its view's revision and digest
// (channel/view_digest.h) and the digest of the same view computed from scratch; they are
// equal unless the incremental planner is wrong. A watcher compares its own view's digest
// (bench/watch_scale --verify). It computes every view again: a check, not for polling.
json::value Api::digests() {
  std::lock_guard plan(plan_mu_);
  auto fresh = planner_.recompute();
  std::set<std::string> hosts = planner_.hosts_with_views();
  for (const auto& [host, v] : fresh) hosts.insert(host);
  json::object out;
  for (const auto& host : hosts) {
    auto it = fresh.find(host);
    out[host] = json::object{{"revision", planner_.host_revision(host)},
                             {"view", view::Digest::to_hex(view::digest_of(planner_.shared_view(host)))},
                             {"recomputed", view::Digest::to_hex(it == fresh.end() ? 0 : view::digest_of(it->second))}};
  }
  return json::object{{"hosts", std::move(out)}};
}

int64_t Api::model_revision() { return writer_.model_revision(); }

void Api::sweep(bool decide) {
  if (decide)
    writer_.submit(
      [this](Txn& txn) -> Result<json::value> {
        NT_TRY(sweep_liveness(txn, settings_, liveness_));
        return json::value(nullptr);
      },
      [](Result<json::value>) {});
  watches_.keepalive();
  ui_events_.keepalive();
}

}  // namespace nt
