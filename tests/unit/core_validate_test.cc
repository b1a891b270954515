#include <gtest/gtest.h>

#include "core/validate.h"

namespace nt {
namespace json = boost::json;

TEST(Validate, BooleansConvertFromStrings) {
  EXPECT_EQ(*check::boolean()(json::value("True")), json::value(true));
  EXPECT_EQ(*check::boolean()(json::value("0")), json::value(false));
  EXPECT_EQ(check::boolean()(json::value("maybe")).error().message, "'maybe' cannot be converted to boolean");
  EXPECT_FALSE(check::boolean()(json::value(json::array{})));
}

TEST(Validate, StringsHaveALength) {
  EXPECT_TRUE(check::string(3)(json::value("abc")));
  EXPECT_EQ(check::string(3)(json::value("abcd")).error().message, "'abcd' exceeds maximum length of 3");
  EXPECT_EQ(check::string(3)(json::value(5)).error().message, "'5' is not a valid string");
}

TEST(Validate, IntegersAcceptNumericStringsOnly) {
  EXPECT_EQ(*check::integer(0, 10)(json::value("7")), json::value(7));
  EXPECT_EQ(check::integer(0, 10)(json::value("7x")).error().message, "'7x' is not an integer");
  EXPECT_EQ(check::integer(0, 10)(json::value(-1)).error().message, "'-1' should be non-negative");
  EXPECT_FALSE(check::integer(0, 10)(json::value(11)));
  EXPECT_FALSE(check::integer(0, 10)(json::value(1.5)));
}

TEST(Validate, UuidsMacsAndAddresses) {
  EXPECT_EQ(*check::uuid()(json::value("88FC4C81-4BDD-4B7D-A46A-E342779897F2")),
            json::value("88fc4c81-4bdd-4b7d-a46a-e342779897f2"));
  EXPECT_FALSE(check::uuid()(json::value("88fc4c81")));
  EXPECT_EQ(*check::mac_address()(json::value("FA:16:3E:00:00:01")), json::value("fa:16:3e:00:00:01"));
  EXPECT_FALSE(check::mac_address()(json::value("00:00:00:00:00:00")));
  EXPECT_FALSE(check::mac_address()(json::value("ff:ff:ff:ff:ff:ff")));
  EXPECT_TRUE(check::ip_address(true)(json::value(nullptr)));
  EXPECT_FALSE(check::ip_address(false)(json::value(nullptr)));
}

TEST(Validate, NameserversAndHostRoutes) {
  EXPECT_EQ(check::nameservers()(json::parse(R"(["8.8.8.8","8.8.8.8"])")).error().message, "Duplicate nameserver '8.8.8.8'");
  EXPECT_FALSE(check::nameservers()(json::parse(R"(["dns.example"])")));
  auto routes = check::host_routes()(json::parse(R"([{"destination":"10.0.0.5/8","nexthop":"192.0.2.1"}])"));
  ASSERT_TRUE(routes);
  EXPECT_EQ(routes->as_array()[0].as_object().at("destination"), json::value("10.0.0.0/8"));
  EXPECT_FALSE(check::host_routes()(json::parse(R"([{"destination":"10.0.0.0/8"}])")));
}

TEST(Validate, OneOfListsTheChoices) {
  EXPECT_EQ(check::one_of({"ingress", "egress"})(json::value("up")).error().message, "'up' is not in ['ingress', 'egress']");
  EXPECT_TRUE(check::one_of({"a"}, true)(json::value(nullptr)));
}

}  // namespace nt
