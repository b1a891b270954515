// Many agents' watch streams in one process, for bench/watch_scale.cc: each watcher keeps
// one GET /agent/v1/hosts/{host}/watch open and decodes every line with the agent's own
// code (agent::apply_line into a view::HostView), resuming the way the agent does (from
// its revision, with its view's digest; a full view is collected apart and swapped in at
// `synced`). Streams are asynchronous (Boost.Beast) on a few threads, so a thousand of
// them cost the server the real work and this process little.
#pragma once
#include <boost/asio.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "channel/entries.h"

namespace nt::bench {

using Clock = std::chrono::steady_clock;

// What one watcher has: its view as the agent would hold it.
struct WatcherState {
  std::string host;
  view::HostView view;
  int64_t rev = -1;
  bool rev_whole = true;  // rev came from a `synced`
  bool have_view = false;
  uint64_t bytes = 0, lines = 0, streams = 0, snapshots = 0, ends = 0, keepalive_bytes = 0;
  uint64_t changes = 0;  // revisions that brought this host entries (one change delivered)
  int64_t last_change_rev = -1;
  std::map<std::string, uint64_t> bytes_by_kind;  // put/del lines' bytes by entry kind
  Clock::time_point last_synced{};  // the last `synced` (a stream's snapshot or resume complete)
};

// Deliveries that are awaited: a bound port's `port`/`l2pop` entry on every host of its
// network, timed from the bind request.
class Deliveries {
 public:
  void expect(const std::string& port, Clock::time_point bind_sent, int hosts);
  // A watcher got a put of `port`; true if it was awaited (the first one per host counts).
  void delivered(const std::string& port, Clock::time_point at);
  struct Summary {
    std::vector<double> each_ms;   // every (port, host) delivery
    std::vector<double> last_ms;   // per port: its last host
    uint64_t expected = 0, missing = 0;
  };
  Summary summary() const;

 private:
  struct Awaited {
    Clock::time_point sent;
    int remaining = 0;
    double last_ms = 0;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Awaited> awaited_;
  std::vector<double> each_ms_;
  uint64_t expected_ = 0;
};

struct FleetOptions {
  std::string host = "127.0.0.1", port = "9696";
  int threads = 2;
};

class Watcher;

class Fleet {
 public:
  Fleet(FleetOptions options, Deliveries& deliveries);
  ~Fleet();
  // One watcher per (host, token); streams open at once and reconnect on their own.
  void start(const std::vector<std::pair<std::string, std::string>>& hosts);
  void stop();
  // Closes watcher i's stream and keeps it closed until resume(i) (a lagging agent).
  void pause(size_t i);
  void resume(size_t i);
  size_t size() const;
  // A copy of watcher i's state (under its lock).
  WatcherState state(size_t i) const;
  // How many watchers have had a `synced` at or after `since`.
  size_t synced_since(Clock::time_point since) const;

 private:
  FleetOptions options_;
  Deliveries& deliveries_;
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::vector<std::shared_ptr<Watcher>> watchers_;
};

}  // namespace nt::bench
