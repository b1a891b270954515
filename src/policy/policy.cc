#include "policy/policy.h"

#include <algorithm>
#include <functional>

#include <boost/json.hpp>

#include "policy/neutron_tables.h"

namespace nt::policy {
namespace json = boost::json;

namespace {

enum ScopeBit : uint8_t { kProject = 1, kDomain = 2, kSystem = 4 };

uint8_t scope_bits(std::string_view types) {
  uint8_t bits = 0;
  while (!types.empty()) {
    size_t comma = types.find(',');
    std::string_view t = types.substr(0, comma);
    bits |= t == "project" ? kProject : t == "domain" ? kDomain : t == "system" ? kSystem : 0;
    types = comma == std::string_view::npos ? std::string_view{} : types.substr(comma + 1);
  }
  return bits;
}

// oslo's token scope: system, else domain, else project.
std::string_view token_scope(const Credentials& creds) {
  if (creds.system_scope && !creds.system_scope->empty()) return "system";
  if (!creds.domain_id.empty()) return "domain";
  return "project";
}

// "['system', 'project']", as Python prints the scope_types list.
std::string python_list(std::string_view types) {
  std::string out = "[";
  while (!types.empty()) {
    size_t comma = types.find(',');
    if (out.size() > 1) out += ", ";
    out += "'" + std::string(types.substr(0, comma)) + "'";
    types = comma == std::string_view::npos ? std::string_view{} : types.substr(comma + 1);
  }
  return out + "]";
}

std::string where(std::string_view source, int line, std::string_view rule) {
  std::string out(source);
  if (!out.empty() && line > 0) out += ":" + std::to_string(line);
  if (!out.empty()) out += ": ";
  return out + "rule \"" + std::string(rule) + "\"";
}

nt::unexpected<Error> policy_error(std::string message) {
  return fail(Errc::invalid_argument, Origin::config, std::move(message));
}

// Calls f(ref) for each rule reference in the tree at `root` (const or not, as the arena).
template <class A, class F>
void for_each_reference(A& arena, uint32_t root, F& f) {
  Node node = arena.nodes[root];
  switch (node.kind) {
    case NodeKind::leaf:
      if (auto* ref = std::get_if<RuleReference>(&arena.leaves[node.first].check)) f(*ref);
      return;
    case NodeKind::negation: for_each_reference(arena, node.first, f); return;
    case NodeKind::all_of:
    case NodeKind::any_of:
      for (uint32_t i = 0; i < node.count; ++i) for_each_reference(arena, arena.children[node.first + i], f);
      return;
    default: return;
  }
}

}  // namespace

Result<Policy> Policy::build(std::span<const RuleOverride> overrides, PolicyOptions options, std::string_view source) {
  Policy p;
  p.options_ = options;
  NT_TRY(p.add_rules(overrides, source));
  NT_TRY(p.resolve_references(source));
  NT_TRY(p.reject_cycles(source));
  p.index_attribute_rules();
  return p;
}

Status Policy::add_rules(std::span<const RuleOverride> overrides, std::string_view source) {
  for (const auto& o : overrides) {
    if (by_name_.contains(o.name)) return policy_error(where(source, o.line, o.name) + ": defined twice");
    auto root = parse_check(o.check, arena_);
    if (!root) return policy_error(where(source, o.line, o.name) + ": " + root.error().message);
    by_name_.emplace(o.name, static_cast<uint32_t>(rules_.size()));
    rules_.push_back(RuleSlot{o.name, *root, 0, {}, o.line});
  }
  for (const auto& d : neutron_default_rules()) {
    if (auto it = by_name_.find(d.name); it != by_name_.end()) {  // overridden: keeps its scope types
      rules_[it->second].scopes = scope_bits(d.scope_types);
      rules_[it->second].scope_types = d.scope_types;
      continue;
    }
    auto root = parse_check(d.check, arena_);
    if (!root) return policy_error("Neutron's default " + where({}, 0, d.name) + ": " + root.error().message);
    uint32_t node = *root;
    if (d.has_deprecated && !options_.enforce_new_defaults && d.deprecated_check != d.check) {
      auto old = parse_check(d.deprecated_check, arena_);
      if (!old) return policy_error("Neutron's deprecated " + where({}, 0, d.name) + ": " + old.error().message);
      // oslo's OrCheck([new, deprecated]) for a rule the file does not override.
      arena_.nodes.push_back(Node{NodeKind::any_of, static_cast<uint32_t>(arena_.children.size()), 2});
      arena_.children.insert(arena_.children.end(), {node, *old});
      node = static_cast<uint32_t>(arena_.nodes.size() - 1);
    }
    by_name_.emplace(std::string(d.name), static_cast<uint32_t>(rules_.size()));
    rules_.push_back(RuleSlot{std::string(d.name), node, scope_bits(d.scope_types), d.scope_types, 0});
  }
  if (auto it = by_name_.find("default"); it != by_name_.end()) default_rule_ = it->second;
  return {};
}

// rule:<name> refers to the rule of that name, or like any unknown name to "default".
Status Policy::resolve_references(std::string_view source) {
  for (const auto& slot : rules_) {
    auto resolve = [&](RuleReference& ref) {
      if (auto it = by_name_.find(ref.name); it != by_name_.end()) {
        ref.rule = it->second;
        ref.resolved = true;
        return;
      }
      ref.resolved = default_rule_.has_value();
      ref.rule = default_rule_.value_or(0);
      warnings_.push_back(where(source, slot.line, slot.name) + ": refers to rule \"" + ref.name +
                          "\", which does not exist: checked as " +
                          (ref.resolved ? "the \"default\" rule" : "false (there is no \"default\" rule)"));
    };
    for_each_reference(arena_, slot.root, resolve);
  }
  return {};
}

// oslo would recurse without end on a cycle ("a": "rule:b", "b": "rule:a"): refuse it.
Status Policy::reject_cycles(std::string_view source) const {
  enum Color : uint8_t { unvisited, on_path, done };
  std::vector<Color> color(rules_.size(), unvisited);
  std::vector<uint32_t> path;
  std::function<std::optional<uint32_t>(uint32_t)> visit = [&](uint32_t rule) -> std::optional<uint32_t> {
    color[rule] = on_path;
    path.push_back(rule);
    std::optional<uint32_t> cycle_start;
    auto follow = [&](const RuleReference& ref) {
      if (cycle_start || !ref.resolved) return;
      if (color[ref.rule] == on_path) cycle_start = ref.rule;
      else if (color[ref.rule] == unvisited) cycle_start = visit(ref.rule);
    };
    for_each_reference(arena_, rules_[rule].root, follow);
    if (cycle_start) return cycle_start;
    color[rule] = done;
    path.pop_back();
    return std::nullopt;
  };
  for (uint32_t r = 0; r < rules_.size(); ++r) {
    if (color[r] != unvisited) continue;
    auto start = visit(r);
    if (!start) continue;
    auto first = std::find(path.begin(), path.end(), *start);
    std::string chain;
    for (auto it = first; it != path.end(); ++it) chain += rules_[*it].name + " -> ";
    chain += rules_[*start].name;
    return policy_error(where(source, rules_[*start].line, rules_[*start].name) + ": rules refer to each other in a cycle (" +
                        chain + ")");
  }
  return {};
}

void Policy::index_attribute_rules() {
  for (uint32_t i = 0; i < rules_.size(); ++i) {
    const std::string& name = rules_[i].name;
    size_t colon = name.find(':');
    if (!name.starts_with("get_") || colon == std::string::npos) continue;
    attribute_get_rules_[name.substr(0, colon)].push_back({name.substr(colon + 1), i});
  }
}

const Policy::RuleSlot* Policy::find(std::string_view name) const {
  if (auto it = by_name_.find(name); it != by_name_.end()) return &rules_[it->second];
  return default_rule_ ? &rules_[*default_rule_] : nullptr;
}

bool Policy::has_rule(std::string_view name) const { return by_name_.find(name) != by_name_.end(); }

std::optional<std::string> Policy::rule_text(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return to_text(arena_, rules_[it->second].root);
}

bool Policy::scope_allows(uint8_t scopes, const Credentials& creds) const {
  if (!options_.enforce_scope || scopes == 0) return true;
  std::string_view token = token_scope(creds);
  return scopes & (token == "system" ? kSystem : token == "domain" ? kDomain : kProject);
}

Policy::Verdict Policy::decide_rule(std::string_view name, const Input& in) const {
  auto it = by_name_.find(name);
  if (it != by_name_.end() && !scope_allows(rules_[it->second].scopes, in.creds)) return Verdict::out_of_scope;
  const RuleSlot* slot = it != by_name_.end() ? &rules_[it->second] : find(name);
  return slot && evaluate(slot->root, in) ? Verdict::allowed : Verdict::denied;
}

bool Policy::check(std::string_view rule, const json::object& target, const Credentials& creds,
                   const ParentLookup* parents) const {
  return decide_rule(rule, Input{target, creds, parents}) == Verdict::allowed;
}

bool Policy::is_admin(const Credentials& creds) const {
  json::object values = creds.to_policy_values();
  return check("context_is_admin", values, creds);
}

Policy::Verdict Policy::decide(const Request& request, const Credentials& creds, const ParentLookup* parents) const {
  if (!options_.enforce_new_defaults && creds.is_admin) return Verdict::allowed;  // neutron.policy's shortcut
  Input in{request.target, creds, parents};
  if (!has_attribute_rules(request)) return decide_rule(request.action, in);
  // Several rules: Neutron's AndCheck has no scope types, so no scope check.
  for (const auto& name : match_rule(request).rules) {
    const RuleSlot* slot = find(name);
    if (!slot || !evaluate(slot->root, in)) return Verdict::denied;
  }
  return Verdict::allowed;
}

bool Policy::authorize(const Request& request, const Credentials& creds, const ParentLookup* parents) const {
  return decide(request, creds, parents) == Verdict::allowed;
}

Status Policy::enforce(const Request& request, const Credentials& creds, const ParentLookup* parents) const {
  Verdict verdict = decide(request, creds, parents);
  if (verdict == Verdict::allowed) return {};
  MatchRule rule = match_rule(request);
  if (verdict == Verdict::out_of_scope) {
    auto it = by_name_.find(request.action);
    return fail(Errc::forbidden, "InvalidScope",
                rule.text + " requires a scope of " + python_list(rules_[it->second].scope_types) +
                    ", request was made with " + std::string(token_scope(creds)) + " scope.");
  }
  return fail(Errc::forbidden, "PolicyNotAuthorized", rule.text + " is disallowed by policy");
}

const std::vector<Policy::AttributeRule>* Policy::attribute_rules(std::string_view resource,
                                                                  const Credentials& creds) const {
  if (!options_.enforce_new_defaults && creds.is_admin) return nullptr;
  auto it = attribute_get_rules_.find("get_" + std::string(resource));
  return it == attribute_get_rules_.end() ? nullptr : &it->second;
}

bool Policy::may_hide_attributes(std::string_view resource, const Credentials& creds) const {
  return attribute_rules(resource, creds) != nullptr;
}

std::vector<std::string> Policy::hidden_attributes(std::string_view resource, const json::object& shown,
                                                   const Credentials& creds, const ParentLookup* parents) const {
  std::vector<std::string> hidden;
  const auto* rules = attribute_rules(resource, creds);
  if (!rules) return hidden;
  Input in{shown, creds, parents};
  for (const auto& [attribute, rule] : *rules) {
    if (attribute == "project_id" || !shown.contains(attribute)) continue;  // Neutron never hides project_id itself
    const RuleSlot& slot = rules_[rule];
    if (scope_allows(slot.scopes, creds) && evaluate(slot.root, in)) continue;
    hidden.push_back(attribute);
    if (attribute == "tenant_id") hidden.push_back("project_id");
  }
  return hidden;
}

}  // namespace nt::policy
