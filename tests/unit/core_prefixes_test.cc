// Subnet pool prefix sets (src/core/prefixes): merging as netaddr's IPSet compacts,
// difference, Neutron's first fit (longest free prefix first) and exhaustion.
#include <gtest/gtest.h>

#include "core/prefixes.h"

namespace nt {
namespace {

std::vector<Cidr> C(std::initializer_list<const char*> texts) {
  std::vector<Cidr> out;
  for (const char* t : texts) out.push_back(*Cidr::parse(t));
  return out;
}

std::vector<std::string> S(const std::vector<Cidr>& cs) {
  std::vector<std::string> out;
  for (const auto& c : cs) out.push_back(c.str());
  return out;
}

using V = std::vector<std::string>;

TEST(Prefixes, MergeCompactsAdjacentAndNestedBlocks) {
  EXPECT_EQ(S(prefixes::merge(C({"10.1.0.0/16", "10.0.0.1/16", "192.168.0.0/24", "192.168.1.0/24"}))),
            (V{"10.0.0.0/15", "192.168.0.0/23"}));
  EXPECT_EQ(S(prefixes::merge(C({"10.0.0.0/24", "10.0.0.128/25", "10.0.1.0/24", "10.0.2.0/24"}))),
            (V{"10.0.0.0/23", "10.0.2.0/24"}));
  EXPECT_EQ(S(prefixes::merge(C({"2001:db8::/48", "2001:db8:1::/48"}))), (V{"2001:db8::/47"}));
  EXPECT_EQ(S(prefixes::merge(C({"0.0.0.0/1", "128.0.0.0/1"}))), (V{"0.0.0.0/0"}));
  EXPECT_EQ(S(prefixes::merge(C({"::/1", "8000::/1"}))), (V{"::/0"}));
}

TEST(Prefixes, SubtractSplitsIntoCidrs) {
  EXPECT_EQ(S(prefixes::subtract(C({"172.16.0.0/24"}), C({"172.16.0.0/25"}))), (V{"172.16.0.128/25"}));
  EXPECT_EQ(S(prefixes::subtract(C({"10.0.0.0/22"}), C({"10.0.1.0/24"}))), (V{"10.0.0.0/24", "10.0.2.0/23"}));
  EXPECT_TRUE(prefixes::subtract(C({"10.0.0.0/24"}), C({"10.0.0.0/8"})).empty());
  EXPECT_EQ(S(prefixes::subtract(C({"::/0"}), C({"::/1"}))), (V{"8000::/1"}));
  EXPECT_TRUE(prefixes::covers(C({"10.0.0.0/15"}), C({"10.1.2.0/24", "10.0.0.0/16"})));
  EXPECT_FALSE(prefixes::covers(C({"10.0.0.0/15"}), C({"10.0.0.0/8"})));
  EXPECT_TRUE(prefixes::intersect(C({"10.0.0.0/8"}), C({"10.200.0.0/16"})));
  EXPECT_FALSE(prefixes::intersect(C({"10.0.0.0/16"}), C({"10.1.0.0/16"})));
}

TEST(Prefixes, FirstFitTakesTheLongestFreePrefixThatHoldsTheRequest) {
  auto free = C({"10.0.0.0/15", "172.16.0.128/25", "192.168.0.0/23"});
  EXPECT_EQ(prefixes::first_fit(free, 24)->str(), "192.168.0.0/24");
  EXPECT_EQ(prefixes::first_fit(free, 26)->str(), "172.16.0.128/26");
  EXPECT_EQ(prefixes::first_fit(free, 15)->str(), "10.0.0.0/15");
  EXPECT_FALSE(prefixes::first_fit(free, 14));
  EXPECT_EQ(prefixes::first_fit(C({"2001:db8::/48"}), 64)->str(), "2001:db8::/64");
}

TEST(Prefixes, AllocatingUntilExhausted) {
  auto pool = C({"10.0.0.0/22"});
  std::vector<Cidr> used;
  std::vector<std::string> got;
  while (auto c = prefixes::first_fit(prefixes::subtract(pool, used), 24)) {
    used.push_back(*c);
    got.push_back(c->str());
  }
  EXPECT_EQ(got, (V{"10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"}));
  EXPECT_TRUE(prefixes::subtract(pool, used).empty());
  // A freed block in the middle is reused first once it is the only one that fits.
  used.erase(used.begin() + 1);
  EXPECT_EQ(prefixes::first_fit(prefixes::subtract(pool, used), 24)->str(), "10.0.1.0/24");
  EXPECT_FALSE(prefixes::first_fit(prefixes::subtract(pool, used), 23));
}

TEST(Prefixes, SpecificRequestsMustLieInOneFreeBlock) {
  auto free = prefixes::subtract(C({"10.0.0.0/16"}), C({"10.0.1.0/24"}));
  EXPECT_TRUE(prefixes::fits(free, *Cidr::parse("10.0.2.0/24")));
  EXPECT_FALSE(prefixes::fits(free, *Cidr::parse("10.0.1.0/25")));
  EXPECT_FALSE(prefixes::fits(free, *Cidr::parse("10.0.0.0/23")));
  EXPECT_FALSE(prefixes::fits(free, *Cidr::parse("10.1.0.0/24")));
  EXPECT_DOUBLE_EQ(prefixes::quota_units(24, 32), 256.0);
  EXPECT_DOUBLE_EQ(prefixes::quota_units(64, 64), 1.0);
}

}  // namespace
}  // namespace nt
