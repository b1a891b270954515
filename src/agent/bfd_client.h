// The agent's side of neutrino-bfd: the BFD sessions live in a process of their own so that
// they outlive the agent (a restarted agent, even SIGKILLed, causes no failover). The agent
// starts the daemon when none answers on its control socket (in a session of its own: it
// is not the agent's child any more once the agent dies), adopts a running one otherwise,
// sends it the peers each pass derives from the view, and follows its state lines; a change
// calls `on_change` (the agent runs a pass at once).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/gateway_ha.h"

namespace nt::agent {

struct BfdOptions {
  bool enabled = true;
  std::string binary;          // neutrino-bfd
  std::string control_socket;  // its control socket (under state_path)
  std::string device;          // the management VNI's device
  std::string local_ip;        // this host's VTEP
  int min_tx_ms = 100, min_rx_ms = 100, detect_mult = 3;
};

class BfdClient {
 public:
  BfdClient(BfdOptions options, std::function<void()> on_change);
  ~BfdClient();
  BfdClient(const BfdClient&) = delete;
  BfdClient& operator=(const BfdClient&) = delete;

  // Peers to keep sessions with (each pass); sent when they changed or on a new connection.
  void configure(std::vector<std::string> peers);
  // What the sessions say now (the last known while the daemon is being reconnected).
  Liveness liveness() const;
  // Waits (bounded) until the daemon told its sessions' states once, so that a starting
  // agent decides from them and not from nothing; false if it did not in time.
  bool wait_known(std::chrono::milliseconds limit);
  // VTEP -> up | down | init | admin_down, as last reported (tests, logs).
  std::map<std::string, std::string> states() const;

 private:
  struct Session {
    std::string state, diag;
  };
  void run();
  bool connect_or_spawn();
  void spawn_daemon();
  bool send_config_locked();
  void read_lines();
  bool take_line(const std::string& line);
  // Under mu_: isolation now, and its end remembered (the hold-down starts there).
  bool isolated_locked(std::chrono::steady_clock::time_point now) const;
  void note_isolation_locked(std::chrono::steady_clock::time_point now);
  std::chrono::milliseconds hold_down() const;

  BfdOptions options_;
  std::function<void()> on_change_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> peers_;
  bool have_peers_ = false, sent_ = false;
  int fd_ = -1;
  std::map<std::string, Session> sessions_;
  std::map<std::string, std::set<std::string>> views_;  // peer -> the peers it sees up
  bool known_ = false;  // a states line came since the agent started
  std::chrono::steady_clock::time_point configured_at_{}, unisolated_at_{};
  bool was_isolated_ = false;
  std::atomic<bool> stopping_{false};
  int wake_[2] = {-1, -1};  // a pipe that ends the reader's poll at shutdown
  std::thread thread_;
};

}  // namespace nt::agent
