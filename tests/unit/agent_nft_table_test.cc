// Security tables changed in place (issue 14): the edit commands between two versions of a
// table (pure), the agent's pass on the fake host (an idle pass changes nothing, a rule is
// one in-place edit, a restarted agent adopts its tables), and, as root, the real nftables:
// a table edited step by step through a random walk of views holds exactly what a table
// created whole from the same view holds.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <random>

#include "agent/l3_runner.h"
#include "agent/nft_table.h"
#include "agent/secgroup_plan.h"
#include "kernel/fake/fake_host.h"
#include "kernel/fake/fake_kernel.h"

namespace nt::agent {
namespace {

NftTable small_table() {
  NftTable t;
  t.sets["ports"] = NftSet{true, "type ifname : verdict;", {"\"tap1\" : jump p-1", "\"tap2\" : jump p-2"}};
  t.sets["m-4"] = NftSet{false, "type ipv4_addr; flags interval;", {"10.0.0.1", "10.0.1.0/24"}};
  t.chains["forward"] = "    type filter hook forward priority 0; policy accept;\n    iifname vmap @ports\n";
  t.chains["p-1"] = "    ip saddr @m-4 accept\n";
  t.chains["p-2"] = "    drop\n";
  return t;
}

TEST(NftTable, EqualTablesNeedNoCommands) {
  EXPECT_EQ(edit_script("inet t", small_table(), small_table()), std::string());
}

TEST(NftTable, AMemberIsOneElementAndAPortItsElementAndChain) {
  auto from = small_table(), to = small_table();
  to.sets["m-4"].elements.erase("10.0.0.1");
  to.sets["m-4"].elements.insert("10.0.0.9");
  EXPECT_EQ(*edit_script("inet t", from, to),
            "delete element inet t m-4 { 10.0.0.1 }\nadd element inet t m-4 { 10.0.0.9 }\n");

  to = small_table();
  to.sets["ports"].elements.erase("\"tap2\" : jump p-2");
  to.chains.erase("p-2");
  to.sets["ports"].elements.insert("\"tap3\" : jump p-3");
  to.chains["p-3"] = "    accept\n";
  // Made before it is referred to; unreferred (the map's element, by its key) before it goes.
  EXPECT_EQ(*edit_script("inet t", from, to),
            "add chain inet t p-3\n"
            "delete element inet t ports { \"tap2\" }\nadd element inet t ports { \"tap3\" : jump p-3 }\n"
            "table inet t {\n  chain p-3 {\n    accept\n  }\n}\n"
            "flush chain inet t p-2\ndelete chain inet t p-2\n");
}

TEST(NftTable, AChangedChainIsFlushedAndRefilledAndANewSetComesFirst) {
  auto from = small_table(), to = small_table();
  to.sets["m-6"] = NftSet{false, "type ipv6_addr; flags interval;", {"2001:db8::1"}};
  to.chains["p-1"] = "    ip6 saddr @m-6 accept\n";
  to.sets.erase("m-4");
  EXPECT_EQ(*edit_script("inet t", from, to),
            "add set inet t m-6 { type ipv6_addr; flags interval; }\nadd element inet t m-6 { 2001:db8::1 }\n"
            "flush chain inet t p-1\ntable inet t {\n  chain p-1 {\n    ip6 saddr @m-6 accept\n  }\n}\n"
            "delete set inet t m-4\n");
}

TEST(NftTable, HooksAndDeclarationsAreOnlyEverReplacedWhole) {
  auto from = small_table(), to = small_table();
  to.chains["forward"] += "    drop\n";
  EXPECT_FALSE(edit_script("inet t", from, to));
  to = small_table();
  to.sets["m-4"].declaration = "type ipv4_addr;";
  EXPECT_FALSE(edit_script("inet t", from, to));
  to = small_table();
  to.chains.erase("forward");
  EXPECT_FALSE(edit_script("inet t", from, to));
}

view::SecurityGroupRule tcp_rule(const std::string& id, int port, std::optional<std::string> remote_group = {}) {
  view::SecurityGroupRule r;
  r.id = id, r.direction = "ingress", r.ethertype = "IPv4", r.protocol = "tcp";
  r.port_range_min = r.port_range_max = port;
  r.remote_group_id = std::move(remote_group);
  return r;
}

view::HostView two_ports() {
  view::HostView v;
  v.networks["net-1"] = view::Network{"vxlan", std::nullopt, 7, 1450, "brqnet-1"};
  v.portsec["port-a"] = view::PortSecurity{"net-1", "tapport-a", "fa:16:3e:00:00:0a", {"10.0.0.10"}, true, {"g-1"}, {}};
  v.portsec["port-b"] = view::PortSecurity{"net-1", "tapport-b", "fa:16:3e:00:00:0b", {"10.0.0.11"}, true, {"g-1"}, {}};
  v.secgroups["g-1"] = view::SecurityGroup{true, {tcp_rule("r1", 22, "g-1")}};
  v.sgmembers["g-1"] = view::GroupMembers{{"10.0.0.10", "10.0.0.11"}};
  return v;
}

size_t pass(kernel::FakeHost& host, L3Runner& l3, const view::HostView& view) {
  auto actual = host.root().read();
  return l3.before_l2(view, *actual);
}

TEST(SecurityPass, IdlePassesDoNothingAndARuleIsOneEditInPlace) {
  kernel::FakeHost host;
  auto& log = host.kernel("").nft_log;
  L3Runner l3("h1-", host, false);
  auto view = two_ports();
  EXPECT_GT(pass(host, l3, view), 0u);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].kind, kernel::Op::put_nft);
  EXPECT_EQ(pass(host, l3, view), 0u);
  EXPECT_EQ(pass(host, l3, view), 0u);
  EXPECT_EQ(log.size(), 2u);

  view.secgroups["g-1"].rules.push_back(tcp_rule("r2", 80));
  EXPECT_EQ(pass(host, l3, view), 1u);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[2].kind, kernel::Op::edit_nft);
  EXPECT_EQ(log[2].nft_table, "inet nt-sg");
  EXPECT_NE(log[2].nft_body.find("flush chain inet nt-sg g-g-1-i\n"), std::string::npos) << log[2].nft_body;
  EXPECT_EQ(log[2].nft_body.find("egress-"), std::string::npos) << "no port chain is touched";

  view.sgmembers["g-1"].ips.insert("10.0.0.12");  // a member elsewhere: one element
  EXPECT_EQ(pass(host, l3, view), 1u);
  ASSERT_EQ(log.size(), 4u);
  EXPECT_NE(log[3].nft_body.find("add element inet nt-sg m-g-1-4 { 10.0.0.12 }\n"), std::string::npos) << log[3].nft_body;
  EXPECT_EQ(log[3].nft_body.find("chain"), log[3].nft_body.find("chain inet nt-sg digest-")) << log[3].nft_body;
}

TEST(SecurityPass, ARestartedAgentAdoptsItsTablesAndATableReplacedBehindItsBackIsReplacedWhole) {
  kernel::FakeHost host;
  auto& log = host.kernel("").nft_log;
  auto view = two_ports();
  {
    L3Runner first("h1-", host, false);
    pass(host, first, view);
  }
  L3Runner second("h1-", host, false);
  EXPECT_EQ(pass(host, second, view), 0u);
  EXPECT_EQ(log.size(), 2u);

  host.kernel("").state().nft["inet nt-sg"] = "someone-elses";
  EXPECT_EQ(pass(host, second, view), 1u);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[2].kind, kernel::Op::put_nft);
}

TEST(SecurityPass, AFailedEditIsFollowedByAWholeReplacement) {
  kernel::FakeHost host;
  auto& log = host.kernel("").nft_log;
  L3Runner l3("h1-", host, false);
  auto view = two_ports();
  pass(host, l3, view);
  view.secgroups["g-1"].rules.push_back(tcp_rule("r2", 80));
  host.kernel("").fail_after(0);
  pass(host, l3, view);
  EXPECT_TRUE(l3.take_failed());
  host.kernel("").fail_after(1000000);
  EXPECT_EQ(pass(host, l3, view), 1u);
  EXPECT_EQ(log.back().kind, kernel::Op::put_nft);
  EXPECT_EQ(pass(host, l3, view), 0u);
}

// The listing a restarted agent read once is what the table held then: after an edit and a
// failed edit, a view back at the first version must not adopt the table (it holds the edit).
TEST(SecurityPass, AStartupListingIsNeverUsedAfterTheFirstPass) {
  kernel::FakeHost host;
  auto& log = host.kernel("").nft_log;
  auto v1 = two_ports();
  {
    L3Runner first("h1-", host, false);
    pass(host, first, v1);
  }
  L3Runner l3("h1-", host, false);
  EXPECT_EQ(pass(host, l3, v1), 0u);  // adopted
  auto v2 = v1;
  v2.secgroups["g-1"].rules.push_back(tcp_rule("r2", 80));
  EXPECT_EQ(pass(host, l3, v2), 1u);
  auto v3 = v2;
  v3.secgroups["g-1"].rules.push_back(tcp_rule("r3", 443));
  host.kernel("").fail_after(0);
  pass(host, l3, v3);
  host.kernel("").fail_after(1000000);
  ASSERT_TRUE(l3.take_failed());
  auto before = log.size();
  EXPECT_EQ(pass(host, l3, v1), 1u);  // the kernel holds v2: replaced whole, not adopted
  ASSERT_EQ(log.size(), before + 1);
  EXPECT_EQ(log.back().kind, kernel::Op::put_nft);
  EXPECT_EQ(log.back().nft_body.find("th dport 80 "), std::string::npos);
}

// ---- The real nftables (root): edited step by step == created whole. ----

std::string run(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    if (::pclose(p) != 0) return "FAILED: " + command + "\n" + out;
  }
  return out;
}

std::string nft_file(const std::string& ns, const std::string& script) {
  auto path = "/tmp/" + ns + ".nft";
  std::ofstream(path) << script;
  return run("ip netns exec " + ns + " nft -f " + path + " 2>&1");
}

// A table's contents by name, as nftables reports them (JSON): each set's sorted elements,
// each chain's rules in order; handles and the table's comment left out.
std::map<std::string, std::string> contents(const std::string& ns, const std::string& table) {
  auto text = run("ip netns exec " + ns + " nft -j list table " + table);
  std::map<std::string, std::string> out;
  boost::system::error_code ec;
  auto doc = boost::json::parse(text, ec);
  if (ec) return {{"error", text}};
  for (const auto& item : doc.at("nftables").as_array()) {
    const auto& obj = item.as_object();
    for (const char* kind : {"set", "map"})
      if (obj.contains(kind)) {
        auto s = obj.at(kind).as_object();
        std::vector<std::string> elems;
        if (s.contains("elem"))
          for (const auto& e : s.at("elem").as_array()) elems.push_back(boost::json::serialize(e));
        std::sort(elems.begin(), elems.end());
        s.erase("elem"), s.erase("handle");
        auto& slot = out[std::string(kind) + " " + std::string(s.at("name").as_string())];
        slot = boost::json::serialize(s);
        for (const auto& e : elems) slot += "\n" + e;
      }
    if (obj.contains("rule")) {
      auto r = obj.at("rule").as_object();
      out["chain " + std::string(r.at("chain").as_string())] += boost::json::serialize(r.at("expr")) + "\n";
    }
    if (obj.contains("chain")) out["chain " + std::string(obj.at("chain").as_object().at("name").as_string())] += "";
  }
  return out;
}

// A random view: ports coming and going, groups' rules and members changing (addresses and
// overlapping prefixes, merged by the plan), a group turning stateless.
void mutate(view::HostView& v, std::mt19937& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  auto port = "port-" + std::to_string(pick(6));
  auto group = "g-" + std::to_string(pick(3));
  switch (pick(5)) {
    case 0:
      if (v.portsec.erase(port) == 0)
        v.portsec[port] = view::PortSecurity{"net-" + std::to_string(pick(2)), "tap" + port, "fa:16:3e:00:01:0" + port.substr(5),
                                             {"10.0." + std::to_string(pick(2)) + "." + std::to_string(10 + pick(20))}, true,
                                             {group}, {}};
      break;
    case 1: v.secgroups[group].rules.push_back(tcp_rule("r" + std::to_string(rng() % 1000), 1 + pick(100), "g-" + std::to_string(pick(3)))); break;
    case 2:
      if (!v.secgroups[group].rules.empty()) v.secgroups[group].rules.erase(v.secgroups[group].rules.begin() + pick(static_cast<int>(v.secgroups[group].rules.size())));
      break;
    case 3: {
      static const char* pool[] = {"10.0.0.1", "10.0.0.2", "10.0.0.0/30", "10.0.0.0/29", "10.0.1.0/24", "10.0.0.3"};
      auto& ips = v.sgmembers[group].ips;
      std::string ip = pool[pick(6)];
      if (auto it = std::find(ips.begin(), ips.end(), ip); it != ips.end()) ips.erase(it);
      else ips.insert(ip);
      break;
    }
    default: v.secgroups[group].stateful = !v.secgroups[group].stateful;
  }
}

TEST(SecurityPassOnTheKernel, TablesEditedStepByStepHoldWhatTablesCreatedWholeHold) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
  auto edited = "nt-nftedit-" + std::to_string(::getpid()), whole = "nt-nftwhole-" + std::to_string(::getpid());
  ASSERT_EQ(run("ip netns add " + edited + " && ip netns add " + whole), "");
  std::mt19937 rng(14);
  view::HostView v;
  v.networks["net-0"] = view::Network{"vxlan", std::nullopt, 7, 1450, "brqnet-0"};
  v.networks["net-1"] = view::Network{"vxlan", std::nullopt, 8, 1450, "brqnet-1"};
  for (int g = 0; g < 3; ++g) v.secgroups["g-" + std::to_string(g)] = view::SecurityGroup{true, {}};
  SgNumbers numbers;
  SecurityPlan before;
  int edits = 0;
  for (int step = 0; step < 80 && !HasFailure(); ++step) {
    mutate(v, rng);
    auto plan = plan_security(v, numbers);
    for (auto [name, from, to] : {std::tuple{"inet nt-sg", &before.inet, &plan.inet}, {"bridge nt-sg", &before.bridge, &plan.bridge}}) {
      SCOPED_TRACE("step " + std::to_string(step) + " " + name);
      std::string table = name;
      (void)run("ip netns exec " + whole + " nft delete table " + table + " 2>/dev/null");
      if (!to->empty()) {
        EXPECT_EQ(nft_file(whole, "table " + table + " {\n" + to->text() + "}\n"), "");
      }
      auto script = from->empty() || to->empty() ? std::nullopt : edit_script(table, *from, *to);
      if (script) {
        ++edits;
        EXPECT_EQ(nft_file(edited, *script), "") << *script;
      } else {
        (void)run("ip netns exec " + edited + " nft delete table " + table + " 2>/dev/null");
        if (!to->empty()) {
          EXPECT_EQ(nft_file(edited, "table " + table + " {\n" + to->text() + "}\n"), "");
        }
      }
      if (!to->empty()) {
        EXPECT_EQ(contents(edited, table), contents(whole, table));
      }
    }
    before = plan;
  }
  EXPECT_GT(edits, 60);
  (void)run("ip netns del " + edited + "; ip netns del " + whole + "; rm -f /tmp/" + edited + ".nft /tmp/" + whole + ".nft");
}

}  // namespace
}  // namespace nt::agent
