// `neutrino trace --live` on the server: probes sent to hosts' agents on their watch
// streams (channel/probe.h) and the answers they post back, gathered per trace. A trace
// waits for every host it asked, at most `timeout`; a host that did not answer in time
// (or has no open stream) is reported as such, never waited for again.
#pragma once
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "channel/probe.h"

namespace nt {

class LiveProbes {
 public:
  // Per host: its results in the order of its checks, or nullopt (no answer).
  using Answers = std::map<std::string, std::optional<std::vector<std::string>>>;
  using Send = std::function<bool(const std::string& host, const std::string& line)>;
  using Done = std::function<void(Answers)>;

  explicit LiveProbes(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  ~LiveProbes();
  LiveProbes(const LiveProbes&) = delete;
  LiveProbes& operator=(const LiveProbes&) = delete;

  // Sends each host its checks; `done` runs once (on this object's thread, or at once when
  // nobody could be asked) with every host's answer.
  void start(const std::map<std::string, std::vector<view::ProbeCheck>>& checks, const Send& send, Done done);
  // An agent's answer; false when no probe of that host has that id (late or unknown).
  bool answer(const std::string& host, const view::ProbeAnswer& a);
  // Stops the thread and drops the traces still waiting (their replies with them): called
  // while the HTTP server that owns their connections still exists.
  void stop();

 private:
  struct Pending {
    Answers answers;
    std::chrono::steady_clock::time_point deadline;
    Done done;
  };
  static bool all_answered(const Pending& p);
  void loop();

  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t next_ = 1;
  std::map<std::string, Pending> pending_;               // by probe id
  std::map<std::pair<std::string, std::string>, size_t> sizes_;  // (probe id, host) -> checks asked
  std::thread thread_;
};

}  // namespace nt
