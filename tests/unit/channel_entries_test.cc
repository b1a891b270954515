// The host view's typed entries: each round-trips through its JSON; a line with a missing
// member, a wrong type or an unknown kind is refused with its kind and id named, and the
// view keeps what it had.
#include <gtest/gtest.h>

#include "channel/entries.h"
#include "channel/view_digest.h"
#include "common/names.h"

namespace nt::view {
namespace json = boost::json;

namespace {
Router sample_router() {
  Router r;
  r.interfaces.push_back(RouterPort{"p1", devname::qr("p1"), devname::tap("p1"), "fa:16:3e:00:00:01", "n1", devname::bridge("n1"), 1450, "s1",
                                    "10.0.0.1", "10.0.0.0/24", 24, "10.0.0.1", "10.0.0.3"});
  r.routes.push_back({"198.51.100.0/24", "10.0.0.9"});
  r.external_network_id = "pub";
  r.enable_snat = true;
  r.floating_ips.push_back({"f1", "203.0.113.5", "10.0.0.5"});
  return r;
}

// A view with entries of many kinds, members of a remote group among them.
HostView sample_view() {
  HostView v;
  v.networks["n1"] = Network{"vxlan", std::nullopt, 100, 1450, devname::bridge("n1")};
  v.flood["n1|h2"] = Flood{"n1", "192.0.2.2"};
  v.ports["p1"] = Port{"n1", "fa:16:3e:00:00:01", {"10.0.0.5"}, devname::tap("p1"), true, 1450};
  v.l2pop["p2"] = L2pop{"n1", "fa:16:3e:00:00:02", {"10.0.0.6"}, "192.0.2.2"};
  v.routers["r1"] = sample_router();
  v.arp["r1|p2"] = Arp{"r1", "fa:16:3e:00:00:02", {{"qr-p1", "10.0.0.6"}}};
  Snat s;
  s.active = true;
  s.qg = sample_router().interfaces[0];
  s.internal_cidrs = {"10.0.0.0/24"};
  v.snat["r1"] = s;
  v.fips["pub"] = Fip{"pub", devname::bridge("pub"), 1500, std::nullopt, {{"r1", {"203.0.113.5"}}}};
  v.sgmembers["g1"] = GroupMembers{{"10.0.0.5", "10.0.0.6", "fd00::5"}};
  return v;
}
}  // namespace

TEST(ViewEntries, EveryKindRoundTripsThroughItsJson) {
  auto v = sample_view();
  HostView decoded;
  for (const auto& [kind, id, obj] : entries(v)) {
    auto text = json::serialize(obj);  // through text, as on the wire
    ASSERT_TRUE(put(decoded, kind_name(kind), id, json::parse(text))) << text;
  }
  EXPECT_EQ(decoded, v);
  for (const auto& [kind, id, obj] : entries(v)) erase(decoded, kind_name(kind), id);
  EXPECT_TRUE(decoded.empty());
}

TEST(ViewEntries, BadEntriesAreRefusedWithTheirKindAndId) {
  HostView v;
  v.ports["p1"] = Port{"n1", "fa:16:3e:00:00:01", {}, "tapp1", true, 1450};
  auto before = v;
  auto wrong_type = json::parse(R"({"network_id":"n1","mac_address":7,"fixed_ips":[],"device":"tapp1","admin_state_up":true,"mtu":1450})");
  auto r = put(v, "port", "p1", wrong_type);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("port p1"), std::string::npos) << r.error().message;
  auto missing = json::parse(R"({"network_id":"n1","mac_address":"fa:16:3e:00:00:01","fixed_ips":[],"device":"tapp1","mtu":1450})");
  EXPECT_FALSE(put(v, "port", "p1", missing));
  EXPECT_FALSE(put(v, "port", "p1", json::parse("[1,2]")));
  auto unknown = put(v, "dhcp-lease", "x", json::parse("{}"));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown kind"), std::string::npos);
  EXPECT_FALSE(put(v, "arp", "no-bar", json::value_from(Arp{"r1", "m", {}})));
  EXPECT_EQ(v, before);
  // Members a newer server adds are ignored.
  auto extra = json::value_from(v.ports["p1"]);
  extra.as_object()["qos_policy_id"] = "q1";
  EXPECT_TRUE(put(v, "port", "p1", extra));
  EXPECT_EQ(v, before);
}

// A remote group's addresses travel one per entry and gather, sorted, in the group's list;
// its last one gone, the group goes too.
TEST(ViewEntries, GroupMembersAreOneEntryPerAddress) {
  HostView v;
  auto member = [](const char*, const char* ip) { return json::value_from(SgMember{ip}); };
  ASSERT_TRUE(put(v, "sgmember", "g1|10.0.0.7", member("g1", "10.0.0.7")));
  ASSERT_TRUE(put(v, "sgmember", "g1|10.0.0.5", member("g1", "10.0.0.5")));
  ASSERT_TRUE(put(v, "sgmember", "g1|10.0.0.5", member("g1", "10.0.0.5")));  // again: no duplicate
  EXPECT_EQ(v.sgmembers.at("g1").ips, (std::set<std::string>{"10.0.0.5", "10.0.0.7"}));
  EXPECT_EQ(entries(v).size(), 2u);
  // An entry whose content is not its id's, or an id without its two parts, is refused.
  EXPECT_FALSE(put(v, "sgmember", "g1|10.0.0.9", member("g1", "10.0.0.8")));
  EXPECT_FALSE(put(v, "sgmember", "g1", member("g1", "10.0.0.8")));
  EXPECT_EQ(v.sgmembers.at("g1").ips.size(), 2u);
  erase(v, "sgmember", "g1|10.0.0.7");
  EXPECT_EQ(v.sgmembers.at("g1").ips, (std::set<std::string>{"10.0.0.5"}));
  erase(v, "sgmember", "g2|10.0.0.5");  // unknown: nothing
  erase(v, "sgmember", "g1|10.0.0.5");
  EXPECT_TRUE(v.sgmembers.empty());
}

// An agent's view digest (sent at each reconnect) is the sum over the entries as they
// travel: its members are hashed without building their ids and JSON, and must come out the
// same, also for addresses the JSON serializer escapes.
TEST(ViewEntries, DigestIsTheSumOfTheEntriesAsTheyTravel) {
  auto v = sample_view();
  v.sgmembers["g2"] = GroupMembers{{"10.0.0.5", "a\"quote", "back\\slash", "tab\there", "caf\xc3\xa9", "del\x7f"}};
  auto as_they_travel = [](const HostView& view) {
    Digest d;
    for (const auto& [kind, id, obj] : entries(view)) d.add_text(kind_name(kind), id, json::serialize(obj));
    return d.value();
  };
  EXPECT_EQ(digest_of(v), as_they_travel(v));
  auto fewer = v;
  fewer.sgmembers["g1"].ips.erase("10.0.0.6");
  EXPECT_NE(digest_of(fewer), digest_of(v));
  EXPECT_EQ(digest_of(fewer), as_they_travel(fewer));
  auto moved = v;  // the same address in another group is another entry
  moved.sgmembers["g1"].ips.erase("10.0.0.5");
  moved.sgmembers["g3"].ips.insert("10.0.0.5");
  EXPECT_NE(digest_of(moved), digest_of(v));
  EXPECT_EQ(digest_of(moved), as_they_travel(moved));
  EXPECT_EQ(digest_of(HostView{}), 0u);
}

TEST(ViewEntries, KindsHaveOneNameEach) {
  for (auto k : {Kind::network, Kind::port, Kind::l2pop, Kind::router, Kind::arp, Kind::snat, Kind::fip})
    EXPECT_EQ(parse_kind(kind_name(k)), k);
  EXPECT_FALSE(parse_kind("networks"));
  EXPECT_EQ(ArpId::parse("r1|p2")->port, "p2");
  EXPECT_FALSE(ArpId::parse("|p2"));
  EXPECT_FALSE(ArpId::parse("r1|"));
}

}  // namespace nt::view
