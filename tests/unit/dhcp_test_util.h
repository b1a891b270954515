// Helpers shared by the DHCP tests: hex, client messages built by the RFC, port descriptions.
#pragma once
#include <ostream>
#include <string_view>
#include <vector>

#include "dhcp/responder.h"

namespace nt::dhcp {
// How GoogleTest shows an option in a failure: code:hex.
inline void PrintTo(const DhcpOption& option, std::ostream* os) {
  static const char* digits = "0123456789abcdef";
  *os << int(option.code) << ':';
  for (uint8_t b : option.data) *os << digits[b >> 4] << digits[b & 15];
}
}  // namespace nt::dhcp

namespace nt::dhcp::testing {

inline std::vector<uint8_t> from_hex(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(uint8_t(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  return out;
}

inline Ipv4Address ip(std::string_view text) { return *Ipv4Address::parse(text); }
inline Mac mac(std::string_view text) { return *Mac::parse(text); }

inline const Mac kClientMac = mac("fa:16:3e:12:34:56");

// A client message as RFC 2131 section 4.4 has a client send it.
inline DhcpPacket client_packet(MessageType type, uint32_t xid = 0x3903f326) {
  DhcpPacket packet;
  packet.xid = xid;
  packet.set_client_mac(kClientMac);
  packet.options.push_back({option::message_type, {static_cast<uint8_t>(type)}});
  return packet;
}

inline DhcpOption address_option(uint8_t code, std::string_view text) {
  auto address = ip(text);
  return address_list_option(code, std::span(&address, 1));
}

inline DhcpRequest request_of(const DhcpPacket& packet) {
  auto bytes = encode_dhcp_packet(packet);
  return *parse_dhcp_request(bytes);
}

// A port on 192.0.2.0/24 with a gateway, one DNS server, MTU 1500, a one-hour lease.
inline PortDhcpConfig basic_port() {
  PortDhcpConfig port;
  port.mac = kClientMac;
  port.address = ip("192.0.2.10");
  port.prefix_length = 24;
  port.gateway = ip("192.0.2.1");
  port.dns_servers = {ip("192.0.2.53")};
  port.mtu = 1500;
  port.lease_seconds = 3600;
  port.server_id = ip("192.0.2.2");
  port.server_mac = mac("fa:16:3e:00:00:02");
  return port;
}

inline const DhcpOption* find_option(const DhcpAnswer& answer, uint8_t code) {
  return answer.reply ? answer.reply->find(code) : nullptr;
}

}  // namespace nt::dhcp::testing
