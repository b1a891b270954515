// oslo.policy's check language, parsed: the rule text of policy.yaml ("rule:admin_only or
// role:member and project_id:%(project_id)s") as a tree of checks stored in an Arena.
// Internal to nt_policy (the tests use it too); callers use policy/policy.h.
//
// The grammar is oslo.policy 4.0's (_parser.py): whitespace separates tokens, leading "("
// and trailing ")" are split off a token, "and"/"or"/"not" in any case are operators,
// "not" binds tightest and "and" before "or". Where oslo logs an error and evaluates a
// rule as "never" (a token without ':', a rule that does not reduce to one check, an
// unknown check kind), this parser returns an error: a policy file with such a rule is
// refused rather than silently closed.
#pragma once
#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

#include "common/error.h"

namespace nt::policy {

// A check's right-hand side with Python's "%(key)s" substitutions from the target
// (`match % target`): literal text and target keys, in order. "%%" is a literal "%".
struct Template {
  struct Piece {
    std::string text;  // the literal, or the target key
    bool is_key = false;
  };
  std::vector<Piece> pieces;

  bool is_constant() const { return pieces.empty() || (pieces.size() == 1 && !pieces[0].is_key); }
  bool is_single_key() const { return pieces.size() == 1 && pieces[0].is_key; }
  std::string_view constant() const { return pieces.empty() ? std::string_view{} : pieces[0].text; }
};

// The credential values a generic check ("kind:match") can name (Neutron's
// context.to_policy_values(), with oslo.policy's "system" alias).
enum class CredentialKey : uint8_t {
  absent,  // not a key Neutron puts in the credentials: the check is false
  user_id, project_id, domain_id, user_domain_id, project_domain_id, project_name, user_name,
  system_scope, system, roles, is_admin, is_admin_project,
  none,        // keys Neutron sets to None (service_user_id, ...)
  empty_list,  // service_roles
};

// role:<match>. Roles compare case-insensitively (ASCII).
struct RoleCheck {
  Template match;
  std::string lowered_constant;  // the lower-cased match when it has no substitution
};

// <kind>:<match> for any other kind: the credential `kind` (or a Python literal such as
// True, 'text' or 12) compared as text with the substituted match.
struct GenericCheck {
  Template match;
  bool kind_is_literal = false;
  std::string literal;  // str() of the literal kind
  CredentialKey key = CredentialKey::absent;
  bool dotted = false;  // "a.b": Neutron's credential values have no members: false
};

// tenant_id:%(<field>)s, Neutron's OwnerCheck: the target's <field>, or when the target
// does not have it, the attribute of a parent resource ("network:tenant_id" reads
// tenant_id of the network named by the target's network_id).
struct OwnerCheck {
  std::string field;         // the whole "%(...)s" key
  std::string parent;        // "network", "security_group", "ext_parent"; empty: no parent form
  std::string parent_field;  // "tenant_id"
  std::string foreign_key;   // "network_id", "security_group_id"; empty for ext_parent or unknown
};

// field:<resource>:<attribute>=<value>, Neutron's FieldCheck: the target's attribute equals
// the value (converted as Neutron's attribute map converts it), or matches the regular
// expression after "~" at its start. networks:shared is read from the target's network
// when the target has no "shared" (ports and subnets).
struct FieldCheck {
  std::string resource;
  std::string attribute;
  boost::json::value value;
  std::shared_ptr<const std::regex> pattern;  // set when the value starts with '~'
};

// rule:<name>: another rule of the policy (resolved to an index once all rules are known).
struct RuleReference {
  std::string name;
  uint32_t rule = 0;
  bool resolved = false;  // false after resolution: no such rule and no "default" rule
};

enum class NodeKind : uint8_t { always, never, all_of, any_of, negation, leaf };

// One node of a check tree. all_of/any_of: children are Arena::children[first, first+count);
// negation: `first` is the negated node; leaf: `first` indexes Arena::leaves.
struct Node {
  NodeKind kind = NodeKind::always;
  uint32_t first = 0;
  uint32_t count = 0;
};

using Leaf = std::variant<RoleCheck, GenericCheck, OwnerCheck, FieldCheck, RuleReference>;

struct LeafEntry {
  Leaf check;
  std::string text;  // as oslo.policy prints it (str(check)), e.g. "role:admin"
};

// Many check trees sharing storage (a Policy keeps all its rules in one).
struct Arena {
  std::vector<Node> nodes;
  std::vector<uint32_t> children;
  std::vector<LeafEntry> leaves;
};

// Parses `text` into `arena` and returns the root node. An empty text is "always" (oslo's
// empty rule); a text of only whitespace is an error, as oslo cannot parse it either.
Result<uint32_t> parse_check(std::string_view text, Arena& arena);

// The tree as oslo.policy prints a parsed rule (str(check)): "(a or (b and c))", "not a",
// "@", "!". For tests and logs.
std::string to_text(const Arena& arena, uint32_t node);

}  // namespace nt::policy
