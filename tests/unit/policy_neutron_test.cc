// nt_policy with Neutron 21's default rules answers as Neutron 21 does. The expectations
// (policy_neutron_cases.inc) are Neutron's own answers: scripts/gen-policy-defaults
// --expectations runs neutron.policy.enforce and the pecan PolicyHook's attribute filter on
// oslo.policy for each caller, request and [oslo_policy] option set.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>

#include <boost/json.hpp>

#include "policy/check.h"
#include "policy/policy.h"

namespace nt::policy {
namespace {
namespace json = boost::json;

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> out;
  std::stringstream in{std::string(text)};
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

struct Persona {
  const char* name;
  const char* project_id;
  const char* roles;
  const char* system_scope;
  bool neutron_is_admin;
};

constexpr Persona kPersonas[] = {
#define NT_POLICY_PERSONA(name, project, roles, system, is_admin) {name, project, roles, system, is_admin},
#include "policy_neutron_cases.inc"
#undef NT_POLICY_PERSONA
};

struct Case {
  const char* name;
  const char* persona;
  bool enforce_new_defaults;
  bool enforce_scope;
  const char* action;
  const char* collection;
  const char* target;
  const char* updated;
  bool allowed;
  const char* error;
  const char* message;
  const char* hidden;
};

constexpr Case kCases[] = {
#define NT_POLICY_CASE(...) {__VA_ARGS__},
#include "policy_neutron_cases.inc"
#undef NT_POLICY_CASE
};

struct RuleText {
  bool enforce_new_defaults;
  const char* name;
  const char* text;
};

constexpr RuleText kRuleTexts[] = {
#define NT_POLICY_RULE_TEXT(new_defaults, name, text) {new_defaults, name, text},
#include "policy_neutron_cases.inc"
#undef NT_POLICY_RULE_TEXT
};

const char* world_json() {
#define NT_POLICY_WORLD(text) return text;
#include "policy_neutron_cases.inc"
#undef NT_POLICY_WORLD
}

// The fake plugin the expectations were computed with.
class World : public ParentLookup {
 public:
  World() : world_(json::parse(world_json()).as_object()) {}
  std::optional<json::value> attribute(std::string_view resource, std::string_view id,
                                       std::string_view field) const override {
    const json::value* kind = world_.if_contains(resource);
    const json::value* item = kind ? kind->as_object().if_contains(id) : nullptr;
    const json::value* value = item ? item->as_object().if_contains(field) : nullptr;
    return value ? std::optional<json::value>(*value) : std::nullopt;
  }

 private:
  json::object world_;
};

const Policy& neutron_policy(bool new_defaults, bool scope) {
  static std::map<std::pair<bool, bool>, Policy> policies;
  auto key = std::make_pair(new_defaults, scope);
  auto it = policies.find(key);
  if (it == policies.end()) {
    auto built = Policy::build({}, PolicyOptions{new_defaults, scope});
    EXPECT_TRUE(built) << built.error().message;
    it = policies.emplace(key, std::move(*built)).first;
  }
  return it->second;
}

Credentials credentials_of(const Persona& p, const Policy& policy) {
  Credentials c;
  c.user_id = std::string("u-") + p.name;
  c.project_id = p.project_id;
  c.roles = split(p.roles);
  if (*p.system_scope) c.system_scope = p.system_scope;
  c.is_admin = policy.is_admin(c);
  return c;
}

const Persona& persona(std::string_view name) {
  for (const auto& p : kPersonas)
    if (name == p.name) return p;
  ADD_FAILURE() << "no persona " << name;
  return kPersonas[0];
}

TEST(PolicyNeutron, IsAdminAsNeutronComputesIt) {
  const Policy& policy = neutron_policy(false, false);
  for (const auto& p : kPersonas) EXPECT_EQ(credentials_of(p, policy).is_admin, p.neutron_is_admin) << p.name;
}

TEST(PolicyNeutron, AnswersAsNeutron) {
  World world;
  int checked = 0;
  for (const auto& c : kCases) {
    const Policy& policy = neutron_policy(c.enforce_new_defaults, c.enforce_scope);
    Credentials creds = credentials_of(persona(c.persona), policy);
    json::object target = json::parse(c.target).as_object();
    std::vector<std::string> updated = std::string_view(c.updated) == "-" ? std::vector<std::string>{} : split(c.updated);
    Request request{c.action, target, updated, c.collection};
    std::string where = std::string(c.name) + " as " + c.persona + (c.enforce_new_defaults ? " new-defaults" : "") +
                        (c.enforce_scope ? " scope" : "");
    Status status = policy.enforce(request, creds, &world);
    EXPECT_EQ(status.has_value(), c.allowed) << where;
    EXPECT_EQ(policy.authorize(request, creds, &world), c.allowed) << where;
    if (!status) {
      EXPECT_EQ(status.error().code, Errc::forbidden) << where;
      EXPECT_EQ(status.error().type, c.error) << where;
      EXPECT_EQ(status.error().message, c.message) << where;
    }
    if (std::string_view(c.hidden) != "-") {
      auto hidden = policy.hidden_attributes(std::string_view(c.action).substr(4), target, creds, &world);
      std::sort(hidden.begin(), hidden.end());
      EXPECT_EQ(hidden, split(c.hidden)) << where;
    }
    ++checked;
  }
  EXPECT_GT(checked, 800);
}

TEST(PolicyNeutron, EveryRuleParsesToOslosText) {
  for (const auto& r : kRuleTexts) {
    const Policy& policy = neutron_policy(r.enforce_new_defaults, false);
    auto text = policy.rule_text(r.name);
    ASSERT_TRUE(text) << r.name;
    EXPECT_EQ(*text, r.text) << r.name << (r.enforce_new_defaults ? " (new defaults)" : "");
  }
  EXPECT_EQ(std::size(kRuleTexts), 2 * 261u);
  EXPECT_TRUE(neutron_policy(false, false).warnings().empty());
}

TEST(PolicyNeutron, MatchRuleIsNeutronsBuildMatchRule) {
  json::object port = json::parse(R"({"network_id": "n", "project_id": "p1", "tenant_id": "p1",
      "fixed_ips": [{"subnet_id": "s", "ip_address": "10.0.0.5"}], "binding:host_id": "h1",
      "device_owner": "", "binding:vnic_type": "normal", "name": "x"})").as_object();
  MatchRule create = match_rule({"create_port", port});
  EXPECT_EQ(create.rules, (std::vector<std::string>{"create_port", "create_port:fixed_ips",
                                                     "create_port:fixed_ips:subnet_id",
                                                     "create_port:fixed_ips:ip_address", "create_port:binding:host_id"}));
  EXPECT_EQ(create.text,
            "((rule:create_port and (rule:create_port:fixed_ips and (rule:create_port:fixed_ips:subnet_id and "
            "rule:create_port:fixed_ips:ip_address))) and rule:create_port:binding:host_id)");
  EXPECT_FALSE(create.has_scope);
  // An update counts the body's attributes, defaults or not; get and delete none.
  std::vector<std::string> body{"device_owner", "name"};
  EXPECT_EQ(match_rule({"update_port", port, body}).text, "(rule:update_port and rule:update_port:device_owner)");
  MatchRule show = match_rule({"get_port", port});
  EXPECT_EQ(show.text, "rule:get_port");
  EXPECT_TRUE(show.has_scope);
  EXPECT_EQ(match_rule({"delete_port", port}).rules.size(), 1u);
  // The collection decides the attribute map: Neutron passes "rbac_policies".
  json::object rbac = json::parse(R"({"target_tenant": "*", "project_id": "p1"})").as_object();
  EXPECT_EQ(match_rule({"create_rbac_policy", rbac, {}, "rbac_policies"}).text,
            "(rule:create_rbac_policy and rule:create_rbac_policy:target_tenant)");
  EXPECT_EQ(match_rule({"create_rbac_policy", rbac}).text, "rule:create_rbac_policy");  // "rbac_policys"
}

TEST(PolicyNeutron, HiddenAttributesIncludeProjectIdWithTenantId) {
  auto policy = Policy::build(std::vector<RuleOverride>{{"get_network:tenant_id", "role:admin"}});
  ASSERT_TRUE(policy);
  Credentials member;
  member.project_id = "p1";
  member.roles = {"member", "reader"};
  json::object net = json::parse(R"({"id": "n", "tenant_id": "p1", "project_id": "p1",
      "provider:network_type": "vxlan", "router:external": false})").as_object();
  auto hidden = policy->hidden_attributes("network", net, member);
  std::sort(hidden.begin(), hidden.end());
  EXPECT_EQ(hidden, (std::vector<std::string>{"project_id", "provider:network_type", "tenant_id"}));
  EXPECT_TRUE(policy->may_hide_attributes("network", member));
  EXPECT_FALSE(policy->may_hide_attributes("floatingip", member));  // no get_floatingip:<attribute> rule
  member.is_admin = true;
  EXPECT_TRUE(policy->hidden_attributes("network", net, member).empty());  // Neutron's is_admin shortcut
  EXPECT_FALSE(policy->may_hide_attributes("network", member));
  EXPECT_TRUE(policy->hidden_attributes("widget", net, member).empty());
}

}  // namespace
}  // namespace nt::policy
