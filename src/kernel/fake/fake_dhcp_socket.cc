#include "kernel/fake/fake_dhcp_socket.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "kernel/kernel.h"

namespace nt::kernel {

FakeDhcpSocket::FakeDhcpSocket() : event_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
FakeDhcpSocket::~FakeDhcpSocket() {
  if (event_fd_ >= 0) ::close(event_fd_);
}

// The eventfd counts 1 while frames wait, 0 when none do.
void FakeDhcpSocket::update_readable() {
  if (event_fd_ < 0) return;
  uint64_t drained = 0;
  while (::read(event_fd_, &drained, sizeof drained) > 0) {
  }
  if (waiting_.empty()) return;
  uint64_t one = 1;
  (void)!::write(event_fd_, &one, sizeof one);
}

void FakeDhcpSocket::inject(std::vector<uint8_t> frame, ChecksumState checksum) {
  waiting_.push_back(ReceivedFrame{std::move(frame), checksum});
  update_readable();
}

Result<std::optional<ReceivedFrame>> FakeDhcpSocket::receive() {
  if (waiting_.empty()) return std::optional<ReceivedFrame>{};
  ReceivedFrame frame = std::move(waiting_.front());
  waiting_.pop_front();
  update_readable();
  return std::optional<ReceivedFrame>{std::move(frame)};
}

Status FakeDhcpSocket::send(std::span<const uint8_t> frame) {
  if (int err = fail_next_send_) {
    fail_next_send_ = 0;
    return nt::unexpected(from_errno(err, "send on fake DHCP socket"));
  }
  if (frame.size() < 14) return nt::unexpected(from_errno(EINVAL, "send on fake DHCP socket (frame too short)"));
  sent_.emplace_back(frame.begin(), frame.end());
  return {};
}

}  // namespace nt::kernel
