// The host's DHCP server (OVN's native DHCP is the model): one packet socket per VM tap
// of the host view's dhcp entries, one thread polling them all. A DHCP message or an ARP
// who-has for the DHCP port's address that arrives on a tap is answered on that tap, for
// that port only, with the port's fixed IP (nt_dhcp decides and builds the answer): the
// tap identifies the port, so a VM never gets another VM's address, and nothing crosses a
// tunnel (the bridge drops DHCP towards tunnels; see the host table in dhcp_plan.cc).
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "channel/entries.h"
#include "dhcp/responder.h"
#include "kernel/dhcp_socket.h"

namespace nt::agent {

// The responder's description of a port from its dhcp entry; an error when the entry
// cannot be served (no DHCP port, an address that does not parse).
Result<dhcp::PortDhcpConfig> port_dhcp_config(const view::Dhcp& entry);

struct DhcpStats {
  uint64_t offers = 0, acks = 0, naks = 0, ignored = 0, arp_replies = 0, errors = 0;
  uint64_t rate_limited = 0;  // frames read and dropped: the tap sent more than its share
};

class DhcpServer {
 public:
  using Opener = std::function<Result<std::unique_ptr<kernel::DhcpSocket>>(const std::string& interface)>;
  // `open` opens a tap's socket (the agent: kernel::open_dhcp_socket in its namespace).
  explicit DhcpServer(Opener open);
  ~DhcpServer();
  DhcpServer(const DhcpServer&) = delete;
  DhcpServer& operator=(const DhcpServer&) = delete;

  // The ports to serve from now on, from the view's dhcp entries (thread-safe, cheap when
  // nothing changed). Entries without a DHCP port are not served.
  void update(const view::HostView& view);
  void start();  // the polling thread
  void stop();
  // One round without the thread (unit tests): opens missing sockets, then answers what
  // is waiting, polling up to timeout_ms.
  void run_once(int timeout_ms);
  DhcpStats stats() const;
  size_t open_sockets() const;

 private:
  struct Served {
    std::shared_ptr<const dhcp::PortDhcpConfig> config;
    std::unique_ptr<kernel::DhcpSocket> socket;
    double tokens = 0;  // frames this tap may still have answered (a token bucket)
    std::chrono::steady_clock::time_point refilled{};
  };
  bool take_token(Served& served);
  void sync_sockets();
  void drain(const std::string& tap, Served& served);
  void answer(kernel::DhcpSocket& socket, const kernel::ReceivedFrame& frame, const dhcp::PortDhcpConfig& port,
              const std::string& tap);

  Opener open_;
  mutable std::mutex mu_;  // wanted_, stats_
  std::map<std::string, std::shared_ptr<const dhcp::PortDhcpConfig>> wanted_;  // by tap
  bool changed_ = false;
  DhcpStats stats_;
  std::map<std::string, Served> served_;  // the polling thread's (or run_once's) own
  std::chrono::steady_clock::time_point next_retry_{};
  int wake_fd_ = -1;  // an eventfd: update() wakes the poll
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace nt::agent
