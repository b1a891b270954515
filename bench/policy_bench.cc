// Policy checks on the request path (nt_policy with Neutron 21's defaults): what one API
// request or one item of a list costs, and building a policy (a file reload).
#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include "policy/policy.h"

namespace {
namespace json = boost::json;
using namespace nt::policy;

// Answers parent lookups for the network "n1" of project p1.
class OneNetwork : public ParentLookup {
 public:
  std::optional<json::value> attribute(std::string_view resource, std::string_view id,
                                       std::string_view field) const override {
    if (resource != "network" || id != "n1") return std::nullopt;
    if (field == "tenant_id") return json::value("p1");
    if (field == "shared") return json::value(false);
    return std::nullopt;
  }
};

const Policy& policy(bool new_defaults) {
  static const Policy legacy = *Policy::build({}, PolicyOptions{false, false});
  static const Policy strict = *Policy::build({}, PolicyOptions{true, false});
  return new_defaults ? strict : legacy;
}

Credentials member() {
  Credentials c;
  c.user_id = "u1";
  c.project_id = "p2";
  c.roles = {"member", "reader"};
  return c;
}

// A list item another project's member may not see: every branch of get_network is tried
// (and with the legacy defaults, the deprecated branch too).
void BM_GetNetworkDenied(benchmark::State& state) {
  const Policy& p = policy(state.range(0));
  Credentials creds = member();
  json::object net{{"id", "n1"}, {"project_id", "p1"}, {"tenant_id", "p1"}, {"shared", false}, {"router:external", false}};
  for (auto _ : state) benchmark::DoNotOptimize(p.authorize({"get_network", net, {}, "networks"}, creds));
}
BENCHMARK(BM_GetNetworkDenied)->Arg(0)->Arg(1);

void BM_GetPortOwnWithHiddenAttributes(benchmark::State& state) {
  const Policy& p = policy(state.range(0));
  Credentials creds = member();
  json::object port{{"id", "x"}, {"project_id", "p2"}, {"tenant_id", "p2"}, {"network_id", "n1"},
                    {"binding:host_id", "h"}, {"binding:vif_type", "ovs"}, {"binding:vif_details", json::object{}},
                    {"binding:profile", json::object{}}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(p.authorize({"get_port", port, {}, "ports"}, creds));
    benchmark::DoNotOptimize(p.hidden_attributes("port", port, creds));
  }
}
BENCHMARK(BM_GetPortOwnWithHiddenAttributes)->Arg(0)->Arg(1);

// A create with attribute rules and a network-owner lookup (create_port:fixed_ips:ip_address).
void BM_CreatePortWithFixedIp(benchmark::State& state) {
  const Policy& p = policy(state.range(0));
  Credentials creds = member();
  OneNetwork parents;
  json::object port{{"network_id", "n1"}, {"project_id", "p2"}, {"tenant_id", "p2"},
                    {"fixed_ips", json::array{json::object{{"ip_address", "10.0.0.5"}}}}};
  for (auto _ : state) benchmark::DoNotOptimize(p.authorize({"create_port", port, {}, "ports"}, creds, &parents));
}
BENCHMARK(BM_CreatePortWithFixedIp)->Arg(0)->Arg(1);

void BM_BuildDefaults(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(Policy::build());
}
BENCHMARK(BM_BuildDefaults);

}  // namespace

BENCHMARK_MAIN();
