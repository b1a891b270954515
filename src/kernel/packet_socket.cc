// Kept apart like garp.cc and dhcp_socket.cc: <net/if.h> and <linux/if.h> clash.
#include "kernel/packet_socket.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "kernel/kernel.h"

namespace nt::kernel {
namespace {

constexpr size_t kEthernetHeader = 14;
// Frames skipped (outgoing, truncated) in one receive() before it yields.
constexpr int kMaxSkippedPerReceive = 64;

}  // namespace

namespace packet {

Result<int> open_bound(int ifindex, uint16_t protocol, const std::string& where,
                       const std::function<const char*(int fd)>& options) {
  int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return nt::unexpected(from_errno(errno, "packet socket on " + where));
  auto fail_with = [&](const std::string& step) {
    int err = errno;
    ::close(fd);
    return nt::unexpected(from_errno(err, step + " on " + where));
  };
  if (const char* failed = options ? options(fd) : nullptr) return fail_with(failed);
  int on = 1;  // Linux >= 4.20
  if (::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &on, sizeof on) < 0 && errno != ENOPROTOOPT)
    return fail_with("PACKET_IGNORE_OUTGOING");
  sockaddr_ll at{};
  at.sll_family = AF_PACKET;
  at.sll_protocol = htons(protocol);
  at.sll_ifindex = ifindex;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) < 0) return fail_with("bind");
  return fd;
}

Status send_frame(int fd, int ifindex, std::span<const uint8_t> frame, const std::string& where) {
  auto what = "send on " + where;
  if (frame.size() < kEthernetHeader) return nt::unexpected(from_errno(EINVAL, what + " (frame too short)"));
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = ifindex;
  to.sll_protocol = htons(static_cast<uint16_t>(frame[12] << 8 | frame[13]));
  to.sll_halen = 6;
  std::memcpy(to.sll_addr, frame.data(), 6);
  for (;;) {
    ssize_t sent = ::sendto(fd, frame.data(), frame.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), sizeof to);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) return nt::unexpected(from_errno(errno, what));
    if (size_t(sent) != frame.size()) return nt::unexpected(from_errno(EMSGSIZE, what));
    return {};
  }
}

}  // namespace packet

Result<PacketSocket> PacketSocket::open(const std::string& interface) {
  int ifindex = static_cast<int>(::if_nametoindex(interface.c_str()));
  if (ifindex == 0) return nt::unexpected(from_errno(errno == ENXIO ? ENODEV : errno, "interface " + interface));
  NT_ASSIGN(int fd, packet::open_bound(ifindex, ETH_P_IP, interface));
  return PacketSocket(fd, ifindex, interface);
}

PacketSocket::PacketSocket(PacketSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), ifindex_(other.ifindex_), interface_(std::move(other.interface_)),
      buffer_(std::move(other.buffer_)) {}

PacketSocket& PacketSocket::operator=(PacketSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    ifindex_ = other.ifindex_;
    interface_ = std::move(other.interface_);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

PacketSocket::~PacketSocket() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::optional<PacketFrame>> PacketSocket::receive() {
  for (int skipped = 0; skipped < kMaxSkippedPerReceive; ++skipped) {
    sockaddr_ll from{};
    socklen_t from_len = sizeof from;
    ssize_t n = ::recvfrom(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_TRUNC, reinterpret_cast<sockaddr*>(&from),
                           &from_len);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::optional<PacketFrame>{};
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return nt::unexpected(from_errno(errno, "receive on " + interface_));
    if (from.sll_pkttype == PACKET_OUTGOING || size_t(n) > buffer_.size()) continue;
    PacketFrame frame{std::vector<uint8_t>(buffer_.begin(), buffer_.begin() + n), from.sll_ifindex};
    return std::optional<PacketFrame>{std::move(frame)};
  }
  return std::optional<PacketFrame>{};  // more may wait: the descriptor stays readable
}

Status PacketSocket::send(std::span<const uint8_t> frame) { return packet::send_frame(fd_, ifindex_, frame, interface_); }

}  // namespace nt::kernel
