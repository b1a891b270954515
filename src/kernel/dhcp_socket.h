// The host end of a VM's port as the DHCP server sees it: a packet socket bound to one
// interface (a tap or a bridge port) inside a network namespace, receiving only what the
// agent answers locally: IPv4 UDP to port 67 (DHCP to a server) and ARP who-has requests
// (the DHCP port's IP must resolve on the VM's link). Frames the host sends itself and
// VLAN-tagged frames are filtered out in the kernel (classic BPF), then checked again here.
// Building the answers is pure (nt_dhcp for DHCP, arp_reply_for below for ARP).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/net.h"

namespace nt::kernel {

// What the kernel says about a received frame's transport checksum (PACKET_AUXDATA).
enum class ChecksumState {
  unknown,    // nothing said: check it (a client building whole frames, as udhcpc does)
  valid,      // TP_STATUS_CSUM_VALID: already verified
  not_ready,  // TP_STATUS_CSUMNOTREADY: offloaded, not filled in yet (a tap or veth peer)
};

struct ReceivedFrame {
  std::vector<uint8_t> bytes;  // the whole Ethernet frame, untagged
  ChecksumState checksum = ChecksumState::unknown;
  // Whether the UDP checksum in `bytes` is there to be checked (nt::dhcp's
  // verify_udp_checksum): only when the kernel neither verified nor deferred it.
  bool verify_udp_checksum() const { return checksum == ChecksumState::unknown; }
};

// One interface's DHCP/ARP socket. The real one (open_dhcp_socket) and the in-memory one
// (kernel/fake/fake_dhcp_socket.h) behave alike.
class DhcpSocket {
 public:
  virtual ~DhcpSocket() = default;
  // The next frame waiting, or nullopt when none is (never blocks).
  virtual Result<std::optional<ReceivedFrame>> receive() = 0;
  // Sends a whole Ethernet frame out of the interface.
  virtual Status send(std::span<const uint8_t> frame) = 0;
  // Readable when a frame is waiting: for the agent's poll loop.
  virtual int fd() const = 0;
};

// Opens the socket on `interface` inside namespace `netns` ("" = the caller's own).
// Needs CAP_NET_RAW; not_found if the namespace or the interface is not there.
Result<std::unique_ptr<DhcpSocket>> open_dhcp_socket(const std::string& netns, const std::string& interface);

// The ARP reply to `frame` when it is an Ethernet ARP request for `ip` (IPv4) from a
// sender that is not asking about itself: `mac` is at `ip`, sent to the asker. nullopt
// for anything else (another IP, a reply, a gratuitous ARP, a malformed frame).
std::optional<std::vector<uint8_t>> arp_reply_for(std::span<const uint8_t> frame, const IpAddress& ip, const Mac& mac);

}  // namespace nt::kernel
