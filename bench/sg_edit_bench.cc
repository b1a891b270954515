// One security-group edit on the real kernel, as an agent's pass makes it in a boot storm:
// a VM bound elsewhere joins the default group, so every host adds one member address to
// that group's set in `inet nt-sg`. The tables are the agent's own (plan_security for
// PORTS local ports in the default group, MEMBERS members), put and edited through the
// agent's kernel layer (kernel::NetlinkKernel: libnftables), in a network namespace of its
// own (nt-sgedit-<pid>, removed at the end). Twice: the members all addresses (a plain
// set), and with one prefix among them (an allowed address pair's CIDR: an interval set).
// Root only:
//   build/bin/neutrino-bench-sg-edit [MEMBERS=500] [PORTS=125] [EDITS=40]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "agent/nft_table.h"
#include "agent/secgroup_plan.h"
#include "common/names.h"
#include "kernel/netlink_kernel.h"
#include "kernel/netns.h"

namespace {

using namespace nt;

std::string address(int i) { return "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1); }

view::HostView cloud(int members, int ports) {
  view::HostView v;
  v.networks["net-1"] = view::Network{"vxlan", std::nullopt, 7, 1450, "brqnet-1"};
  for (int p = 0; p < ports; ++p) {
    auto id = "port-" + std::to_string(p);
    char mac[18];
    std::snprintf(mac, sizeof mac, "fa:16:3e:00:%02x:%02x", (p >> 8) & 0xff, p & 0xff);
    v.portsec[id] = view::PortSecurity{"net-1", devname::tap(id), mac, {address(p)}, true, {"default"}, {}};
  }
  view::SecurityGroupRule in{"r-in", "ingress", "IPv4"};
  in.remote_group_id = "default";
  view::SecurityGroupRule out{"r-out", "egress", "IPv4"};
  v.secgroups["default"] = view::SecurityGroup{true, {in, out}};
  for (int m = 0; m < members; ++m) v.sgmembers["default"].ips.insert(address(m));
  return v;
}

Status put(kernel::Kernel& k, const std::string& table, const agent::NftTable& t) {
  kernel::Op op{kernel::Op::put_nft};
  op.nft_table = table, op.nft_body = t.text(), op.nft_digest = "bench";
  return k.apply({op});
}

// Median milliseconds of EDITS member additions, each one edit script as the agent runs it.
Result<double> member_edits(kernel::Kernel& k, view::HostView v, int edits) {
  agent::SgNumbers numbers;
  auto plan = agent::plan_security(v, numbers);
  NT_TRY(put(k, "bridge nt-sg", plan.bridge));
  NT_TRY(put(k, "inet nt-sg", plan.inet));
  std::vector<double> ms;
  for (int i = 0; i < edits; ++i) {
    v.sgmembers["default"].ips.insert("10.9." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
    auto next = agent::plan_security(v, numbers);
    auto script = agent::edit_script("inet nt-sg", plan.inet, next.inet);
    if (!script || script->empty()) return nt::unexpected(Error{Errc::internal, "a member added is not one edit"});
    kernel::Op op{kernel::Op::edit_nft};
    op.nft_table = "inet nt-sg", op.nft_body = *script;
    auto started = std::chrono::steady_clock::now();
    NT_TRY(k.apply({op}));
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    plan = std::move(next);
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int members = argc > 1 ? std::atoi(argv[1]) : 500;
  int ports = argc > 2 ? std::atoi(argv[2]) : 125;
  int edits = argc > 3 ? std::atoi(argv[3]) : 40;
  if (::geteuid() != 0) return std::fprintf(stderr, "neutrino-bench-sg-edit: needs root (a network namespace)\n"), 2;
  if (members < 1 || ports < 1 || edits < 1 || ports > 30000) return std::fprintf(stderr, "bad arguments\n"), 2;
  std::string ns = "nt-sgedit-" + std::to_string(::getpid());
  if (auto made = kernel::create_namespace(ns); !made) return std::fprintf(stderr, "%s\n", made.error().message.c_str()), 1;
  double plain = 0, interval = 0;
  auto run = kernel::run_in_namespace(ns, [&]() -> Status {
    NT_ASSIGN(auto k, kernel::open_netlink_kernel());
    auto v = cloud(members, ports);
    NT_ASSIGN(plain, member_edits(*k, v, edits));
    v.sgmembers["default"].ips.insert("10.200.0.0/24");  // one prefix: an interval set
    NT_ASSIGN(interval, member_edits(*k, v, edits));
    return {};
  });
  (void)kernel::delete_namespace(ns);
  if (!run) return std::fprintf(stderr, "%s\n", run.error().message.c_str()), 1;
  std::printf("one member added to the default group (%d members, %d local ports), median of %d edits:\n", members, ports,
              edits);
  std::printf("  members all addresses (plain set):     %.3f ms\n", plain);
  std::printf("  one prefix among them (interval set):  %.3f ms\n", interval);
  return 0;
}
