// "Applied everywhere": a port waits for its own host and the hosts of its network to
// apply the view revisions that include it; dead agents hold nothing up.
#include "core/provisioning.h"

#include <gtest/gtest.h>

namespace nt {
namespace {

struct FakeHosts {
  std::map<std::string, int64_t> applied;
  std::set<std::string> dead;
  Provisioning::Hosts hosts() {
    return {[this](const std::string& h) -> std::optional<int64_t> {
              auto it = applied.find(h);
              return it == applied.end() ? std::nullopt : std::optional<int64_t>(it->second);
            },
            [this](const std::string& h) { return !dead.count(h); }};
  }
};

std::vector<std::string> ports(const std::vector<Provisioning::Ready>& ready) {
  std::vector<std::string> out;
  for (const auto& r : ready) out.push_back(r.port);
  return out;
}

TEST(Provisioning, NeedsAreTheHostAndItsNetworkAtTheirViewRevisions) {
  std::map<std::string, int64_t> views{{"cmp1", 7}, {"cmp2", 9}, {"gw1", 4}};
  auto needs = Provisioning::needs_of("cmp1", {"cmp1", "cmp2"}, [&](const std::string& h) { return views[h]; });
  EXPECT_EQ(needs, (std::map<std::string, int64_t>{{"cmp1", 7}, {"cmp2", 9}}));
  // Alone on its network: only its own host.
  EXPECT_EQ(Provisioning::needs_of("gw1", {}, [&](const std::string& h) { return views[h]; }),
            (std::map<std::string, int64_t>{{"gw1", 4}}));
}

TEST(Provisioning, WaitsUntilEveryHostAppliedItsRevision) {
  Provisioning p;
  FakeHosts f;
  ASSERT_TRUE(p.wait("p1", {"cmp1", {{"cmp1", 7}, {"cmp2", 9}}}));
  f.applied = {{"cmp1", 7}, {"cmp2", 8}};
  EXPECT_TRUE(p.ready("cmp1", f.hosts()).empty());  // cmp2 is behind
  EXPECT_EQ(Provisioning::behind(*p.waiting("p1"), f.hosts()), std::vector<std::string>{"cmp2"});
  EXPECT_TRUE(p.ready("cmp2", f.hosts()).empty());
  EXPECT_EQ(p.waiting_on("cmp2"), 1u);
  f.applied["cmp2"] = 9;
  auto ready = p.ready("cmp2", f.hosts());  // the remote host's report releases it
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].port, "p1");
  EXPECT_EQ(ready[0].host, "cmp1");
  EXPECT_EQ(p.size(), 0u);
  EXPECT_EQ(p.waiting_on("cmp1"), 0u);
  EXPECT_EQ(p.waiting_on("cmp2"), 0u);
}

TEST(Provisioning, ItsOwnHostMustHaveAppliedToo) {
  Provisioning p;
  FakeHosts f;
  p.wait("p1", {"cmp1", {{"cmp1", 7}}});
  EXPECT_TRUE(p.ready("cmp1", f.hosts()).empty());  // nothing applied yet
  f.applied["cmp1"] = 6;
  EXPECT_TRUE(p.ready("cmp1", f.hosts()).empty());
  f.applied["cmp1"] = 12;  // a later revision includes the port too
  EXPECT_EQ(ports(p.ready("cmp1", f.hosts())), std::vector<std::string>{"p1"});
}

TEST(Provisioning, ADeadAgentHoldsNothingUp) {
  Provisioning p;
  FakeHosts f;
  p.wait("p1", {"cmp1", {{"cmp1", 7}, {"cmp2", 9}}});
  f.applied = {{"cmp1", 7}};
  EXPECT_TRUE(p.ready("cmp1", f.hosts()).empty());
  f.dead.insert("cmp2");
  EXPECT_TRUE(Provisioning::behind(*p.waiting("p1"), f.hosts()).empty());
  // cmp2 will not report again: the port's own host's next report releases it.
  EXPECT_EQ(ports(p.ready("cmp1", f.hosts())), std::vector<std::string>{"p1"});
}

// The port's own host is never waived: dead or not, nothing else makes its tap work.
TEST(Provisioning, ItsOwnHostDeadReleasesNothing) {
  Provisioning p;
  FakeHosts f;
  p.wait("p1", {"cmp1", {{"cmp1", 7}, {"cmp2", 9}}});
  f.applied = {{"cmp1", 6}, {"cmp2", 9}};
  f.dead.insert("cmp1");
  EXPECT_TRUE(p.ready("cmp2", f.hosts()).empty());
  EXPECT_EQ(Provisioning::behind(*p.waiting("p1"), f.hosts()), std::vector<std::string>{"cmp1"});
}

TEST(Provisioning, TheFirstWaitIsKeptSoNeedsDoNotRunAway) {
  Provisioning p;
  EXPECT_TRUE(p.wait("p1", {"cmp1", {{"cmp1", 7}}}));
  EXPECT_FALSE(p.wait("p1", {"cmp1", {{"cmp1", 20}}}));
  EXPECT_EQ(p.waiting("p1")->needs.at("cmp1"), 7);
  // Bound elsewhere now: the new host's wait replaces it.
  EXPECT_TRUE(p.wait("p1", {"cmp2", {{"cmp2", 21}}}));
  EXPECT_EQ(p.waiting("p1")->host, "cmp2");
  EXPECT_EQ(p.waiting_on("cmp1"), 0u);
  EXPECT_EQ(p.waiting_on("cmp2"), 1u);
}

TEST(Provisioning, PortsTheirHostNoLongerReportsUpStopWaiting) {
  Provisioning p;
  p.wait("p1", {"cmp1", {{"cmp1", 7}, {"cmp2", 9}}});
  p.wait("p2", {"cmp1", {{"cmp1", 7}, {"cmp2", 9}}});
  p.wait("p3", {"cmp2", {{"cmp2", 9}, {"cmp1", 7}}});
  p.keep_only("cmp1", {"p2"});  // p1 went down (or was deleted)
  EXPECT_EQ(p.waiting("p1"), nullptr);
  EXPECT_NE(p.waiting("p2"), nullptr);
  EXPECT_NE(p.waiting("p3"), nullptr);  // cmp1 does not speak for cmp2's ports
  EXPECT_EQ(p.waiting_on("cmp1"), 2u);
  p.forget("p3");
  p.forget("p3");
  EXPECT_EQ(p.size(), 1u);
}

TEST(Provisioning, AReportLooksOnlyAtThePortsWaitingOnItsHost) {
  Provisioning p;
  FakeHosts f;
  p.wait("a", {"cmp1", {{"cmp1", 5}}});
  p.wait("b", {"cmp3", {{"cmp3", 5}}});
  f.applied = {{"cmp1", 5}, {"cmp3", 5}};
  EXPECT_EQ(ports(p.ready("cmp1", f.hosts())), std::vector<std::string>{"a"});
  EXPECT_NE(p.waiting("b"), nullptr);
  EXPECT_EQ(ports(p.ready("cmp3", f.hosts())), std::vector<std::string>{"b"});
}

}  // namespace
}  // namespace nt
