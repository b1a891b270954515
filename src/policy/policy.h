// Neutron's authorization: oslo.policy's rule language with Neutron 21's default rules and
// Neutron's own checks, answering as neutron-server 21 (oslo.policy 4.0) answers.
//
// A Policy is immutable: Neutron's defaults (scripts/gen-policy-defaults) overridden by an
// operator's policy file (policy/policy_file.h reads and watches one). Requests share it
// through std::shared_ptr<const Policy>; every method is const and thread-safe.
//
// How Neutron's API enforcement maps onto it (neutron/pecan_wsgi/hooks/policy_enforcement.py):
//   POST   enforce({"create_<resource>", body item, {}, collection})
//   PUT    enforce({"update_<resource>", stored object updated with the body, body keys, collection})
//   DELETE enforce({"delete_<resource>", stored object})
//   GET    one:  enforce({"get_<resource>", object});  list: keep the objects authorize() allows;
//          then drop hidden_attributes("<resource>", object) from each shown object.
//   A PUT or DELETE that fails is answered 404 ("The resource could not be found.", as
//   HTTPNotFound) instead of 403 when authorize({"get_<resource>", object}) fails too, so
//   that callers cannot learn what exists; a failed POST is always 403; a failed single
//   GET is 404.
// The error of enforce() is Neutron's: 403 PolicyNotAuthorized "<rules> is disallowed by
// policy", where <rules> is the rule Neutron built: "rule:get_network" alone,
// "(rule:create_network and rule:create_network:shared)" with attribute rules (see
// match_rule()); or, with enforce_scope, 403 InvalidScope "rule:get_network requires a scope
// of ['project'], request was made with system scope."
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/error.h"
#include "policy/check.h"

namespace nt::policy {

// Who is asking: the values Neutron's context gives oslo.policy (to_policy_values()). An
// empty string is Python's None (no such value): "None" when a check compares it as text.
struct Credentials {
  std::string user_id;
  std::string project_id;  // also tenant_id, tenant; empty for system- and domain-scoped tokens
  std::string domain_id;   // a domain-scoped token's domain
  std::string user_domain_id;
  std::string project_domain_id;
  std::string project_name;
  std::string user_name;
  std::vector<std::string> roles;           // lower case (Keystone's, implied roles included)
  std::optional<std::string> system_scope;  // "all" for a system-scoped token
  // Neutron's context.is_admin: set it from Policy::is_admin(), as Neutron computes it.
  bool is_admin = false;
  bool is_admin_project = true;

  // The credentials as the JSON object Neutron passes as `creds` (and as the target when it
  // decides is_admin).
  boost::json::object to_policy_values() const;
};

// Answers for the checks that read another resource: tenant_id:%(network:tenant_id)s
// (Neutron's OwnerCheck: the owner of the target's network, security group, or ext_parent
// floating IP, router or local IP) and field:networks:shared=True for a target that is not a
// network (the target's network's "shared"). Neutron reads owners with an admin context and
// "shared" with the context of the target's project (a network that project cannot see is
// an error there: answer nullopt, and the check is false). Not cached here (Neutron caches
// owners for 5 seconds): cache in the lookup if it is costly.
class ParentLookup {
 public:
  virtual ~ParentLookup() = default;
  // `field` of the `resource` ("network", "security_group", "floatingip", "router",
  // "local_ip") whose id is `id`; nullopt when there is no such resource: the check is false.
  virtual std::optional<boost::json::value> attribute(std::string_view resource, std::string_view id,
                                                      std::string_view field) const = 0;
};

// [oslo_policy] options; Neutron 21's defaults are both false.
struct PolicyOptions {
  // false: a default rule with a deprecated check string allows what either allows (oslo's
  // OrCheck), unless the policy file overrides it; and Neutron lets a context with is_admin
  // do anything without evaluating rules. true: only the new check strings, for everyone.
  bool enforce_new_defaults = false;
  // true: a request whose token scope (system, domain or project) is not among the scope
  // types of the rule it uses is refused (InvalidScope).
  bool enforce_scope = false;
};

// A rule of an operator's policy file.
struct RuleOverride {
  std::string name;
  std::string check;
  int line = 0;  // in the file, for messages; 0: unknown
};

// What one request asks of the policy, as Neutron's PolicyHook passes it.
struct Request {
  std::string_view action;            // "create_port", "get_network", "update_router"
  const boost::json::object& target;  // see the mapping above; must include project_id/tenant_id
  // PUT: the names of the attributes in the request body (Neutron's attributes_to_update);
  // empty for other methods (and, as in Neutron, for a PUT with an empty body).
  std::span<const std::string> updated = {};
  // Neutron's collection ("ports", "rbac_policies"); empty: the action's resource + "s".
  std::string_view collection = {};
};

// The rule Neutron checks for a request (neutron.policy._build_match_rule): the action's
// rule AND "<action>:<attribute>" for each policy-enforced attribute a create or update sets
// (to a value other than its default, for a create), AND "<action>:<attribute>:<key>" for
// the keys set in a dict attribute (external_gateway_info) or in the objects of a list
// attribute (fixed_ips, allowed_address_pairs). A rule that does not exist is checked as
// the "default" rule, as Neutron does.
struct MatchRule {
  std::vector<std::string> rules;  // the action's rule first
  std::string text;                // as Neutron prints it in PolicyNotAuthorized
  bool has_scope = false;          // Neutron checks the action rule's scope (no attribute rules)
};
MatchRule match_rule(const Request& request);

class Policy {
 public:
  // Neutron's defaults with `overrides` (an operator's file; `source` names it in errors,
  // e.g. "policy.yaml:7: rule "create_network": unexpected token "orr" at column 8, ...").
  // Errors: a rule that does not parse, two rules of one name, rules that refer to each
  // other in a cycle.
  static Result<Policy> build(std::span<const RuleOverride> overrides = {}, PolicyOptions options = {},
                              std::string_view source = {});

  const PolicyOptions& options() const { return options_; }
  // A rule of this name exists (a default or an override).
  bool has_rule(std::string_view name) const;
  // The rule's check tree as oslo prints it ("(rule:admin_only or ...)"); nullopt: no rule.
  std::optional<std::string> rule_text(std::string_view name) const;
  // Things an operator should know: rules that refer to a rule that does not exist (checked
  // as the "default" rule), with the file line.
  const std::vector<std::string>& warnings() const { return warnings_; }

  // oslo.policy's Enforcer.enforce(rule, target, creds): the named rule (the "default" rule
  // when there is none; false when neither exists) on a target; with enforce_scope, false
  // when the token's scope is not among the rule's default scope types.
  bool check(std::string_view rule, const boost::json::object& target, const Credentials& creds,
             const ParentLookup* parents = nullptr) const;

  // Neutron's context.is_admin for these credentials: the context_is_admin rule with the
  // credentials as the target.
  bool is_admin(const Credentials& creds) const;

  // neutron.policy.check: may the caller do this (is_admin shortcut, scope, match_rule())?
  bool authorize(const Request& request, const Credentials& creds, const ParentLookup* parents = nullptr) const;
  // neutron.policy.enforce: the same, with Neutron's 403 error (Errc::forbidden, type
  // PolicyNotAuthorized or InvalidScope) when not.
  Status enforce(const Request& request, const Credentials& creds, const ParentLookup* parents = nullptr) const;

  // The attributes of a shown `resource` ("port", "network": singular) that the caller may
  // not see: those with a "get_<resource>:<attribute>" rule that fails (project_id too when
  // tenant_id is hidden). In the order of the rules; empty when nothing is hidden.
  std::vector<std::string> hidden_attributes(std::string_view resource, const boost::json::object& shown,
                                             const Credentials& creds, const ParentLookup* parents = nullptr) const;
  // False when hidden_attributes() is empty for every object of `resource` shown to these
  // credentials (no attribute rule for it, or an admin under the old defaults).
  bool may_hide_attributes(std::string_view resource, const Credentials& creds) const;

 private:
  Policy() = default;

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <class V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

  struct RuleSlot {
    std::string name;
    uint32_t root = 0;
    uint8_t scopes = 0;  // bit set of the default's scope types; 0: none
    std::string_view scope_types;  // as the defaults table spells them ("project")
    int line = 0;        // in the policy file; 0: a default
  };
  struct AttributeRule {
    std::string attribute;
    uint32_t rule;
  };
  // The attribute rules of `resource` that can hide something from these credentials
  // (nullptr: none).
  const std::vector<AttributeRule>* attribute_rules(std::string_view resource, const Credentials& creds) const;
  struct Input {
    const boost::json::object& target;
    const Credentials& creds;
    const ParentLookup* parents;
  };

  Status add_rules(std::span<const RuleOverride> overrides, std::string_view source);
  Status resolve_references(std::string_view source);
  Status reject_cycles(std::string_view source) const;
  void index_attribute_rules();

  const RuleSlot* find(std::string_view name) const;  // the default rule when none
  bool scope_allows(uint8_t scopes, const Credentials& creds) const;
  bool evaluate(uint32_t node, const Input& in) const;
  bool evaluate_leaf(const LeafEntry& leaf, const Input& in) const;
  enum class Verdict : uint8_t { allowed, denied, out_of_scope };
  Verdict decide(const Request& request, const Credentials& creds, const ParentLookup* parents) const;
  Verdict decide_rule(std::string_view name, const Input& in) const;

  PolicyOptions options_;
  Arena arena_;
  std::vector<RuleSlot> rules_;
  StringMap<uint32_t> by_name_;
  std::optional<uint32_t> default_rule_;
  StringMap<std::vector<AttributeRule>> attribute_get_rules_;  // "get_port" -> its attribute rules
  std::vector<std::string> warnings_;
};

}  // namespace nt::policy
