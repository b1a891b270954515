#include "api/port_policy.h"
#include "api/handlers.h"

#include <string_view>
#include <vector>

namespace nt {

namespace {

// Who a rule lets through; a rule allows a caller who has any of its bits.
enum Who : unsigned {
  kAnyone = 1,              // "rule:regular_user" (deprecated create_port defaults)
  kAdmin = 2,               // "rule:admin_only" / "rule:context_is_admin"
  kOwner = 4,               // "rule:owner", "role:member and project_id:%(project_id)s"
  kNetOwner = 8,            // "rule:network_owner"
  kShared = 16,             // "rule:shared": the port's network is shared
  kNotNetworkDevice = 32,   // "not rule:network_device": device_owner not "network:*"
};

struct Rule {
  std::string_view name;
  unsigned who;
};

// policy.yaml, new default OR deprecated default (advsvc dropped: Neutrino has no such role).
constexpr Rule kRules[] = {
    {"create_port", kAnyone},
    {"create_port:device_owner", kNotNetworkDevice | kAdmin | kNetOwner},
    {"create_port:mac_address", kAdmin | kNetOwner},
    {"create_port:fixed_ips", kAdmin | kNetOwner | kShared},
    {"create_port:fixed_ips:ip_address", kAdmin | kNetOwner},
    {"create_port:fixed_ips:subnet_id", kAdmin | kNetOwner | kShared},
    {"create_port:port_security_enabled", kAdmin | kNetOwner},
    {"create_port:binding:host_id", kAdmin},
    {"create_port:binding:profile", kAdmin},
    {"create_port:binding:vnic_type", kAnyone},
    {"create_port:allowed_address_pairs", kAdmin | kNetOwner},
    {"create_port:allowed_address_pairs:mac_address", kAdmin | kNetOwner},
    {"create_port:allowed_address_pairs:ip_address", kAdmin | kNetOwner},
    {"update_port", kAdmin | kOwner},
    {"update_port:device_owner", kNotNetworkDevice | kAdmin | kNetOwner},
    {"update_port:mac_address", kAdmin},
    {"update_port:fixed_ips", kAdmin | kNetOwner},
    {"update_port:fixed_ips:ip_address", kAdmin | kNetOwner},
    {"update_port:fixed_ips:subnet_id", kAdmin | kNetOwner | kShared},
    {"update_port:port_security_enabled", kAdmin | kNetOwner},
    {"update_port:binding:host_id", kAdmin},
    {"update_port:binding:profile", kAdmin},
    {"update_port:binding:vnic_type", kAdmin | kOwner},
    {"update_port:allowed_address_pairs", kAdmin | kNetOwner},
    {"update_port:allowed_address_pairs:mac_address", kAdmin | kNetOwner},
    {"update_port:allowed_address_pairs:ip_address", kAdmin | kNetOwner},
};

// The attributes with attribute rules, in the order Neutron's attribute map lists them (the
// order its message names them in). On create an attribute set to its default counts as not
// set, as in Neutron; `dflt` is that default (nullptr: the attribute has none).
struct PolicedAttr {
  const char* name;
  const char* dflt;
};
constexpr PolicedAttr kPoliced[] = {
    {"mac_address", nullptr},       {"fixed_ips", nullptr},          {"device_owner", ""},
    {"allowed_address_pairs", nullptr}, {"binding:vnic_type", "normal"}, {"binding:host_id", nullptr},
    {"binding:profile", nullptr},   {"port_security_enabled", nullptr},
};

// A rule, or the AND of terms: oslo.policy's RuleCheck / AndCheck, printed as it prints them.
struct Term {
  std::string rule;
  std::vector<Term> all;
};

std::string str(const Term& t) {
  if (!t.rule.empty()) return "rule:" + t.rule;
  std::string out = "(";
  for (size_t i = 0; i < t.all.size(); ++i) out += (i ? " and " : "") + str(t.all[i]);
  return out + ")";
}

bool allows(const Term& t, unsigned caller) {
  if (t.rule.empty()) {
    for (const auto& sub : t.all)
      if (!allows(sub, caller)) return false;
    return true;
  }
  for (const auto& r : kRules)
    if (r.name == t.rule) return (r.who & caller) != 0;
  return false;  // a rule not in the table allows nobody
}

// A list of dicts (fixed_ips, allowed_address_pairs) also checks a rule per key of each entry.
Term attr_term(const std::string& rule, const boost::json::value& v) {
  Term t{rule, {}};
  const auto* list = v.if_array();
  if (!list || list->empty()) return t;
  Term subs;
  for (const auto& entry : *list)
    if (const auto* o = entry.if_object())
      for (const auto& kv : *o) subs.all.push_back(Term{rule + ":" + std::string(kv.key()), {}});
  if (subs.all.empty()) return t;
  return Term{"", {t, subs}};
}

// Neutron's match rule: the action, AND-ed with one term per policed attribute the request sets.
Term match_rule(const std::string& action, const Obj& request, bool creating) {
  Term match{action, {}};
  for (const auto& a : kPoliced) {
    const auto* v = request.if_contains(a.name);
    if (!v) continue;
    if (creating && a.dflt && v->is_string() && v->get_string() == a.dflt) continue;
    match = Term{"", {match, attr_term(action + ":" + a.name, *v)}};
  }
  return match;
}

unsigned caller_bits(const Model& m, const Obj* net, const std::string& port_project, const std::string& device_owner,
                     const Ctx& ctx) {
  unsigned bits = kAnyone;
  if (ctx.is_admin) bits |= kAdmin;
  if (port_project == ctx.project_id) bits |= kOwner;
  if (net && project_of(*net) == ctx.project_id) bits |= kNetOwner;
  if (const auto* shared = net ? net->if_contains("shared") : nullptr; shared && shared->is_bool() && shared->as_bool())
    bits |= kShared;
  else if (net && rbac_grants(m, jget::str(net->if_contains("id")), "access_as_shared", ctx.project_id))
    bits |= kShared;
  if (device_owner.rfind("network:", 0) != 0) bits |= kNotNetworkDevice;
  return bits;
}

Status enforce(const Term& rule, unsigned caller) {
  if (allows(rule, caller)) return {};
  return fail(Errc::forbidden, "PolicyNotAuthorized", str(rule) + " is disallowed by policy");
}

}  // namespace

bool port_readable(const Model& m, const Obj& port, const Ctx& ctx) {
  if (ctx.is_admin || project_of(port) == ctx.project_id) return true;
  const Obj* net = m.find("networks", jget::str(port.if_contains("network_id")));
  return net && project_of(*net) == ctx.project_id;
}

Status authorize_port_create(const Model& m, const Obj& net, const Obj& request, const Ctx& ctx) {
  if (ctx.is_admin) return {};
  std::string project = ctx.project_id;  // check_create has refused any other project
  unsigned caller = caller_bits(m, &net, project, jget::str(request.if_contains("device_owner")), ctx);
  return enforce(match_rule("create_port", request, true), caller);
}

Status authorize_port_update(const Model& m, const Obj& port, const Obj& changes, const Ctx& ctx) {
  if (ctx.is_admin) return {};
  const Obj* net = m.find("networks", jget::str(port.if_contains("network_id")));
  // network_device is checked on the port as it would be after the update.
  const auto* owner = changes.if_contains("device_owner");
  std::string device_owner = jget::str(owner ? owner : port.if_contains("device_owner"));
  unsigned caller = caller_bits(m, net, project_of(port), device_owner, ctx);
  return enforce(match_rule("update_port", changes, false), caller);
}

}  // namespace nt
