// Ethernet II + IPv4 + UDP framing for DHCP on a packet socket: the agent receives whole
// frames from a VM's port and sends whole frames back, so the headers and their checksums
// are built and checked here. Untagged frames only (the port's tap carries no VLAN tag).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "dhcp/packet.h"

namespace nt::dhcp {

inline constexpr uint16_t kDhcpServerPort = 67, kDhcpClientPort = 68;
inline constexpr size_t kEthernetHeaderSize = 14, kIpv4HeaderSize = 20, kUdpHeaderSize = 8;

struct UdpFrame {
  Mac source_mac, destination_mac;
  Ipv4Address source_ip, destination_ip;
  uint16_t source_port = 0, destination_port = 0;
  std::vector<uint8_t> payload;
};

// The Internet checksum (RFC 1071) of an IPv4 header as it is, checksum field included:
// 0 for a header whose checksum is right; put it in a header whose field is 0 to fill it.
uint16_t ipv4_header_checksum(std::span<const uint8_t> header);
// The UDP checksum over the IPv4 pseudo-header and `udp` (header and payload, its checksum
// field 0). Never 0: RFC 768 sends a computed 0 as 0xffff, 0 meaning "no checksum".
uint16_t udp_checksum(Ipv4Address source, Ipv4Address destination, std::span<const uint8_t> udp);
// Whether a received datagram's checksum (field as received, not 0) is right.
bool udp_checksum_valid(Ipv4Address source, Ipv4Address destination, std::span<const uint8_t> udp);

// Builds the frame: IPv4 with TTL 64, no options, DF clear, both checksums filled.
std::vector<uint8_t> build_udp_frame(const UdpFrame& frame);

// Parses an untagged Ethernet frame carrying an unfragmented IPv4/UDP datagram. The IPv4
// header checksum is always checked; the UDP one (when not 0) only with verify_udp_checksum,
// since a frame read from a tap before checksum offload completes may not carry it yet.
// Ethernet padding after the IPv4 total length is ignored.
Result<UdpFrame> parse_udp_frame(std::span<const uint8_t> frame, bool verify_udp_checksum);

// parse_udp_frame, then only a datagram to UDP port 67 (a client's message to a server).
Result<UdpFrame> parse_dhcp_server_frame(std::span<const uint8_t> frame, bool verify_udp_checksum);

}  // namespace nt::dhcp
