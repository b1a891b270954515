// The agent on the real kernel (issue 4), in a namespace of its own (nt-bench-<pid>,
// removed at the end; needs root): a host view with one VXLAN network and 10,000 remote
// ports (l2pop: VXLAN FDB entry, bridge FDB entry and permanent neighbour each) applied
// from nothing; then an idle reconcile (dump the kernel, plan, nothing to do). And the
// decoding of watch lines into the agent's view (no kernel), as a busy stream brings them.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "agent/l2_reconciler.h"
#include "agent/watch_line.h"
#include "channel/view_digest.h"
#include "common/names.h"
#include "kernel/netlink_kernel.h"
#include "bench_netns.h"

namespace {
constexpr int kRemotePorts = 10000;
const std::string kNet = "bench00000-0000-4000-8000-000000000000";

nt::view::HostView remote_ports_view() {
  nt::view::HostView view;
  view.networks[kNet] = nt::view::Network{"vxlan", std::nullopt, 4242, 1450, nt::devname::bridge(kNet)};
  for (int h = 1; h <= 50; ++h) {
    auto vtep = "198.51.100." + std::to_string(h);
    view.flood[kNet + "|host" + std::to_string(h)] = nt::view::Flood{kNet, vtep};
  }
  for (int i = 0; i < kRemotePorts; ++i) {
    char mac[18];
    std::snprintf(mac, sizeof mac, "fa:16:3e:00:%02x:%02x", i >> 8, i & 0xff);
    auto ip = "10.40." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250);
    view.l2pop["port" + std::to_string(i)] = nt::view::L2pop{kNet, mac, {ip}, "198.51.100." + std::to_string(1 + i % 50)};
  }
  return view;
}

const nt::agent::L2Settings kSettings{"198.51.100.200", {}};

// One reconcile: read the kernel, plan, apply; the number of operations, or the error.
nt::Result<size_t> reconcile(nt::kernel::Kernel& k, const nt::view::HostView& view) {
  NT_ASSIGN(auto actual, k.read());
  auto ops = nt::agent::plan_l2(view, actual, kSettings);
  NT_TRY(k.apply(ops));
  return ops.size();
}

void remove_network(nt::kernel::Kernel& k) {
  using nt::kernel::Op;
  (void)k.apply({Op{Op::del_link, nt::kernel::Link{"vxlan-4242", "vxlan"}, {}, {}},
                 Op{Op::del_link, nt::kernel::Link{nt::devname::bridge(kNet), "bridge"}, {}, {}}});
}

void BM_ApplyView10kRemotePorts(benchmark::State& state) {
  auto view = remote_ports_view();
  auto k = nt::kernel::open_netlink_kernel();
  size_t ops = 0;
  for (auto _ : state) {
    auto done = reconcile(**k, view);
    if (!done) return state.SkipWithError(done.error().message.c_str());
    ops = *done;
    state.PauseTiming();
    remove_network(**k);
    state.ResumeTiming();
  }
  state.counters["kernel_ops"] = static_cast<double>(ops);
}
BENCHMARK(BM_ApplyView10kRemotePorts)->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(5);

void BM_IdleReconcile10kRemotePorts(benchmark::State& state) {
  auto view = remote_ports_view();
  auto k = nt::kernel::open_netlink_kernel();
  if (auto first = reconcile(**k, view); !first) return state.SkipWithError(first.error().message.c_str());
  size_t ops = 0;
  for (auto _ : state) {
    auto done = reconcile(**k, view);
    if (!done) return state.SkipWithError(done.error().message.c_str());
    ops = *done;
  }
  state.counters["kernel_ops"] = static_cast<double>(ops);  // must be 0
  remove_network(**k);
}
BENCHMARK(BM_IdleReconcile10kRemotePorts)->Unit(benchmark::kMillisecond)->Iterations(5)->Repetitions(5);

// A busy stream's lines (issue 18's span25 load): new members of the default group (the
// most of them), each with the port's l2pop entry now and then, as the server writes them.
std::vector<std::string> watch_lines(int n) {
  namespace json = boost::json;
  std::vector<std::string> lines;
  const std::string group = "5e1ec7ed-0000-4000-8000-000000000001";
  for (int i = 0; i < n; ++i) {
    auto ip = "10.40." + std::to_string(i / 250 % 250) + "." + std::to_string(1 + i % 250);
    json::object o{{"rev", 1000 + i}, {"op", "put"}, {"kind", "sgmember"}, {"id", group + "|" + ip}};
    o["obj"] = nt::view::encode(nt::view::SgMember{ip});
    if (i % 10 == 0) {
      char mac[18];
      std::snprintf(mac, sizeof mac, "fa:16:3e:01:%02x:%02x", (i >> 8) & 0xff, i & 0xff);
      o = {{"rev", 1000 + i}, {"op", "put"}, {"kind", "l2pop"}, {"id", "port" + std::to_string(i)}};
      o["obj"] = nt::view::encode(nt::view::L2pop{kNet, mac, {ip}, "198.51.100.7", {}});
    }
    lines.push_back(json::serialize(o) + "\n");
  }
  return lines;
}

void BM_DecodeWatchLines(benchmark::State& state) {
  auto lines = watch_lines(20000);
  for (auto _ : state) {
    nt::view::HostView view;
    int64_t rev = 0;
    for (const auto& line : lines)
      if (!nt::agent::apply_line(view, line, rev).decoded) return state.SkipWithError("a line did not decode");
    benchmark::DoNotOptimize(view);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(lines.size()));
}
BENCHMARK(BM_DecodeWatchLines)->Unit(benchmark::kMillisecond)->Iterations(5)->Repetitions(5);

// The digest an agent sends when it resumes a watch (each reconnect, e.g. a server restart),
// of a span25 host's view after 20,000 lines: ~18,000 members of the default group and
// ~2,000 l2pop entries. `/listed`: every entry listed as (kind, id, JSON) and hashed from
// its text, as before the members were hashed in place (for the comparison).
void BM_ResumeDigest(benchmark::State& state) {
  nt::view::HostView view;
  int64_t rev = 0;
  for (const auto& line : watch_lines(20000))
    if (!nt::agent::apply_line(view, line, rev).decoded) return state.SkipWithError("a line did not decode");
  bool listed = state.range(0) == 1;
  for (auto _ : state) {
    uint64_t digest = 0;
    if (listed) {
      nt::view::Digest d;
      for (const auto& [kind, id, obj] : nt::view::entries(view)) d.add(nt::view::kind_name(kind), id, obj);
      digest = d.value();
    } else {
      digest = nt::view::digest_of(view);
    }
    benchmark::DoNotOptimize(digest);
  }
}
BENCHMARK(BM_ResumeDigest)->ArgName("listed")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly();

}  // namespace

int main(int argc, char** argv) { return run_benchmarks_in_own_namespace("nt-bench-", "agent bench", argc, argv); }
