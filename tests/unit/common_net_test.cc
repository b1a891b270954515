#include <gtest/gtest.h>

#include "common/net.h"
#include "common/uuid.h"

namespace nt {

TEST(IpAddress, ParsesAndPrintsCanonically) {
  EXPECT_EQ(IpAddress::parse("10.0.0.1")->str(), "10.0.0.1");
  EXPECT_EQ(IpAddress::parse("2001:DB8:0:0::1")->str(), "2001:db8::1");
  EXPECT_EQ(IpAddress::parse("::")->version, 6);
}

TEST(IpAddress, RejectsBadInput) {
  for (const char* bad : {"", "10.0.0", "10.0.0.256", "1.2.3.4.5", "abc", "10.0.0.1/24", "::g", " 10.0.0.1",
                          "2001:db8:::1", "1.2.3.-1"})
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
}

TEST(Cidr, NormalisesHostBitsUnlessStrict) {
  EXPECT_EQ(Cidr::parse("10.0.0.5/24")->str(), "10.0.0.0/24");
  auto strict = Cidr::parse("10.0.0.5/24", true);
  ASSERT_FALSE(strict);
  EXPECT_NE(strict.error().message.find("'10.0.0.0/24' is recommended"), std::string::npos);
  EXPECT_EQ(Cidr::parse("2001:db8::/64", true)->str(), "2001:db8::/64");
  EXPECT_EQ(Cidr::parse("10.1.2.3")->prefix, 32);
}

TEST(Cidr, RejectsBadPrefixes) {
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/ 8", "::/129", "10.0.0.0/8/8", "/8"})
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
}

TEST(Cidr, ContainsOverlapsAndSize) {
  auto c = *Cidr::parse("192.168.10.0/24");
  EXPECT_TRUE(c.contains(*IpAddress::parse("192.168.10.255")));
  EXPECT_FALSE(c.contains(*IpAddress::parse("192.168.11.0")));
  EXPECT_FALSE(c.contains(*IpAddress::parse("::1")));
  EXPECT_TRUE(c.overlaps(*Cidr::parse("192.168.0.0/16")));
  EXPECT_FALSE(c.overlaps(*Cidr::parse("192.168.11.0/24")));
  EXPECT_EQ(static_cast<uint64_t>(c.size()), 256u);
  EXPECT_EQ(c.last().str(), "192.168.10.255");
  EXPECT_EQ(Cidr::parse("0.0.0.0/0")->last().str(), "255.255.255.255");
}

TEST(Mac, ParsesBothSeparatorsAndPrintsLowerCase) {
  EXPECT_EQ(Mac::parse("FA:16:3E:00:AB:cd")->str(), "fa:16:3e:00:ab:cd");
  EXPECT_EQ(Mac::parse("fa-16-3e-00-ab-cd")->str(), "fa:16:3e:00:ab:cd");
  EXPECT_TRUE(Mac::parse("01:00:5e:00:00:01")->is_multicast());
}

TEST(Mac, RejectsBadInput) {
  for (const char* bad : {"", "fa:16:3e:00:ab", "fa:16:3e:00:ab:cd:ef", "fa:16:3e:00:ab:cg", "fa1:6:3e:00:ab:cd", "fa.16.3e.00.ab.cd"})
    EXPECT_FALSE(Mac::parse(bad)) << bad;
}

TEST(Eui64, MatchesTheRfc4291Example) {
  auto ip = eui64_address(*Cidr::parse("2001:db8::/64"), *Mac::parse("fa:16:3e:11:22:33"));
  EXPECT_EQ(ip.str(), "2001:db8::f816:3eff:fe11:2233");
}

TEST(Uuid, GeneratesValidDistinctIds) {
  auto a = new_uuid(), b = new_uuid();
  EXPECT_TRUE(is_uuid(a));
  EXPECT_NE(a, b);
  EXPECT_EQ(a[14], '4');
  EXPECT_FALSE(is_uuid("not-a-uuid"));
  EXPECT_FALSE(is_uuid("88fc4c81-4bdd-4b7d-a46a-e342779897fz"));
}

}  // namespace nt
