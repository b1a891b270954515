// Random and mutated input for the DHCP codec and framing (no libFuzzer): whatever the bytes,
// parsing returns a value or an error, never crashes or reads out of bounds (run under
// ASan/UBSan to see the latter), and whatever the responder builds parses back.
#include <gtest/gtest.h>

#include <random>

#include "dhcp/responder.h"
#include "dhcp_test_util.h"
#include "dhcp_udhcpc_capture.inc"

namespace nt::dhcp {
namespace {

using testing::basic_port;
using testing::client_packet;
using testing::from_hex;
using testing::ip;

constexpr int kIterations = 20000;

std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t size) {
  std::vector<uint8_t> out(size);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// Changes a valid buffer the ways broken or hostile senders do.
void mutate(std::mt19937& rng, std::vector<uint8_t>& bytes) {
  int changes = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < changes; ++i) {
    size_t at = bytes.empty() ? 0 : rng() % bytes.size();
    switch (rng() % 6) {
      case 0: if (!bytes.empty()) bytes[at] = static_cast<uint8_t>(rng()); break;          // a byte
      case 1: if (!bytes.empty()) bytes[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;  // a bit
      case 2: bytes.resize(at); break;                                                       // truncated
      case 3: bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), static_cast<uint8_t>(rng())); break;
      case 4: if (!bytes.empty()) bytes[at] = rng() % 2 ? 0xff : 0x00; break;                // an extreme
      case 5: {  // an option area byte: a length or code
        if (bytes.size() > kOptionsOffset) bytes[kOptionsOffset + rng() % (bytes.size() - kOptionsOffset)] = static_cast<uint8_t>(rng());
        break;
      }
    }
  }
}

// A request that parsed is answered; a reply parses back and fits the client's size.
void answer_and_check(const DhcpRequest& request) {
  auto port = basic_port();
  port.mac = request.client_mac;
  port.host_routes = {{ip("169.254.169.254"), 32, ip("192.0.2.2")}};
  port.extra_options = {{"bootfile-name", "pxelinux.0"}, {"150", "192.0.2.3"}};
  auto answer = answer_dhcp_request(request, port);
  if (!answer.has_reply()) return;
  auto payload = answer.payload();
  ASSERT_LE(payload.size(), reply_size_limit(request, port));
  auto reparsed = parse_dhcp_packet(payload);
  ASSERT_TRUE(reparsed) << reparsed.error().message;
  EXPECT_EQ(reparsed->op, kBootReply);
  EXPECT_EQ(reparsed->xid, request.xid);
  auto frame = parse_udp_frame(reply_frame(answer, port), true);
  ASSERT_TRUE(frame) << frame.error().message;
  EXPECT_EQ(frame->payload, payload);
}

std::vector<std::vector<uint8_t>> valid_payloads() {
  std::vector<std::vector<uint8_t>> seeds;
  for (const char* hex : {kUdhcpcDiscoverFrame, kUdhcpcSelectingRequestFrame, kUdhcpcRenewRequestFrame})
    seeds.push_back(parse_dhcp_server_frame(from_hex(hex), false)->payload);
  auto inform = client_packet(MessageType::inform);
  inform.ciaddr = ip("192.0.2.10");
  inform.options.push_back(u16_option(option::max_message_size, 1500));
  seeds.push_back(encode_dhcp_packet(inform));
  return seeds;
}

TEST(DhcpRandomInput, RandomBuffersAreErrorsOrValidRequests) {
  std::mt19937 rng(20240613);
  int parsed = 0;
  for (int i = 0; i < kIterations; ++i) {
    auto bytes = random_bytes(rng, rng() % 700);
    if (i % 2 == 0 && bytes.size() > kOptionsOffset + 3) {  // past the header checks, into the options
      bytes[0] = kBootRequest, bytes[1] = 1, bytes[2] = 6;
      std::copy_n(from_hex("63825363").begin(), 4, bytes.begin() + kFixedHeaderSize);
      bytes[kOptionsOffset] = option::message_type, bytes[kOptionsOffset + 1] = 1;
      bytes[kOptionsOffset + 2] = static_cast<uint8_t>(1 + rng() % 8);
      if (i % 4 == 0) bytes[kOptionsOffset + 3] = option::end;  // else random options follow
    }
    auto request = parse_dhcp_request(bytes);
    if (!request) continue;
    ++parsed;
    answer_and_check(*request);
  }
  EXPECT_GT(parsed, 0);  // some random option areas are well-formed: the responder saw them too
}

TEST(DhcpRandomInput, MutatedMessagesAreErrorsOrValidRequests) {
  std::mt19937 rng(3442);
  auto seeds = valid_payloads();
  int parsed = 0, rejected = 0;
  for (int i = 0; i < kIterations; ++i) {
    auto bytes = seeds[i % seeds.size()];
    mutate(rng, bytes);
    auto request = parse_dhcp_request(bytes);
    if (!request) {
      ++rejected;
      EXPECT_FALSE(request.error().message.empty());
      continue;
    }
    ++parsed;
    answer_and_check(*request);
  }
  EXPECT_GT(parsed, 1000);
  EXPECT_GT(rejected, 1000);
}

TEST(DhcpRandomInput, RandomOptionsRoundTrip) {
  std::mt19937 rng(2131);
  for (int i = 0; i < 2000; ++i) {
    auto packet = client_packet(MessageType::discover, static_cast<uint32_t>(rng()));
    for (int code = 1; code < 255; code += 1 + static_cast<int>(rng() % 40)) {  // distinct codes, no pad/end
      if (code == option::message_type || code == option::overload) continue;
      packet.options.push_back({static_cast<uint8_t>(code), random_bytes(rng, rng() % 600)});  // long ones are split
    }
    auto parsed = parse_dhcp_packet(encode_dhcp_packet(packet));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->options, packet.options);
  }
}

TEST(DhcpRandomInput, MutatedAndRandomFramesAreErrorsOrConsistent) {
  std::mt19937 rng(768);
  std::vector<std::vector<uint8_t>> seeds;
  for (const char* hex : {kUdhcpcDiscoverFrame, kUdhcpcSelectingRequestFrame, kUdhcpcRenewRequestFrame, kOfferFrame})
    seeds.push_back(from_hex(hex));
  int parsed = 0;
  for (int i = 0; i < kIterations; ++i) {
    auto bytes = i % 4 == 3 ? random_bytes(rng, rng() % 400) : seeds[i % seeds.size()];
    if (i % 4 != 3) mutate(rng, bytes);
    auto frame = parse_udp_frame(bytes, i % 2 == 0);
    if (!frame) continue;
    ++parsed;
    EXPECT_LE(frame->payload.size() + kEthernetHeaderSize + kIpv4HeaderSize + kUdpHeaderSize, bytes.size());
    (void)parse_dhcp_request(frame->payload);
  }
  EXPECT_GT(parsed, 100);
}

}  // namespace
}  // namespace nt::dhcp
