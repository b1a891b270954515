// The L3 side of an agent pass: our namespaces (created, reconciled, removed), the veths
// into them, and what the host itself carries for routers. Split around the L2 pass: the
// veths' tap ends must exist before L2 plugs them, and FDB entries on them need them plugged.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "agent/l3_reconciler.h"
#include "agent/secgroup_plan.h"
#include "kernel/host.h"

#include <spdlog/spdlog.h>

namespace nt::agent {

class L3Runner {
 public:
  L3Runner(std::string ns_prefix, kernel::Host& host, bool dry_run)
      : prefix_(std::move(ns_prefix)), host_(host), dry_run_(dry_run) {}
  // Namespaces and veths, against the host as just read; returns the number of changes.
  size_t before_l2(const HostView& view, const kernel::State& host);
  // Whether before_l2 changed the host's links (veths); otherwise what it changed in the
  // host's state as read is its nftables tables at most.
  bool host_links_changed() const { return host_links_changed_; }
  // The host's entries and table (against the host as read after L2), then every
  // namespace; removes stale namespaces.
  size_t after_l2(const kernel::State& host);
  // External networks the view has floating IPs on but no fg- port for this host yet.
  const std::set<std::string>& missing_fip_gateways() const { return desired_.missing_fip_gateways; }
  // Whether an operation failed since the last call (the pass did not converge).
  bool take_failed() {
    bool f = failed_;
    failed_ = false;
    return f;
  }
  // Ports the host may not plug yet (see withhold()).
  const std::set<std::string>& withheld_ports() const { return withheld_; }
  // Whether gratuitous ARPs are still to be repeated (the agent runs another pass soon).
  bool wants_repeat() {
    bool r = repeat_;
    repeat_ = false;
    return r;
  }

 private:
  kernel::Kernel* kernel_of(const std::string& ns);
  template <class... Args>
  void report_error(spdlog::format_string_t<Args...> fmt, Args&&... args) {
    failed_ = true;
    spdlog::error(fmt, std::forward<Args>(args)...);
  }
  size_t apply(kernel::Kernel& k, const std::vector<kernel::Op>& ops, const std::string& where);
  size_t ensure_sysctls(const std::string& ns, const std::map<std::string, std::string>& values);
  void learn_link_local();
  size_t security_pass(const HostView& view, const kernel::State& host);
  size_t sync_sg_table(const std::string& name, const NftTable& want, const kernel::State& host);
  bool apply_sg(const kernel::Op& op);
  void withhold(const HostView& view, const std::set<std::string>& open);
  void learn_sg_numbers(const HostView& view, const kernel::State& host);
  void announce(const std::string& ns, const NamespacePlan& plan, const kernel::State& host);

  std::string prefix_;
  kernel::Host& host_;
  bool dry_run_;
  LinkLocal rfp_;
  bool learned_ = false;
  std::map<std::string, std::map<std::string, int>> announced_;  // fip namespace -> floating IP -> times announced
  bool repeat_ = false;  // announcements are pending: another pass soon
  bool failed_ = false;
  bool host_links_changed_ = false;
  L3Desired desired_;
  SgNumbers sg_numbers_;
  bool numbers_learned_ = false;
  // What the security pass plans from: a pass whose view has the same entries plans nothing.
  struct SgInputs {
    std::map<std::string, view::PortSecurity> portsec;
    std::map<std::string, view::SecurityGroup> secgroups;
    std::map<std::string, view::GroupMembers> sgmembers;
    std::map<std::string, view::AddressGroup> addrgroups;
    std::map<std::string, view::Network> networks;
    static SgInputs of(const HostView& v);
    bool same_as(const HostView& v) const;
  };
  // What this agent put into one of its security tables: the tag the kernel shows for it
  // (its comment, given when the table was created whole) and what the table holds now.
  struct SgTable {
    std::string tag;
    NftTable parts;
  };
  std::optional<SgInputs> sg_inputs_;
  SecurityPlan planned_;
  uint64_t planned_generation_ = 0, enforced_generation_ = 0;
  std::map<std::string, SgTable> sg_tables_;               // by table ("inet nt-sg")
  std::map<std::string, std::string> sg_listed_digest_;    // at start: each table's digest chain, as listed
  SecurityPlan enforced_;  // what the tables applied last carry: the cut compares against it
  std::set<std::string> filtered_;  // ports the tables in place filter
  std::set<std::string> withheld_;
};

}  // namespace nt::agent
