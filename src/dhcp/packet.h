// DHCPv4 wire codec: the message of RFC 2131, the options of RFC 2132, long options split
// and concatenated as RFC 3396 says. Pure functions over byte buffers: no sockets, no I/O.
//
// Written here rather than taken from a library: Debian's only C/C++ DHCPv4 codec is ISC
// Kea's libkea-dhcp++ (package kea-dev), which drags in a dozen Kea shared libraries and
// log4cplus and reports malformed input by throwing; isc-dhcp-dev is OMAPI (a client for a
// running dhcpd), not a codec. The format is small enough to parse here, bounds-checked.
#pragma once
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/net.h"

namespace nt::dhcp {

struct Ipv4Address {
  uint32_t value = 0;  // host order

  static Result<Ipv4Address> parse(std::string_view text);  // dotted quad only
  static constexpr Ipv4Address of(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return {uint32_t(a) << 24 | uint32_t(b) << 16 | uint32_t(c) << 8 | d};
  }
  std::string str() const;
  bool is_zero() const { return value == 0; }
  auto operator<=>(const Ipv4Address&) const = default;
};
inline constexpr Ipv4Address kBroadcastIp{0xffffffffu};
inline constexpr Mac kBroadcastMac{0xffffffffffffULL};

// The netmask of a prefix length in 0..32 (values outside are clamped).
Ipv4Address netmask_of(int prefix_length);

// Option codes (RFC 2132 and later) this server reads or writes.
namespace option {
inline constexpr uint8_t pad = 0, subnet_mask = 1, router = 3, dns_servers = 6, hostname = 12,
                         domain_name = 15, mtu = 26, broadcast_address = 28, requested_ip = 50,
                         lease_time = 51, overload = 52, message_type = 53, server_id = 54,
                         parameter_request_list = 55, message = 56, max_message_size = 57,
                         renewal_time = 58, rebinding_time = 59, client_id = 61, tftp_server = 66,
                         bootfile_name = 67, domain_search = 119, classless_routes = 121,
                         tftp_server_address = 150, ms_classless_routes = 249, end = 255;
}  // namespace option

enum class MessageType : uint8_t { discover = 1, offer, request, decline, ack, nak, release, inform };
std::string_view message_type_name(MessageType type);

struct DhcpOption {
  uint8_t code = 0;
  std::vector<uint8_t> data;
  bool operator==(const DhcpOption&) const = default;
};

inline constexpr uint8_t kBootRequest = 1, kBootReply = 2;
inline constexpr uint16_t kBroadcastFlag = 0x8000;
inline constexpr size_t kFixedHeaderSize = 236;  // op .. file, before the magic cookie
inline constexpr size_t kOptionsOffset = 240;    // after the magic cookie
inline constexpr size_t kMinimumReplySize = 300; // BOOTP's minimum message (RFC 1542 2.1)
inline constexpr size_t kMaxUdpPayload = 65507;  // the largest UDP payload IPv4 can carry

// One DHCP message as it is on the wire, in either direction.
struct DhcpPacket {
  uint8_t op = kBootRequest;
  uint8_t htype = 1;  // Ethernet
  uint8_t hlen = 6;
  uint8_t hops = 0;
  uint32_t xid = 0;
  uint16_t secs = 0;
  uint16_t flags = 0;
  Ipv4Address ciaddr, yiaddr, siaddr, giaddr;
  std::array<uint8_t, 16> chaddr{};
  std::string server_name;  // sname: at most 63 bytes are encoded
  std::string boot_file;    // file: at most 127 bytes are encoded
  // In wire order. On parse, repeated codes are concatenated into the first (RFC 3396).
  std::vector<DhcpOption> options;

  const DhcpOption* find(uint8_t code) const;
  Mac client_mac() const;  // the first 6 bytes of chaddr
  void set_client_mac(const Mac& mac);
};

// Parses a UDP payload. Every malformed input is an error value: shorter than the fixed
// header, larger than a UDP datagram, no magic cookie, an option running past the buffer,
// option overload (52, which this server refuses).
Result<DhcpPacket> parse_dhcp_packet(std::span<const uint8_t> payload);

// Encodes the options in order, each longer than 255 bytes split into several (RFC 3396),
// then the end option, padded to the 300-byte BOOTP minimum.
std::vector<uint8_t> encode_dhcp_packet(const DhcpPacket& packet);

// The bytes an option takes on the wire, with its code/length headers.
size_t encoded_option_size(const DhcpOption& option);

// What a client's message says, typed: the server's reading of a BOOTREQUEST.
struct DhcpRequest {
  MessageType type = MessageType::discover;
  uint32_t xid = 0;
  uint16_t secs = 0;
  uint16_t flags = 0;
  Ipv4Address ciaddr, giaddr;
  Mac client_mac;
  std::optional<Ipv4Address> requested_ip;   // 50
  std::optional<Ipv4Address> server_id;      // 54
  std::vector<uint8_t> client_id;            // 61, empty when absent
  std::vector<uint8_t> parameter_request_list;  // 55
  std::string hostname;                      // 12, empty when absent
  std::optional<uint16_t> max_message_size;  // 57, only values >= 576 (smaller are illegal)

  bool broadcast() const { return (flags & kBroadcastFlag) != 0; }
};

// Reads a parsed packet as a client request: op BOOTREQUEST, Ethernet (htype 1, hlen 6),
// a message type 53 of 1..8, options of the lengths RFC 2132 gives them.
Result<DhcpRequest> read_dhcp_request(const DhcpPacket& packet);
Result<DhcpRequest> parse_dhcp_request(std::span<const uint8_t> payload);

}  // namespace nt::dhcp
