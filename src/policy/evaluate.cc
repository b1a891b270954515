// Evaluating check trees: oslo.policy's RoleCheck, GenericCheck and RuleCheck, Neutron's
// OwnerCheck and FieldCheck. Where Python would raise (a target without the foreign key an
// owner check needs, a dotted credential path, a regular expression on a non-string) the
// check is false: the request is refused rather than failing with a 500.
#include <regex>
#include <variant>

#include <boost/json.hpp>

#include "policy/policy.h"
#include "policy/python.h"

namespace nt::policy {
namespace json = boost::json;

namespace {

// Python's None for an empty credential value.
std::string_view or_none(const std::string& s) { return s.empty() ? std::string_view("None") : std::string_view(s); }

// `match % target`, or false when the target lacks a key (Python's KeyError). A single-key
// template is not rendered: the target value is compared as str() in place.
struct Rendered {
  const json::value* single = nullptr;
  std::string_view text;

  bool equals(std::string_view s) const { return single ? python_str_equals(*single, s) : text == s; }
};

bool render(const Template& t, const json::object& target, std::string& scratch, Rendered& out) {
  if (t.is_constant()) {
    out.text = t.constant();
    return true;
  }
  if (t.is_single_key()) {
    out.single = target.if_contains(t.pieces[0].text);
    return out.single != nullptr;
  }
  scratch.clear();
  for (const auto& piece : t.pieces) {
    if (!piece.is_key) { scratch += piece.text; continue; }
    const json::value* v = target.if_contains(piece.text);
    if (!v) return false;
    append_python_str(*v, scratch);
  }
  out.text = scratch;
  return true;
}

std::string& scratch_buffer() {
  thread_local std::string buffer;
  return buffer;
}

bool has_role(const Credentials& creds, std::string_view lowered) {
  for (const auto& role : creds.roles)
    if (role == lowered) return true;
  return false;
}

bool evaluate_role(const RoleCheck& check, const json::object& target, const Credentials& creds) {
  if (check.match.is_constant()) return has_role(creds, check.lowered_constant);
  Rendered match;
  std::string& scratch = scratch_buffer();
  if (!render(check.match, target, scratch, match)) return false;
  std::string lowered = match.single ? python_str(*match.single) : std::string(match.text);
  for (char& c : lowered)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return has_role(creds, lowered);
}

// _find_in_dict(creds, [key], match): str(creds[key]) == match, or any item's for a list.
bool credential_matches(CredentialKey key, const Credentials& creds, const Rendered& match) {
  switch (key) {
    case CredentialKey::absent: return false;
    case CredentialKey::user_id: return match.equals(or_none(creds.user_id));
    case CredentialKey::project_id: return match.equals(or_none(creds.project_id));
    case CredentialKey::domain_id: return match.equals(or_none(creds.domain_id));
    case CredentialKey::user_domain_id: return match.equals(or_none(creds.user_domain_id));
    case CredentialKey::project_domain_id: return match.equals(or_none(creds.project_domain_id));
    case CredentialKey::project_name: return match.equals(or_none(creds.project_name));
    case CredentialKey::user_name: return match.equals(or_none(creds.user_name));
    case CredentialKey::system_scope:
      return match.equals(creds.system_scope ? or_none(*creds.system_scope) : std::string_view("None"));
    case CredentialKey::system:  // oslo sets creds["system"] only for a system-scoped token
      return creds.system_scope && !creds.system_scope->empty() && match.equals(*creds.system_scope);
    case CredentialKey::roles:
      for (const auto& role : creds.roles)
        if (match.equals(role)) return true;
      return false;
    case CredentialKey::is_admin: return match.equals(creds.is_admin ? "True" : "False");
    case CredentialKey::is_admin_project: return match.equals(creds.is_admin_project ? "True" : "False");
    case CredentialKey::none: return match.equals("None");
    case CredentialKey::empty_list: return false;
  }
  return false;
}

bool evaluate_generic(const GenericCheck& check, const json::object& target, const Credentials& creds) {
  Rendered match;
  if (!render(check.match, target, scratch_buffer(), match)) return false;
  if (check.kind_is_literal) return match.equals(check.literal);
  if (check.dotted) return false;
  return credential_matches(check.key, creds, match);
}

// Where the parent's id is: network_id, security_group_id, or for ext_parent the first of
// ext_parent_{floatingip,router,local_ip}_id the target has (Neutron's mapping order).
std::pair<std::string_view, const json::value*> parent_reference(const OwnerCheck& check, const json::object& target) {
  if (check.parent == "ext_parent") {
    static constexpr std::pair<std::string_view, std::string_view> kExtParents[] = {
        {"floatingip", "ext_parent_floatingip_id"}, {"router", "ext_parent_router_id"},
        {"local_ip", "ext_parent_local_ip_id"}};
    for (const auto& [resource, key] : kExtParents)
      if (const json::value* id = target.if_contains(key)) return {resource, id};
    return {{}, nullptr};
  }
  if (check.foreign_key.empty()) return {{}, nullptr};
  return {check.parent, target.if_contains(check.foreign_key)};
}

bool evaluate_owner(const OwnerCheck& check, const json::object& target, const Credentials& creds,
                    const ParentLookup* parents) {
  std::string_view tenant = or_none(creds.project_id);
  if (const json::value* own = target.if_contains(check.field)) return python_str_equals(*own, tenant);
  auto [resource, id] = parent_reference(check, target);
  if (!id || !id->is_string() || !parents) return false;
  auto value = parents->attribute(resource, std::string_view(id->get_string()), check.parent_field);
  return value && python_str_equals(*value, tenant);
}

bool evaluate_field(const FieldCheck& check, const json::object& target, const ParentLookup* parents) {
  const json::value* value = target.if_contains(check.attribute);
  std::optional<json::value> looked_up;
  if (!value && check.resource == "networks" && check.attribute == "shared") {
    const json::value* network_id = target.if_contains("network_id");
    if (!network_id || !network_id->is_string() || network_id->get_string().empty() || !parents) return false;
    looked_up = parents->attribute("network", std::string_view(network_id->get_string()), "shared");
    value = looked_up ? &*looked_up : nullptr;
  }
  if (!value || value->is_null()) return false;
  if (check.pattern) {
    if (!value->is_string()) return false;
    const json::string& s = value->get_string();
    return std::regex_search(s.begin(), s.end(), *check.pattern, std::regex_constants::match_continuous);
  }
  return python_equal(*value, check.value);
}

}  // namespace

bool Policy::evaluate(uint32_t id, const Input& in) const {
  const Node& node = arena_.nodes[id];
  switch (node.kind) {
    case NodeKind::always: return true;
    case NodeKind::never: return false;
    case NodeKind::negation: return !evaluate(node.first, in);
    case NodeKind::all_of:
      for (uint32_t i = 0; i < node.count; ++i)
        if (!evaluate(arena_.children[node.first + i], in)) return false;
      return true;
    case NodeKind::any_of:
      for (uint32_t i = 0; i < node.count; ++i)
        if (evaluate(arena_.children[node.first + i], in)) return true;
      return false;
    case NodeKind::leaf: return evaluate_leaf(arena_.leaves[node.first], in);
  }
  return false;
}

bool Policy::evaluate_leaf(const LeafEntry& leaf, const Input& in) const {
  return std::visit(
      [&](const auto& check) -> bool {
        using T = std::decay_t<decltype(check)>;
        if constexpr (std::is_same_v<T, RoleCheck>) return evaluate_role(check, in.target, in.creds);
        else if constexpr (std::is_same_v<T, GenericCheck>) return evaluate_generic(check, in.target, in.creds);
        else if constexpr (std::is_same_v<T, OwnerCheck>) return evaluate_owner(check, in.target, in.creds, in.parents);
        else if constexpr (std::is_same_v<T, FieldCheck>) return evaluate_field(check, in.target, in.parents);
        else return check.resolved && evaluate(rules_[check.rule].root, in);
      },
      leaf.check);
}

json::object Credentials::to_policy_values() const {
  auto str = [](const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); };
  json::array role_list;
  for (const auto& r : roles) role_list.emplace_back(r);
  json::object values{
      {"user_id", str(user_id)}, {"user", str(user_id)}, {"project_id", str(project_id)},
      {"tenant_id", str(project_id)}, {"tenant", str(project_id)}, {"domain_id", str(domain_id)},
      {"domain", str(domain_id)}, {"user_domain_id", str(user_domain_id)}, {"user_domain", str(user_domain_id)},
      {"project_domain_id", str(project_domain_id)}, {"project_domain", str(project_domain_id)},
      {"project_name", str(project_name)}, {"tenant_name", str(project_name)}, {"user_name", str(user_name)},
      {"system_scope", system_scope ? json::value(*system_scope) : json::value(nullptr)},
      {"roles", std::move(role_list)}, {"is_admin", is_admin}, {"is_admin_project", is_admin_project},
      {"service_user_id", nullptr}, {"service_user_domain_id", nullptr}, {"service_project_id", nullptr},
      {"service_project_domain_id", nullptr}, {"service_roles", json::array()},
  };
  if (system_scope && !system_scope->empty()) values["system"] = *system_scope;
  return values;
}

}  // namespace nt::policy
