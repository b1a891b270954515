#include <gtest/gtest.h>

#include "common/config.h"
#include "core/settings.h"

namespace nt {

namespace {
Result<Config> parse(const std::string& text) { return Config::parse("server.ini", text, server_schema()); }
}  // namespace

TEST(Config, UnclosedSectionNamesFileAndLine) {
  auto c = parse("[DEFAULT\nbind_port = 9696\n");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "server.ini:1: section header not closed: \"[DEFAULT\"");
}

TEST(Config, MisspeltOptionSuggestsTheRightOne) {
  auto c = parse("[DEFAULT]\n\nbind_prot = 9696\n");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "server.ini:3: unknown option \"bind_prot\" in [DEFAULT]; did you mean \"bind_port\"?");
}

TEST(Config, MisspeltSectionSuggestsTheRightOne) {
  auto c = parse("[ml2_type_vxlam]\nvni_ranges = 1:100\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("server.ini:1: unknown section [ml2_type_vxlam]; did you mean \"ml2_type_vxlan\"?"),
            std::string::npos);
}

TEST(Config, UnrelatedSectionsAreIgnoredWithAWarning) {
  auto c = parse("[nova]\nauth_url = http://x\n[DEFAULT]\nbind_port = 1234\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->integer("DEFAULT", "bind_port"), 1234);
  ASSERT_EQ(c->warnings().size(), 1u);
}

TEST(Config, TypeErrorsNameTheOption) {
  auto c = parse("[DEFAULT]\nbind_port = abc\n");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "server.ini:2: option \"bind_port\" in [DEFAULT]: \"abc\" is not an integer");
  auto b = parse("[DEFAULT]\nallow_bulk = maybe\n");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("not a boolean"), std::string::npos);
}

TEST(Config, LineWithoutEqualsAndOptionBeforeSection) {
  EXPECT_EQ(parse("[DEFAULT]\nbind_port\n").error().message,
            "server.ini:2: expected \"name = value\", got \"bind_port\"");
  EXPECT_EQ(parse("bind_port = 1\n").error().message, "server.ini:1: option \"bind_port\" before any [section]");
}

TEST(Settings, RangesAreCheckedWithTheirLocation) {
  auto c = parse("[ml2_type_vxlan]\nvni_ranges = 1:100, 20000000:20000001\n");
  ASSERT_TRUE(c);
  auto s = settings_from(*c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("server.ini:2: option \"vni_ranges\""), std::string::npos);
}

TEST(Settings, TenantTypeMustBeAnEnabledDriver) {
  auto c = parse("[ml2]\ntype_drivers = flat,vxlan\ntenant_network_types = vlan\n");
  ASSERT_TRUE(c);
  auto s = settings_from(*c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("\"vlan\" is not in [ml2] type_drivers"), std::string::npos);
}

TEST(Settings, ParsesVlanRangesAndQuotas) {
  auto c = parse("[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:100:200,physnet2\n[quotas]\nquota_port = 7\n");
  ASSERT_TRUE(c);
  auto s = settings_from(*c);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->vlan_ranges.size(), 2u);
  EXPECT_EQ(s->vlan_ranges[0].ranges[0].max, 200u);
  EXPECT_TRUE(s->vlan_ranges[1].ranges.empty());
  bool found = false;
  for (auto& [name, limit] : s->default_quotas) found |= name == "port" && limit == 7;
  EXPECT_TRUE(found);
}

TEST(Config, EditDistance) {
  EXPECT_EQ(edit_distance("bind_port", "bind_prot"), 2u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

}  // namespace nt

namespace nt {

TEST(DatabaseTarget, SqlitePostgresAndGarbage) {
  auto sqlite = parse_database_target("sqlite:////var/lib/n.db", false);
  ASSERT_TRUE(sqlite);
  EXPECT_EQ(sqlite->sqlite_path, "/var/lib/n.db");
  EXPECT_TRUE(sqlite->url.empty());
  auto pg = parse_database_target("postgresql+psycopg2://neutron:s3cret@db:5432/neutrino", false);
  ASSERT_TRUE(pg);
  EXPECT_TRUE(pg->sqlite_path.empty());
  EXPECT_FALSE(parse_database_target("/tmp/x.db", false));  // a bare path only on the command line
  EXPECT_EQ(parse_database_target("/tmp/x.db", true)->sqlite_path, "/tmp/x.db");
  EXPECT_FALSE(parse_database_target("sqlite:///", false));
  EXPECT_FALSE(parse_database_target("postgresql://h:notaport/db", false));
  // A URL from neutron.conf for another engine: refused, and its password never echoed.
  auto mysql = parse_database_target("mysql+pymysql://neutron:TopSecret@ctl/neutron", false);
  ASSERT_FALSE(mysql);
  EXPECT_EQ(mysql.error().message.find("TopSecret"), std::string::npos) << mysql.error().message;
  EXPECT_NE(mysql.error().message.find("neutron:***@ctl"), std::string::npos) << mysql.error().message;
}

TEST(DatabaseTarget, WithoutPassword) {
  EXPECT_EQ(without_password("postgresql://u:p@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(without_password("postgresql://u:p@ss@h/db?x=1"), "postgresql://u:***@h/db?x=1");
  EXPECT_EQ(without_password("postgresql://u@h/db"), "postgresql://u@h/db");
  EXPECT_EQ(without_password("postgresql://h/db@x"), "postgresql://h/db@x");
  EXPECT_EQ(without_password("no url at all"), "no url at all");
}

}  // namespace nt
