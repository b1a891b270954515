// The L2 reconciler against the fake kernel: create, idempotence, update, delete, adopt,
// a crash mid-batch then convergence, and kernels without a feature.
#include <gtest/gtest.h>

#include "agent/l2_reconciler.h"
#include "common/names.h"
#include "kernel/fake/fake_kernel.h"
#include "kernel/netlink_kernel.h"
#include "kernel/netns.h"

#include <unistd.h>

namespace nt::agent {
namespace json = boost::json;
using kernel::FakeKernel;
using kernel::Link;

namespace {

const std::string kNet = "1234567890ab-net";
const std::string kBridge = devname::bridge(kNet);

view::Network network(const std::string& type = "vxlan") {
  return {type, type == "vxlan" ? std::nullopt : std::optional<std::string>("physnet1"),
          type == "flat" ? std::nullopt : std::optional<int64_t>(123), 1450, kBridge};
}

HostView view_with_remote_port() {
  HostView v;
  v.networks[kNet] = network();
  v.flood[kNet + "|h2"] = view::Flood{kNet, "192.0.2.2"};
  v.ports["p1"] = view::Port{kNet, "fa:16:3e:00:00:01", {}, devname::tap("p1"), true, 1450};  // "tapp1"
  v.l2pop["p2"] = view::L2pop{kNet, "fa:16:3e:00:00:02", {"10.0.0.2"}, "192.0.2.2"};
  return v;
}

L2Settings settings() { return L2Settings{"192.0.2.1", {{"physnet1", "eth1"}}}; }

Status reconcile(FakeKernel& k, const HostView& v, const L2Settings& s = settings()) {
  auto actual = k.read();
  return k.apply(plan_l2(v, *actual, s));
}

}  // namespace

TEST(L2Reconciler, BuildsBridgeVxlanAndL2pop) {
  FakeKernel k;
  k.state().links["tapp1"] = Link{"tapp1", "tap"};
  ASSERT_TRUE(reconcile(k, view_with_remote_port()));
  const auto& s = k.state();
  ASSERT_TRUE(s.links.count(kBridge));
  const auto& vx = s.links.at("vxlan-123");
  EXPECT_EQ(vx.master, kBridge);
  EXPECT_EQ(vx.vni, 123u);
  EXPECT_FALSE(vx.learning);
  EXPECT_TRUE(vx.proxy);
  EXPECT_FALSE(vx.port_learning);
  EXPECT_EQ(vx.mtu, 1450);
  EXPECT_EQ(s.links.at("tapp1").master, kBridge);
  EXPECT_TRUE(s.fdb.count({"vxlan-123", "fa:16:3e:00:00:02", "192.0.2.2"}));
  EXPECT_TRUE(s.fdb.count({"vxlan-123", "fa:16:3e:00:00:02", ""}));
  EXPECT_TRUE(s.fdb.count({"vxlan-123", "00:00:00:00:00:00", "192.0.2.2"}));
  EXPECT_TRUE(s.neighbours.count({"vxlan-123", "10.0.0.2", "fa:16:3e:00:00:02"}));
}

// A remote port with allowed address pairs: ARP on its network crosses the tunnels (the
// VXLAN device is remade without proxy: the kernel cannot change the flag).
TEST(L2Reconciler, ARemotePortWithOtherAddressesLetsArpCrossTheTunnels) {
  FakeKernel k;
  auto v = view_with_remote_port();
  ASSERT_TRUE(reconcile(k, v));
  ASSERT_TRUE(k.state().links.at("vxlan-123").proxy);
  v.l2pop["p2"].other_addresses = true;
  auto actual = k.read();
  auto ops = plan_l2(v, *actual, settings());
  ASSERT_TRUE(k.apply(ops));
  EXPECT_FALSE(k.state().links.at("vxlan-123").proxy);
  EXPECT_TRUE(k.state().fdb.count({"vxlan-123", "fa:16:3e:00:00:02", "192.0.2.2"})) << "entries back on the new device";
  EXPECT_TRUE(reconcile(k, v));
  actual = k.read();
  EXPECT_TRUE(plan_l2(v, *actual, settings()).empty());
  v.l2pop["p2"].other_addresses = false;
  ASSERT_TRUE(reconcile(k, v));
  EXPECT_FALSE(k.state().links.at("vxlan-123").proxy) << "off stays off: the device is not remade";
}

// The holder's own host too: its replies must not be swallowed by its own VXLAN device.
// Once off, ARP suppression is not turned back on (that would remake the device).
TEST(L2Reconciler, ALocalPortWithOtherAddressesLetsArpCrossAndItStaysSo) {
  FakeKernel k;
  auto v = view_with_remote_port();
  v.portsec["p1"] = view::PortSecurity{kNet, "tapp1", "fa:16:3e:00:00:01", {"10.0.0.1"}, true, {}, {{"10.0.0.200", std::nullopt}}};
  ASSERT_TRUE(reconcile(k, v));
  EXPECT_FALSE(k.state().links.at("vxlan-123").proxy);
  v.portsec["p1"].allowed_address_pairs.clear();
  auto actual = k.read();
  EXPECT_TRUE(plan_l2(v, *actual, settings()).empty()) << "not remade to answer ARP again";
  EXPECT_TRUE(reconcile(k, HostView{}));
  ASSERT_TRUE(reconcile(k, v));
  EXPECT_TRUE(k.state().links.at("vxlan-123").proxy) << "a new device answers ARP";
}

TEST(L2Reconciler, IPv6NeighboursOnlyWhereTheHostHasIPv6) {
  auto view = view_with_remote_port();
  view.l2pop["p2"].fixed_ips.push_back("2001:db8::2");
  FakeKernel with, without;
  with.state().links["tapp1"] = without.state().links["tapp1"] = Link{"tapp1", "tap"};
  auto no_v6 = settings();
  no_v6.ipv6 = false;
  ASSERT_TRUE(reconcile(with, view));
  ASSERT_TRUE(reconcile(without, view, no_v6));
  EXPECT_TRUE(with.state().neighbours.count({"vxlan-123", "2001:db8::2", "fa:16:3e:00:00:02"}));
  // The link-local address the port's MAC gives it (EUI-64), which the device's ND proxy
  // would otherwise swallow.
  EXPECT_TRUE(with.state().neighbours.count({"vxlan-123", "fe80::f816:3eff:fe00:2", "fa:16:3e:00:00:02"}));
  // A dual-stack network on a host without IPv6: the IPv4 entries, and a pass that succeeds.
  EXPECT_FALSE(without.state().neighbours.count({"vxlan-123", "2001:db8::2", "fa:16:3e:00:00:02"}));
  EXPECT_FALSE(without.state().neighbours.count({"vxlan-123", "fe80::f816:3eff:fe00:2", "fa:16:3e:00:00:02"}));
  EXPECT_TRUE(without.state().neighbours.count({"vxlan-123", "10.0.0.2", "fa:16:3e:00:00:02"}));
}

// Below an MTU of 1280 a device has no IPv6: no IPv6 entries there, even on a host with IPv6.
TEST(L2Reconciler, NoIPv6NeighboursOnANetworkBelowIPv6sMinimumMtu) {
  auto view = view_with_remote_port();
  view.networks[kNet].mtu = 1200;
  view.l2pop["p2"].fixed_ips.push_back("2001:db8::2");
  FakeKernel k;
  ASSERT_TRUE(reconcile(k, view));
  EXPECT_TRUE(k.state().neighbours.count({"vxlan-123", "10.0.0.2", "fa:16:3e:00:00:02"}));
  EXPECT_FALSE(k.state().neighbours.count({"vxlan-123", "2001:db8::2", "fa:16:3e:00:00:02"}));
  EXPECT_FALSE(k.state().neighbours.count({"vxlan-123", "fe80::f816:3eff:fe00:2", "fa:16:3e:00:00:02"}));
}

TEST(L2Reconciler, AWithheldPortIsNotPlugged) {
  FakeKernel k;
  k.state().links["tapp1"] = Link{"tapp1", "tap"};
  auto actual = k.read();
  ASSERT_TRUE(k.apply(plan_l2(view_with_remote_port(), *actual, settings(), {"p1"})));
  EXPECT_TRUE(k.state().links.at("tapp1").master.empty());
  EXPECT_TRUE(k.state().links.count(kBridge));
}

TEST(L2Reconciler, SecondPassChangesNothing) {
  FakeKernel k;
  k.state().links["tapp1"] = Link{"tapp1", "tap"};
  ASSERT_TRUE(reconcile(k, view_with_remote_port()));
  auto actual = k.read();
  EXPECT_TRUE(plan_l2(view_with_remote_port(), *actual, settings()).empty());
}

TEST(L2Reconciler, RemovedRemotePortTakesItsEntries) {
  FakeKernel k;
  ASSERT_TRUE(reconcile(k, view_with_remote_port()));
  auto v = view_with_remote_port();
  v.l2pop.erase("p2");
  v.flood.clear();  // the other host left the network
  ASSERT_TRUE(reconcile(k, v));
  EXPECT_TRUE(k.state().fdb.empty());
  EXPECT_TRUE(k.state().neighbours.empty());
  EXPECT_TRUE(k.state().links.count("vxlan-123"));
}

TEST(L2Reconciler, DeletedNetworkRemovesOnlyWhatTheAgentOwns) {
  FakeKernel k;
  k.state().links["tapp1"] = Link{"tapp1", "tap"};
  k.state().links["eth0"] = Link{"eth0", "dummy", "", 1500, true};
  ASSERT_TRUE(reconcile(k, view_with_remote_port()));
  ASSERT_TRUE(reconcile(k, HostView{}));
  EXPECT_FALSE(k.state().links.count(kBridge));
  EXPECT_FALSE(k.state().links.count("vxlan-123"));
  EXPECT_TRUE(k.state().links.count("tapp1"));  // Nova's tap stays, detached
  EXPECT_EQ(k.state().links.at("tapp1").master, "");
  EXPECT_TRUE(k.state().links.count("eth0"));
}

TEST(L2Reconciler, AdoptsExistingObjectsAndRemovesStaleOwnedOnes) {
  FakeKernel built;
  ASSERT_TRUE(reconcile(built, view_with_remote_port()));
  FakeKernel k;
  k.state() = built.state();  // as left by a previous agent run
  k.state().links["brqdeadbeef000"] = Link{"brqdeadbeef000", "bridge", "", 1500, true};
  k.state().fdb.insert({"vxlan-123", "fa:16:3e:00:00:99", "192.0.2.9"});
  ASSERT_TRUE(reconcile(k, view_with_remote_port()));
  EXPECT_EQ(k.applied(), 2u);  // exactly: delete the stale bridge and the stale entry
  EXPECT_FALSE(k.state().links.count("brqdeadbeef000"));
  EXPECT_EQ(k.state().links, built.state().links);
  EXPECT_EQ(k.state().fdb, built.state().fdb);
}

TEST(L2Reconciler, CrashMidBatchThenConverges) {
  FakeKernel reference;
  ASSERT_TRUE(reconcile(reference, view_with_remote_port()));
  for (size_t crash_at = 0; crash_at < 6; ++crash_at) {
    FakeKernel k;
    k.fail_after(crash_at);
    EXPECT_FALSE(reconcile(k, view_with_remote_port()));
    k.fail_after(1000);
    ASSERT_TRUE(reconcile(k, view_with_remote_port())) << crash_at;
    EXPECT_EQ(k.state().links, reference.state().links);
    EXPECT_EQ(k.state().fdb, reference.state().fdb);
    EXPECT_EQ(k.state().neighbours, reference.state().neighbours);
  }
}

TEST(L2Reconciler, FlatNetworksBridgeTheMappedInterface) {
  FakeKernel k;
  k.state().links["eth1"] = Link{"eth1", "dummy", "", 1500, false};
  HostView v;
  v.networks[kNet] = network("flat");
  ASSERT_TRUE(reconcile(k, v));
  EXPECT_EQ(k.state().links.at("eth1").master, kBridge);
  EXPECT_TRUE(k.state().links.at("eth1").up);
}

TEST(L2Reconciler, MissingKernelFeatureIsAClearError) {
  FakeKernel k({"bridge", "vxlan", "tap"});  // built without 8021q
  HostView v;
  v.networks[kNet] = network("vlan");
  auto r = reconcile(k, v);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_implemented);
  EXPECT_NE(r.error().message.find("add link eth1.123 (vlan)"), std::string::npos);
  EXPECT_NE(r.error().message.find("Operation not supported"), std::string::npos);
}

TEST(L2Reconciler, VlanNetworksGetASubinterfaceOfTheMappedInterface) {
  FakeKernel k({"bridge", "vxlan", "vlan", "tap", "dummy"});
  k.state().links["eth1"] = Link{"eth1", "dummy", "", 1500, true};
  HostView v;
  v.networks[kNet] = network("vlan");
  ASSERT_TRUE(reconcile(k, v));
  const auto& vlan = k.state().links.at("eth1.123");
  EXPECT_EQ(vlan.kind, "vlan");
  EXPECT_EQ(vlan.parent, "eth1");
  EXPECT_EQ(vlan.vni, 123u);
  EXPECT_EQ(vlan.master, kBridge);
  EXPECT_EQ(k.applied(), 2u);
  ASSERT_TRUE(reconcile(k, v));  // idempotent
  EXPECT_EQ(k.applied(), 2u);
  // The network goes: its subinterface and bridge go, the physical interface stays.
  ASSERT_TRUE(reconcile(k, HostView{}));
  EXPECT_FALSE(k.state().links.count("eth1.123"));
  EXPECT_FALSE(k.state().links.count(kBridge));
  EXPECT_TRUE(k.state().links.count("eth1"));
}

TEST(L2Reconciler, UnsupportedNetworkTypesDoNotHoldUpTheOthers) {
  FakeKernel k({"bridge", "vxlan", "tap"});  // no 8021q
  auto v = view_with_remote_port();
  v.networks["vlan-net-000000"] = network("vlan");
  auto s = settings();
  s.unsupported_types["vlan"] = "this kernel has no vlan link type (module 8021q)";
  ASSERT_TRUE(reconcile(k, v, s));
  EXPECT_TRUE(k.state().links.count("vxlan-123"));
  EXPECT_FALSE(k.state().links.count("eth1.123"));
}

TEST(Kernel, ErrnoMapsToCodesInOnePlace) {
  EXPECT_EQ(kernel::from_errno(EEXIST, "x").code, Errc::conflict);
  EXPECT_EQ(kernel::from_errno(ENODEV, "x").code, Errc::not_found);
  EXPECT_EQ(kernel::from_errno(EPERM, "x").code, Errc::forbidden);
  EXPECT_EQ(kernel::from_errno(ENODEV, "x").sys_errno, ENODEV);
  FakeKernel k;
  auto dup = k.apply({kernel::Op{kernel::Op::add_link, Link{"brqx", "bridge"}, {}, {}},
                      kernel::Op{kernel::Op::add_link, Link{"brqx", "bridge"}, {}, {}}});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().sys_errno, EEXIST);
  auto orphan = k.apply({kernel::Op{kernel::Op::add_fdb, {}, {"nodev", "fa:16:3e:00:00:01", ""}, {}}});
  EXPECT_EQ(orphan.error().sys_errno, ENODEV);
}

}  // namespace nt::agent

namespace nt::agent {

// On the real kernel, in a namespace of its own with IPv6 on: a remote port's IPv6 and
// link-local neighbours are made on the VXLAN device and read back, so the next pass has
// nothing to do (before, an IPv6 address was parsed as IPv4 and failed the whole batch,
// and IPv6 neighbours were never read back).
TEST(L2ReconcilerOnTheKernel, IPv6NeighboursAreMadeAndReadBack) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
  std::string ns = "nt-l2v6-" + std::to_string(::getpid());
  ASSERT_TRUE(kernel::create_namespace(ns));
  auto view = view_with_remote_port();
  view.l2pop["p2"].fixed_ips.push_back("2001:db8::2");
  std::vector<kernel::Op> second;
  kernel::State after;
  auto run = kernel::run_in_namespace(ns, [&]() -> Status {
    if (auto e = kernel::write_sysctl("net/ipv6/conf/default/disable_ipv6", "0"); !e) return e;
    NT_ASSIGN(auto k, kernel::open_netlink_kernel());
    NT_ASSIGN(auto before, k->read());
    if (auto e = k->apply(plan_l2(view, before, settings())); !e) return e;
    NT_ASSIGN(after, k->read());
    second = plan_l2(view, after, settings());
    return {};
  });
  (void)kernel::delete_namespace(ns);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_TRUE(after.neighbours.count({"vxlan-123", "10.0.0.2", "fa:16:3e:00:00:02"}));
  EXPECT_TRUE(after.neighbours.count({"vxlan-123", "2001:db8::2", "fa:16:3e:00:00:02"}));
  EXPECT_TRUE(after.neighbours.count({"vxlan-123", "fe80::f816:3eff:fe00:2", "fa:16:3e:00:00:02"}));
  EXPECT_TRUE(second.empty()) << second.size() << " operations on the second pass, the first: " << second.front().describe();
}

// A pass reads back only what it changed: after entry operations the FDB and neighbours
// (by the interface names of the last full read), after a table edit the tables. What they
// read is what a full read finds; an entry on an interface made since the last full read
// (a VM's tap plugged meanwhile) makes it read the whole host, links included.
TEST(L2ReconcilerOnTheKernel, PartialRereadsSeeWhatAFullReadSees) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
  std::string ns = "nt-l2rr-" + std::to_string(::getpid());
  ASSERT_TRUE(kernel::create_namespace(ns));
  auto view = view_with_remote_port();
  kernel::State partial, full, after_new_link;
  auto run = kernel::run_in_namespace(ns, [&]() -> Status {
    NT_ASSIGN(auto k, kernel::open_netlink_kernel());
    NT_ASSIGN(auto state, k->read());
    NT_TRY(k->apply(plan_l2(view, state, settings())));  // the bridge, the tunnel, their entries
    NT_ASSIGN(state, k->read());
    // A second remote port: entry operations only.
    view.l2pop["p3"] = view::L2pop{kNet, "fa:16:3e:00:00:03", {"10.0.0.3"}, "192.0.2.3"};
    auto entries = plan_l2(view, state, settings());
    if (entries.empty()) return nt::unexpected(Error{Errc::internal, "no entry operations planned"});
    for (const auto& op : entries)
      if (op.kind != kernel::Op::add_fdb && op.kind != kernel::Op::add_neigh)
        return nt::unexpected(Error{Errc::internal, "not an entry operation: " + op.describe()});
    NT_TRY(k->apply(entries));
    NT_TRY(k->apply({kernel::Op{kernel::Op::put_nft, {}, {}, {}, {}, {}, {}, "inet nt-rr", "  chain c {\n  }\n", "d1"}}));
    partial = state;
    NT_TRY(k->reread_neighbours(partial));
    NT_TRY(k->reread_nft(partial));
    NT_ASSIGN(full, k->read());
    // A link made behind the reader's back: up, it has entries (its multicast addresses).
    Link dummy{"nt-brnew", "bridge"};
    dummy.up = true;
    NT_TRY(k->apply({kernel::Op{kernel::Op::add_link, dummy, {}, {}}}));
    after_new_link = partial;
    return k->reread_neighbours(after_new_link);
  });
  (void)kernel::delete_namespace(ns);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_TRUE(partial.fdb.count({kernel::Fdb{"vxlan-123", "fa:16:3e:00:00:03", "192.0.2.3"}}));
  EXPECT_TRUE(partial.neighbours.count({"vxlan-123", "10.0.0.3", "fa:16:3e:00:00:03"}));
  EXPECT_EQ(partial.fdb, full.fdb);
  EXPECT_EQ(partial.neighbours, full.neighbours);
  EXPECT_EQ(partial.nft, full.nft);
  EXPECT_EQ(partial.nft.count("inet nt-rr"), 1u);
  EXPECT_EQ(partial.links.size(), full.links.size());
  EXPECT_TRUE(after_new_link.links.count("nt-brnew")) << "an entry on a new link reads the whole host";
}

}  // namespace nt::agent
