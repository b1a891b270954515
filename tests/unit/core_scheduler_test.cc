#include <gtest/gtest.h>

#include "core/liveness.h"
#include "core/scheduler.h"

namespace nt {

namespace {
std::vector<std::string> routers(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("r" + std::to_string(100 + i));
  return out;
}
std::map<std::string, int> active_counts(const Schedule& s) {
  std::map<std::string, int> out;
  for (const auto& [r, hosts] : s)
    if (!hosts.empty()) ++out[hosts[0]];
  return out;
}
}  // namespace

TEST(Scheduler, SpreadsActiveRolesEvenly) {
  Schedule s;
  auto rs = routers(30);
  // Routers arrive one at a time, as they are created.
  for (size_t i = 1; i <= rs.size(); ++i)
    s = schedule_gateways({rs.begin(), rs.begin() + static_cast<long>(i)}, s, {"gw1", "gw2", "gw3"}, 3);
  auto counts = active_counts(s);
  EXPECT_EQ(counts["gw1"], 10);
  EXPECT_EQ(counts["gw2"], 10);
  EXPECT_EQ(counts["gw3"], 10);
  for (const auto& [r, hosts] : s) EXPECT_EQ(hosts.size(), 3u);
}

TEST(Scheduler, ADeadHostsRolesGoToTheNextInPriority) {
  auto rs = routers(6);
  auto s = schedule_gateways(rs, {}, {"gw1", "gw2", "gw3"}, 3);
  auto after = schedule_gateways(rs, s, {"gw2", "gw3"}, 3);
  for (const auto& r : rs) {
    std::vector<std::string> expected;
    for (const auto& h : s[r])
      if (h != "gw1") expected.push_back(h);
    EXPECT_EQ(after[r], expected) << r;  // order kept, gw1 gone, nothing else moved
  }
  EXPECT_EQ(active_counts(after).count("gw1"), 0u);
}

TEST(Scheduler, NewHostsFillRoutersWithFewerThanWanted) {
  auto rs = routers(4);
  auto s = schedule_gateways(rs, {}, {"gw1"}, 2);
  for (const auto& r : rs) EXPECT_EQ(s[r], std::vector<std::string>{"gw1"});
  s = schedule_gateways(rs, s, {"gw1", "gw2"}, 2);
  for (const auto& r : rs) EXPECT_EQ(s[r], (std::vector<std::string>{"gw1", "gw2"}));
}

TEST(Scheduler, NoHostsNoRoles) {
  auto s = schedule_gateways(routers(2), {}, {}, 3);
  for (const auto& [r, hosts] : s) EXPECT_TRUE(hosts.empty());
}

TEST(Liveness, AliveUntilDownTimePasses) {
  int64_t now = 1000000;
  Liveness l([&] { return now; });
  EXPECT_FALSE(l.alive("h", 2));
  l.beat("h");
  now += 2000;
  EXPECT_TRUE(l.alive("h", 2));
  now += 1;
  EXPECT_FALSE(l.alive("h", 2));
  l.beat("h");
  EXPECT_TRUE(l.alive("h", 2));
}

}  // namespace nt
