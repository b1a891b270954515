// Agent heartbeats, kept in memory: a heartbeat is not a change of the model, so it costs
// no write. Only liveness transitions (alive -> dead and back, decided against
// agent_down_time by the server's periodic sweep) are stored and enter the change log.
// On start every known host gets one agent_down_time of grace.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace nt {

class Liveness {
 public:
  using Clock = std::function<int64_t()>;  // milliseconds since the epoch
  explicit Liveness(Clock clock = nullptr);
  void beat(const std::string& host);   // the host's agent spoke to this server
  void grace(const std::string& host);  // as if it had (after a restart); never shared
  std::optional<int64_t> last_ms(const std::string& host) const;
  bool alive(const std::string& host, int down_time_s) const;
  void forget(const std::string& host);
  // The host view revision the host's agent last reported fully applied to its kernel
  // (in memory, like heartbeats: after a server restart agents report it again).
  void applied(const std::string& host, int64_t revision);
  std::optional<int64_t> applied(const std::string& host) const;
  int64_t now_ms() const { return clock_(); }

  // Servers sharing a store share heartbeats through it: each publishes what its agents
  // told it and merges what the others saw (the latest beat and the highest applied
  // revision win).
  std::vector<Beat> beats() const;
  void merge(const std::vector<Beat>& beats);

 private:
  Clock clock_;
  mutable std::mutex mu_;
  std::map<std::string, int64_t> last_;
  std::map<std::string, int64_t> heard_;  // beats this server received itself (shared)
  std::map<std::string, int64_t> applied_;
};

}  // namespace nt
