// Planner at cloud scale (issue 4): a synthetic cloud of 1,000 hosts, 2,000 VXLAN
// networks and 50,000 ports bound uniformly at random (the worst case for view sizes:
// every network spans ~25 hosts), and 250 distributed routers, each with interfaces on two
// of the networks and a gateway scheduled on one of 4 gateway hosts. Measures the full
// computation of every host view (the server's boot: load + rebuild) with the RSS it
// leaves, and one port added: the deltas for every affected host.
#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "planner/planner.h"

namespace {
namespace json = boost::json;

constexpr int kHosts = 1000, kNetworks = 2000, kPorts = 50000, kRouters = 250;

std::string net_id(int i) { return "net" + std::to_string(100000 + i) + "-0000-4000-8000-000000000000"; }
std::string port_id(int i) { return "port" + std::to_string(1000000 + i) + "-0000-4000-8000-00000000"; }

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

void load_cloud(nt::Planner& p) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> any_host(0, kHosts - 1);
  for (int h = 0; h < kHosts; ++h)
    p.load("hosts", "cmp" + std::to_string(h), json::object{{"local_ip", "172.20." + std::to_string(h / 250) + "." + std::to_string(h % 250)}});
  for (int n = 0; n < kNetworks; ++n)
    p.load("networks", net_id(n), json::object{{"provider:network_type", "vxlan"}, {"provider:physical_network", nullptr},
                                               {"provider:segmentation_id", 1000 + n}, {"mtu", 1450}});
  for (int i = 0; i < kPorts; ++i) p.load("ports", port_id(i), port(i, any_host(rng), i % kNetworks));
  // Routers: interfaces on networks 2r and 2r+1 (the .1 of subnets 10.x.y.0/24), sg- ports,
  // a gateway port on the external network, scheduled on gateway hosts gw0..gw3.
  p.load("networks", "ext", json::object{{"provider:network_type", "flat"}, {"provider:physical_network", "physnet1"},
                                         {"provider:segmentation_id", nullptr}, {"mtu", 1500}});
  p.load("subnets", "ext-sub", json::object{{"network_id", "ext"}, {"cidr", "198.18.0.0/15"}, {"gateway_ip", "198.18.0.1"}});
  for (int n = 0; n < kNetworks; ++n)
    p.load("subnets", "sub" + std::to_string(n), json::object{{"network_id", net_id(n)}, {"cidr", "10.0.0.0/8"}, {"gateway_ip", nullptr}});
  auto router_port = [&](int r, int n, const char* owner, const std::string& kind) {
    auto id = "rport-" + kind + std::to_string(r) + "-" + std::to_string(n);
    auto net = n < 0 ? std::string("ext") : net_id(n);
    json::object port{{"network_id", net}, {"mac_address", "fa:16:3e:ff:" + std::to_string(10 + r % 89) + ":" + std::to_string(10 + (n + 100) % 89)},
                      {"admin_state_up", true}, {"device_owner", owner}, {"device_id", "router" + std::to_string(r)},
                      {"fixed_ips", json::array{json::object{{"subnet_id", n < 0 ? std::string("ext-sub") : "sub" + std::to_string(n)},
                                                             {"ip_address", "10.1.1." + std::to_string(1 + r % 250)}}}}};
    p.load("ports", id, port);
  };
  for (int r = 0; r < kRouters; ++r) {
    auto id = "router" + std::to_string(r);
    p.load("routers", id, json::object{{"external_gateway_info", json::object{{"network_id", "ext"}, {"enable_snat", true}}},
                                       {"routes", json::array{}}});
    p.load("l3_bindings", id, json::object{{"hosts", json::array{json::value("gw" + std::to_string(r % 4))}}});
    for (int n : {2 * r, 2 * r + 1}) {
      router_port(r, n, "network:router_interface_distributed", "qr");
      router_port(r, n, "network:router_centralized_snat", "sg");
    }
    router_port(r, -1, "network:router_gateway", "qg");
  }
}

double rss_mb() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

void BM_FullComputation(benchmark::State& state) {
  size_t entries = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto p = std::make_unique<nt::Planner>();
    load_cloud(*p);
    state.ResumeTiming();
    p->rebuild(1);
    state.PauseTiming();
    entries = 0;
    for (const auto& h : p->hosts_with_views()) entries += p->view(h).size();
    state.counters["rss_MB"] = rss_mb();
    p.reset();
    state.ResumeTiming();
  }
  state.counters["view_entries"] = static_cast<double>(entries);
}
BENCHMARK(BM_FullComputation)->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(3);

void BM_OnePortAdded(benchmark::State& state) {
  static nt::Planner* p = [] {
    auto* planner = new nt::Planner;
    load_cloud(*planner);
    planner->rebuild(1);
    return planner;
  }();
  int i = kPorts, rev = 2;
  size_t deltas = 0, hosts = 0;
  for (auto _ : state) {
    p->apply("ports", port_id(i), port(i, i % kHosts, i % kNetworks), rev++);
    deltas = p->last_deltas().size();
    hosts = p->last_touched().size();
    state.PauseTiming();
    p->apply("ports", port_id(i), std::nullopt, rev++);
    ++i;
    state.ResumeTiming();
  }
  state.counters["deltas"] = static_cast<double>(deltas);
  state.counters["hosts"] = static_cast<double>(hosts);
}
BENCHMARK(BM_OnePortAdded)->Unit(benchmark::kMicrosecond)->Iterations(200)->Repetitions(3);

}  // namespace

BENCHMARK_MAIN();
