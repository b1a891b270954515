// Ethernet+IPv4+UDP framing of DHCP (src/dhcp/frame.h): checksums, building, parsing garbage.
#include <gtest/gtest.h>

#include "dhcp/frame.h"
#include "dhcp_test_util.h"
#include "dhcp_udhcpc_capture.inc"

namespace nt::dhcp {
namespace {

using testing::from_hex;
using testing::ip;
using testing::mac;

UdpFrame client_frame() {
  UdpFrame frame;
  frame.source_mac = mac("fa:16:3e:12:34:56");
  frame.destination_mac = kBroadcastMac;
  frame.destination_ip = kBroadcastIp;
  frame.source_port = kDhcpClientPort;
  frame.destination_port = kDhcpServerPort;
  frame.payload = encode_dhcp_packet(testing::client_packet(MessageType::discover));
  return frame;
}

TEST(DhcpFrame, Ipv4HeaderChecksumOfAKnownHeader) {
  // 192.168.0.1 -> 192.168.0.199, UDP, TTL 64, DF: checksum 0xb861.
  auto header = from_hex("450000730000400040110000c0a80001c0a800c7");
  EXPECT_EQ(ipv4_header_checksum(header), 0xb861);
  header[10] = 0xb8, header[11] = 0x61;
  EXPECT_EQ(ipv4_header_checksum(header), 0);  // right: sums to zero
}

TEST(DhcpFrame, UdpChecksumOfTheCapturedDiscover) {
  auto frame = from_hex(kUdhcpcDiscoverFrame);
  auto udp = std::span<const uint8_t>(frame).subspan(kEthernetHeaderSize + kIpv4HeaderSize);
  EXPECT_TRUE(udp_checksum_valid(ip("0.0.0.0"), kBroadcastIp, udp));
  std::vector<uint8_t> zeroed(udp.begin(), udp.end());
  uint16_t sent = uint16_t(zeroed[6] << 8 | zeroed[7]);
  zeroed[6] = zeroed[7] = 0;
  EXPECT_EQ(udp_checksum(ip("0.0.0.0"), kBroadcastIp, zeroed), sent);
  EXPECT_FALSE(udp_checksum_valid(ip("0.0.0.1"), kBroadcastIp, udp));
}

TEST(DhcpFrame, BuildsWhatItParses) {
  auto sent = client_frame();
  auto bytes = build_udp_frame(sent);
  ASSERT_EQ(bytes.size(), 14u + 20u + 8u + 300u);
  EXPECT_EQ(bytes[12], 0x08);
  EXPECT_EQ(bytes[13], 0x00);
  EXPECT_EQ(bytes[14 + 8], 64);  // TTL
  EXPECT_EQ(ipv4_header_checksum(std::span(bytes).subspan(14, 20)), 0);
  auto parsed = parse_dhcp_server_frame(bytes, true);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->source_mac, sent.source_mac);
  EXPECT_EQ(parsed->destination_mac, sent.destination_mac);
  EXPECT_EQ(parsed->source_ip, sent.source_ip);
  EXPECT_EQ(parsed->destination_ip, sent.destination_ip);
  EXPECT_EQ(parsed->source_port, 68);
  EXPECT_EQ(parsed->payload, sent.payload);
}

TEST(DhcpFrame, IgnoresEthernetPaddingAndAcceptsNoUdpChecksum) {
  auto sent = client_frame();
  sent.payload.resize(10);  // a short datagram: its frame gets padded on the wire
  auto bytes = build_udp_frame(sent);
  bytes.resize(bytes.size() + 8, 0xee);
  auto parsed = parse_udp_frame(bytes, true);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->payload.size(), 10u);
  bytes[14 + 20 + 6] = bytes[14 + 20 + 7] = 0;  // UDP checksum 0: "none" (RFC 768)
  EXPECT_TRUE(parse_udp_frame(bytes, true));
}

TEST(DhcpFrame, RejectsWhatIsNotAnUntaggedUnfragmentedDatagramToPort67) {
  auto valid = build_udp_frame(client_frame());
  ASSERT_TRUE(parse_dhcp_server_frame(valid, true));
  auto broken = [&](auto change) {
    auto bytes = valid;
    change(bytes);
    return parse_dhcp_server_frame(bytes, true);
  };
  // Rewrites the IPv4 header checksum after a change to the header.
  auto refresh = [](std::vector<uint8_t>& b) {
    b[24] = b[25] = 0;
    uint16_t sum = ipv4_header_checksum(std::span(b).subspan(14, size_t(b[14] & 0x0f) * 4));
    b[24] = uint8_t(sum >> 8), b[25] = uint8_t(sum);
  };
  EXPECT_FALSE(parse_dhcp_server_frame({}, true));
  EXPECT_FALSE(broken([](auto& b) { b.resize(33); }));
  EXPECT_FALSE(broken([](auto& b) { b[12] = 0x81, b[13] = 0x00; }));                     // VLAN tag
  EXPECT_FALSE(broken([](auto& b) { b[12] = 0x86, b[13] = 0xdd; }));                     // IPv6
  EXPECT_FALSE(broken([&](auto& b) { b[14] = 0x65, refresh(b); }));                      // version 6
  EXPECT_FALSE(broken([&](auto& b) { b[14] = 0x44, refresh(b); }));                      // header of 16 bytes
  EXPECT_FALSE(broken([&](auto& b) { b[14] = 0x4f, b.resize(40); }));                   // header past the frame
  EXPECT_FALSE(broken([&](auto& b) { b[16] = 0xff, refresh(b); }));                      // total length too big
  EXPECT_FALSE(broken([&](auto& b) { b[20] = 0x20, refresh(b); }));                      // more fragments
  EXPECT_FALSE(broken([&](auto& b) { b[21] = 0x10, refresh(b); }));                      // a fragment offset
  EXPECT_FALSE(broken([&](auto& b) { b[23] = 6, refresh(b); }));                         // TCP
  EXPECT_FALSE(broken([](auto& b) { b[22] ^= 1; }));                                     // IPv4 checksum
  EXPECT_FALSE(broken([](auto& b) { b[38] = 0xff; }));                                   // UDP length too big
  EXPECT_FALSE(broken([](auto& b) { b[38] = 0, b[39] = 4; }));                           // UDP length < 8
  EXPECT_FALSE(broken([](auto& b) { b[50] ^= 1; }));                                     // UDP checksum
  EXPECT_FALSE(broken([](auto& b) { b[37] = 68; }));                                     // to port 68
  auto bad_sum = valid;
  bad_sum[50] ^= 1;
  EXPECT_TRUE(parse_dhcp_server_frame(bad_sum, false));  // not verified: offload may leave it unfilled
}

}  // namespace
}  // namespace nt::dhcp
