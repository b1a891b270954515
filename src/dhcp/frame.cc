#include "dhcp/frame.h"

namespace nt::dhcp {
namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800, kEtherTypeVlan = 0x8100, kEtherTypeQinQ = 0x88a8;
constexpr uint8_t kProtocolUdp = 17;
constexpr uint8_t kDefaultTtl = 64;

nt::unexpected<Error> bad_frame(std::string message) {
  return fail(Errc::invalid_argument, Origin::unspecified, "not a DHCP frame: " + std::move(message));
}

uint16_t read_u16(std::span<const uint8_t> b, size_t at) { return uint16_t(b[at] << 8 | b[at + 1]); }
uint32_t read_u32(std::span<const uint8_t> b, size_t at) {
  return uint32_t(read_u16(b, at)) << 16 | read_u16(b, at + 2);
}
void write_u16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = uint8_t(v >> 8);
  b[at + 1] = uint8_t(v);
}
void write_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  write_u16(b, at, uint16_t(v >> 16));
  write_u16(b, at + 2, uint16_t(v));
}
void write_mac(std::vector<uint8_t>& b, size_t at, const Mac& mac) {
  for (int i = 0; i < 6; ++i) b[at + i] = uint8_t(mac.value >> (8 * (5 - i)));
}
Mac read_mac(std::span<const uint8_t> b, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 6; ++i) v = v << 8 | b[at + i];
  return Mac{v};
}

// One's-complement sum of 16-bit words, an odd last byte padded with zero (RFC 1071).
uint32_t add_words(uint32_t sum, std::span<const uint8_t> bytes) {
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) sum += uint32_t(bytes[i] << 8 | bytes[i + 1]);
  if (i < bytes.size()) sum += uint32_t(bytes[i] << 8);
  return sum;
}
uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

}  // namespace

uint16_t ipv4_header_checksum(std::span<const uint8_t> header) { return fold(add_words(0, header)); }

uint16_t udp_checksum(Ipv4Address source, Ipv4Address destination, std::span<const uint8_t> udp) {
  uint32_t sum = 0;
  sum += source.value >> 16;
  sum += source.value & 0xffff;
  sum += destination.value >> 16;
  sum += destination.value & 0xffff;
  sum += kProtocolUdp;
  sum += static_cast<uint32_t>(udp.size());  // fits: a datagram is less than 64 KiB
  uint16_t checksum = fold(add_words(sum, udp));
  return checksum == 0 ? 0xffff : checksum;
}

bool udp_checksum_valid(Ipv4Address source, Ipv4Address destination, std::span<const uint8_t> udp) {
  // Summed with a right checksum in place, everything adds up to 0xffff: its complement 0
  // is what udp_checksum reports as 0xffff.
  return udp_checksum(source, destination, udp) == 0xffff;
}

std::vector<uint8_t> build_udp_frame(const UdpFrame& frame) {
  size_t udp_size = kUdpHeaderSize + frame.payload.size();
  size_t ip_size = kIpv4HeaderSize + udp_size;
  std::vector<uint8_t> out(kEthernetHeaderSize + ip_size, 0);
  write_mac(out, 0, frame.destination_mac);
  write_mac(out, 6, frame.source_mac);
  write_u16(out, 12, kEtherTypeIpv4);
  size_t ip = kEthernetHeaderSize;
  out[ip] = 0x45;  // version 4, 5 words of header
  write_u16(out, ip + 2, static_cast<uint16_t>(ip_size));
  out[ip + 8] = kDefaultTtl;
  out[ip + 9] = kProtocolUdp;
  write_u32(out, ip + 12, frame.source_ip.value);
  write_u32(out, ip + 16, frame.destination_ip.value);
  write_u16(out, ip + 10, ipv4_header_checksum(std::span(out).subspan(ip, kIpv4HeaderSize)));
  size_t udp = ip + kIpv4HeaderSize;
  write_u16(out, udp, frame.source_port);
  write_u16(out, udp + 2, frame.destination_port);
  write_u16(out, udp + 4, static_cast<uint16_t>(udp_size));
  std::copy(frame.payload.begin(), frame.payload.end(), out.begin() + static_cast<std::ptrdiff_t>(udp + kUdpHeaderSize));
  write_u16(out, udp + 6, udp_checksum(frame.source_ip, frame.destination_ip, std::span(out).subspan(udp)));
  return out;
}

namespace {

// The IPv4 datagram inside an untagged Ethernet frame, its Ethernet padding cut off.
Result<std::span<const uint8_t>> ipv4_datagram(std::span<const uint8_t> frame) {
  if (frame.size() < kEthernetHeaderSize + kIpv4HeaderSize) return bad_frame("too short for Ethernet and IPv4");
  uint16_t ethertype = read_u16(frame, 12);
  if (ethertype == kEtherTypeVlan || ethertype == kEtherTypeQinQ) return bad_frame("VLAN-tagged");
  if (ethertype != kEtherTypeIpv4) return bad_frame("EtherType is not IPv4");
  auto ip = frame.subspan(kEthernetHeaderSize);
  if (ip[0] >> 4 != 4) return bad_frame("IP version is not 4");
  size_t header_size = size_t(ip[0] & 0x0f) * 4;
  size_t total = read_u16(ip, 2);
  if (header_size < kIpv4HeaderSize || header_size > ip.size()) return bad_frame("bad IPv4 header length");
  if (total < header_size || total > ip.size()) return bad_frame("IPv4 total length beyond the frame");
  if (ipv4_header_checksum(ip.subspan(0, header_size)) != 0) return bad_frame("bad IPv4 header checksum");
  if ((read_u16(ip, 6) & 0x3fff) != 0) return bad_frame("a fragment");  // MF set or an offset
  if (ip[9] != kProtocolUdp) return bad_frame("not UDP");
  return ip.subspan(0, total);
}

}  // namespace

Result<UdpFrame> parse_udp_frame(std::span<const uint8_t> frame, bool verify_udp_checksum) {
  NT_ASSIGN(auto ip, ipv4_datagram(frame));
  size_t header_size = size_t(ip[0] & 0x0f) * 4;
  auto udp = ip.subspan(header_size);
  if (udp.size() < kUdpHeaderSize) return bad_frame("too short for UDP");
  size_t udp_size = read_u16(udp, 4);
  if (udp_size < kUdpHeaderSize || udp_size > udp.size()) return bad_frame("UDP length beyond the datagram");
  udp = udp.subspan(0, udp_size);
  UdpFrame out;
  out.destination_mac = read_mac(frame, 0);
  out.source_mac = read_mac(frame, 6);
  out.source_ip = {read_u32(ip, 12)};
  out.destination_ip = {read_u32(ip, 16)};
  out.source_port = read_u16(udp, 0);
  out.destination_port = read_u16(udp, 2);
  if (verify_udp_checksum && read_u16(udp, 6) != 0 && !udp_checksum_valid(out.source_ip, out.destination_ip, udp))
    return bad_frame("bad UDP checksum");
  out.payload.assign(udp.begin() + kUdpHeaderSize, udp.end());
  return out;
}

Result<UdpFrame> parse_dhcp_server_frame(std::span<const uint8_t> frame, bool verify_udp_checksum) {
  NT_ASSIGN(auto udp, parse_udp_frame(frame, verify_udp_checksum));
  if (udp.destination_port != kDhcpServerPort)
    return bad_frame("UDP port " + std::to_string(udp.destination_port) + ", not 67");
  return udp;
}

}  // namespace nt::dhcp
