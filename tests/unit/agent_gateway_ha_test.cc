// Gateway HA decided on the host from BFD (agent/gateway_ha.h): which gateway a host uses,
// which sessions it keeps, and the view it realises.
#include <gtest/gtest.h>

#include "agent/gateway_ha.h"
#include "agent/l2_reconciler.h"
#include "common/names.h"

namespace nt::agent {
namespace {

constexpr const char* kCmp = "192.0.2.10";
constexpr const char* kGw1 = "192.0.2.21";
constexpr const char* kGw2 = "192.0.2.22";
constexpr const char* kGw3 = "192.0.2.23";

// A compute's view: a VM on net1, the router's sg- port behind gw1 (gw2, gw3 standby).
view::HostView compute_view() {
  view::HostView v;
  v.networks["net1"] = view::Network{"vxlan", std::nullopt, 100, 1450, "brqnet1"};
  for (const auto* gw : {kGw1, kGw2, kGw3}) v.flood[std::string("net1|") + gw] = view::Flood{"net1", gw};
  v.ports["vm1"] = view::Port{"net1", "fa:16:3e:00:00:01", {"10.0.0.5"}, "tapvm1", true, 1450, true};
  v.l2pop["sg1"] = view::L2pop{"net1", "fa:16:3e:00:00:99", {"10.0.0.3"}, kGw1, {kGw1, kGw2, kGw3}};
  return v;
}

// A gateway host's view of the same router: its snat entry and (standby) the sg- port's l2pop.
view::HostView gateway_view(const std::string& bound_vtep) {
  view::HostView v;
  v.networks["net1"] = view::Network{"vxlan", std::nullopt, 100, 1450, "brqnet1"};
  v.flood["net1|cmp"] = view::Flood{"net1", kCmp};
  view::Snat sn;
  sn.active = bound_vtep == kGw2;
  sn.gateways = {kGw1, kGw2, kGw3};
  view::RouterPort sg;
  sg.network_id = "net1";
  sn.sg.push_back(sg);
  v.snat["r1"] = sn;
  v.l2pop["vm1"] = view::L2pop{"net1", "fa:16:3e:00:00:01", {"10.0.0.5"}, kCmp, {}};
  if (bound_vtep != kGw2) v.l2pop["sg1"] = view::L2pop{"net1", "fa:16:3e:00:00:99", {"10.0.0.3"}, kGw1, {kGw1, kGw2, kGw3}};
  return v;
}

TEST(GatewayHa, TheFirstCandidateNotSeenFailedIsUsed) {
  std::vector<std::string> order = {kGw1, kGw2, kGw3};
  EXPECT_EQ(choose_gateway(order, kCmp, {}), kGw1);
  EXPECT_EQ(choose_gateway(order, kCmp, {{kGw1}, false}), kGw2);
  EXPECT_EQ(choose_gateway(order, kCmp, {{kGw1, kGw2, kGw3}, false}), "");
  // A gateway counts itself alive unless it is isolated.
  EXPECT_EQ(choose_gateway(order, kGw2, {{kGw1}, false}), kGw2);
  EXPECT_EQ(choose_gateway(order, kGw2, {{kGw1, kGw3, kCmp}, true}), "");
}

TEST(GatewayHa, PeersAreTheGatewaysForAComputeAndEveryHostOfItsNetworksForAGateway) {
  EXPECT_EQ(bfd_peers(compute_view(), kCmp), (std::vector<std::string>{kGw1, kGw2, kGw3}));
  EXPECT_EQ(bfd_peers(gateway_view(kGw1), kGw2), (std::vector<std::string>{kCmp, kGw1, kGw3}));
  EXPECT_TRUE(bfd_peers(view::HostView{}, kCmp).empty());
}

TEST(GatewayHa, AnIdleHostWhoseViewAgreesWithTheServerCopiesNothing) {
  view::HostView out;
  std::map<std::string, std::string> roles;
  EXPECT_FALSE(apply_gateway_roles(compute_view(), kCmp, {}, {}, out, roles));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(apply_gateway_roles(gateway_view(kGw1), kGw2, {}, {}, out, roles));
  EXPECT_EQ(roles.at("r1"), "standby");
}

TEST(GatewayHa, AComputeRepointsTheSnatPortToTheNextGatewayAlone) {
  view::HostView out;
  std::map<std::string, std::string> roles;
  ASSERT_TRUE(apply_gateway_roles(compute_view(), kCmp, {{kGw1}, false}, {}, out, roles));
  EXPECT_EQ(out.l2pop.at("sg1").vtep, kGw2);
  // What L2 then programs: the sg- MAC behind gw2's VTEP.
  L2Settings s;
  s.local_ip = kCmp;
  auto want = desired_l2(out, {}, s);
  EXPECT_TRUE(want.fdb.count(kernel::Fdb{"vxlan-100", "fa:16:3e:00:00:99", kGw2}));
  EXPECT_FALSE(want.fdb.count(kernel::Fdb{"vxlan-100", "fa:16:3e:00:00:99", kGw1}));
}

TEST(GatewayHa, AStandbyTakesOverWhenEveryHigherGatewayFailedAndDropsTheRemoteEntry) {
  view::HostView out;
  std::map<std::string, std::string> roles;
  ASSERT_TRUE(apply_gateway_roles(gateway_view(kGw1), kGw2, {{kGw1}, false}, {}, out, roles));
  EXPECT_EQ(roles.at("r1"), "active");
  EXPECT_TRUE(out.snat.at("r1").active);
  EXPECT_FALSE(out.l2pop.count("sg1"));  // its own warm port has the MAC now
  EXPECT_TRUE(out.l2pop.count("vm1"));
  // gw3 stays standby: gw2 is alive from its view.
  ASSERT_FALSE(apply_gateway_roles(gateway_view(kGw1), kGw3, {{kGw1}, false}, {}, out, roles) &&
               out.snat.at("r1").active);
}

TEST(GatewayHa, AnIsolatedGatewayIsNeverActiveEvenFirstInOrder) {
  view::HostView out;
  std::map<std::string, std::string> roles;
  auto v = gateway_view(kGw2);
  v.snat.at("r1").gateways = {kGw2, kGw1, kGw3};
  ASSERT_TRUE(apply_gateway_roles(v, kGw2, {{kGw1, kGw3, kCmp}, true}, {}, out, roles));
  EXPECT_EQ(roles.at("r1"), "standby");
  EXPECT_FALSE(out.snat.at("r1").active);
}

TEST(GatewayHa, APartitionBetweenGatewaysMakesNoSecondActive) {
  // gw2 lost gw1, but the compute (up from gw2) still sees gw1 up: gw1 is only cut off
  // from gw2, which stays standby; the compute itself keeps its own view.
  Liveness live{{kGw1}, false, {kGw1}};
  view::HostView out;
  std::map<std::string, std::string> roles;
  EXPECT_FALSE(apply_gateway_roles(gateway_view(kGw1), kGw2, live, {}, out, roles));
  EXPECT_EQ(roles.at("r1"), "standby");
  EXPECT_EQ(choose_gateway({kGw1, kGw2, kGw3}, kCmp, live), kGw2);
  // Once nobody vouches for gw1 any more, gw2 takes over.
  ASSERT_TRUE(apply_gateway_roles(gateway_view(kGw1), kGw2, {{kGw1}, false, {}}, {}, out, roles));
  EXPECT_EQ(roles.at("r1"), "active");
}

TEST(GatewayHa, AHostJustBackFromIsolationTakesNoNewActiveRoleDuringItsHoldDown) {
  Liveness live{{kGw1}, false, {}, true};
  view::HostView out;
  std::map<std::string, std::string> roles;
  apply_gateway_roles(gateway_view(kGw1), kGw2, live, {{"r1", "standby"}}, out, roles);
  EXPECT_EQ(roles.at("r1"), "standby");
  // One that holds the role keeps it; after the hold-down the standby may take it.
  apply_gateway_roles(gateway_view(kGw1), kGw2, live, {{"r1", "active"}}, out, roles);
  EXPECT_EQ(roles.at("r1"), "active");
  live.settling = false;
  apply_gateway_roles(gateway_view(kGw1), kGw2, live, {{"r1", "standby"}}, out, roles);
  EXPECT_EQ(roles.at("r1"), "active");
}

TEST(GatewayHa, TheManagementDeviceCarriesOneFdbEntryPerPeer) {
  L2Settings s;
  s.local_ip = kCmp;
  s.bfd_vni = 16777215;
  s.bfd_peers = {kGw1, kGw2};
  auto want = desired_l2(view::HostView{}, {}, s);
  const auto& dev = want.links.at(std::string(devname::kBfdDevice));
  EXPECT_EQ(dev.kind, "vxlan");
  EXPECT_EQ(dev.vni, 16777215u);
  EXPECT_EQ(dev.mac, "02:bf:c0:00:02:0a");
  EXPECT_TRUE(dev.master.empty());
  EXPECT_TRUE(want.fdb.count(kernel::Fdb{std::string(devname::kBfdDevice), "02:bf:c0:00:02:15", kGw1}));
  EXPECT_EQ(want.fdb.size(), 2u);
  EXPECT_EQ(devname::bfd_mac("2001:db8::1"), "");
  EXPECT_EQ(devname::bfd_mac("300.1.1.1"), "");
}

}  // namespace
}  // namespace nt::agent
