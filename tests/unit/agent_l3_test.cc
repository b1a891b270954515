// The L3 reconciler against the fake kernel: a DVR router with two subnets, SNAT next hops
// and a floating IP becomes a namespace plan; applying it converges (a second pass plans
// nothing); removing an interface or the floating IP removes exactly what they brought.
#include <gtest/gtest.h>
#include "common/names.h"

#include "agent/l2_reconciler.h"
#include "agent/l3_reconciler.h"
#include "agent/l3_runner.h"
#include "kernel/fake/fake_host.h"
#include "kernel/fake/fake_kernel.h"

namespace nt::agent {
using kernel::FakeKernel;
using kernel::Link;
using kernel::Op;

namespace {

view::RouterPort interface(const std::string& id, const std::string& net, const std::string& ip, const std::string& cidr,
                           const std::string& mac, const std::string& sg) {
  return {id, devname::qr(id), devname::tap(id), mac, net, devname::bridge(net), 1450, "sub-" + net, ip, cidr, 24, ip, sg};
}

// A port of a router outside its qrouter (sg-, qg-, fg-).
view::RouterPort outer_port(const std::string& prefix, const std::string& id, const std::string& mac, const std::string& ip,
                            std::optional<std::string> gateway) {
  return {id, devname::router_port(prefix, id), devname::tap(id), mac, "pub", devname::bridge("pub"), 1500,
          "sub-pub", ip, ip + "/24", 24, std::move(gateway), std::nullopt};
}

HostView router_view(bool with_fip, bool both_interfaces) {
  HostView v;
  view::Router r;
  r.interfaces.push_back(interface("qra000000000", "neta00000000", "192.168.10.1", "192.168.10.0/24", "fa:16:3e:00:0a:01", "192.168.10.3"));
  if (both_interfaces)
    r.interfaces.push_back(interface("qrb000000000", "netb00000000", "10.10.10.1", "10.10.10.0/24", "fa:16:3e:00:0b:01", "10.10.10.3"));
  if (with_fip) r.floating_ips.push_back({"f1", "203.0.113.50", "192.168.10.5"});
  v.arp["r1|vm5"] = view::Arp{"r1", "fa:16:3e:00:0a:05", {{"qr-qra00000000", "192.168.10.5"}}};
  r.routes.push_back({"198.51.100.0/24", "192.168.10.9"});
  r.external_network_id = "pub";
  r.enable_snat = true;
  r.dvr_mac = "fa:16:3f:00:00:01";
  v.routers["r1"] = r;
  v.networks["neta00000000"] = view::Network{"vxlan", std::nullopt, 1010, 1450, devname::bridge("neta00000000")};
  return v;
}

// What the host does for a namespace: the veth ends made from the host appear inside.
void plug_ends(FakeKernel& ns, const kernel::State& want) {
  for (const auto& [name, l] : want.links)
    if (l.peer.empty() && !ns.state().links.count(name)) ns.state().links[name] = Link{name, l.kind, "", l.mtu, false};
}

size_t converge(FakeKernel& ns, const kernel::State& want) {
  plug_ends(ns, want);
  auto ops = plan_namespace(want, ns.state());
  auto applied = ns.apply(ops);
  EXPECT_TRUE(applied) << (applied ? "" : applied.error().message);
  return ops.size();
}

}  // namespace

// The router namespaces run with IPv6 off: a VM's IPv6 address gets no permanent
// neighbour there (the kernel would refuse it and fail the namespace's batch).
TEST(L3Reconciler, NoIPv6NeighboursInRouterNamespaces) {
  auto v = router_view(false, false);
  v.arp["r1|vm5"].addresses.push_back({"qr-qra00000000", "2001:db8::5"});
  auto want = desired_l3(v, "h1-", {});
  const auto& neighbours = want.namespaces.at("h1-qrouter-r1").want.neighbours;
  EXPECT_TRUE(neighbours.count({"qr-qra00000000", "192.168.10.5", "fa:16:3e:00:0a:05"}));
  EXPECT_FALSE(neighbours.count({"qr-qra00000000", "2001:db8::5", "fa:16:3e:00:0a:05"}));
}

TEST(L3Reconciler, DvrRouterNamespaceConvergesAndCleansUp) {
  FakeKernel ns({"veth", "device"});
  ns.state().links["lo"] = Link{"lo", "device", "", 65536, false};
  auto want = desired_l3(router_view(false, true), "h1-", {});
  ASSERT_TRUE(want.namespaces.count("h1-qrouter-r1"));
  const auto& plan = want.namespaces.at("h1-qrouter-r1");
  EXPECT_EQ(plan.sysctls.at("net/ipv4/ip_forward"), "1");
  EXPECT_GT(converge(ns, plan.want), 5u);
  EXPECT_EQ(plan_namespace(plan.want, ns.state()).size(), 0u);  // a second pass: nothing
  EXPECT_TRUE(ns.state().addresses.count({"qr-qra00000000", "192.168.10.1/24"}));
  EXPECT_TRUE(ns.state().neighbours.count({"qr-qra00000000", "192.168.10.5", "fa:16:3e:00:0a:05"}));
  // Non-local traffic of each subnet goes to its sg- address, after the main table.
  size_t snat_rules = 0;
  for (const auto& r : ns.state().rules) snat_rules += r.priority == 40000;
  EXPECT_EQ(snat_rules, 2u);
  EXPECT_TRUE(ns.state().nft.count("ip nt-router"));
  // Extra routes leave through the qr- port whose subnet holds the next hop.
  EXPECT_TRUE(ns.state().routes.count({254, "198.51.100.0/24", "192.168.10.9", "qr-qra00000000"}));
  // The host pins both gateway MACs, sticky, and gets its bridge table.
  EXPECT_EQ(want.host.fdb.size(), 2u);
  EXPECT_TRUE(want.host.fdb.begin()->sticky);
  EXPECT_TRUE(want.host.nft.count("bridge nt-dvr"));
  EXPECT_NE(want.host.nft_bodies.at("bridge nt-dvr").find("ether saddr set fa:16:3f:00:00:01"), std::string::npos);

  // One interface goes: its link, address, rule and route go; nothing else changes.
  auto fewer = desired_l3(router_view(false, false), "h1-", {}).namespaces.at("h1-qrouter-r1").want;
  auto ops = plan_namespace(fewer, ns.state());
  ASSERT_TRUE(ns.apply(ops));
  EXPECT_FALSE(ns.state().links.count("qr-qrb00000000"));
  EXPECT_EQ(ns.state().rules.size(), 1u);
  EXPECT_EQ(plan_namespace(fewer, ns.state()).size(), 0u);
}

TEST(L3Reconciler, FloatingIpsGetALinkLocalPairRulesAndNat) {
  auto view = router_view(true, true);
  auto rfp = allocate_link_local(view, {});
  ASSERT_EQ(rfp.at("r1"), 0);
  EXPECT_EQ(link_local_pair(0), (std::pair<std::string, std::string>{"169.254.64.0", "169.254.64.1"}));
  EXPECT_EQ(link_local_pair(129).first, "169.254.65.2");
  // Kept across passes and restarts; a new router takes the lowest free pair.
  EXPECT_EQ(allocate_link_local(view, {{"r1", 7}}).at("r1"), 7);

  auto want = desired_l3(view, "", rfp);
  const auto& r = want.namespaces.at("qrouter-r1").want;
  EXPECT_EQ(r.links.at("rfp-r1").peer, "fpr-r1");
  EXPECT_EQ(r.links.at("rfp-r1").peer_netns, "fip-pub");
  EXPECT_TRUE(r.addresses.count({"rfp-r1", "203.0.113.50/32"}));
  EXPECT_TRUE(r.rules.count({32768, "192.168.10.5/32", 16}));
  EXPECT_NE(r.nft_bodies.at("ip nt-router").find("dnat to 192.168.10.5"), std::string::npos);
  const auto& fip = want.namespaces.at("fip-pub").want;
  EXPECT_TRUE(fip.routes.count({254, "203.0.113.50/32", "169.254.64.0", "fpr-r1"}));
  // No fip entry with an fg- port in the view yet: the agent asks the server for one.
  EXPECT_TRUE(want.missing_fip_gateways.empty());
  view.fips["pub"] = view::Fip{"pub", devname::bridge("pub"), 1500, std::nullopt, {}};
  EXPECT_EQ(desired_l3(view, "", rfp).missing_fip_gateways, std::set<std::string>{"pub"});
}

// No ICMP redirects from any router namespace (qrouter, snat, fip), as Neutron sets it: the
// kernel sends one when all OR the interface allows it, so all, default and every interface
// of the converged namespace (the fake kernel's links, the veth ends made from the host
// included) are set to 0.
namespace {
HostView full_router_view() {
  auto view = router_view(true, true);
  view::Snat snat;
  snat.active = true;
  snat.internal_cidrs = {"192.168.10.0/24"};
  snat.sg.push_back(outer_port("sg-", "sga000000000", "fa:16:3e:00:0a:03", "192.168.10.3", std::nullopt));
  snat.qg = outer_port("qg-", "qga000000000", "fa:16:3e:00:0c:02", "203.0.113.20", "203.0.113.1");
  view.snat["r1"] = snat;
  view.fips["pub"] = view::Fip{"pub", devname::bridge("pub"), 1500,
                               outer_port("fg-", "fga000000000", "fa:16:3e:00:0c:09", "203.0.113.30", "203.0.113.1"), {}};
  return view;
}

// One agent pass as Agent::reconcile runs it: L3 namespaces and veths, L2, then the rest.
size_t agent_pass(kernel::FakeHost& host, L3Runner& l3, const HostView& view) {
  L2Settings l2;
  l2.local_ip = "198.51.100.11";
  auto actual = host.root().read();
  size_t changes = l3.before_l2(view, *actual);
  actual = host.root().read();
  auto ops = plan_l2(view, *actual, l2);
  auto applied = host.root().apply(ops);
  EXPECT_TRUE(applied) << (applied ? "" : applied.error().message);
  actual = host.root().read();
  return changes + ops.size() + l3.after_l2(*actual);
}
}  // namespace

TEST(L3Reconciler, RouterNamespacesSendNoRedirectsOnAnyInterface) {
  auto view = full_router_view();
  auto want = desired_l3(view, "h1-", allocate_link_local(view, {}));
  for (const char* name : {"h1-qrouter-r1", "h1-snat-r1", "h1-fip-pub"}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(want.namespaces.count(name));
    const auto& plan = want.namespaces.at(name);
    FakeKernel ns({"veth", "device"});
    ns.state().links["lo"] = Link{"lo", "device", "", 65536, false};
    converge(ns, plan.want);
    EXPECT_GE(ns.state().links.size(), 3u);  // lo and at least two ports
    EXPECT_EQ(plan.sysctls.at("net/ipv4/ip_forward"), "1");
    EXPECT_EQ(plan.sysctls.at("net/ipv4/conf/all/send_redirects"), "0");
    EXPECT_EQ(plan.sysctls.at("net/ipv4/conf/default/send_redirects"), "0");
    for (const auto& [dev, link] : ns.state().links) {
      auto key = "net/ipv4/conf/" + dev + "/send_redirects";
      ASSERT_TRUE(plan.sysctls.count(key)) << key;
      EXPECT_EQ(plan.sysctls.at(key), "0") << key;
    }
  }
  EXPECT_TRUE(want.namespaces.at("h1-qrouter-r1").sysctls.count("net/ipv4/conf/qr-qrb00000000/send_redirects"));
  EXPECT_TRUE(want.namespaces.at("h1-qrouter-r1").sysctls.count("net/ipv4/conf/rfp-r1/send_redirects"));
  EXPECT_TRUE(want.namespaces.at("h1-snat-r1").sysctls.count("net/ipv4/conf/sg-sga00000000/send_redirects"));
  EXPECT_TRUE(want.namespaces.at("h1-fip-pub").sysctls.count("net/ipv4/conf/fpr-r1/send_redirects"));
  // The fip namespace keeps its proxy ARP settings beside them.
  EXPECT_EQ(want.namespaces.at("h1-fip-pub").sysctls.at("net/ipv4/conf/fg-fga00000000/proxy_arp"), "1");
}

// The whole L3 pass on the fake host (namespaces, veths across them, sysctls, gratuitous
// ARP): it converges, a second pass changes nothing, and what leaves the view goes.
TEST(L3Runner, ConvergesOnTheFakeHostAndCleansUp) {
  kernel::FakeHost host;
  L3Runner l3("h1-", host, false);
  auto view = full_router_view();
  EXPECT_GT(agent_pass(host, l3, view), 0u);
  EXPECT_FALSE(l3.take_failed());
  for (const char* ns : {"h1-qrouter-r1", "h1-snat-r1", "h1-fip-pub"}) {
    SCOPED_TRACE(ns);
    ASSERT_TRUE(host.namespace_exists(ns));
    EXPECT_EQ(host.sysctls(ns)["net/ipv4/conf/all/send_redirects"], "0");
    EXPECT_EQ(host.sysctls(ns)["net/ipv4/ip_forward"], "1");
  }
  EXPECT_TRUE(host.kernel("h1-qrouter-r1").state().links.count("qr-qra00000000"));
  EXPECT_TRUE(host.kernel("h1-qrouter-r1").state().links.count("rfp-r1"));
  EXPECT_TRUE(host.kernel("h1-fip-pub").state().links.count("fpr-r1"));
  EXPECT_EQ(agent_pass(host, l3, view), 0u) << "a second pass must change nothing";
  EXPECT_FALSE(l3.take_failed());

  view.snat.erase("r1");
  agent_pass(host, l3, view);
  EXPECT_FALSE(host.namespace_exists("h1-snat-r1"));
  EXPECT_TRUE(host.namespace_exists("h1-qrouter-r1"));
  agent_pass(host, l3, HostView{});
  EXPECT_TRUE(host.namespaces("h1-").empty());
}

TEST(L3Reconciler, NamespacesAreOursByPrefix) {
  EXPECT_TRUE(l3_namespace("nt-cmp1-qrouter-r1", "nt-cmp1-"));
  EXPECT_TRUE(l3_namespace("snat-r1", ""));
  EXPECT_FALSE(l3_namespace("nt-cmp1", "nt-cmp1-"));
  EXPECT_FALSE(l3_namespace("nt-cmp2-qrouter-r1", "nt-cmp1-"));
}

// Port forwardings are realised on the active gateway only: the floating IP on the qg-
// port and one DNAT rule per forwarding (ports kept for equal ranges, one internal port
// for many external ones, port by port for shifted ranges); whatever does not read as an
// IPv4 address, a protocol with ports or a valid port range never reaches nftables.
TEST(L3Reconciler, PortForwardingsDnatOnTheActiveGatewayOnly) {
  auto view = full_router_view();
  auto& snat = view.snat["r1"];
  snat.port_forwardings = {{"203.0.113.60", "tcp", "192.168.10.5", 2222, 2222, 22, 22},
                           {"203.0.113.60", "udp", "192.168.10.5", 3000, 3010, 3000, 3010},
                           {"203.0.113.60", "tcp", "192.168.10.5", 4100, 4110, 80, 80},
                           {"203.0.113.60", "tcp", "192.168.10.6", 5000, 5001, 6000, 6001},
                           {"203.0.113.61\" ; flush ruleset", "tcp", "192.168.10.5", 1, 1, 1, 1},
                           {"203.0.113.62", "gre", "192.168.10.5", 1, 1, 1, 1},
                           {"203.0.113.63", "tcp", "192.168.10.5", 10, 9, 10, 9}};
  auto ns = devname::snat_ns("nt-", "r1");
  auto desired = desired_l3(view, "nt-", {});
  const auto& want = desired.namespaces.at(ns).want;
  const auto& body = want.nft_bodies.at("ip nt-snat");
  EXPECT_NE(body.find("ip daddr 203.0.113.60 meta l4proto tcp th dport 2222 dnat to 192.168.10.5:22\n"), std::string::npos) << body;
  EXPECT_NE(body.find("ip daddr 203.0.113.60 meta l4proto udp th dport 3000-3010 dnat to 192.168.10.5\n"), std::string::npos) << body;
  EXPECT_NE(body.find("ip daddr 203.0.113.60 meta l4proto tcp th dport 4100-4110 dnat to 192.168.10.5:80\n"), std::string::npos) << body;
  EXPECT_NE(body.find("th dport 5001 dnat to 192.168.10.6:6001\n"), std::string::npos) << body;
  EXPECT_EQ(body.find("flush"), std::string::npos) << body;
  EXPECT_EQ(body.find("203.0.113.62"), std::string::npos) << body;
  EXPECT_EQ(body.find("203.0.113.63"), std::string::npos) << body;
  auto qg = devname::router_port("qg-", "qga000000000");
  EXPECT_TRUE(want.addresses.count(kernel::Address{qg, "203.0.113.60/32"}));
  EXPECT_FALSE(want.addresses.count(kernel::Address{qg, "203.0.113.62/32"}));

  snat.active = false;  // a standby gateway keeps neither the address nor the rules
  auto standby = desired_l3(view, "nt-", {});
  const auto& cold = standby.namespaces.at(ns).want;
  EXPECT_EQ(cold.nft_bodies.at("ip nt-snat").find("dnat"), std::string::npos);
  EXPECT_FALSE(cold.addresses.count(kernel::Address{qg, "203.0.113.60/32"}));
}

}  // namespace nt::agent
