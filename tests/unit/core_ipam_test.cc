#include <gtest/gtest.h>

#include <set>

#include "core/ipam.h"
#include "core/mac.h"

namespace nt {

namespace {
Cidr cidr(const char* s) { return *Cidr::parse(s); }
IpAddress ip(const char* s) { return *IpAddress::parse(s); }
}  // namespace

TEST(Pools, DefaultV4ExcludesNetworkBroadcastAndGateway) {
  auto pools = default_pools(cidr("10.0.0.0/24"), ip("10.0.0.1"));
  ASSERT_EQ(pools.size(), 1u);
  EXPECT_EQ(pools[0].start.str(), "10.0.0.2");
  EXPECT_EQ(pools[0].end.str(), "10.0.0.254");
}

TEST(Pools, GatewayInTheMiddleSplitsThePool) {
  auto pools = default_pools(cidr("10.0.0.0/24"), ip("10.0.0.100"));
  ASSERT_EQ(pools.size(), 2u);
  EXPECT_EQ(pools[0].end.str(), "10.0.0.99");
  EXPECT_EQ(pools[1].start.str(), "10.0.0.101");
}

TEST(Pools, DefaultV6ExcludesOnlyTheAnycastAddress) {
  auto pools = default_pools(cidr("2001:db8::/64"), std::nullopt);
  ASSERT_EQ(pools.size(), 1u);
  EXPECT_EQ(pools[0].start.str(), "2001:db8::1");
  EXPECT_EQ(pools[0].end.str(), "2001:db8::ffff:ffff:ffff:ffff");
}

TEST(Pools, ValidationErrorsAreNeutrons) {
  auto c = cidr("10.0.2.0/24");
  auto out = check_pools({{ip("10.0.2.210"), ip("10.0.3.5")}}, c, std::nullopt);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().type, "OutOfBoundsAllocationPool");
  out = check_pools({{ip("10.0.2.20"), ip("10.0.2.10")}}, c, std::nullopt);
  EXPECT_EQ(out.error().type, "InvalidAllocationPool");
  out = check_pools({{ip("10.0.2.10"), ip("10.0.2.20")}, {ip("10.0.2.15"), ip("10.0.2.30")}}, c, std::nullopt);
  EXPECT_EQ(out.error().type, "OverlappingAllocationPools");
  EXPECT_EQ(out.error().code, Errc::conflict);
  out = check_pools({{ip("10.0.2.1"), ip("10.0.2.20")}}, c, ip("10.0.2.2"));
  EXPECT_EQ(out.error().type, "GatewayConflictWithAllocationPools");
  EXPECT_TRUE(check_pools({{ip("10.0.2.210"), ip("10.0.2.220")}}, c, ip("10.0.2.2")));
}

TEST(PickFreeIp, NeverReturnsAUsedAddressAndReportsExhaustion) {
  Model m;
  Txn txn(m);
  std::vector<Pool> pools = {{ip("10.0.0.2"), ip("10.0.0.6")}};
  std::set<std::string> seen;
  for (int i = 0; i < 5; ++i) {
    auto got = pick_free_ip(m, "s", pools);
    ASSERT_TRUE(got);
    EXPECT_TRUE(pools[0].contains(*got));
    ASSERT_TRUE(txn.claim_ip("s", *got, "p"));
    EXPECT_TRUE(seen.insert(got->str()).second);
  }
  EXPECT_FALSE(pick_free_ip(m, "s", pools));
  txn.rollback();
  EXPECT_TRUE(pick_free_ip(m, "s", pools));  // rollback freed them
}

TEST(FirstFreeIp, TheLowestFreeAddressOfThePoolsInOrder) {
  Model m;
  Txn txn(m);
  std::vector<Pool> pools = {{ip("10.0.0.20"), ip("10.0.0.21")}, {ip("10.0.0.5"), ip("10.0.0.6")}};
  EXPECT_EQ(first_free_ip(m, "s", pools)->str(), "10.0.0.5");
  ASSERT_TRUE(txn.claim_ip("s", ip("10.0.0.5"), "p"));
  ASSERT_TRUE(txn.claim_ip("s", ip("10.0.0.6"), "p"));
  EXPECT_EQ(first_free_ip(m, "s", pools)->str(), "10.0.0.20");
  ASSERT_TRUE(txn.claim_ip("s", ip("10.0.0.20"), "p"));
  ASSERT_TRUE(txn.claim_ip("s", ip("10.0.0.21"), "p"));
  EXPECT_FALSE(first_free_ip(m, "s", pools));
  std::vector<Pool> last = {{ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}};
  ASSERT_TRUE(txn.claim_ip("v6", last[0].start, "p"));
  ASSERT_TRUE(txn.claim_ip("v6", last[0].end, "p"));
  EXPECT_FALSE(first_free_ip(m, "v6", last));  // ends at the last address without wrapping
}

TEST(PickFreeIp, ChoosesRandomlyWithinTheWindow) {
  Model m;
  std::vector<Pool> pools = {{ip("10.0.0.2"), ip("10.0.255.254")}};
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto got = pick_free_ip(m, "s", pools, 1000);
    ASSERT_TRUE(got);
    EXPECT_LT(got->value - pools[0].start.value, u128{1000});
    seen.insert(got->str());
  }
  EXPECT_GT(seen.size(), 10u);
}

// The allocator's window: freed addresses come back, addresses claimed by hand inside the
// window are never handed out, a change of pools starts over, a full pool says so.
TEST(PickFreeIp, WindowFollowsClaimsReleasesAndPoolChanges) {
  Model m;
  std::vector<Pool> pools = {{ip("10.0.0.2"), ip("10.0.0.21")}};  // 20 addresses
  Txn txn(m);
  std::set<std::string> taken;
  ASSERT_TRUE(txn.claim_ip("s", ip("10.0.0.5"), "by-hand"));  // inside the window
  for (int i = 0; i < 19; ++i) {
    auto got = pick_free_ip(m, "s", pools, 4);
    ASSERT_TRUE(got) << i;
    EXPECT_NE(got->str(), "10.0.0.5");
    ASSERT_TRUE(txn.claim_ip("s", *got, "p" + std::to_string(i)));
    EXPECT_TRUE(taken.insert(got->str()).second);
  }
  EXPECT_FALSE(pick_free_ip(m, "s", pools, 4));
  txn.release_ip("s", ip("10.0.0.9"));
  auto again = pick_free_ip(m, "s", pools, 4);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->str(), "10.0.0.9");
  // An address outside the pools (a router's gateway address) freed: never handed out.
  ASSERT_TRUE(txn.claim_ip("s", ip("10.0.0.1"), "router"));
  txn.release_ip("s", ip("10.0.0.1"));
  auto outside = pick_free_ip(m, "s", pools, 4);
  ASSERT_TRUE(outside);
  EXPECT_EQ(outside->str(), "10.0.0.9");
  // The pool grows: its new addresses are found.
  std::vector<Pool> bigger = {{ip("10.0.0.2"), ip("10.0.0.30")}};
  ASSERT_TRUE(txn.claim_ip("s", ip("10.0.0.9"), "p"));
  auto grown = pick_free_ip(m, "s", bigger, 4);
  ASSERT_TRUE(grown);
  EXPECT_GE(grown->value, ip("10.0.0.22").value);
  // Two pools out of order: the lower one is used first.
  Model fresh;
  std::vector<Pool> two = {{ip("10.0.1.100"), ip("10.0.1.110")}, {ip("10.0.1.2"), ip("10.0.1.3")}};
  auto low = pick_free_ip(fresh, "t", two, 1);
  ASSERT_TRUE(low);
  EXPECT_EQ(low->str(), "10.0.1.2");
}

TEST(Mac, RandomMacKeepsTheBaseOctets) {
  Model m;
  auto mac = random_free_mac(m, "net", *Mac::parse("fa:16:3e:00:00:00"));
  ASSERT_TRUE(mac);
  EXPECT_EQ(mac->str().substr(0, 8), "fa:16:3e");
  auto four = random_free_mac(m, "net", *Mac::parse("fa:16:3e:4f:00:00"));
  EXPECT_EQ(four->str().substr(0, 11), "fa:16:3e:4f");
}

}  // namespace nt
