// Server side of the agent channel (ARCHITECTURE §5): registration, status reports and
// the liveness sweep. The watch stream comes with the planner.
#include "api/agents.h"

#include <algorithm>
#include <cctype>
#include "channel/messages.h"
#include "common/clock.h"
#include "common/secret.h"
#include "common/uuid.h"
#include "core/mac.h"

namespace nt {
namespace json = boost::json;

namespace {

struct AgentKind {
  const char* type;
  const char* binary;
  const char* topic;
  bool zoned;
};
const AgentKind kAgentKinds[] = {
    {"L3 agent", "neutrino-l3-agent", "l3_agent", true},
    {"Linux bridge agent", "neutrino-linuxbridge-agent", "N/A", false},
    {"DHCP agent", "neutrino-dhcp-agent", "dhcp_agent", true},
    {"Metadata agent", "neutrino-metadata-agent", "N/A", false},
};

std::string agent_now() {
  auto iso = iso_utc(now_seconds());
  iso[10] = ' ';
  iso.pop_back();
  return iso;
}

json::array tunnel_types(const Obj& host) {
  const auto* types = host.if_contains("network_types");
  if (!types || !types->is_array()) return json::array{"vxlan"};
  json::array out;
  for (const auto& t : types->as_array())
    if (t == "vxlan" || t == "geneve") out.push_back(t);
  return out;
}

json::object configurations(const AgentKind& k, const Obj& host) {
  auto mode = host.at("agent_mode");
  if (std::string(k.type) == "L3 agent")
    return {{"agent_mode", mode}, {"routers", 0}, {"ex_gw_ports", 0}, {"interfaces", 0}, {"floating_ips", 0},
            {"interface_driver", "linuxbridge"}, {"handle_internal_only_routers", true},
            {"gateway_external_network_id", ""}, {"log_agent_heartbeats", false}};
  if (std::string(k.type) == "Linux bridge agent")
    return {{"bridge_mappings", host.at("bridge_mappings")}, {"interface_mappings", json::object{}},
            {"tunnel_types", tunnel_types(host)}, {"tunneling_ip", host.at("local_ip")}, {"l2_population", true},
            {"devices", 0}, {"extensions", json::array{}}};
  if (std::string(k.type) == "DHCP agent")
    return {{"dhcp_driver", "neutrino (in-agent DHCP)"}, {"networks", 0}, {"ports", 0}, {"subnets", 0},
            {"dhcp_lease_duration", 86400}, {"log_agent_heartbeats", false}};
  return {{"metadata_proxy_socket", "built into neutrino-agent"}, {"nova_metadata_host", ""}, {"log_agent_heartbeats", false}};
}

// Host names as Nova and the agents spell them (hostnames or FQDNs; '_' is common).
bool valid_host_name(const std::string& h) {
  if (h.empty() || h.size() > 255 || !std::isalnum(static_cast<unsigned char>(h[0]))) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

// An address other hosts can send tunnelled traffic to.
bool usable_vtep(const IpAddress& ip) {
  if (ip.version == 4) {
    auto v = static_cast<uint32_t>(ip.value);
    return v != 0 && v != 0xffffffffu && (v >> 24) != 127 && (v >> 28) != 0xe;
  }
  return ip.value != 0 && ip.value != 1 && (ip.value >> 120) != 0xff;
}

// What an agent sent, validated member by member into the typed message.
Result<channel::Registration> parse_registration(const std::string& body) {
  NT_ASSIGN(auto doc, parse_json(body));
  const auto* o = doc.if_object();
  if (!o) return bad_request("Body contains invalid data");
  channel::Registration r;
  r.host = jget::str(o->if_contains("host"));
  if (!valid_host_name(r.host))
    return bad_request("Invalid input for host. Reason: a host name of 1 to 255 letters, digits, '.', '-' or '_', "
                       "starting with a letter or digit, is required.");
  r.agent_mode = jget::str(o->if_contains("agent_mode"));
  if (r.agent_mode != "dvr" && r.agent_mode != "dvr_snat")
    return bad_request("Invalid input for agent_mode. Reason: '" + r.agent_mode + "' is not in ['dvr', 'dvr_snat'].");
  r.local_ip = jget::str(o->if_contains("local_ip"));
  auto vtep = IpAddress::parse(r.local_ip);
  if (!vtep) return bad_request("Invalid input for local_ip. Reason: '" + r.local_ip + "' is not a valid IP address.");
  if (!usable_vtep(*vtep))
    return bad_request("Invalid input for local_ip. Reason: '" + r.local_ip +
                       "' cannot be a tunnel endpoint (unspecified, loopback, broadcast or multicast).");
  if (auto* m = o->if_contains("bridge_mappings")) {
    if (!m->is_object()) return bad_request("Invalid input for bridge_mappings. Reason: a dictionary physnet -> interface is required.");
    for (const auto& kv : m->as_object()) {
      if (!kv.value().is_string()) return bad_request("Invalid input for bridge_mappings. Reason: interface names must be strings.");
      r.bridge_mappings[kv.key()] = kv.value().get_string();
    }
  }
  r.version = jget::str(o->if_contains("version"));
  // What the host's kernel lets it build (absent: everything).
  if (auto* types = o->if_contains("network_types"); types && !types->is_null()) {
    if (!types->is_array() || std::any_of(types->as_array().begin(), types->as_array().end(), [](auto& t) { return !t.is_string(); }))
      return bad_request("Invalid input for network_types. Reason: a list of network types is required.");
    r.network_types.emplace();
    for (const auto& t : types->as_array()) r.network_types->emplace_back(t.get_string());
  }
  if (auto* why = o->if_contains("unsupported_network_types"); why && !why->is_null()) {
    if (!why->is_object() || std::any_of(why->as_object().begin(), why->as_object().end(), [](auto& kv) { return !kv.value().is_string(); }))
      return bad_request("Invalid input for unsupported_network_types. Reason: a dictionary type -> reason is required.");
    r.unsupported_network_types.emplace();
    for (const auto& kv : why->as_object()) (*r.unsupported_network_types)[kv.key()] = kv.value().get_string();
  }
  return r;
}

// The hosts row of a registration.
Obj host_record(const channel::Registration& r) {
  Obj record{{"id", r.host}, {"project_id", ""}, {"agent_mode", r.agent_mode}, {"local_ip", r.local_ip},
             {"bridge_mappings", json::value_from(r.bridge_mappings)}, {"version", r.version}, {"alive", true}};
  if (r.network_types) record["network_types"] = json::value_from(*r.network_types);
  if (r.unsupported_network_types) record["unsupported_network_types"] = json::value_from(*r.unsupported_network_types);
  return record;
}

}  // namespace

AgentCredentials AgentCredentials::of(const HttpRequest& req) {
  return {req.header("x-neutrino-token"), req.header("x-neutrino-host-token")};
}

namespace {

nt::unexpected<Error> unauthenticated(const std::string& message) {
  return fail(Errc::unauthenticated, "HTTPUnauthorized", message);
}

bool enrolment_token_ok(const Settings& s, const AgentCredentials& presented) {
  if (s.agent_token.empty()) return true;
  return presented.enrolment_token.size() == s.agent_token.size() &&
         secret_matches(presented.enrolment_token, sha256_hex(s.agent_token));
}

// The credential hash a new registration stores and the token to hand out ("" when the
// host keeps the one it has).
Result<std::pair<std::string, std::string>> admit_registration(const Obj* old, const Settings& s,
                                                               const std::string& name, const AgentCredentials& presented) {
  auto stored = old ? jget::str(old->if_contains("credential")) : "";
  if (!stored.empty()) {
    if (secret_matches(presented.host_token, stored)) return std::pair{stored, std::string()};
    return unauthenticated("Host " + name + " is already enrolled: its agent must present the host's own token "
                           "(X-Neutrino-Host-Token). To enrol the host anew, delete its agents "
                           "(openstack network agent delete).");
  }
  if (!enrolment_token_ok(s, presented)) return unauthenticated("The agent token is missing or wrong.");
  auto token = new_secret();
  return std::pair{sha256_hex(token), token};
}

}  // namespace

Status check_enrolment_token(const Settings& s, const AgentCredentials& presented) {
  if (enrolment_token_ok(s, presented)) return {};
  return unauthenticated("The agent token is missing or wrong.");
}

Status check_host_credential(const Model& m, const Settings& s, const std::string& host,
                             const AgentCredentials& presented) {
  const Obj* h = m.find("hosts", host);
  auto stored = h ? jget::str(h->if_contains("credential")) : "";
  if (!stored.empty() ? secret_matches(presented.host_token, stored) : enrolment_token_ok(s, presented)) return {};
  return unauthenticated("Host " + host + ": the host token is missing or wrong.");
}

Result<json::value> register_host(Txn& txn, const Settings& s, Liveness& liveness, const std::string& body,
                                  const AgentCredentials& presented) {
  NT_ASSIGN(auto registration, parse_registration(body));
  Obj host = host_record(registration);
  auto name = jget::str(host.if_contains("id"));
  const Obj* old = txn.model().find("hosts", name);
  NT_ASSIGN(auto credential, admit_registration(old, s, name, presented));
  host["credential"] = credential.first;
  if (old && old->contains("dvr_mac")) {
    host["dvr_mac"] = old->at("dvr_mac");
  } else {
    auto mac = random_free_mac(txn.model(), "dvr", s.dvr_base_mac);
    if (!mac || !txn.claim_mac("dvr", *mac, name))
      return fail(Errc::unavailable, "ServiceUnavailable", "Unable to generate a unique DVR MAC for host " + name + ".");
    host["dvr_mac"] = mac->str();
  }
  host["registered_at"] = iso_utc(now_seconds());
  txn.put("hosts", host);
  json::array ids;
  for (const auto& kind : kAgentKinds) {
    const Obj* existing = nullptr;
    for (const auto& [id, a] : txn.model().table("agents"))
      if (jget::str(a.if_contains("host")) == name && jget::str(a.if_contains("agent_type")) == kind.type) existing = &a;
    Obj agent = existing ? *existing
                         : Obj{{"id", new_uuid()}, {"host", name}, {"agent_type", kind.type}, {"binary", kind.binary},
                               {"topic", kind.topic}, {"admin_state_up", true}, {"description", nullptr},
                               {"created_at", agent_now()}, {"availability_zone", kind.zoned ? json::value("nova") : json::value(nullptr)},
                               {"resources_synced", nullptr}, {"resource_versions", json::object{}}, {"project_id", ""}};
    agent["started_at"] = agent_now();
    agent["configurations"] = configurations(kind, host);
    ids.push_back(agent.at("id"));
    txn.put("agents", std::move(agent));
  }
  liveness.beat(name);
  reschedule_gateways(txn, s);
  json::object answer{{"host", name}, {"dvr_mac", host.at("dvr_mac")}, {"agents", ids}, {"revision", txn.model().revision + 1}};
  if (!credential.second.empty()) answer["host_token"] = credential.second;
  return answer;
}

namespace {
// {"<id>": "<a>"|"<b>", ...} under `key` of a status report.
Result<std::map<std::string, std::string>> state_map(const Obj& report, const char* key, const char* a, const char* b,
                                                     const char* shape) {
  std::map<std::string, std::string> out;
  auto* v = report.if_contains(key);
  if (!v) return out;
  if (!v->is_object())
    return bad_request(std::string("Invalid input for ") + key + ". Reason: a dictionary " + shape + " is required.");
  for (const auto& kv : v->as_object()) {
    auto state = jget::str(&kv.value());
    if (state != a && state != b)
      return bad_request(std::string("Invalid input for ") + key + ". Reason: '" + state + "' is not in ['" + a +
                         "', '" + b + "'].");
    out[std::string(kv.key())] = state;
  }
  return out;
}
}  // namespace

Result<StatusReport> parse_status(const std::string& host, const std::string& body) {
  StatusReport r{host, {}};
  if (body.empty()) return r;
  NT_ASSIGN(auto doc, parse_json(body));
  const auto* o = doc.if_object();
  if (!o) return bad_request("Body contains invalid data");
  NT_ASSIGN(r.ha_states, state_map(*o, "routers", "active", "standby", "router -> ha_state"));
  NT_ASSIGN(r.port_states, state_map(*o, "ports", "up", "down", "port -> up|down"));
  // null: nothing applied yet (an agent whose passes have not converged still reports).
  if (auto* applied = o->if_contains("applied"); applied && !applied->is_null()) {
    if (!applied->is_int64() || applied->get_int64() < 0)
      return bad_request("Invalid input for applied. Reason: a revision number is required.");
    r.applied = applied->get_int64();
  }
  return r;
}

namespace {
// The port if it is bound to `host` with a plugged VIF (its agent speaks for it).
const Obj* port_bound_to(const Model& m, const std::string& host, const std::string& port_id) {
  const Obj* p = m.find("ports", port_id);
  if (!p || jget::str(p->if_contains("binding:host_id")) != host || jget::str(p->if_contains("binding:vif_type")) != "bridge")
    return nullptr;
  return p;
}

// The status a port bound to `host` should have after the report, or "" to leave it: a
// report takes a port DOWN; only provisioning (ports_to_provision) takes it ACTIVE.
std::string reported_port_status(const Model& m, const std::string& host, const std::string& port_id,
                                 const std::string& state) {
  const Obj* p = port_bound_to(m, host, port_id);
  if (!p || (state == "up" && p->at("admin_state_up").as_bool())) return "";
  return jget::str(p->if_contains("status")) == "DOWN" ? "" : "DOWN";
}
}  // namespace

std::map<std::string, std::string> ports_to_provision(const Model& m, const StatusReport& report) {
  std::map<std::string, std::string> out;
  for (const auto& [port_id, state] : report.port_states) {
    if (state != "up") continue;
    const Obj* p = port_bound_to(m, report.host, port_id);
    if (!p || !p->at("admin_state_up").as_bool() || jget::str(p->if_contains("status")) == "ACTIVE") continue;
    out[port_id] = jget::str(p->if_contains("network_id"));
  }
  return out;
}

// The binding of `router` if `host` is one of its gateway hosts: a host reports the
// ha_state of its own roles only.
static const Obj* binding_served_by(const Model& m, const std::string& router, const std::string& host) {
  const Obj* b = m.find("l3_bindings", router);
  if (!b) return nullptr;
  const auto* hosts = b->if_contains("hosts");
  if (!hosts || !hosts->is_array()) return nullptr;
  for (const auto& h : hosts->as_array())
    if (h.is_string() && h.get_string() == host) return b;
  return nullptr;
}

// A gateway host's role as it reports it. A host that took over (its view by BFD) becomes
// the first of the order unless preemption is on, so that a recovered higher-priority host
// stays standby; the other hosts' "active" is then stale and shown as standby.
static Obj took_role(const Obj& binding, const std::string& host, const std::string& state, bool preempt) {
  Obj next = binding;
  auto& states = next["ha_state"].as_object();
  states[host] = state;
  if (state != "active") return next;
  for (auto& kv : states)
    if (kv.key() != host && kv.value() == "active") kv.value() = "standby";
  if (preempt) return next;
  auto& hosts = next["hosts"].as_array();
  json::array order{json::value(host)};
  for (const auto& h : hosts)
    if (!(h.is_string() && h.get_string() == host)) order.push_back(h);
  hosts = std::move(order);
  return next;
}

bool status_needs_write(const Model& m, const StatusReport& report) {
  const Obj* host = m.find("hosts", report.host);
  if (!host || !host->at("alive").as_bool()) return true;
  for (const auto& [port, state] : report.port_states)
    if (!reported_port_status(m, report.host, port, state).empty()) return true;
  for (const auto& [router, state] : report.ha_states) {
    const Obj* b = binding_served_by(m, router, report.host);
    if (b && jget::str(b->at("ha_state").as_object().if_contains(report.host)) != state) return true;
  }
  return false;
}

Result<json::value> apply_status(Txn& txn, const Settings& s, const StatusReport& report,
                                 const std::vector<Provisioning::Ready>& provisioned) {
  const Obj* found = txn.model().find("hosts", report.host);
  if (!found) return not_found("HostNotFound", "Host " + report.host + " is not registered.");
  if (!found->at("alive").as_bool()) {
    Obj host = *found;
    host["alive"] = true;
    txn.put("hosts", std::move(host));
    reschedule_gateways(txn, s);
  }
  for (const auto& [router, state] : report.ha_states) {
    const Obj* b = binding_served_by(txn.model(), router, report.host);
    if (!b || jget::str(b->at("ha_state").as_object().if_contains(report.host)) == state) continue;
    txn.put("l3_bindings", took_role(*b, report.host, state, s.ha_preempt));
  }
  for (const auto& [port_id, state] : report.port_states) {
    auto status = reported_port_status(txn.model(), report.host, port_id, state);
    if (status.empty()) continue;
    Obj port = *txn.model().find("ports", port_id);
    port["status"] = status;
    txn.put("ports", std::move(port));
    bump_revision(txn, "ports", port_id);
  }
  // Applied everywhere: ACTIVE in this one transaction, visible to the next read.
  for (const auto& ready : provisioned) {
    const Obj* p = port_bound_to(txn.model(), ready.host, ready.port);
    if (!p || !p->at("admin_state_up").as_bool() || jget::str(p->if_contains("status")) == "ACTIVE") continue;
    Obj port = *p;
    port["status"] = "ACTIVE";
    txn.put("ports", std::move(port));
    bump_revision(txn, "ports", ready.port);
  }
  return json::object{{"revision", txn.model().revision + 1}};
}

Status sweep_liveness(Txn& txn, const Settings& s, const Liveness& liveness) {
  std::vector<Obj> changed;
  if (const Table* t = txn.model().find_table("hosts"))
    for (const auto& [name, h] : *t) {
      bool alive = liveness.alive(name, s.agent_down_time);
      if (alive != h.at("alive").as_bool()) {
        Obj next = h;
        next["alive"] = alive;
        changed.push_back(std::move(next));
      }
    }
  for (auto& h : changed) txn.put("hosts", std::move(h));
  if (!changed.empty()) reschedule_gateways(txn, s);
  return {};
}

}  // namespace nt
