// neutrino trace, computed (src/planner/trace.cc) on a small world fed to the planner, and
// the agent's answer to a probe (src/agent/probe.cc) on a kernel state.
#include <gtest/gtest.h>

#include "agent/probe.h"
#include "planner/planner.h"
#include "planner/trace.h"

namespace nt {
namespace {
namespace json = boost::json;

json::object port(const std::string& net, const std::string& ip, const std::string& mac, const std::string& host,
                  const std::string& vif = "bridge") {
  return json::object{{"network_id", net},
                      {"mac_address", mac},
                      {"device_owner", "compute:nova"},
                      {"device_id", "vm"},
                      {"binding:host_id", host},
                      {"binding:vif_type", vif},
                      {"fixed_ips", json::array{json::object{{"subnet_id", "sub1"}, {"ip_address", ip}}}},
                      {"security_groups", json::array{"sg1"}}};
}

struct World {
  Planner p;
  World() {
    p.apply("hosts", "h1", json::object{{"local_ip", "192.0.2.1"}});
    p.apply("hosts", "h2", json::object{{"local_ip", "192.0.2.2"}});
    p.apply("networks", "net1", json::object{{"provider:network_type", "vxlan"}, {"provider:segmentation_id", 77}, {"mtu", 1450}});
    p.apply("subnets", "sub1", json::object{{"network_id", "net1"}, {"cidr", "10.0.0.0/24"}, {"gateway_ip", "10.0.0.1"}, {"ip_version", 4}});
    p.apply("security_groups", "sg1", json::object{{"name", "sg1"}});
    p.apply("security_group_rules", "r-out",
            json::object{{"security_group_id", "sg1"}, {"direction", "egress"}, {"ethertype", "IPv4"}});
    p.apply("security_group_rules", "r-ssh",
            json::object{{"security_group_id", "sg1"}, {"direction", "ingress"}, {"ethertype", "IPv4"}, {"protocol", "tcp"},
                         {"port_range_min", 22}, {"port_range_max", 22}});
    p.apply("ports", "pa", port("net1", "10.0.0.10", "fa:16:3e:00:00:0a", "h1"));
    p.apply("ports", "pb", port("net1", "10.0.0.11", "fa:16:3e:00:00:0b", "h1"));
    p.apply("ports", "pc", port("net1", "10.0.0.12", "fa:16:3e:00:00:0c", "h2"));
    p.apply("ports", "pf", port("net1", "10.0.0.13", "fa:16:3e:00:00:0d", "h9", "binding_failed"));
  }
  planner::Trace run(const std::string& from, const std::string& to, const std::string& proto = "tcp",
                     std::optional<int64_t> dst_port = 22) {
    auto t = planner::trace(p, planner::TraceQuery{from, to, proto, dst_port, std::nullopt});
    EXPECT_TRUE(t.has_value());
    return t ? *t : planner::Trace{};
  }
};

std::vector<std::string> whats(const planner::Trace& t) {
  std::vector<std::string> out;
  for (const auto& h : t.hops) out.push_back(h.what);
  return out;
}

TEST(PlannerTrace, SameHostIsTheBridge) {
  World w;
  auto t = w.run("pa", "10.0.0.11");
  EXPECT_EQ(t.result, "delivered");
  EXPECT_EQ(whats(t), (std::vector<std::string>{"port", "secgroup", "bridge", "bridge", "secgroup", "deliver"}));
  EXPECT_EQ(t.hops[4].attrs.at("rule"), "r-ssh");
}

TEST(PlannerTrace, OtherHostIsTheTunnelWithItsFdbEntry) {
  World w;
  auto t = w.run("pa", "10.0.0.12");
  EXPECT_EQ(t.result, "delivered");
  const auto& vx = t.hops[3];
  ASSERT_EQ(vx.what, "vxlan");
  EXPECT_EQ(vx.attrs.at("vni"), "77");
  EXPECT_EQ(vx.attrs.at("remote_vtep"), "192.0.2.2");
  EXPECT_EQ(vx.attrs.at("remote_host"), "h2");
  ASSERT_TRUE(vx.check);
  EXPECT_EQ(vx.check->kind, "fdb");
  EXPECT_EQ(vx.check->dev, "vxlan-77");
  EXPECT_EQ(vx.check->mac, "fa:16:3e:00:00:0c");
  EXPECT_EQ(vx.check->dst, "192.0.2.2");
  EXPECT_EQ(t.hops.back().host, "h2");
}

TEST(PlannerTrace, NoMatchingRuleIsTheDefaultDrop) {
  World w;
  auto t = w.run("pa", "10.0.0.12", "tcp", 80);
  EXPECT_EQ(t.result, "dropped: ingress security group default drop on h2");
  EXPECT_EQ(t.hops.back().attrs.at("verdict"), "drop");
}

TEST(PlannerTrace, FailedBindingIsOneHop) {
  World w;
  auto t = w.run("pf", "10.0.0.10");
  EXPECT_EQ(whats(t), std::vector<std::string>{"binding"});
  EXPECT_EQ(t.hops[0].attrs.at("vif_type"), "binding_failed");
  EXPECT_TRUE(t.result.starts_with("unbound: binding failed on host h9"));
}

TEST(PlannerTrace, NoPortWithTheAddress) {
  World w;
  auto t = w.run("pa", "10.0.0.99");
  EXPECT_EQ(t.result, "unreachable: no port has 10.0.0.99 on network net1 and no router serves 10.0.0.10");
}

TEST(PlannerTrace, ExtraRouteToItsNextHop) {
  World w;
  w.p.apply("hosts", "h1", json::object{{"local_ip", "192.0.2.1"}, {"dvr_mac", "fa:16:3f:00:00:01"}});
  w.p.apply("routers", "r1", json::object{{"external_gateway_info", nullptr},
                                          {"routes", json::array{json::object{{"destination", "172.16.0.0/16"},
                                                                              {"nexthop", "10.0.0.12"}}}}});
  auto iface = port("net1", "10.0.0.1", "fa:16:3e:00:00:01", "");
  iface["device_owner"] = "network:router_interface_distributed";
  iface["device_id"] = "r1";
  w.p.apply("ports", "ri", iface);
  auto t = w.run("pa", "172.16.3.4", "tcp", 22);
  std::vector<std::string> routes;
  for (const auto& h : t.hops)
    if (h.what == "route") routes.push_back(h.attrs.at("route"));
  EXPECT_EQ(routes, std::vector<std::string>{"172.16.0.0/16"}) << t.result;
  EXPECT_EQ(t.result, "delivered");
  EXPECT_EQ(t.hops.back().attrs.at("port"), "pc");
}

TEST(PlannerTrace, BadQueries) {
  World w;
  EXPECT_EQ(planner::trace(w.p, {"nope", "10.0.0.1"}).error().code, Errc::not_found);
  EXPECT_EQ(planner::trace(w.p, {"pa", "10.0.0"}).error().code, Errc::invalid_argument);
  EXPECT_EQ(planner::trace(w.p, {"pa", "::1"}).error().code, Errc::invalid_argument);
}

TEST(AgentProbe, ChecksWhatTheKernelHas) {
  kernel::State s;
  s.links["vxlan-77"] = kernel::Link{"vxlan-77", "vxlan"};
  s.fdb.insert(kernel::Fdb{"vxlan-77", "fa:16:3e:00:00:0c", "192.0.2.2"});
  s.neighbours.insert(kernel::Neighbour{"vxlan-77", "10.0.0.12", "fa:16:3e:00:00:0c"});
  s.routes.insert(kernel::Route{101, "0.0.0.0/0", "10.0.0.5", "qr-x"});
  view::ProbeCheck fdb{"fdb", "", "vxlan-77", "fa:16:3e:00:00:0c", "", "192.0.2.2"};
  EXPECT_EQ(agent::check_entry(s, "", fdb), "ok");
  fdb.dst = "192.0.2.3";
  EXPECT_EQ(agent::check_entry(s, "", fdb),
            "different: fdb fa:16:3e:00:00:0c dev vxlan-77 dst 192.0.2.2 (expected dst 192.0.2.3)");
  fdb.mac = "fa:16:3e:00:00:0e";
  EXPECT_EQ(agent::check_entry(s, "", fdb), "missing: fdb fa:16:3e:00:00:0e dev vxlan-77 dst 192.0.2.3");
  view::ProbeCheck neigh{"neigh", "", "vxlan-77", "fa:16:3e:00:00:0d", "10.0.0.12"};
  EXPECT_EQ(agent::check_entry(s, "", neigh), "different: neighbour 10.0.0.12 lladdr fa:16:3e:00:00:0c dev vxlan-77");
  view::ProbeCheck route{"route", "", "qr-x", "", "", "0.0.0.0/0", "10.0.0.5", "", 0};
  EXPECT_EQ(agent::check_entry(s, "", route), "ok");
  route.table = 16;
  EXPECT_EQ(agent::check_entry(s, "", route), "missing: route 0.0.0.0/0 via 10.0.0.5 dev qr-x table 16");
  view::ProbeCheck nft{"nft", "", "", "", "", "ip nt-snat", "", "snat to 203.0.113.5"};
  EXPECT_EQ(agent::check_entry(s, "", nft), "missing: table ip nt-snat");
  s.nft["ip nt-snat"] = "0123456789abcdef";
  EXPECT_EQ(agent::check_entry(s, "", nft), "unknown: cannot list table ip nt-snat");  // never "ok" unread
  EXPECT_EQ(agent::check_entry(s, "table ip nt-snat {\n  ip saddr 10.0.0.0/24 snat to 203.0.113.5\n}", nft), "ok");
  EXPECT_EQ(agent::check_entry(s, "table ip nt-snat {\n}", nft), "missing: \"snat to 203.0.113.5\" in table ip nt-snat");
  EXPECT_EQ(agent::check_entry(s, "", view::ProbeCheck{"bogus"}), "unknown: this agent cannot check a bogus entry");
  EXPECT_FALSE(agent::read_probe(R"({"op":"put","kind":"port","id":"probe"})"));
  auto p = agent::read_probe(R"({"op":"probe","probe":{"id":"7","checks":[]}})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id, "7");
}

}  // namespace
}  // namespace nt
