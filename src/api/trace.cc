// GET /neutrino/v1/trace (the contract is at the top of src/planner/trace.h): the query
// checked, the trace computed under the planner's lock, and with live=1 each hop's kernel
// entry checked by its host's agent (api/live_probes.h). JSON only here, at the edge.
#include <spdlog/spdlog.h>

#include "api/api.h"
#include "api/errors.h"
#include "common/net.h"
#include "common/text.h"
#include "common/json_get.h"
#include "common/names.h"
#include "planner/trace.h"

namespace nt {
namespace json = boost::json;

namespace {

json::value opt(const std::optional<std::string>& s) { return s ? json::value(*s) : json::value(nullptr); }

json::object encode_trace(const planner::Trace& t) {
  json::array hops;
  for (const auto& h : t.hops) {
    json::object attrs;
    for (const auto& [k, v] : h.attrs) attrs[k] = v;
    hops.push_back(json::object{{"host", opt(h.host)}, {"what", h.what}, {"detail", h.detail}, {"namespace", opt(h.ns)},
                                {"device", opt(h.device)}, {"attrs", std::move(attrs)}, {"live", opt(h.live)}});
  }
  const auto& f = t.from;
  json::object from{{"port", f.port}, {"name", f.name}, {"host", opt(f.host)}, {"ip", opt(f.ip)},
                    {"mac", f.mac},   {"network_id", f.network_id}, {"external", opt(f.external)}};
  return json::object{{"trace", json::object{{"from", std::move(from)}, {"to", t.to}, {"protocol", t.protocol},
                                             {"dst_port", t.dst_port ? json::value(*t.dst_port) : json::value(nullptr)},
                                             {"hops", std::move(hops)}, {"result", t.result}, {"live", opt(t.live)}}}};
}

struct TraceRequest {
  planner::TraceQuery query;
  bool live = false;
};

Result<IpAddress> ipv4_param(const std::string& name, const std::string& v) {
  auto ip = IpAddress::parse(v);
  if (!ip || ip->version != 4) return bad_request("Invalid input for " + name + ". Reason: '" + v + "' is not an IPv4 address.");
  return *ip;
}

// Every parameter checked: unknown, repeated or malformed ones are a 400.
Result<TraceRequest> parse_trace_request(const Params& params) {
  TraceRequest r;
  std::set<std::string> seen;
  std::optional<std::string> dst_port;
  for (const auto& [k, v] : params) {
    if (k.empty() && v.empty()) continue;  // "?" alone, or "&&"
    if (!seen.insert(k).second) return bad_request("The parameter " + k + " is given more than once.");
    if (k == "port") r.query.port_id = v;
    else if (k == "to") r.query.to = v;
    else if (k == "protocol") r.query.protocol = v;
    else if (k == "dst_port") dst_port = v;
    else if (k == "from") r.query.from = v;
    else if (k == "live") {
      if (v != "1" && v != "0" && v != "true" && v != "false") return bad_request("live must be 1 or 0, not '" + v + "'.");
      r.live = v == "1" || v == "true";
    } else {
      return bad_request("Unknown parameter " + k + ": trace takes port, to, protocol, dst_port, from and live.");
    }
  }
  if (r.query.port_id.empty()) return bad_request("The parameter port (a port id) is required.");
  if (r.query.port_id.size() > 64 || !devname::plain(r.query.port_id))
    return bad_request("Invalid input for port. Reason: '" + r.query.port_id + "' is not a port id.");
  if (r.query.to.empty()) return bad_request("The parameter to (an IPv4 address) is required.");
  NT_TRY(ipv4_param("to", r.query.to));
  if (r.query.from) NT_TRY(ipv4_param("from", *r.query.from));
  static const std::set<std::string> protocols = {"tcp", "udp", "icmp", "any"};
  if (!protocols.count(r.query.protocol))
    return bad_request("Invalid input for protocol. Reason: '" + r.query.protocol + "' is not tcp, udp, icmp or any.");
  if (dst_port) {
    auto n = parse_int64(*dst_port);
    if (!n || *n < 1 || *n > 65535) return bad_request("Invalid input for dst_port. Reason: '" + *dst_port + "' is not a port number (1-65535).");
    if (r.query.protocol != "tcp" && r.query.protocol != "udp") return bad_request("dst_port is only for protocol tcp or udp.");
    r.query.dst_port = *n;
  }
  return r;
}

HttpResponse trace_response(const planner::Trace& t) { return HttpResponse{200, json::serialize(encode_trace(t)), "application/json", {}}; }

// The agents' answers written into the hops, in the order their checks were sent.
void apply_answers(planner::Trace& t, const LiveProbes::Answers& answers) {
  std::map<std::string, size_t> next;
  bool ok = true;
  for (auto& h : t.hops) {
    if (!h.check || !h.host) continue;
    auto it = answers.find(*h.host);
    size_t i = next[*h.host]++;
    if (it == answers.end() || !it->second)
      h.live = "unknown: " + *h.host + "'s agent did not answer (no open watch, or too late)";
    else
      h.live = i < it->second->size() ? (*it->second)[i] : "unknown: no answer for this entry";
    ok = ok && *h.live == "ok";
  }
  t.live = ok ? "ok" : "mismatch";
}

}  // namespace

// /neutrino/v1/...: Neutrino's own admin reads, beside the Neutron API (same auth).
void Api::serve_neutrino(const std::vector<std::string>& segments, const std::string& method, const Params& params,
                         const Ctx& ctx, Reply reply) {
  if (segments.size() != 3 || segments[1] != "v1" || segments[2] != "trace")
    return reply(error_response(Error{Errc::not_found, "HTTPNotFound", "The resource could not be found."}));
  if (method != "GET")
    return reply(error_response(Error{Errc::not_allowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource."}));
  serve_trace(params, ctx, std::move(reply));
}

void Api::serve_trace(const Params& params, const Ctx& ctx, Reply reply) {
  if (!ctx.is_admin)
    return reply(error_response(Error{Errc::forbidden, "HTTPForbidden", "neutrino trace is for admins only."}));
  auto request = parse_trace_request(params);
  if (!request) return reply(error_response(request.error()));
  std::string name;
  {
    auto lock = writer_.read_durable();
    if (const Obj* p = model_.find("ports", request->query.port_id)) name = jget::str(p->if_contains("name"));
  }
  Result<planner::Trace> traced = [&] {
    std::lock_guard plan(plan_mu_);
    return planner::trace(planner_, request->query);
  }();
  if (!traced) return reply(error_response(traced.error()));
  traced->from.name = name;
  if (!request->live) return reply(trace_response(*traced));
  std::map<std::string, std::vector<view::ProbeCheck>> checks;
  for (const auto& h : traced->hops)
    if (h.check && h.host) checks[*h.host].push_back(*h.check);
  if (checks.empty()) {
    traced->live = "ok";
    return reply(trace_response(*traced));
  }
  auto shared = std::make_shared<planner::Trace>(std::move(*traced));
  probes_.start(
      checks, [this](const std::string& host, const std::string& line) { return watches_.send(host, line); },
      [shared, reply](LiveProbes::Answers answers) {
        apply_answers(*shared, answers);
        reply(trace_response(*shared));
      });
}

// POST /agent/v1/hosts/{host}/probe: an agent's answer to a probe (the host's credential
// was checked by the caller).
Result<json::value> Api::probe_answer(const std::string& host, const std::string& body) {
  NT_ASSIGN(auto doc, parse_json(body));
  if (!doc.is_object()) return bad_request("A probe answer is a JSON object.");
  const auto& o = doc.get_object();
  view::ProbeAnswer a;
  a.id = jget::str(o.if_contains("id"));
  const auto* results = o.if_contains("results");
  if (a.id.empty() || !results || !results->is_array()) return bad_request("A probe answer has an id and results.");
  for (const auto& r : results->get_array()) {
    if (!r.is_string() || r.get_string().size() > 1024) return bad_request("Each probe result is a short string.");
    a.results.emplace_back(r.get_string());
  }
  if (!probes_.answer(host, a)) return not_found("HTTPNotFound", "No probe " + a.id + " is waiting for host " + host + ".");
  return json::object{{"accepted", true}};
}

}  // namespace nt
