// "Applied everywhere" (Neutron's provisioning blocks, OVN's hv_cfg): a port bound to
// host H goes ACTIVE only when H reports its tap up AND every host that must act on it has
// applied a view revision that includes the port's entries.
//  - When H first reports the port up, the port starts waiting. Its needs are, for H and
//    for every host with a binding on the port's network (they got its l2pop entry), that
//    host's view revision at that moment: the port is bound, so its entries are in those
//    views at or below those revisions (a host view's revision only grows). Needs are fixed
//    when the wait starts, so a busy network cannot push them away for ever.
//  - A need of host h is met when h's agent reported applied >= the revision, or when h's
//    agent is not alive (a dead agent must not hold every port of its networks DOWN; it
//    gets the full view when it comes back).
//  - Waiting ports are indexed by the hosts they wait for, so a report of host h looks
//    only at the ports waiting on h. Every waiting port waits on its own host, whose
//    periodic reports re-check it (also when the host it waited on died).
// Pure: no locks, no I/O; the server holds it under its planner lock.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nt {

class Provisioning {
 public:
  struct Wait {
    std::string host;                     // where the port is bound (its tap)
    std::map<std::string, int64_t> needs;  // host -> view revision it must have applied
  };
  struct Ready {
    std::string port;
    std::string host;  // the port's host when it started waiting
  };
  // What the server knows of the hosts when it checks: the revision each agent last
  // reported applied (nullopt: none yet), and whether its agent is alive.
  struct Hosts {
    std::function<std::optional<int64_t>(const std::string&)> applied;
    std::function<bool(const std::string&)> alive;
  };

  // The needs of a port bound to `host` on a network whose hosts are `network_hosts`:
  // each of them and `host` at its current view revision.
  static std::map<std::string, int64_t> needs_of(const std::string& host, const std::set<std::string>& network_hosts,
                                                 const std::function<int64_t(const std::string&)>& view_revision);
  // Whether every need is met.
  static bool met(const Wait& w, const Hosts& hosts);
  // The live hosts that have not applied what the port needs yet (for the operator).
  static std::vector<std::string> behind(const Wait& w, const Hosts& hosts);

  // Starts waiting for `port` (false, keeping the first wait, when it already waits for
  // the same host; a wait for another host is replaced).
  bool wait(const std::string& port, Wait w);
  // `host` reported the ports in `up` up (and not yet ACTIVE): its other waiting ports
  // went down, went ACTIVE, moved or were deleted, and stop waiting.
  void keep_only(const std::string& host, const std::set<std::string>& up);
  void forget(const std::string& port);
  // The ports waiting on `host` whose needs are all met now; they stop waiting.
  std::vector<Ready> ready(const std::string& host, const Hosts& hosts);

  const Wait* waiting(const std::string& port) const;
  const std::map<std::string, Wait>& waits() const { return waits_; }
  size_t size() const { return waits_.size(); }
  // How many ports wait on `host` (for tests and metrics).
  size_t waiting_on(const std::string& host) const;

 private:
  std::map<std::string, Wait> waits_;                         // port -> its wait
  std::map<std::string, std::set<std::string>> by_host_;      // host -> ports waiting on it
  std::map<std::string, std::set<std::string>> owned_;        // host -> waiting ports bound there
};

}  // namespace nt
