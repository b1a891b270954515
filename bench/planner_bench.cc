// Planner at cloud scale. Two synthetic clouds, ports bound uniformly at random (the worst
// case for view sizes: every network spans ~25 hosts), each router with interfaces on two
// of the networks and a gateway scheduled on one of 4 gateway hosts:
//  - issue 4's: 1,000 hosts, 2,000 VXLAN networks, 50,000 ports, 250 distributed routers
//    (BM_FullComputation, BM_OnePortAdded);
//  - issue 18's, twice as big: 2,000 hosts, 4,000 networks, 100,000 ports, 1,000 routers
//    (the *_Big benchmarks).
// And the change that the watch-scale load (bench/watch-scale) makes 100 times a second: a
// new member of a default group on 1,000 hosts (BM_GroupMemberAdded).
// Measures the full computation of every host view (the server's boot: load + rebuild;
// BM_FullComputation times the rebuild only, as it always did, the _Big one both) with the
// RSS it leaves, and changes: the deltas for every affected host.
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "common/huge_pages.h"
#include "planner/planner.h"

namespace {
namespace json = boost::json;

struct Cloud {
  int hosts, networks, ports, routers;
};
constexpr Cloud kSmall{1000, 2000, 50000, 250};
constexpr Cloud kBig{2000, 4000, 100000, 1000};

std::string net_id(int i) { return "net" + std::to_string(100000 + i) + "-0000-4000-8000-000000000000"; }
std::string port_id(int i) { return "port" + std::to_string(1000000 + i) + "-0000-4000-8000-00000000"; }
std::string host_ip(int h) { return "172." + std::to_string(20 + h / 62500) + "." + std::to_string(h / 250 % 250) + "." + std::to_string(h % 250); }

json::object port(int i, int host, int net) {
  char mac[18];
  std::snprintf(mac, sizeof mac, "fa:16:3e:%02x:%02x:%02x", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
  return json::object{{"network_id", net_id(net)},
                      {"mac_address", mac},
                      {"fixed_ips", json::array{json::object{{"ip_address", "10." + std::to_string(net % 250) + "." +
                                                                                std::to_string(i / 250 % 250) + "." +
                                                                                std::to_string(i % 250)}}}},
                      {"admin_state_up", true},
                      {"binding:vif_type", "bridge"},
                      {"binding:host_id", "cmp" + std::to_string(host)}};
}

// A VM's port as Nova makes them: in the default security group.
json::object vm_port(int i, int host, int net) {
  auto p = port(i, host, net);
  p["device_owner"] = "compute:nova";
  p["security_groups"] = json::array{"default-sg"};
  return p;
}

// A router's port on network n (n < 0: the external network): "qr" (a distributed
// interface), "sg" (its SNAT port there) or "qg" (its gateway port).
std::pair<std::string, json::object> router_port(int r, int n, const char* owner, const std::string& kind) {
  auto id = "rport-" + kind + std::to_string(r) + "-" + std::to_string(n);
  auto net = n < 0 ? std::string("ext") : net_id(n);
  json::object port{{"network_id", net}, {"mac_address", "fa:16:3e:ff:" + std::to_string(10 + r % 89) + ":" + std::to_string(10 + (n + 100) % 89)},
                    {"admin_state_up", true}, {"device_owner", owner}, {"device_id", "router" + std::to_string(r)},
                    {"fixed_ips", json::array{json::object{{"subnet_id", n < 0 ? std::string("ext-sub") : "sub" + std::to_string(n)},
                                                           {"ip_address", "10.1.1." + std::to_string(1 + r % 250)}}}}};
  return {id, std::move(port)};
}

using Rows = std::vector<std::tuple<std::string, std::string, json::object>>;  // table, id, row

// The cloud's stored rows, in the order the server's boot reads them.
Rows cloud_rows(const Cloud& c) {
  Rows rows;
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> any_host(0, c.hosts - 1);
  for (int h = 0; h < c.hosts; ++h) rows.emplace_back("hosts", "cmp" + std::to_string(h), json::object{{"local_ip", host_ip(h)}});
  for (int n = 0; n < c.networks; ++n)
    rows.emplace_back("networks", net_id(n), json::object{{"provider:network_type", "vxlan"}, {"provider:physical_network", nullptr},
                                                         {"provider:segmentation_id", 1000 + n}, {"mtu", 1450}});
  for (int i = 0; i < c.ports; ++i) rows.emplace_back("ports", port_id(i), port(i, any_host(rng), i % c.networks));
  // Routers: interfaces on networks 2r and 2r+1 (the .1 of subnets 10.x.y.0/24), sg- ports,
  // a gateway port on the external network, scheduled on gateway hosts gw0..gw3.
  rows.emplace_back("networks", "ext", json::object{{"provider:network_type", "flat"}, {"provider:physical_network", "physnet1"},
                                                    {"provider:segmentation_id", nullptr}, {"mtu", 1500}});
  rows.emplace_back("subnets", "ext-sub", json::object{{"network_id", "ext"}, {"cidr", "198.18.0.0/15"}, {"gateway_ip", "198.18.0.1"}});
  for (int n = 0; n < c.networks; ++n)
    rows.emplace_back("subnets", "sub" + std::to_string(n), json::object{{"network_id", net_id(n)}, {"cidr", "10.0.0.0/8"}, {"gateway_ip", nullptr}});
  auto add_port = [&](std::pair<std::string, json::object> p) { rows.emplace_back("ports", std::move(p.first), std::move(p.second)); };
  for (int r = 0; r < c.routers; ++r) {
    auto id = "router" + std::to_string(r);
    rows.emplace_back("routers", id, json::object{{"external_gateway_info", json::object{{"network_id", "ext"}, {"enable_snat", true}}},
                                                  {"routes", json::array{}}});
    rows.emplace_back("l3_bindings", id, json::object{{"hosts", json::array{json::value("gw" + std::to_string(r % 4))}}});
    for (int n : {2 * r, 2 * r + 1}) {
      add_port(router_port(r, n, "network:router_interface_distributed", "qr"));
      add_port(router_port(r, n, "network:router_centralized_snat", "sg"));
    }
    add_port(router_port(r, -1, "network:router_gateway", "qg"));
  }
  return rows;
}

void load_rows(nt::Planner& p, const Rows& rows) {
  for (const auto& [table, id, row] : rows) p.load(table, id, row);
}

double rss_mb() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

size_t view_entries(const nt::Planner& p) {
  size_t entries = 0;
  for (const auto& h : p.hosts_with_views()) entries += p.shared_view(h).size();
  return entries;
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// The small cloud's full computation: the rebuild timed (the load is not), as in issue 4.
// The stored rows are freed before the rebuild: the RSS is the planner's.
void BM_FullComputation(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto p = std::make_unique<nt::Planner>();
    load_rows(*p, cloud_rows(kSmall));
    state.ResumeTiming();
    p->rebuild(1);
    state.PauseTiming();
    state.counters["view_entries"] = static_cast<double>(view_entries(*p));
    state.counters["rss_MB"] = rss_mb();
    p.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_FullComputation)->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(3);

// The big cloud's: load (the typed rows and indexes from the stored JSON) and rebuild, both timed.
void BM_FullComputation_Big(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto rows = cloud_rows(kBig);
    auto p = std::make_unique<nt::Planner>();
    state.ResumeTiming();
    auto started = std::chrono::steady_clock::now();
    load_rows(*p, rows);
    state.counters["load_ms"] = ms_since(started);
    state.PauseTiming();
    rows = {};
    malloc_trim(0);
    state.counters["loaded_rss_MB"] = rss_mb();  // the inputs and their indexes
    state.ResumeTiming();
    started = std::chrono::steady_clock::now();
    p->rebuild(1);
    state.counters["rebuild_ms"] = ms_since(started);
    state.PauseTiming();
    state.counters["view_entries"] = static_cast<double>(view_entries(*p));
    state.counters["rss_MB"] = rss_mb();
    p.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_FullComputation_Big)->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(3);

// One planner per cloud, built once for the change benchmarks.
nt::Planner& planner_of(const Cloud& c) {
  auto make = [](const Cloud& c) {
    auto* p = new nt::Planner;
    load_rows(*p, cloud_rows(c));
    p->rebuild(1);
    return p;
  };
  static nt::Planner* small = make(kSmall);
  if (c.hosts == kSmall.hosts) return *small;
  static nt::Planner* big = make(kBig);
  return *big;
}

int64_t next_revision = 2;

// Entries the planner's nodes built so far (a change's work, whatever the machine's speed).
uint64_t entries_built(const nt::Planner& p) {
  uint64_t n = 0;
  for (const auto& [node, stats] : p.stats()) n += stats.entries;
  return n;
}

// A change applied (timed) then undone (not timed); counts the deltas of the change and
// the entries built for it.
template <class Change, class Undo>
void measure_change(benchmark::State& state, nt::Planner& p, Change change, Undo undo) {
  int i = 0;
  size_t deltas = 0, hosts = 0;
  uint64_t built = 0, looked = 0;
  for (auto _ : state) {
    auto before = entries_built(p);
    deltas = change(p, i);
    built = entries_built(p) - before;
    looked = p.last_keys();
    hosts = p.last_touched().size();
    state.PauseTiming();
    undo(p, i++);
    state.ResumeTiming();
  }
  state.counters["deltas"] = static_cast<double>(deltas);
  state.counters["built"] = static_cast<double>(built);
  state.counters["keys"] = static_cast<double>(looked);
  state.counters["hosts"] = static_cast<double>(hosts);
  state.counters["rss_MB"] = rss_mb();
}

// A VM port bound on host i on network i (a network the host may not be on yet).
void one_port_added(benchmark::State& state, const Cloud& c) {
  measure_change(
      state, planner_of(c),
      [&](nt::Planner& p, int i) {
        p.apply("ports", port_id(c.ports + i), port(c.ports + i, i % c.hosts, i % c.networks), next_revision++);
        return p.last_deltas().size();
      },
      [&](nt::Planner& p, int i) { p.apply("ports", port_id(c.ports + i), std::nullopt, next_revision++); });
}
void BM_OnePortAdded(benchmark::State& state) { one_port_added(state, kSmall); }
BENCHMARK(BM_OnePortAdded)->Unit(benchmark::kMicrosecond)->Iterations(200)->Repetitions(3);
void BM_OnePortAdded_Big(benchmark::State& state) { one_port_added(state, kBig); }
BENCHMARK(BM_OnePortAdded_Big)->Unit(benchmark::kMicrosecond)->Iterations(200)->Repetitions(3);

// Router i gets a third interface, on a network no router had: the router comes to that
// network's ~25 hosts, and every host of the router sees the new interface.
void BM_RouterInterfaceAdded_Big(benchmark::State& state) {
  const Cloud& c = kBig;
  measure_change(
      state, planner_of(c),
      [&](nt::Planner& p, int i) {
        auto [id, row] = router_port(i, 2 * c.routers + i, "network:router_interface_distributed", "qr");
        p.apply("ports", id, row, next_revision++);
        return p.last_deltas().size();
      },
      [&](nt::Planner& p, int i) {
        p.apply("ports", router_port(i, 2 * c.routers + i, "network:router_interface_distributed", "qr").first, std::nullopt,
                next_revision++);
      });
}
BENCHMARK(BM_RouterInterfaceAdded_Big)->Unit(benchmark::kMicrosecond)->Iterations(50)->Repetitions(3);

// A new host registers and binds its first port, on a routed network already on ~25
// hosts: both changes timed, their deltas summed.
void BM_HostJoins_Big(benchmark::State& state) {
  const Cloud& c = kBig;
  auto host = [&](int i) { return "cmp" + std::to_string(c.hosts + i); };
  measure_change(
      state, planner_of(c),
      [&](nt::Planner& p, int i) {
        p.apply("hosts", host(i), json::object{{"local_ip", host_ip(c.hosts + i)}}, next_revision++);
        size_t deltas = p.last_deltas().size();
        p.apply("ports", port_id(c.ports + i), port(c.ports + i, c.hosts + i, i % c.networks), next_revision++);
        return deltas + p.last_deltas().size();
      },
      [&](nt::Planner& p, int i) {
        p.apply("ports", port_id(c.ports + i), std::nullopt, next_revision++);
        p.apply("hosts", host(i), std::nullopt, next_revision++);
      });
}
BENCHMARK(BM_HostJoins_Big)->Unit(benchmark::kMicrosecond)->Iterations(50)->Repetitions(3);

// The watch-scale load's change (bench/watch-scale span25) in the planner alone: 1,000
// hosts with one VM each in networks of 25, every VM in a default group whose ingress rule
// names the group itself (Neutron's default), and a new VM port bound on one of them: its
// address is a new member on all 1,000 hosts (one sgmember entry each), its port on its
// network's 25 hosts.
nt::Planner& default_group_planner() {
  static nt::Planner* p = [] {
    constexpr int hosts = 1000;
    auto* planner = new nt::Planner;
    int64_t rev = 1;
    planner->apply("security_groups", "default-sg", json::object{{"stateful", true}}, rev++);
    planner->apply("security_group_rules", "rule-in",
                   json::object{{"security_group_id", "default-sg"}, {"direction", "ingress"}, {"ethertype", "IPv4"},
                                {"remote_group_id", "default-sg"}},
                   rev++);
    planner->apply("security_group_rules", "rule-out",
                   json::object{{"security_group_id", "default-sg"}, {"direction", "egress"}, {"ethertype", "IPv4"}}, rev++);
    for (int h = 0; h < hosts; ++h) planner->apply("hosts", "cmp" + std::to_string(h), json::object{{"local_ip", host_ip(h)}}, rev++);
    for (int n = 0; n < hosts / 25; ++n)
      planner->apply("networks", net_id(n),
                     json::object{{"provider:network_type", "vxlan"}, {"provider:physical_network", nullptr},
                                  {"provider:segmentation_id", 1000 + n}, {"mtu", 1450}},
                     rev++);
    for (int h = 0; h < hosts; ++h) planner->apply("ports", port_id(h), vm_port(h, h, h % (hosts / 25)), rev++);
    next_revision = std::max(next_revision, rev);
    return planner;
  }();
  return *p;
}

void BM_GroupMemberAdded(benchmark::State& state) {
  measure_change(
      state, default_group_planner(),
      [&](nt::Planner& p, int i) {
        p.apply("ports", port_id(5000 + i), vm_port(5000 + i, i % 1000, i % 40), next_revision++);
        return p.last_deltas().size();
      },
      [&](nt::Planner& p, int i) { p.apply("ports", port_id(5000 + i), std::nullopt, next_revision++); });
}
BENCHMARK(BM_GroupMemberAdded)->Unit(benchmark::kMicrosecond)->Iterations(200)->Repetitions(3);

}  // namespace

// As the server runs: with its heap in transparent huge pages (common/huge_pages.h;
// GLIBC_TUNABLES=glibc.malloc.hugetlb=0 measures without).
int main(int argc, char** argv) {
  nt::run_with_huge_page_heap(argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
