// BFD (RFC 5880) control packets and their frames, as pure functions: the 24-byte control
// packet without authentication (§4.1) with the receive checks of §6.8.6, and the whole
// Ethernet/IPv4/UDP frame carried over a VXLAN device as RFC 8971 does (inner source = the
// sender's VTEP, inner destination 127.0.0.1, TTL 255, UDP to port 3784). Every host's
// BFD device has the MAC peer_mac(its VTEP), so a frame is addressed from the peer's VTEP
// alone.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace nt::bfd {

enum class State : uint8_t { admin_down = 0, down = 1, init = 2, up = 3 };

enum class Diag : uint8_t {
  none = 0,
  detection_time_expired = 1,
  echo_failed = 2,
  neighbor_down = 3,
  forwarding_reset = 4,
  path_down = 5,
  concatenated_path_down = 6,
  admin_down = 7,
  reverse_concatenated_path_down = 8,
};

std::string_view state_name(State s);  // "admin_down", "down", "init", "up"
std::string_view diag_name(Diag d);    // "none", "control_detection_time_expired", ...

constexpr size_t kControlPacketSize = 24;
constexpr uint16_t kControlPort = 3784;         // RFC 5881 single hop
constexpr uint16_t kSourcePortFirst = 49152;    // source ports: 49152..65535
constexpr uint8_t kTtl = 255;                   // RFC 5881 §5 (GTSM)
constexpr uint32_t kLoopback = 0x7f000001;      // 127.0.0.1, RFC 8971's inner destination

// The mandatory section of a control packet (§4.1). Intervals in microseconds.
struct ControlPacket {
  uint8_t version = 1;
  Diag diag = Diag::none;
  State state = State::down;
  bool poll = false, final = false, control_independent = false, authentication = false, demand = false,
       multipoint = false;
  uint8_t detect_mult = 0;
  uint8_t length = kControlPacketSize;
  uint32_t my_discriminator = 0, your_discriminator = 0;
  uint32_t desired_min_tx_us = 0, required_min_rx_us = 0, required_min_echo_rx_us = 0;
  bool operator==(const ControlPacket&) const = default;
};

std::array<uint8_t, kControlPacketSize> encode(const ControlPacket& p);

// Decodes the UDP payload `datagram` and applies §6.8.6's checks (version 1, length at
// least 24 and within the datagram, detect mult non-zero, multipoint clear, my
// discriminator non-zero, your discriminator zero only in Down/AdminDown, no
// authentication): invalid_argument naming the rule broken.
Result<ControlPacket> decode(std::span<const uint8_t> datagram);

using MacBytes = std::array<uint8_t, 6>;

// 02:bf:a:b:c:d for the VTEP a.b.c.d (host order value).
MacBytes peer_mac(uint32_t ipv4);
Result<MacBytes> peer_mac(std::string_view ipv4);
std::string mac_text(const MacBytes& mac);  // "02:bf:0a:00:00:01"
// A dotted IPv4 address (exactly four decimal parts 0..255) to its host order value.
Result<uint32_t> parse_ipv4(std::string_view text);
std::string ipv4_text(uint32_t ip);

// The addressing of one session's frames (host order).
struct FrameAddress {
  MacBytes dst_mac{}, src_mac{};
  uint32_t src_ip = 0;    // the sender's VTEP
  uint32_t dst_ip = kLoopback;
  uint16_t src_port = kSourcePortFirst;
};

// A whole Ethernet+IPv4+UDP frame carrying `p` (IPv4 checksum set, UDP checksum 0).
std::vector<uint8_t> build_frame(const FrameAddress& to, const ControlPacket& p);

struct ParsedFrame {
  FrameAddress address;  // as received: src_* are the sender's
  uint16_t dst_port = 0;
  uint8_t ttl = 0;
  ControlPacket packet;
};

// Parses a received frame: untagged Ethernet, IPv4 without options' errors or
// fragments, a right header checksum, TTL 255, destination 127.0.0.1, UDP to 3784 (a
// non-zero UDP checksum must be right), then decode() of the payload.
Result<ParsedFrame> parse_frame(std::span<const uint8_t> frame);

// Peer views (ours, not BFD's): which peers a host sees up, sent to its up peers on the
// same device and framing, to UDP port 3786. A gateway host asks them before it takes a
// router over: a host before it that others still see up is not down, only cut off from
// it (a partition), so it stays standby. Payload: "NTV1", a 16-bit count, two bytes zero,
// then the count's IPv4 addresses (at most kMaxViewPeers, sorted).
constexpr uint16_t kViewPort = 3786;
constexpr size_t kMaxViewPeers = 350;  // a frame within a 1450-byte MTU

std::vector<uint8_t> build_view_frame(const FrameAddress& to, std::span<const uint32_t> up);
// A received view frame (the same checks as parse_frame, to port 3786): sender, peers up.
struct ParsedView {
  FrameAddress address;
  std::vector<uint32_t> up;
};
Result<ParsedView> parse_view_frame(std::span<const uint8_t> frame);

}  // namespace nt::bfd
