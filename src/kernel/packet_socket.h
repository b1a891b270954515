// A packet socket bound to one interface (by name, in the caller's namespace), receiving
// the IPv4 frames that reach it from outside and sending whole Ethernet frames out of it:
// what neutrino-bfd speaks over its VXLAN device. Non-blocking; fd() is for an event loop
// (Boost.Asio's posix::stream_descriptor, released before the socket closes).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"

namespace nt::kernel {

// What every packet socket here does the same way (BFD's and the DHCP server's).
namespace packet {
// A non-blocking AF_PACKET socket bound to `ifindex` for `protocol` (ETH_P_*), outgoing
// frames ignored where the kernel can. Created with protocol 0, so that nothing is queued
// before `options` (filters, auxdata; it returns the failing step's name, or nullptr) and
// the bind. `where` names the interface in errors.
Result<int> open_bound(int ifindex, uint16_t protocol, const std::string& where,
                       const std::function<const char*(int fd)>& options = {});
// Sends one whole Ethernet frame out of `ifindex` (to its destination MAC).
Status send_frame(int fd, int ifindex, std::span<const uint8_t> frame, const std::string& where);
}  // namespace packet

struct PacketFrame {
  std::vector<uint8_t> bytes;  // the whole Ethernet frame
  int ifindex = 0;             // the interface it came in on
};

class PacketSocket {
 public:
  // ETH_P_IP on `interface`. Needs CAP_NET_RAW; not_found when there is no such interface.
  static Result<PacketSocket> open(const std::string& interface);

  PacketSocket(PacketSocket&& other) noexcept;
  PacketSocket& operator=(PacketSocket&& other) noexcept;
  PacketSocket(const PacketSocket&) = delete;
  PacketSocket& operator=(const PacketSocket&) = delete;
  ~PacketSocket();

  // The next frame waiting, nullopt when none is (never blocks). Frames the host sent
  // itself and truncated ones are skipped.
  Result<std::optional<PacketFrame>> receive();
  Status send(std::span<const uint8_t> frame);
  int fd() const { return fd_; }
  int ifindex() const { return ifindex_; }
  const std::string& interface() const { return interface_; }

 private:
  PacketSocket(int fd, int ifindex, std::string interface) : fd_(fd), ifindex_(ifindex), interface_(std::move(interface)) {}
  int fd_ = -1;
  int ifindex_ = 0;
  std::string interface_;
  std::vector<uint8_t> buffer_ = std::vector<uint8_t>(65536);
};

}  // namespace nt::kernel
