#include <gtest/gtest.h>

#include "core/segments.h"

namespace nt {

namespace {
Settings settings() {
  auto c = Config::parse("server.ini",
                         "[ml2_type_vxlan]\nvni_ranges = 10:11\n[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:100:101\n"
                         "[ml2_type_flat]\nflat_networks = extnet0\n",
                         server_schema());
  return *settings_from(*c);
}
}  // namespace

TEST(Segments, TenantNetworksTakeVnisInOrderUntilExhausted) {
  auto s = settings();
  Model m;
  Txn txn(m);
  EXPECT_EQ(*allocate_tenant_segment(txn, s, "a")->segmentation_id, 10u);
  EXPECT_EQ(*allocate_tenant_segment(txn, s, "b")->segmentation_id, 11u);
  auto none = allocate_tenant_segment(txn, s, "c");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().type, "NoNetworkAvailable");
  EXPECT_EQ(none.error().code, Errc::unavailable);
}

TEST(Segments, ProviderIdsOutsideTheRangesAreAllowedButNotTwice) {
  auto s = settings();
  Model m;
  Txn txn(m);
  ASSERT_TRUE(reserve_provider_segment(txn, s, {"vxlan", "", 123}, "a"));
  auto again = reserve_provider_segment(txn, s, {"vxlan", "", 123}, "b");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().type, "TunnelIdInUse");
  // The same id on another tunnel type is a different pool.
  EXPECT_TRUE(reserve_provider_segment(txn, s, {"geneve", "", 123}, "c"));
}

TEST(Segments, ValidationFollowsTheTypeDrivers) {
  auto s = settings();
  Model m;
  Txn txn(m);
  auto err = [&](Segment seg) { return reserve_provider_segment(txn, s, seg, "x").error().message; };
  EXPECT_EQ(err({"vxlan", "", 16777216}), "Invalid input for operation: segmentation_id out of range (1 through 16777215).");
  EXPECT_EQ(err({"vxlan", "physnet1", 5}), "Invalid input for operation: provider:physical_network specified for vxlan network.");
  EXPECT_EQ(err({"flat", "", std::nullopt}), "Invalid input for operation: physical_network required for flat provider network.");
  EXPECT_EQ(err({"flat", "other", std::nullopt}),
            "Invalid input for operation: physical_network 'other' unknown for flat provider network.");
  EXPECT_EQ(err({"vlan", "physnet1", 4095}), "Invalid input for operation: segmentation_id out of range (1 through 4094).");
  EXPECT_EQ(err({"bogus", "", std::nullopt}), "Invalid input for operation: network_type value 'bogus' not supported.");
}

TEST(Segments, FlatPhysnetAndVlanIdsAreExclusive) {
  auto s = settings();
  Model m;
  Txn txn(m);
  ASSERT_TRUE(reserve_provider_segment(txn, s, {"flat", "extnet0", std::nullopt}, "a"));
  EXPECT_EQ(reserve_provider_segment(txn, s, {"flat", "extnet0", std::nullopt}, "b").error().type, "FlatNetworkInUse");
  EXPECT_EQ(*reserve_provider_segment(txn, s, {"vlan", "physnet1", std::nullopt}, "c")->segmentation_id, 100u);
  EXPECT_EQ(reserve_provider_segment(txn, s, {"vlan", "physnet1", 100}, "d").error().type, "VlanIdInUse");
}

// A VLAN network with neither physical network nor id gets both from network_vlan_ranges,
// as Neutron 21 does (tests/compat), until the ranges are full.
TEST(Segments, VlanWithoutPhysnetTakesOneFromTheRanges) {
  auto s = settings();
  Model m;
  Txn txn(m);
  auto first = reserve_provider_segment(txn, s, {"vlan", "", std::nullopt}, "a");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->physical_network, "physnet1");
  EXPECT_EQ(*first->segmentation_id, 100u);
  EXPECT_EQ(*reserve_provider_segment(txn, s, {"vlan", "", std::nullopt}, "b")->segmentation_id, 101u);
  EXPECT_EQ(reserve_provider_segment(txn, s, {"vlan", "", std::nullopt}, "c").error().type, "NoNetworkAvailable");
}

TEST(Segments, ReleaseMakesTheIdAvailableAgain) {
  auto s = settings();
  Model m;
  Txn txn(m);
  auto seg = *reserve_provider_segment(txn, s, {"gre", "", 7}, "a");
  release_segment(txn, seg);
  EXPECT_TRUE(reserve_provider_segment(txn, s, {"gre", "", 7}, "b"));
}

TEST(Segments, MtuPerType) {
  auto s = settings();
  EXPECT_EQ(segment_mtu(s, "vxlan"), 1450);
  EXPECT_EQ(segment_mtu(s, "geneve"), 1450);
  EXPECT_EQ(segment_mtu(s, "gre"), 1458);
  EXPECT_EQ(segment_mtu(s, "flat"), 1500);
}

}  // namespace nt
