// Security groups on the real kernel (issue 14), in a namespace of its own (nt-bench-sg-<pid>,
// removed at the end; needs root): a host with 500 filtered ports on 10 networks, 50 groups
// of 40 rules (2,000 rules; a quarter name a remote group), every port in two groups.
//  - full apply: plan the tables from the view and load them (bridge nt-sg, inet nt-sg);
//  - idle pass: the agent's pass (L3Runner) with the same view: read, nothing to do;
//  - one rule added -> enforced: the view changes, the agent's pass plans and changes the
//    table in place (the nft transaction returned), 100 times; p50/p99 as counters.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "agent/l3_reconciler.h"
#include "agent/l3_runner.h"
#include "agent/secgroup_plan.h"
#include "kernel/host.h"
#include "kernel/netlink_kernel.h"
#include "bench_netns.h"

namespace {
using nt::agent::SgNumbers;
constexpr int kPorts = 500, kGroups = 50, kRulesPerGroup = 40, kNetworks = 10;
const std::vector<std::string> kTables{"bridge nt-sg", "inet nt-sg"};

std::string group_id(int g) {
  char id[40];
  std::snprintf(id, sizeof id, "group%03d-0000-4000-8000-000000000000", g);
  return id;
}

nt::view::SecurityGroupRule make_rule(int g, int r) {
  nt::view::SecurityGroupRule rule;
  rule.id = group_id(g) + "-" + std::to_string(r);
  rule.direction = r % 4 == 3 ? "egress" : "ingress";
  rule.ethertype = r % 10 == 9 ? "IPv6" : "IPv4";
  if (r % 3 == 0) rule.protocol = "tcp", rule.port_range_min = 1000 + r, rule.port_range_max = 1000 + r + (r % 5);
  else if (r % 3 == 1) rule.protocol = "udp", rule.port_range_min = 2000 + r, rule.port_range_max = 2000 + r;
  else rule.protocol = "icmp", rule.port_range_min = 8;
  if (r % 4 == 0) rule.remote_group_id = group_id((g + r) % kGroups);
  else if (r % 4 == 1 && rule.ethertype == "IPv4") rule.remote_ip_prefix = "198.51." + std::to_string(r) + ".0/24";
  return rule;
}

nt::view::HostView host_view() {
  nt::view::HostView v;
  for (int n = 0; n < kNetworks; ++n) {
    auto id = "net" + std::to_string(n) + "-0000-4000-8000-000000000000";
    v.networks[id] = nt::view::Network{"vxlan", std::nullopt, 100 + n, 1450, "brqnet" + std::to_string(n) + "-0000"};
  }
  std::map<std::string, std::vector<std::string>> members;
  for (int p = 0; p < kPorts; ++p) {
    char id[40], mac[18];
    std::snprintf(id, sizeof id, "port%04d-0000-4000-8000-000000000000", p);
    std::snprintf(mac, sizeof mac, "fa:16:3e:00:%02x:%02x", p >> 8, p & 0xff);
    auto ip = "10." + std::to_string(p % kNetworks) + "." + std::to_string(p / 250) + "." + std::to_string(1 + p % 250);
    std::vector<std::string> groups{group_id(p % kGroups), group_id((p + 7) % kGroups)};
    for (const auto& g : groups) members[g].push_back(ip);
    auto net = "net" + std::to_string(p % kNetworks) + "-0000-4000-8000-000000000000";
    v.portsec[id] = nt::view::PortSecurity{net, "tap" + std::string(id).substr(0, 11), mac, {ip}, true, groups, {}};
  }
  for (int g = 0; g < kGroups; ++g) {
    auto& group = v.secgroups[group_id(g)];
    for (int r = 0; r < kRulesPerGroup; ++r) group.rules.push_back(make_rule(g, r));
    v.sgmembers[group_id(g)].ips = {members[group_id(g)].begin(), members[group_id(g)].end()};
  }
  return v;
}

// One pass of the agent's L3 side on this namespace (no routers in the view: the security
// tables only), as the agent runs it: read, plan (unless the view is the same), compare, apply.
// Returns the changes made.
nt::Result<size_t> pass(nt::kernel::Host& host, nt::agent::L3Runner& l3, const nt::view::HostView& view) {
  NT_ASSIGN(auto actual, host.root().read());
  return l3.before_l2(view, actual);
}

std::unique_ptr<nt::kernel::Host> open_host() {
  auto k = nt::kernel::open_netlink_kernel();
  if (!k) {
    std::cerr << k.error().message << "\n";
    std::exit(1);
  }
  return nt::kernel::open_netlink_host(std::move(*k));
}

void remove_tables(nt::kernel::Kernel& k) {
  std::vector<nt::kernel::Op> ops;
  for (const auto& t : kTables) {
    nt::kernel::Op op{nt::kernel::Op::del_nft, {}, {}, {}};
    op.nft_table = t;
    ops.push_back(op);
  }
  (void)k.apply(ops);
}

// The planning alone (view -> the two tables' text), no kernel.
void BM_Plan500Ports2000Rules(benchmark::State& state) {
  auto view = host_view();
  size_t bytes = 0;
  for (auto _ : state) {
    SgNumbers numbers;
    auto plan = nt::agent::plan_security(view, numbers);
    bytes = plan.inet.text().size() + plan.bridge.text().size();
  }
  state.counters["table_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Plan500Ports2000Rules)->Unit(benchmark::kMillisecond)->Iterations(3)->Repetitions(3);

// Reading the kernel alone with the tables in place (links, routes, ..., nftables digests).
void BM_Read500Ports2000Rules(benchmark::State& state) {
  auto view = host_view();
  auto host = open_host();
  nt::agent::L3Runner l3("nt-bsg-", *host, false);
  if (auto first = pass(*host, l3, view); !first) return state.SkipWithError(first.error().message.c_str());
  for (auto _ : state)
    if (auto r = host->root().read(); !r) return state.SkipWithError(r.error().message.c_str());
  remove_tables(host->root());
}
BENCHMARK(BM_Read500Ports2000Rules)->Unit(benchmark::kMillisecond)->Iterations(3)->Repetitions(3);

void BM_FullApply500Ports2000Rules(benchmark::State& state) {
  auto view = host_view();
  auto host = open_host();
  for (auto _ : state) {
    nt::agent::L3Runner l3("nt-bsg-", *host, false);  // a new agent: plans and creates both tables
    auto done = pass(*host, l3, view);
    if (!done || *done < 2) return state.SkipWithError(done ? "expected two tables" : done.error().message.c_str());
    state.PauseTiming();
    remove_tables(host->root());
    state.ResumeTiming();
  }
}
BENCHMARK(BM_FullApply500Ports2000Rules)->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(5);

void BM_IdlePass500Ports2000Rules(benchmark::State& state) {
  auto view = host_view();
  auto host = open_host();
  nt::agent::L3Runner l3("nt-bsg-", *host, false);
  if (auto first = pass(*host, l3, view); !first) return state.SkipWithError(first.error().message.c_str());
  size_t ops = 0;
  for (auto _ : state) {
    auto done = pass(*host, l3, view);
    if (!done) return state.SkipWithError(done.error().message.c_str());
    ops += *done;
  }
  state.counters["kernel_ops"] = static_cast<double>(ops);  // must be 0
  remove_tables(host->root());
}
BENCHMARK(BM_IdlePass500Ports2000Rules)->Unit(benchmark::kMillisecond)->Iterations(5)->Repetitions(5);

void BM_OneRuleAddedToEnforced(benchmark::State& state) {
  auto view = host_view();
  auto host = open_host();
  nt::agent::L3Runner l3("nt-bsg-", *host, false);
  if (auto first = pass(*host, l3, view); !first) return state.SkipWithError(first.error().message.c_str());
  std::vector<double> ms;
  for (auto _ : state) {
    for (int i = 0; i < 100; ++i) {
      auto rule = make_rule(i % kGroups, 0);
      rule.id = "added-" + std::to_string(i), rule.remote_group_id.reset(), rule.port_range_min = 30000 + i;
      rule.port_range_max = 30000 + i;
      auto start = std::chrono::steady_clock::now();
      view.secgroups[group_id(i % kGroups)].rules.push_back(rule);
      auto done = pass(*host, l3, view);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      if (!done || *done == 0) return state.SkipWithError(done ? "the rule changed nothing" : done.error().message.c_str());
    }
  }
  std::sort(ms.begin(), ms.end());
  state.counters["p50_ms"] = ms[ms.size() / 2];
  state.counters["p99_ms"] = ms[ms.size() * 99 / 100];
  remove_tables(host->root());
}
BENCHMARK(BM_OneRuleAddedToEnforced)->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(3);

}  // namespace

int main(int argc, char** argv) { return run_benchmarks_in_own_namespace("nt-bench-sg-", "security group bench", argc, argv); }
