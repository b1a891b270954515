// A DhcpSocket in memory for unit tests: tests inject the frames a VM would send and read
// back what was sent. fd() is an eventfd that is readable while a frame is waiting, so a
// poll loop behaves as with the packet socket. Frames are taken as the kernel filter would
// leave them (no filtering here).
#pragma once
#include <deque>
#include <vector>

#include "kernel/dhcp_socket.h"

namespace nt::kernel {

class FakeDhcpSocket final : public DhcpSocket {
 public:
  FakeDhcpSocket();
  ~FakeDhcpSocket() override;
  FakeDhcpSocket(const FakeDhcpSocket&) = delete;
  FakeDhcpSocket& operator=(const FakeDhcpSocket&) = delete;

  Result<std::optional<ReceivedFrame>> receive() override;
  Status send(std::span<const uint8_t> frame) override;
  int fd() const override { return event_fd_; }

  void inject(std::vector<uint8_t> frame, ChecksumState checksum = ChecksumState::unknown);
  const std::vector<std::vector<uint8_t>>& sent() const { return sent_; }
  // The next send() fails with this errno (0: none), as a full socket buffer would.
  void fail_next_send(int err) { fail_next_send_ = err; }

 private:
  void update_readable();
  int event_fd_ = -1;
  std::deque<ReceivedFrame> waiting_;
  std::vector<std::vector<uint8_t>> sent_;
  int fail_next_send_ = 0;
};

}  // namespace nt::kernel
