// The operator's policy file: YAML and JSON, refused with file, line and rule when broken,
// re-read when it changes while the last good policy stays in use.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/json.hpp>

#include "policy/policy_file.h"

namespace nt::policy {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

std::string parse_error(std::string_view text) {
  auto rules = parse_policy_text(text, "policy.yaml");
  return rules ? "parsed" : rules.error().message;
}

TEST(PolicyFileText, YamlWithCommentsAndJson) {
  auto yaml = parse_policy_text(
      "# Neutron policy overrides\n"
      "\n"
      "\"create_network\": \"role:admin\"\n"
      "get_network: rule:admin_only or role:reader\n"
      "# a comment\n"
      "'update_network': ''\n"
      "delete_network: |\n"
      "  role:admin\n",
      "policy.yaml");
  ASSERT_TRUE(yaml) << yaml.error().message;
  ASSERT_EQ(yaml->size(), 4u);
  EXPECT_EQ((*yaml)[0].name, "create_network");
  EXPECT_EQ((*yaml)[0].check, "role:admin");
  EXPECT_EQ((*yaml)[0].line, 3);
  EXPECT_EQ((*yaml)[1].check, "rule:admin_only or role:reader");
  EXPECT_EQ((*yaml)[2].check, "");
  EXPECT_EQ((*yaml)[3].check, "role:admin\n");
  auto json_file = parse_policy_text("{\n  \"create_network\": \"role:admin\",\n  \"default\": \"@\"\n}\n", "policy.json");
  ASSERT_TRUE(json_file);
  ASSERT_EQ(json_file->size(), 2u);
  EXPECT_EQ((*json_file)[1].line, 3);
  EXPECT_TRUE(parse_policy_text("", "policy.yaml")->empty());
  EXPECT_TRUE(parse_policy_text("# nothing but comments\n", "policy.yaml")->empty());
}

TEST(PolicyFileText, RefusesWhatIsNotAMapOfStrings) {
  EXPECT_EQ(parse_error("- create_network\n"), "policy.yaml: not a map of rule names to check strings");
  EXPECT_EQ(parse_error("role:admin\n"), "policy.yaml: not a map of rule names to check strings");
  EXPECT_EQ(parse_error("a: '@'\ncreate_network:\n"),
            "policy.yaml:2: rule \"create_network\": the value is null: write \"\" to allow everyone, \"!\" no one");
  EXPECT_EQ(parse_error("a: 123\n"), "policy.yaml:1: rule \"a\": the value is an integer, not a check string (quote it)");
  EXPECT_EQ(parse_error("a: yes\n"), "policy.yaml:1: rule \"a\": the value is a boolean, not a check string (quote it)");
  EXPECT_EQ(parse_error("a: 1.5\n"), "policy.yaml:1: rule \"a\": the value is a number, not a check string (quote it)");
  EXPECT_EQ(parse_error("a: [role:admin]\n"), "policy.yaml:1: rule \"a\": the value is a list, not a check string");
  EXPECT_EQ(parse_error("a: {b: c}\n"), "policy.yaml:1: rule \"a\": the value is a map, not a check string");
  EXPECT_EQ(parse_error("{\"a\": null}"), "policy.yaml:1: rule \"a\": the value is null: write \"\" to allow everyone, \"!\" no one");
  EXPECT_EQ(parse_error("a: '@'\nb: '!'\na: role:admin\n"), "policy.yaml:3: rule \"a\" is given twice");
  EXPECT_EQ(parse_error("[a, b]: x\n"), "policy.yaml:1: a rule name must be text");
  EXPECT_NE(parse_error("a: '@'\nb: @\n").find("policy.yaml:2: not YAML or JSON"), std::string::npos);
  EXPECT_EQ(parse_error("a: \"123\"\nb: '1.5'\n"), "parsed");  // quoted: strings
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nt-policy-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    path_ = (dir_ / "policy.yaml").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Replaces the file (a new inode, as editors and configuration tools write).
  void write(const std::string& text) {
    std::string tmp = path_ + ".tmp";
    std::ofstream(tmp) << text;
    fs::rename(tmp, path_);
  }
  fs::path dir_;
  std::string path_;
};

Credentials member_of(std::string project) {
  Credentials c;
  c.project_id = std::move(project);
  c.roles = {"member", "reader"};
  return c;
}

const json::object kOwnTarget{{"project_id", "p1"}, {"tenant_id", "p1"}};

bool may_create_network(const Policy& policy) {
  return policy.authorize({"create_network", kOwnTarget, {}, "networks"}, member_of("p1"));
}

using PolicyFileLoad = TempDir;

TEST_F(PolicyFileLoad, MissingFileIsTheDefaults) {
  auto policy = load_policy(path_);
  ASSERT_TRUE(policy) << policy.error().message;
  EXPECT_TRUE(may_create_network(*policy));
  EXPECT_EQ(*policy->rule_text("context_is_admin"), "role:admin");
}

TEST_F(PolicyFileLoad, OverridesAndErrorsNameFileLineAndRule) {
  write("# overrides\ncreate_network: role:admin\n");
  auto policy = load_policy(path_);
  ASSERT_TRUE(policy) << policy.error().message;
  EXPECT_FALSE(may_create_network(*policy));
  write("# overrides\n\n\n\n\nget_network: '@'\ncreate_network: rule:admin_only orr role:member\n");
  auto broken = load_policy(path_);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().message, path_ + ":7: rule \"create_network\": unexpected token \"orr\" at column 17, "
                                            "expected \"and\", \"or\" or the end of the rule");
  EXPECT_EQ(broken.error().code, Errc::invalid_argument);
}

TEST_F(PolicyFileLoad, ReloadsOnChangeAndKeepsTheLastGoodPolicy) {
  std::vector<std::string> reported;
  auto file = PolicyFile::open(path_, {.check_interval = std::chrono::milliseconds(0),
                                       .on_error = [&](const Error& e) { reported.push_back(e.message); }});
  ASSERT_TRUE(file) << file.error().message;
  PolicyFile& pf = **file;
  EXPECT_TRUE(may_create_network(*pf.current()));  // no file yet: defaults

  write("create_network: role:admin\n");
  auto restricted = pf.current();
  EXPECT_FALSE(may_create_network(*restricted));
  EXPECT_EQ(pf.current(), restricted);  // unchanged file: the same policy object

  write("create_network: role:admin\nupdate_network: 'rule:admin_only or'\n");
  EXPECT_EQ(pf.current(), restricted);  // broken: the last good one stays
  EXPECT_EQ(pf.current(), restricted);
  ASSERT_EQ(reported.size(), 1u);  // reported once per change
  EXPECT_EQ(reported[0], path_ + ":2: rule \"update_network\": unexpected end of the rule, expected a check");
  ASSERT_TRUE(pf.last_error());

  write("create_network: role:member\n");
  EXPECT_TRUE(may_create_network(*pf.current()));
  EXPECT_FALSE(pf.last_error());

  fs::remove(path_);
  auto kept = pf.current();
  EXPECT_TRUE(may_create_network(*kept));  // removed: still the file's policy, and said so
  ASSERT_EQ(reported.size(), 2u);
  EXPECT_NE(reported[1].find("the policy file was removed"), std::string::npos);
}

TEST_F(PolicyFileLoad, BrokenAtStartIsAnErrorAndChecksAreRateLimited) {
  write("create_network: 'role:'admin\n");
  EXPECT_FALSE(PolicyFile::open(path_, {}));
  write("create_network: role:admin\n");
  auto file = PolicyFile::open(path_, {.check_interval = std::chrono::hours(1)});
  ASSERT_TRUE(file);
  write("create_network: '@'\n");
  EXPECT_FALSE(may_create_network(*(*file)->current()));  // not looked at again within the hour
  EXPECT_TRUE((*file)->reload());
  EXPECT_TRUE(may_create_network(*(*file)->current()));
  write("create_network: '@' or\n");
  EXPECT_FALSE((*file)->reload());
}

TEST_F(PolicyFileLoad, ConcurrentReadersDuringRewrites) {
  auto file = PolicyFile::open(path_, {.check_interval = std::chrono::milliseconds(0)});
  ASSERT_TRUE(file);
  std::atomic<bool> stop{false};
  std::atomic<int> answers{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i)
    readers.emplace_back([&] {
      while (!stop) {
        may_create_network(*(*file)->current());
        ++answers;
      }
    });
  for (int i = 0; i < 50; ++i) write(i % 2 ? "create_network: role:admin\n" : "create_network: '@'\n");
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(answers.load(), 0);
  EXPECT_FALSE((*file)->last_error());
}

}  // namespace
}  // namespace nt::policy
