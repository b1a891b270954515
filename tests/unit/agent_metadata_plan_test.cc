// What the agent builds for DHCP and metadata from the view's dhcp entries (pure planning):
// the meta namespace with the DHCP port, its tap pinned on the host, the nt-dhcp bridge
// table, and where the metadata proxy listens and whom it knows.
#include <gtest/gtest.h>

#include "agent/metadata_plan.h"

namespace nt::agent {
namespace {

view::Dhcp vm(const std::string& tap, const std::string& ip, bool served) {
  view::Dhcp d;
  d.network_id = "net-1", d.subnet_id = "sub-1", d.device = tap, d.mac = "fa:16:3e:00:00:05", d.ip = ip, d.prefixlen = 24;
  d.addresses = {ip};
  d.device_id = "instance-" + tap, d.project_id = "proj";
  if (served) d.server_ip = "10.0.0.2", d.server_mac = "fa:16:3e:00:00:02", d.server_port = "dhcpport-1234";
  return d;
}

HostView view_with_two_vms() {
  HostView v;
  v.networks["net-1"] = view::Network{"vxlan", std::nullopt, 7, 1450, "brqnet-1"};
  v.dhcp["p1"] = vm("tapp1", "10.0.0.5", true);
  v.dhcp["p2"] = vm("tapp2", "10.0.0.6", true);
  return v;
}

TEST(MetadataPlan, TheDhcpPortLivesInAMetaNamespacePerNetwork) {
  L3Desired out;
  add_dhcp_and_metadata(view_with_two_vms(), "h1-", out);
  ASSERT_EQ(out.namespaces.count("h1-meta-net-1"), 1u);
  const auto& ns = out.namespaces.at("h1-meta-net-1").want;
  ASSERT_EQ(ns.links.count("ns-dhcpport-12"), 1u);
  EXPECT_EQ(ns.links.at("ns-dhcpport-12").mac, "fa:16:3e:00:00:02");
  EXPECT_EQ(ns.links.at("ns-dhcpport-12").mtu, 1450);
  EXPECT_TRUE(ns.addresses.count(kernel::Address{"ns-dhcpport-12", "10.0.0.2/24"}));
  EXPECT_TRUE(ns.addresses.count(kernel::Address{"ns-dhcpport-12", "169.254.169.254/32"}));
  EXPECT_TRUE(ns.neighbours.count(kernel::Neighbour{"ns-dhcpport-12", "10.0.0.6", "fa:16:3e:00:00:05"}));
  ASSERT_EQ(out.host.links.count("tapdhcpport-12"), 1u);
  EXPECT_EQ(out.host.links.at("tapdhcpport-12").peer_netns, "h1-meta-net-1");
  EXPECT_TRUE(out.host.fdb.count(kernel::Fdb{"tapdhcpport-12", "fa:16:3e:00:00:02", "", true}));
  const auto& table = out.host.nft_bodies.at("bridge nt-dhcp");
  EXPECT_NE(table.find("\"tapp1\" . 10.0.0.5, \"tapp2\" . 10.0.0.6"), std::string::npos) << table;
  EXPECT_NE(table.find("\"tapp1\" . 10.0.0.2"), std::string::npos) << table;
  EXPECT_NE(table.find("iifname @served_taps oifname != \"tap*\" udp dport 67 drop"), std::string::npos);
}

TEST(MetadataPlan, NothingServedWithoutTheDhcpPortButMetadataStillKnowsThePort) {
  HostView v = view_with_two_vms();
  v.dhcp["p1"] = vm("tapp1", "10.0.0.5", false);
  v.dhcp["p2"] = vm("tapp2", "10.0.0.6", false);
  L3Desired out;
  add_dhcp_and_metadata(v, "h1-", out);
  EXPECT_TRUE(out.namespaces.empty());
  EXPECT_EQ(out.host.nft_bodies.at("bridge nt-dhcp").find("served_taps {\n    type ifname\n  }") != std::string::npos, true);
  auto plan = metadata_plan(v, "h1-");
  EXPECT_TRUE(plan.listeners.empty());
  EXPECT_EQ(plan.identities.at({"net-1", "10.0.0.5"}).device_id, "instance-tapp1");
  // No dhcp entries at all: no table.
  L3Desired none;
  add_dhcp_and_metadata(HostView{}, "h1-", none);
  EXPECT_TRUE(none.host.nft.empty());
}

TEST(MetadataPlan, ProxyListensInMetaNamespacesAndQrouters) {
  HostView v = view_with_two_vms();
  view::Router r;
  view::RouterPort qr;
  qr.port_id = "rp", qr.device = "qr-rp", qr.tap = "taprp", qr.mac = "fa:16:3e:00:00:01", qr.network_id = "net-1";
  qr.ip = "10.0.0.1", qr.prefixlen = 24;
  r.interfaces = {qr};
  v.routers["r1"] = r;
  auto plan = metadata_plan(v, "h1-");
  ASSERT_EQ(plan.listeners.size(), 2u);
  EXPECT_EQ(plan.listeners[0].netns, "h1-meta-net-1");
  EXPECT_EQ(plan.listeners[0].address, "169.254.169.254");
  EXPECT_EQ(plan.listeners[0].port, 80);
  EXPECT_EQ(plan.listeners[0].networks.at("*"), "net-1");
  EXPECT_EQ(plan.listeners[1].netns, "h1-qrouter-r1");
  EXPECT_EQ(plan.listeners[1].port, kRouterMetadataPort);
  EXPECT_EQ(plan.listeners[1].networks.at("10.0.0.1"), "net-1");
  EXPECT_EQ(plan.identities.size(), 2u);
  EXPECT_EQ(plan.identities.at({"net-1", "10.0.0.6"}).project_id, "proj");
  EXPECT_NE(router_metadata_chain().find("redirect to :9697"), std::string::npos);
}

TEST(MetadataPlan, GarbageEntriesFromTheServerAreNotBuilt) {
  auto good = vm("tapp1", "10.0.0.5", true);
  EXPECT_TRUE(usable_dhcp_entry("p1", good));
  auto bad = [&](auto change) {
    auto d = good;
    change(d);
    return !usable_dhcp_entry("p1", d);
  };
  EXPECT_TRUE(bad([](view::Dhcp& d) { d.device = "eth0"; }));
  EXPECT_TRUE(bad([](view::Dhcp& d) { d.network_id = "../../etc"; }));
  EXPECT_TRUE(bad([](view::Dhcp& d) { d.addresses.push_back("10.0.0.9\" drop"); }));
  EXPECT_TRUE(bad([](view::Dhcp& d) { d.ip = "2001:db8::1"; }));
  EXPECT_TRUE(bad([](view::Dhcp& d) { d.prefixlen = 33; }));
  EXPECT_TRUE(bad([](view::Dhcp& d) { d.server_port = "x\"; }"; }));
  EXPECT_TRUE(bad([](view::Dhcp& d) { d.server_mac = "not-a-mac"; }));
  EXPECT_FALSE(usable_dhcp_entry("p\"1", good));
  HostView v;
  v.networks["net-1"] = view::Network{"vxlan", std::nullopt, 7, 1450, "brqnet-1"};
  v.dhcp["p1"] = good;
  v.dhcp["p1"].addresses.push_back("10.0.0.9\" drop");
  L3Desired out;
  add_dhcp_and_metadata(v, "h1-", out);
  EXPECT_EQ(out.host.nft_bodies.at("bridge nt-dhcp").find("drop\" "), std::string::npos);
  EXPECT_TRUE(out.namespaces.empty());
}

}  // namespace
}  // namespace nt::agent
