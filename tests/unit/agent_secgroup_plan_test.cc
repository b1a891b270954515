// Security groups as the agent plans them from the view (pure): which ports are filtered,
// how rules become nftables statements, that numbers survive a restart, that nothing from
// the server reaches a script unchecked, and which connections a change cuts.
#include <gtest/gtest.h>

#include <cstdio>

#include "agent/secgroup_plan.h"
#include "kernel/conntrack.h"

namespace nt::agent {
namespace {

view::SecurityGroupRule rule(const std::string& id, const std::string& dir, const std::string& eth) {
  view::SecurityGroupRule r;
  r.id = id, r.direction = dir, r.ethertype = eth;
  return r;
}

view::HostView host_with_web_and_db() {
  view::HostView v;
  v.networks["net-1"] = view::Network{"vxlan", std::nullopt, 7, 1450, "brqnet-1"};
  view::PortSecurity web{"net-1", "tapport-web", "fa:16:3e:00:00:05", {"10.0.0.5"}, true, {"g-web"}, {}};
  view::PortSecurity db{"net-1", "tapport-db", "fa:16:3e:00:00:06", {"10.0.0.6", "2001:db8::6"}, true, {"g-db"},
                        {{"10.0.0.200", std::nullopt}, {"10.0.1.0/24", std::string("fa:16:3e:00:00:99")}}};
  v.portsec["port-web"] = web;
  v.portsec["port-db"] = db;
  auto ssh = rule("r1", "ingress", "IPv4");
  ssh.protocol = "tcp", ssh.port_range_min = 22, ssh.port_range_max = 22;
  auto out4 = rule("r2", "egress", "IPv4");
  v.secgroups["g-web"] = view::SecurityGroup{true, {ssh, out4}};
  auto pg = rule("r3", "ingress", "IPv4");
  pg.protocol = "tcp", pg.port_range_min = 5432, pg.port_range_max = 5433, pg.remote_group_id = "g-web";
  auto ping6 = rule("r4", "ingress", "IPv6");
  ping6.protocol = "icmp", ping6.port_range_min = 128, ping6.remote_ip_prefix = "2001:db8::/64";
  v.secgroups["g-db"] = view::SecurityGroup{true, {pg, ping6}};
  v.sgmembers["g-web"] = view::GroupMembers{{"10.0.0.5", "10.0.0.7"}};
  return v;
}

TEST(SecgroupPlan, RulesBecomeStatementsOfThePortsChains) {
  SgNumbers numbers;
  auto plan = plan_security(host_with_web_and_db(), numbers);
  ASSERT_EQ(plan.ports.size(), 2u);
  const auto& db = plan.ports.at("port-db");
  auto n = std::to_string(db.number);
  EXPECT_NE(plan.inet.text().find("meta nfproto ipv4 meta l4proto 6 th dport 5432-5433 ip saddr @m-g-web-4 meta mark set meta mark | 0x80000000 return"),
            std::string::npos) << plan.inet.text();
  // ICMP with IPv6 is ICMPv6 (58); the type comes from port_range_min.
  EXPECT_NE(plan.inet.text().find("meta nfproto ipv6 meta l4proto 58 icmpv6 type 128 ip6 saddr 2001:db8::/64 meta mark set meta mark | 0x80000000 return"),
            std::string::npos) << plan.inet.text();
  EXPECT_NE(plan.inet.text().find("elements = { 10.0.0.5, 10.0.0.7 }"), std::string::npos) << plan.inet.text();
  EXPECT_NE(plan.inet.text().find("chain ingress-" + n + " {\n    meta mark set meta mark & 0x7fffffff\n    jump implicit-i\n    jump g-g-db-i\n"), std::string::npos);
  EXPECT_NE(plan.inet.text().find("ip daddr 169.254.169.254 tcp dport 80 meta mark set meta mark | 0x80000000 return"),
            std::string::npos);
  EXPECT_NE(plan.inet.text().find("    jump g-g-db-i\n    meta mark & 0x80000000 != 0 meta mark set meta mark & 0x7fffffff return\n    drop\n"), std::string::npos) << plan.inet.text();
  EXPECT_NE(plan.inet.text().find("ct state invalid drop"), std::string::npos);
  EXPECT_NE(plan.inet.text().find("ct zone set iifname map @zones"), std::string::npos);
  EXPECT_NE(plan.inet.text().find("elements = { \"brqnet-1\" : "), std::string::npos);
  // Anti-spoofing: the port's MAC with its addresses and the pair without a MAC; the pair
  // with its own MAC from that MAC only; IPv6 link-local from each.
  EXPECT_NE(plan.bridge.text().find("ether saddr fa:16:3e:00:00:06 ip saddr { 10.0.0.6, 10.0.0.200 } return"),
            std::string::npos) << plan.bridge.text();
  EXPECT_NE(plan.bridge.text().find("ether saddr fa:16:3e:00:00:99 ip saddr { 10.0.1.0/24 } return"), std::string::npos);
  EXPECT_NE(plan.bridge.text().find("ip6 saddr { 2001:db8::6, fe80::f816:3eff:fe00:6 } return"), std::string::npos)
      << plan.bridge.text();
  EXPECT_NE(plan.bridge.text().find("ether type ip udp sport 67 udp dport 68 drop"), std::string::npos);
  EXPECT_NE(plan.bridge.text().find("    jump no-server\n"), std::string::npos);
  EXPECT_NE(plan.bridge.text().find("icmpv6 type nd-neighbor-advert @th,64,128 != { 0x20010db8000000000000000000000006, "), std::string::npos) << plan.bridge.text();
  EXPECT_NE(plan.inet.text().find("elements = { * : drop, 0 : continue, "), std::string::npos) << plan.inet.text();
  EXPECT_NE(plan.bridge.text().find("nd-router-advert"), std::string::npos);
}

TEST(SecgroupPlan, NumbersAreTheSameAfterARestartAndKeptWhilePortsCome) {
  auto view = host_with_web_and_db();
  SgNumbers first;
  auto plan = plan_security(view, first);
  SgNumbers restarted;
  EXPECT_EQ(plan_security(view, restarted), plan);
  // A new port does not move the others' numbers or zones.
  view.portsec["port-new"] = view::PortSecurity{"net-1", "tapport-new", "fa:16:3e:00:00:07", {"10.0.0.7"}, true,
                                                {"g-web"}, {}};
  auto more = plan_security(view, first);
  EXPECT_EQ(more.ports.at("port-db").number, plan.ports.at("port-db").number);
  EXPECT_EQ(more.ports.at("port-db").zone, plan.ports.at("port-db").zone);
  EXPECT_EQ(more.ports.size(), 3u);
}

TEST(SecgroupPlan, ARestartedAgentReadsItsNumbersBackFromTheTables) {
  auto view = host_with_web_and_db();
  SgNumbers numbers;
  auto plan = plan_security(view, numbers);
  std::map<std::string, std::string> taps;
  for (const auto& [id, p] : view.portsec) taps[p.device] = id;
  auto learned = learn_numbers(plan.inet.text(), plan.bridge.text(), taps);
  EXPECT_EQ(learned.zones, numbers.zones);
  EXPECT_EQ(learned.ports, numbers.ports);
  EXPECT_TRUE(learn_numbers("garbage \"brq\" : 99999999", "\"tapx\" : jump from-0", taps).zones.empty());
}

TEST(SecgroupPlan, PortSecurityOffOrNoPortMeansNoTable) {
  auto view = host_with_web_and_db();
  for (auto& [id, p] : view.portsec) p.port_security_enabled = false;
  SgNumbers numbers;
  auto plan = plan_security(view, numbers);
  EXPECT_TRUE(plan.ports.empty());
  kernel::State host;
  add_security_tables(plan, host);
  EXPECT_TRUE(host.nft.empty());
}

TEST(SecgroupPlan, WhatTheServerSendsNeverReachesAScriptUnchecked) {
  auto view = host_with_web_and_db();
  view.portsec["port-db"].device = "tapx\" } drop";  // not the port's tap: not ours to filter
  view.portsec["port-web"].mac = "not-a-mac";
  auto evil = rule("r9", "ingress", "IPv4");
  evil.remote_group_id = "g\"; flush ruleset; \"";
  auto bad_proto = rule("r10", "ingress", "IPv4");
  bad_proto.protocol = "tcp accept";
  auto bad_prefix = rule("r11", "ingress", "IPv4");
  bad_prefix.remote_ip_prefix = "10.0.0.0/8 accept";
  view.portsec["port-ok"] = view::PortSecurity{"net-1", "tapport-ok", "fa:16:3e:00:00:08", {"10.0.0.8", "garbage"}, true,
                                               {"g-evil"}, {}};
  view.secgroups["g-evil"] = view::SecurityGroup{true, {evil, bad_proto, bad_prefix}};
  SgNumbers numbers;
  auto plan = plan_security(view, numbers);
  ASSERT_EQ(plan.ports.size(), 1u);
  EXPECT_TRUE(plan.ports.at("port-ok").rules.empty());  // none of them can match: nothing allowed
  for (const auto& text : {plan.inet.text(), plan.bridge.text()}) {
    EXPECT_EQ(text.find("flush"), std::string::npos);
    EXPECT_EQ(text.find("garbage"), std::string::npos);
    EXPECT_EQ(text.find(" accept\n    ip"), std::string::npos);
  }
}

TEST(SecgroupPlan, ProtocolsByNameAndNumberAsNeutronAcceptsThem) {
  EXPECT_EQ(protocol_number("tcp", 4), 6);
  EXPECT_EQ(protocol_number("icmp", 6), 58);
  EXPECT_EQ(protocol_number("ipv6-icmp", 6), 58);
  EXPECT_EQ(protocol_number("112", 4), 112);
  EXPECT_EQ(protocol_number("vrrp", 4), 112);
  EXPECT_FALSE(protocol_number("256", 4));
  EXPECT_FALSE(protocol_number("-1", 4));
  EXPECT_FALSE(protocol_number("tcp ", 4));
}

TEST(SecgroupPlan, ARemovedRuleCutsWhatItAllowedOnly) {
  auto view = host_with_web_and_db();
  SgNumbers numbers;
  auto before = plan_security(view, numbers);
  view.secgroups["g-db"].rules.erase(view.secgroups["g-db"].rules.begin());  // the 5432 rule from web
  auto after = plan_security(view, numbers);
  auto cuts = flows_to_cut(before, after);
  ASSERT_EQ(cuts.size(), 1u);
  const auto& m = cuts[0];
  EXPECT_EQ(m.zone, before.ports.at("port-db").zone);
  EXPECT_EQ(m.protocol, 6);
  EXPECT_EQ(m.dst_ports, (std::pair<uint16_t, uint16_t>(5432, 5433)));
  ASSERT_EQ(m.sources.size(), 2u);  // the web members
  // Every address the port may use is a destination of what it received.
  EXPECT_EQ(m.destinations.size(), 3u);  // 10.0.0.6, 10.0.0.200, 10.0.1.0/24
  // The same plan again cuts nothing.
  EXPECT_TRUE(flows_to_cut(after, plan_security(view, numbers)).empty());
}

TEST(SecgroupPlan, AMemberLeavingARemoteGroupCutsItsConnectionsOnly) {
  auto view = host_with_web_and_db();
  SgNumbers numbers;
  auto before = plan_security(view, numbers);
  view.sgmembers["g-web"].ips = {"10.0.0.5"};
  auto cuts = flows_to_cut(before, plan_security(view, numbers));
  ASSERT_EQ(cuts.size(), 1u);
  ASSERT_EQ(cuts[0].sources.size(), 1u);
  EXPECT_EQ(cuts[0].sources[0].str(), "10.0.0.7/32");
}

// A remote group's members are a plain set of addresses (an edit needs no element cache in
// libnftables) until a prefix is among them (an allowed address pair's CIDR): then an
// interval set, and the table is replaced whole for that change, not edited.
TEST(SecgroupPlan, AMemberSetIsAnIntervalSetOnlyWithAPrefixInIt) {
  auto view = host_with_web_and_db();
  SgNumbers numbers;
  auto before = plan_security(view, numbers);
  ASSERT_TRUE(before.inet.sets.count("m-g-web-4"));
  EXPECT_EQ(before.inet.sets.at("m-g-web-4").declaration, "type ipv4_addr;");
  EXPECT_EQ(before.inet.sets.at("m-g-web-4").elements, (std::set<std::string>{"10.0.0.5", "10.0.0.7"}));

  view.sgmembers["g-web"].ips.insert("10.0.0.8");
  auto joined = plan_security(view, numbers);
  EXPECT_EQ(edit_script("inet nt-sg", before.inet, joined.inet), "add element inet nt-sg m-g-web-4 { 10.0.0.8 }\n");

  view.sgmembers["g-web"].ips.insert("10.0.2.0/24");
  auto wide = plan_security(view, numbers);
  EXPECT_EQ(wide.inet.sets.at("m-g-web-4").declaration, "type ipv4_addr; flags interval;");
  EXPECT_TRUE(wide.inet.sets.at("m-g-web-4").elements.count("10.0.2.0/24"));
  EXPECT_FALSE(edit_script("inet nt-sg", joined.inet, wide.inet)) << "a declaration that changed is never edited in place";
}

// The web group lets tcp 5000 in from address group ag-1 (v4 and v6 rules).
view::HostView host_with_address_group() {
  auto view = host_with_web_and_db();
  auto api = rule("r5", "ingress", "IPv4");
  api.protocol = "tcp", api.port_range_min = 5000, api.port_range_max = 5000, api.remote_address_group_id = "ag-1";
  auto api6 = api;
  api6.id = "r6", api6.ethertype = "IPv6";
  view.secgroups["g-web"].rules.push_back(api);
  view.secgroups["g-web"].rules.push_back(api6);
  view.addrgroups["ag-1"] = view::AddressGroup{{"198.51.100.0/24", "198.51.100.9/32", "2001:db8:1::/48", "203.0.113.1/32"}};
  return view;
}

TEST(SecgroupPlan, AnAddressGroupRuleMatchesItsAddresses) {
  auto view = host_with_address_group();
  SgNumbers numbers;
  auto plan = plan_security(view, numbers);
  EXPECT_EQ(plan.ports.at("port-web").rules.size(), 4u);
  EXPECT_NE(plan.inet.text().find("meta nfproto ipv4 meta l4proto 6 th dport 5000 ip saddr @a-ag-1-4 meta mark set"),
            std::string::npos) << plan.inet.text();
  EXPECT_NE(plan.inet.text().find("meta nfproto ipv6 meta l4proto 6 th dport 5000 ip6 saddr @a-ag-1-6 meta mark set"),
            std::string::npos);
  // One set per family, overlaps merged.
  EXPECT_NE(plan.inet.text().find("set a-ag-1-4 {\n    type ipv4_addr; flags interval;\n"
                                 "    elements = { 198.51.100.0/24, 203.0.113.1 }\n  }\n"), std::string::npos) << plan.inet.text();
  EXPECT_NE(plan.inet.text().find("set a-ag-1-6 {\n    type ipv6_addr; flags interval;\n    elements = { 2001:db8:1::/48 }"),
            std::string::npos);
  // Without its entry, or with an id that is not plain, such a rule allows nothing.
  auto missing = view;
  missing.addrgroups.clear();
  EXPECT_EQ(plan_security(missing, numbers).ports.at("port-web").rules.size(), 2u);
  auto evil = view;
  for (auto& r : evil.secgroups["g-web"].rules)
    if (r.remote_address_group_id) r.remote_address_group_id = "ag\"; flush ruleset; \"";
  evil.addrgroups["ag\"; flush ruleset; \""] = view.addrgroups["ag-1"];
  evil.addrgroups["ag-1"].addresses.push_back("garbage } accept");
  auto bad = plan_security(evil, numbers);
  EXPECT_EQ(bad.ports.at("port-web").rules.size(), 2u);
  EXPECT_EQ(bad.inet.text().find("flush"), std::string::npos);
  EXPECT_EQ(bad.inet.text().find("garbage"), std::string::npos);
}

TEST(SecgroupPlan, AnAddressLeavingAnAddressGroupCutsItsConnectionsOnly) {
  auto view = host_with_address_group();
  SgNumbers numbers;
  auto before = plan_security(view, numbers);
  view.addrgroups["ag-1"].addresses = {"198.51.100.0/24", "2001:db8:1::/48"};
  auto after = plan_security(view, numbers);
  auto cuts = flows_to_cut(before, after);
  ASSERT_EQ(cuts.size(), 1u);
  EXPECT_EQ(cuts[0].zone, before.ports.at("port-web").zone);
  EXPECT_EQ(cuts[0].dst_ports, (std::pair<uint16_t, uint16_t>(5000, 5000)));
  ASSERT_EQ(cuts[0].sources.size(), 1u);
  EXPECT_EQ(cuts[0].sources[0].str(), "203.0.113.1/32");
  ASSERT_EQ(cuts[0].destinations.size(), 1u);  // the web port's 10.0.0.5
  EXPECT_TRUE(flows_to_cut(after, plan_security(view, numbers)).empty());
  // The rule removed: what it allowed from the group's addresses goes.
  std::erase_if(view.secgroups["g-web"].rules, [](const auto& r) { return r.id == "r5"; });
  cuts = flows_to_cut(after, plan_security(view, numbers));
  ASSERT_EQ(cuts.size(), 1u);
  EXPECT_EQ(cuts[0].family, 4);
  ASSERT_EQ(cuts[0].sources.size(), 1u);
  EXPECT_EQ(cuts[0].sources[0].str(), "198.51.100.0/24");
}

// An address that a wider prefix comes to cover is still allowed: its connections stay
// (the set drops the covered element, which is no loss); the prefix leaving cuts them.
TEST(SecgroupPlan, AnAddressAWiderPrefixCoversLosesNothing) {
  auto view = host_with_address_group();
  SgNumbers numbers;
  auto before = plan_security(view, numbers);
  view.addrgroups["ag-1"].addresses.push_back("203.0.113.0/24");
  auto wider = plan_security(view, numbers);
  EXPECT_NE(wider.inet.text().find("elements = { 198.51.100.0/24, 203.0.113.0/24 }"), std::string::npos) << wider.inet.text();
  EXPECT_TRUE(flows_to_cut(before, wider).empty());
  // Narrowed back to one address of it: the other 255 lost, as prefixes around it.
  view.addrgroups["ag-1"].addresses = {"198.51.100.0/24", "2001:db8:1::/48", "203.0.113.1/32"};
  auto cuts = flows_to_cut(wider, plan_security(view, numbers));
  ASSERT_EQ(cuts.size(), 1u);
  std::vector<std::string> lost;
  for (const auto& c : cuts[0].sources) lost.push_back(c.str());
  EXPECT_EQ(lost, (std::vector<std::string>{"203.0.113.0/32", "203.0.113.2/31", "203.0.113.4/30", "203.0.113.8/29",
                                            "203.0.113.16/28", "203.0.113.32/27", "203.0.113.64/26", "203.0.113.128/25"}));
  // A port that loses an address pair covering its fixed IP keeps that IP's connections.
  auto pair = view;
  pair.portsec["port-web"].allowed_address_pairs = {view::AddressPair{"10.0.0.4/30", std::nullopt}};
  auto with_pair = plan_security(pair, numbers);
  pair.portsec["port-web"].allowed_address_pairs.clear();
  std::vector<std::string> own_lost;
  for (const auto& m : flows_to_cut(with_pair, plan_security(pair, numbers)))
    for (const auto& c : m.sources) own_lost.push_back(c.str());
  std::sort(own_lost.begin(), own_lost.end());
  own_lost.erase(std::unique(own_lost.begin(), own_lost.end()), own_lost.end());
  EXPECT_EQ(own_lost, (std::vector<std::string>{"10.0.0.4/32", "10.0.0.6/31"})) << "10.0.0.5 is the port's own";
  // A member listed twice across families and prefixes is compared within its family only.
  view.sgmembers["g-web"].ips.insert("2001:db8::5");
  auto with6 = plan_security(view, numbers);
  view.sgmembers["g-web"].ips.erase("2001:db8::5");
  for (const auto& m : flows_to_cut(with6, plan_security(view, numbers))) EXPECT_EQ(m.family, 6);
}

TEST(SecgroupPlan, APortThatGoesTakesItsConnectionsButPortSecurityOffKeepsThem) {
  auto view = host_with_web_and_db();
  SgNumbers numbers;
  auto before = plan_security(view, numbers);
  auto off = view;
  off.portsec["port-db"].port_security_enabled = false;
  EXPECT_TRUE(flows_to_cut(before, plan_security(off, numbers)).empty());
  numbers = {};
  before = plan_security(view, numbers);
  view.portsec.erase("port-db");
  auto cuts = flows_to_cut(before, plan_security(view, numbers));
  ASSERT_EQ(cuts.size(), 4u);  // to and from its addresses, IPv4 and IPv6
  EXPECT_EQ(cuts[0].destinations.size(), 3u);
  EXPECT_TRUE(cuts[0].sources.empty());
}

TEST(SecgroupPlan, AStatelessPortIsNotTrackedEitherWay) {
  auto view = host_with_web_and_db();
  view.secgroups["g-db"].stateful = false;
  SgNumbers numbers;
  auto plan = plan_security(view, numbers);
  auto n = plan.ports.at("port-db").number;
  char flag[16];
  std::snprintf(flag, sizeof flag, "0x%x", n | 0x8000);
  EXPECT_NE(plan.bridge.text().find(std::string("meta mark set meta mark | ") + flag), std::string::npos);
  EXPECT_NE(plan.inet.text().find("typeof iifname . ether daddr;\n    elements = { \"brqnet-1\" . fa:16:3e:00:00:06"), std::string::npos)
      << plan.inet.text();
  // Untracked before any zone, and then no zone: a zone's conntrack template makes a later
  // notrack a no-op (the kernel's nft_notrack skips a packet that has one), and one set
  // after notrack tracks the packet again.
  EXPECT_NE(plan.inet.text().find("priority -450; policy accept;\n    meta mark & 0x8000 != 0 notrack accept\n"
                                  "    iifname . ether daddr @untracked notrack accept\n    ct zone set iifname map @zones\n"),
            std::string::npos)
      << plan.inet.text();
}

TEST(Conntrack, AMatchSelectsByZoneAddressesProtocolAndPort) {
  kernel::FlowMatch m;
  m.zone = 3, m.family = 4, m.protocol = 6, m.dst_ports = std::pair<uint16_t, uint16_t>(22, 22);
  m.destinations = {*Cidr::parse("10.0.0.6")};
  kernel::FlowTuple t{3, *IpAddress::parse("203.0.113.1"), *IpAddress::parse("10.0.0.6"), 6, 22, 0, 0};
  EXPECT_TRUE(kernel::flow_matches(m, t));
  auto other = t;
  other.zone = 4;
  EXPECT_FALSE(kernel::flow_matches(m, other));
  other = t, other.dst_port = 23;
  EXPECT_FALSE(kernel::flow_matches(m, other));
  other = t, other.dst = *IpAddress::parse("10.0.0.7");
  EXPECT_FALSE(kernel::flow_matches(m, other));
  other = t, other.protocol = 17;
  EXPECT_FALSE(kernel::flow_matches(m, other));
}

}  // namespace
}  // namespace nt::agent
