// nt_policy's rule language: parsing (oslo.policy 4.0's grammar and texts, errors) and each
// kind of check. The expected texts are what oslo.policy prints for the parsed rule
// (str(_parser.parse_rule(text)) with Neutron's checks registered).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "policy/check.h"
#include "policy/policy.h"
#include "policy/python.h"

namespace nt::policy {
namespace {
namespace json = boost::json;

std::string parsed_text(std::string_view rule) {
  Arena arena;
  auto root = parse_check(rule, arena);
  if (!root) return "error: " + root.error().message;
  return to_text(arena, *root);
}

std::string parse_error(std::string_view rule) {
  Arena arena;
  auto root = parse_check(rule, arena);
  return root ? "parsed as " + to_text(arena, *root) : root.error().message;
}

TEST(PolicyParser, TextsAreOslos) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "@"},
      {"@", "@"},
      {"!", "!"},
      {"role:admin", "role:admin"},
      {"rule:a or rule:b and rule:c", "(rule:a or (rule:b and rule:c))"},
      {"rule:a and rule:b or rule:c", "((rule:a and rule:b) or rule:c)"},
      {"not rule:a and rule:b", "(not rule:a and rule:b)"},
      {"not (rule:a and rule:b)", "not (rule:a and rule:b)"},
      {"rule:a or (rule:b and rule:c) and rule:d", "(rule:a or (rule:b and rule:c and rule:d))"},
      {"(rule:b and rule:c) and rule:d or rule:a", "(((rule:b and rule:c) and rule:d) or rule:a)"},
      {"rule:a or rule:b or rule:c and rule:d", "(rule:a or rule:b or (rule:c and rule:d))"},
      {"(rule:a or rule:b) or rule:c", "((rule:a or rule:b) or rule:c)"},
      {"((role:admin))", "role:admin"},
      {"role:admin AND NOT role:reader Or @", "((role:admin and not role:reader) or @)"},
      {"rule:a and not not rule:b", "(rule:a and not not rule:b)"},
      {"rule:a or not rule:b and rule:c", "(rule:a or (not rule:b and rule:c))"},
      {"field:networks:shared=True", "field:networks:shared:True"},
      {"field:networks:shared=yes", "field:networks:shared:True"},
      {"field:networks:mtu=1500", "field:networks:mtu:1500"},
      {"field:port:device_owner=~^network:", "field:port:device_owner:~^network:"},
      {"(not field:rbac_policy:target_tenant=* and not field:rbac_policy:target_project=*) or rule:admin_only",
       "((not field:rbac_policy:target_tenant:* and not field:rbac_policy:target_project:*) or rule:admin_only)"},
      {"tenant_id:%(network:tenant_id)s", "tenant_id:%(network:tenant_id)s"},
      {"project_id:%(project_id)s", "project_id:%(project_id)s"},
      {"'Member':%(role.name)s", "'Member':%(role.name)s"},
      {"True:%(enabled)s", "True:%(enabled)s"},
      {"\trole:admin\n or\n role:member ", "(role:admin or role:member)"},
  };
  for (const auto& [rule, text] : cases) EXPECT_EQ(parsed_text(rule), text) << rule;
}

TEST(PolicyParser, ErrorsSayWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"rule:a orr rule:b", "unexpected token \"orr\" at column 8, expected \"and\", \"or\" or the end of the rule"},
      {"rule:a and", "unexpected end of the rule, expected a check"},
      {"(rule:a", "missing \")\" for the \"(\" at column 1"},
      {"rule:a)", "unexpected token \")\" at column 7"},
      {"and rule:a", "unexpected token \"and\" at column 1, expected a check, \"not\" or \"(\""},
      {"()", "unexpected token \")\" at column 2"},
      {"rule:a rule:b", "unexpected token \"rule:b\" at column 8"},
      {"foo", "\"foo\" is not a check: expected <kind>:<match>, \"@\" or \"!\" (column 1)"},
      {"rule:a or 'abc'", "quoted string \"abc\" at column 11 is not a check"},
      {"   ", "the rule is only whitespace"},
      {"tenant_id:foo", "tenant_id check \"tenant_id:foo\": the match must be %(<field>)s"},
      {"field:networks", "expected field:<resource>:<attribute>=<value>"},
      {"field:networks:shared", "expected field:<resource>:<attribute>=<value>"},
      {"field:networks:shared=maybe", "\"maybe\" cannot be converted to boolean (networks:shared)"},
      {"field:networks:mtu=big", "\"big\" is not an integer (networks:mtu)"},
      {"field:port:device_owner=~(", "bad regular expression"},
      {"http://policy.example.com/check", "remote http checks are not supported"},
      {"role:%(name", "unclosed \"%(\""},
      {"role:50%", "unsupported \"%\" format"},
      {"project_id:%(project_id)d", "unsupported \"%\" format"},
  };
  for (const auto& [rule, message] : cases) EXPECT_NE(parse_error(rule).find(message), std::string::npos) << rule << ": " << parse_error(rule);
  std::string deep = std::string(100, '(') + "@" + std::string(100, ')');
  EXPECT_NE(parse_error(deep).find("nested deeper than"), std::string::npos);
}

// A policy of Neutron's defaults plus `rules`, and a check of rule "t".
struct Fixture {
  Policy policy;
  static Fixture with(std::vector<RuleOverride> rules, PolicyOptions options = {}) {
    auto p = Policy::build(rules, options, "test.yaml");
    if (!p) ADD_FAILURE() << p.error().message;
    return Fixture{std::move(*p)};
  }
  bool check(const json::object& target, const Credentials& creds, const ParentLookup* parents = nullptr) const {
    return policy.check("t", target, creds, parents);
  }
};

Fixture rule(std::string check) { return Fixture::with({{"t", std::move(check), 1}, {"yes", "@", 2}, {"no", "!", 3}}); }

Credentials member(std::string project) {
  Credentials c;
  c.user_id = "u1";
  c.project_id = std::move(project);
  c.roles = {"member", "reader"};
  return c;
}

TEST(PolicyChecks, AndOrNotPrecedence) {
  Credentials c = member("p1");
  EXPECT_TRUE(rule("rule:yes or rule:no and rule:no").check({}, c));   // or(yes, and(no, no))
  EXPECT_FALSE(rule("(rule:yes or rule:no) and rule:no").check({}, c));
  EXPECT_FALSE(rule("not rule:yes and rule:no").check({}, c));         // and(not yes, no)
  EXPECT_TRUE(rule("not (rule:yes and rule:no)").check({}, c));
  EXPECT_TRUE(rule("not not rule:yes").check({}, c));
  EXPECT_TRUE(rule("").check({}, c));
  EXPECT_TRUE(rule("@").check({}, c));
  EXPECT_FALSE(rule("!").check({}, c));
}

TEST(PolicyChecks, RoleIsCaseInsensitiveAndSubstituted) {
  Credentials c = member("p1");
  EXPECT_TRUE(rule("role:Member").check({}, c));
  EXPECT_FALSE(rule("role:admin").check({}, c));
  EXPECT_TRUE(rule("role:%(wanted)s").check({{"wanted", "READER"}}, c));
  EXPECT_FALSE(rule("role:%(wanted)s").check({}, c));  // no such target key
  EXPECT_TRUE(rule("role:%(kind)s-%(level)s").check({{"kind", "member"}, {"level", 2}}, [] {
    Credentials x;
    x.roles = {"member-2"};
    return x;
  }()));
}

TEST(PolicyChecks, GenericComparesTextsAsPython) {
  Credentials c = member("p1");
  c.is_admin = true;
  EXPECT_TRUE(rule("project_id:%(project_id)s").check({{"project_id", "p1"}}, c));
  EXPECT_FALSE(rule("project_id:%(project_id)s").check({{"project_id", "p2"}}, c));
  EXPECT_FALSE(rule("project_id:%(project_id)s").check({}, c));
  EXPECT_TRUE(rule("project_id:p1").check({}, c));
  EXPECT_TRUE(rule("tenant:%(project_id)s").check({{"project_id", "p1"}}, c));
  EXPECT_TRUE(rule("user_id:%(user_id)s").check({{"user_id", "u1"}}, c));
  EXPECT_TRUE(rule("is_admin:True").check({}, c));
  EXPECT_TRUE(rule("roles:member").check({}, c));
  EXPECT_FALSE(rule("roles:Member").check({}, c));  // generic checks are case-sensitive
  EXPECT_TRUE(rule("domain_id:None").check({}, c));  // empty is Python's None
  EXPECT_FALSE(rule("no_such_key:x").check({}, c));
  EXPECT_FALSE(rule("roles.name:member").check({}, c));  // a dotted path into a list: Python raises
  // Python literals as the kind: str(literal) == str(target value).
  EXPECT_TRUE(rule("True:%(enabled)s").check({{"enabled", true}}, c));
  EXPECT_TRUE(rule("True:%(enabled)s").check({{"enabled", "True"}}, c));
  EXPECT_FALSE(rule("True:%(enabled)s").check({{"enabled", false}}, c));
  EXPECT_TRUE(rule("'Member':%(role)s").check({{"role", "Member"}}, c));
  EXPECT_TRUE(rule("12:%(n)s").check({{"n", 12}}, c));
  EXPECT_TRUE(rule("12:%(n)s").check({{"n", "12"}}, c));
  EXPECT_TRUE(rule("1.5:%(x)s").check({{"x", 1.5}}, c));
  EXPECT_TRUE(rule("None:%(x)s").check({{"x", nullptr}}, c));
  // A system-scoped token: project_id None equals a target's null project.
  Credentials system;
  system.system_scope = "all";
  EXPECT_TRUE(rule("project_id:%(project_id)s").check({{"project_id", nullptr}}, system));
  EXPECT_TRUE(rule("system_scope:all").check({}, system));
  EXPECT_TRUE(rule("system:all").check({}, system));
  EXPECT_FALSE(rule("system:all").check({}, c));
}

// Parent resources for owner and field checks.
class Parents : public ParentLookup {
 public:
  std::optional<json::value> attribute(std::string_view resource, std::string_view id,
                                       std::string_view field) const override {
    ++calls;
    const json::value* r = world.if_contains(resource);
    const json::value* item = r ? r->as_object().if_contains(id) : nullptr;
    const json::value* value = item ? item->as_object().if_contains(field) : nullptr;
    if (!value) return std::nullopt;
    return *value;
  }
  json::object world = json::parse(R"({
    "network": {"n1": {"tenant_id": "p1", "shared": false}, "n2": {"tenant_id": "p2", "shared": true}},
    "security_group": {"sg1": {"tenant_id": "p1"}},
    "router": {"r1": {"tenant_id": "p1"}},
    "floatingip": {"f2": {"tenant_id": "p2"}}})").as_object();
  mutable int calls = 0;
};

TEST(PolicyChecks, OwnerReadsTheTargetOrItsParent) {
  Credentials c = member("p1");
  Parents parents;
  EXPECT_TRUE(rule("tenant_id:%(tenant_id)s").check({{"tenant_id", "p1"}}, c));
  EXPECT_FALSE(rule("tenant_id:%(tenant_id)s").check({{"tenant_id", "p2"}}, c));
  EXPECT_FALSE(rule("tenant_id:%(tenant_id)s").check({}, c));  // Neutron raises PolicyCheckError
  auto net_owner = rule("tenant_id:%(network:tenant_id)s");
  EXPECT_TRUE(net_owner.check({{"network:tenant_id", "p1"}}, c));  // already in the target
  EXPECT_EQ(parents.calls, 0);
  EXPECT_TRUE(net_owner.check({{"network_id", "n1"}}, c, &parents));
  EXPECT_FALSE(net_owner.check({{"network_id", "n2"}}, c, &parents));
  EXPECT_FALSE(net_owner.check({{"network_id", "gone"}}, c, &parents));
  EXPECT_FALSE(net_owner.check({{"network_id", "n1"}}, c));  // no lookup given
  EXPECT_FALSE(net_owner.check({}, c, &parents));            // no network_id
  EXPECT_TRUE(rule("tenant_id:%(network_tenant_id)s").check({{"network_id", "n1"}}, c, &parents));
  EXPECT_TRUE(rule("tenant_id:%(security_group:tenant_id)s").check({{"security_group_id", "sg1"}}, c, &parents));
  auto ext_parent = rule("tenant_id:%(ext_parent:tenant_id)s");
  EXPECT_TRUE(ext_parent.check({{"ext_parent_router_id", "r1"}}, c, &parents));
  EXPECT_FALSE(ext_parent.check({{"ext_parent_floatingip_id", "f2"}}, c, &parents));
  EXPECT_FALSE(ext_parent.check({{"router_id", "r1"}}, c, &parents));
}

TEST(PolicyChecks, FieldComparesConvertedValues) {
  Credentials c = member("p1");
  Parents parents;
  auto shared = rule("field:networks:shared=True");
  EXPECT_TRUE(shared.check({{"shared", true}}, c));
  EXPECT_FALSE(shared.check({{"shared", false}}, c));
  EXPECT_TRUE(shared.check({{"shared", 1}}, c));         // Python: True == 1
  EXPECT_FALSE(shared.check({{"shared", "True"}}, c));   // 'True' != True
  EXPECT_FALSE(shared.check({{"shared", nullptr}}, c));
  EXPECT_TRUE(shared.check({{"network_id", "n2"}}, c, &parents));  // a port or subnet: its network
  EXPECT_FALSE(shared.check({{"network_id", "n1"}}, c, &parents));
  EXPECT_FALSE(shared.check({{"network_id", ""}}, c, &parents));
  EXPECT_FALSE(rule("field:subnetpools:shared=True").check({{"network_id", "n2"}}, c, &parents));
  EXPECT_TRUE(rule("field:networks:mtu=1500").check({{"mtu", 1500}}, c));
  EXPECT_FALSE(rule("field:networks:mtu=1500").check({{"mtu", "1500"}}, c));
  EXPECT_TRUE(rule("field:networks:name=1500").check({{"name", "1500"}}, c));  // no conversion: text
  auto device = rule("field:port:device_owner=~^network:");
  EXPECT_TRUE(device.check({{"device_owner", "network:router_interface"}}, c));
  EXPECT_FALSE(device.check({{"device_owner", "compute:nova"}}, c));
  EXPECT_FALSE(device.check({{"device_owner", "xnetwork:dhcp"}}, c));  // re.match: at the start
  EXPECT_FALSE(device.check({{"device_owner", 5}}, c));
  auto wildcard = rule("field:rbac_policy:target_tenant=*");
  EXPECT_TRUE(wildcard.check({{"target_tenant", "*"}}, c));
  EXPECT_FALSE(wildcard.check({{"target_tenant", "p2"}}, c));
}

TEST(PolicyChecks, RuleReferencesFallBackToTheDefaultRule) {
  Credentials c = member("p1");
  auto f = Fixture::with({{"t", "rule:no_such_rule", 4}});
  EXPECT_TRUE(f.check({{"tenant_id", "p1"}}, c));  // default: rule:admin_or_owner
  EXPECT_FALSE(f.check({{"tenant_id", "p2"}}, c));
  ASSERT_EQ(f.policy.warnings().size(), 1u);
  EXPECT_EQ(f.policy.warnings()[0],
            "test.yaml:4: rule \"t\": refers to rule \"no_such_rule\", which does not exist: checked as the \"default\" rule");
  // An unknown rule name asked directly is the default rule too; an overridden default counts.
  EXPECT_TRUE(f.policy.check("frobnicate", {{"tenant_id", "p1"}}, c));
  auto open = Fixture::with({{"default", "@"}});
  EXPECT_TRUE(open.policy.check("frobnicate", {}, c));
  EXPECT_FALSE(open.policy.has_rule("frobnicate"));
  EXPECT_TRUE(open.policy.has_rule("create_network"));
}

TEST(PolicyChecks, CyclesAndDuplicatesAreRefused) {
  auto cycle = Policy::build(std::vector<RuleOverride>{{"a", "rule:b", 1}, {"b", "role:x or rule:a", 2}}, {}, "p.yaml");
  ASSERT_FALSE(cycle);
  EXPECT_NE(cycle.error().message.find("rules refer to each other in a cycle (a -> b -> a)"), std::string::npos)
      << cycle.error().message;
  // Through the default rule: an unknown name resolves to "default", which refers back.
  auto via_default = Policy::build(std::vector<RuleOverride>{{"default", "rule:missing", 3}}, {}, "p.yaml");
  ASSERT_FALSE(via_default);
  EXPECT_NE(via_default.error().message.find("p.yaml:3: rule \"default\""), std::string::npos);
  auto twice = Policy::build(std::vector<RuleOverride>{{"a", "@", 1}, {"a", "!", 2}}, {}, "p.yaml");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message, "p.yaml:2: rule \"a\": defined twice");
  auto bad = Policy::build(std::vector<RuleOverride>{{"create_network", "rule:a orr rule:b", 7}}, {}, "policy.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "policy.yaml:7: rule \"create_network\": unexpected token \"orr\" at column 8, expected \"and\", \"or\" or "
            "the end of the rule");
}

TEST(PolicyChecks, DeprecatedDefaultsAreOredUnlessOverriddenOrNewDefaultsEnforced) {
  auto legacy = Policy::build();
  ASSERT_TRUE(legacy);
  EXPECT_EQ(*legacy->rule_text("create_network"),
            "((rule:admin_only or (role:member and project_id:%(project_id)s)) or rule:regular_user)");
  auto strict = Policy::build({}, PolicyOptions{.enforce_new_defaults = true});
  EXPECT_EQ(*strict->rule_text("create_network"), "(rule:admin_only or (role:member and project_id:%(project_id)s))");
  auto overridden = Policy::build(std::vector<RuleOverride>{{"create_network", "role:admin"}});
  EXPECT_EQ(*overridden->rule_text("create_network"), "role:admin");
  EXPECT_FALSE(legacy->rule_text("frobnicate"));
}

TEST(PolicyPython, StrAndEquality) {
  EXPECT_EQ(python_str(json::value(true)), "True");
  EXPECT_EQ(python_str(json::value(nullptr)), "None");
  EXPECT_EQ(python_str(json::value(1.0)), "1.0");
  EXPECT_EQ(python_str(json::value(1e16)), "1e+16");
  EXPECT_EQ(python_str(json::value(1.5e-5)), "1.5e-05");
  EXPECT_EQ(python_str(json::value(0.001)), "0.001");
  EXPECT_EQ(python_str(json::value(123.25)), "123.25");
  EXPECT_EQ(python_str(json::parse(R"([1, "a", {"k": false, "it's": null}])")), "[1, 'a', {'k': False, \"it's\": None}]");
  EXPECT_TRUE(python_equal(json::value(true), json::value(1)));
  EXPECT_TRUE(python_equal(json::value(1), json::value(1.0)));
  EXPECT_FALSE(python_equal(json::value("1"), json::value(1)));
  EXPECT_TRUE(python_equal(json::parse(R"({"a": [1, true]})"), json::parse(R"({"a": [1.0, 1]})")));
  EXPECT_TRUE(python_str_equals(json::value(-7), "-7"));
}

}  // namespace
}  // namespace nt::policy
