// neutron.policy._build_match_rule: the rules Neutron ANDs for one request, and their text
// as oslo.policy prints the AndCheck tree Neutron builds (nested, left to right).
#include <algorithm>

#include <boost/json.hpp>

#include "policy/neutron_tables.h"
#include "policy/policy.h"
#include "policy/python.h"

namespace nt::policy {
namespace json = boost::json;

namespace {

struct ResourceAndAction {
  std::string_view collection;
  std::string derived;  // resource + "s" when the request names no collection
  bool attribute_based = false;
};

// neutron.policy.get_resource_and_action: "create_port" -> ports, attribute rules apply
// (not for get_* and delete_*, for which the collection is not worked out).
ResourceAndAction resource_and_action(const Request& r) {
  std::string_view head = r.action.substr(0, r.action.find(':'));
  size_t underscore = head.find('_');
  std::string_view verb = head.substr(0, underscore);
  ResourceAndAction out;
  out.attribute_based = verb != "get" && verb != "delete";
  if (!out.attribute_based) return out;
  if (!r.collection.empty()) out.collection = r.collection;
  else {
    out.derived = std::string(underscore == std::string_view::npos ? head : head.substr(underscore + 1)) + "s";
    out.collection = out.derived;
  }
  return out;
}

// _is_attribute_explicitly_set: in the body of a PUT; for a create, present and not the
// attribute's default.
const json::value* explicitly_set(const EnforcedAttribute& attr, const Request& r) {
  const json::value* value = r.target.if_contains(attr.name);
  if (!value) return nullptr;
  if (!r.updated.empty())
    return std::find(r.updated.begin(), r.updated.end(), attr.name) != r.updated.end() ? value : nullptr;
  if (attr.has_default && python_equal(*value, attr.default_value)) return nullptr;
  return value;
}

// Python's `key in value` for the value of a dict-validated attribute.
bool python_contains(const json::value& value, std::string_view key) {
  if (value.is_object()) return value.get_object().contains(key);
  if (value.is_string()) return std::string_view(value.get_string()).find(key) != std::string_view::npos;
  if (value.is_array()) {
    const auto& items = value.get_array();
    return std::any_of(items.begin(), items.end(),
                       [&](const json::value& v) { return v.is_string() && std::string_view(v.get_string()) == key; });
  }
  return false;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out = "(";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? " and rule:" : "rule:") + names[i];
  return out + ")";
}

// The rules one set attribute adds, and their text ("rule:a" or "(rule:a and (rule:a:k ...))").
void add_attribute_rules(std::string_view action, const EnforcedAttribute& attr, const json::value& value,
                         MatchRule& out, std::string& text) {
  std::string attr_rule = std::string(action) + ":" + std::string(attr.name);
  out.rules.push_back(attr_rule);
  text = "rule:" + attr_rule;
  bool iterable = value.is_object() || value.is_array() || value.is_string();
  if (!attr.sub_attributes.empty() && iterable) {  // _build_subattr_match_rule
    std::vector<std::string> subs;
    for (std::string_view key : attr.sub_attributes)
      if (python_contains(value, key)) subs.push_back(attr_rule + ":" + std::string(key));
    text = "(" + text + " and " + joined(subs) + ")";
    out.rules.insert(out.rules.end(), subs.begin(), subs.end());
  }
  if (value.is_array()) {  // _build_list_of_subattrs_rule
    std::vector<std::string> subs;
    for (const auto& item : value.get_array())
      if (item.is_object())
        for (const auto& [key, unused] : item.get_object()) subs.push_back(attr_rule + ":" + std::string(key));
    if (!subs.empty()) {
      text = "(" + text + " and " + joined(subs) + ")";
      out.rules.insert(out.rules.end(), subs.begin(), subs.end());
    }
  }
}

}  // namespace

bool has_attribute_rules(const Request& request) {
  ResourceAndAction ra = resource_and_action(request);
  if (!ra.attribute_based) return false;
  for (const auto& attr : enforced_attributes(ra.collection))
    if (explicitly_set(attr, request)) return true;
  return false;
}

MatchRule match_rule(const Request& request) {
  MatchRule out;
  out.rules.emplace_back(request.action);
  out.text = "rule:" + std::string(request.action);
  ResourceAndAction ra = resource_and_action(request);
  if (ra.attribute_based) {
    for (const auto& attr : enforced_attributes(ra.collection)) {
      const json::value* value = explicitly_set(attr, request);
      if (!value) continue;
      std::string attr_text;
      add_attribute_rules(request.action, attr, *value, out, attr_text);
      out.text = "(" + out.text + " and " + attr_text + ")";
    }
  }
  out.has_scope = out.rules.size() == 1;
  return out;
}

}  // namespace nt::policy
