// kernel::arp_reply_for (pure) and the in-memory DhcpSocket (FakeDhcpSocket).
#include <gtest/gtest.h>
#include <poll.h>

#include <cerrno>

#include "kernel/dhcp_socket.h"
#include "kernel/fake/fake_dhcp_socket.h"

namespace nt::kernel {
namespace {

const Mac kServerMac{0xfa163e0000aaULL};
const Mac kVmMac{0xfa163e000001ULL};

IpAddress ip4(uint32_t v) { return IpAddress{4, v}; }
constexpr uint32_t kServerIp = 0x0a000002, kVmIp = 0x0a00000a;  // 10.0.0.2, 10.0.0.10

void put_mac(std::vector<uint8_t>& f, size_t at, uint64_t mac) {
  for (int i = 0; i < 6; ++i) f[at + i] = uint8_t(mac >> (8 * (5 - i)));
}
void put_ip(std::vector<uint8_t>& f, size_t at, uint32_t ip) {
  for (int i = 0; i < 4; ++i) f[at + i] = uint8_t(ip >> (8 * (3 - i)));
}

// An ARP request as arping sends it: broadcast, who-has target tell sender.
std::vector<uint8_t> arp_request(uint32_t sender_ip, uint32_t target_ip, uint16_t op = 1) {
  std::vector<uint8_t> f(60, 0);
  put_mac(f, 0, 0xffffffffffffULL);
  put_mac(f, 6, kVmMac.value);
  f[12] = 0x08, f[13] = 0x06, f[15] = 1, f[16] = 0x08, f[18] = 6, f[19] = 4, f[21] = uint8_t(op);
  put_mac(f, 22, kVmMac.value);
  put_ip(f, 28, sender_ip);
  put_ip(f, 38, target_ip);
  return f;
}

TEST(ArpReply, AnswersWhoHasForTheServerIpToTheAsker) {
  auto reply = arp_reply_for(arp_request(kVmIp, kServerIp), ip4(kServerIp), kServerMac);
  ASSERT_TRUE(reply);
  std::vector<uint8_t> want(42, 0);
  put_mac(want, 0, kVmMac.value);
  put_mac(want, 6, kServerMac.value);
  want[12] = 0x08, want[13] = 0x06, want[15] = 1, want[16] = 0x08, want[18] = 6, want[19] = 4, want[21] = 2;
  put_mac(want, 22, kServerMac.value);
  put_ip(want, 28, kServerIp);
  put_mac(want, 32, kVmMac.value);
  put_ip(want, 38, kVmIp);
  EXPECT_EQ(*reply, want);
}

TEST(ArpReply, AnswersAProbeForTheServerIp) {  // RFC 5227: sender 0.0.0.0, we defend
  auto reply = arp_reply_for(arp_request(0, kServerIp), ip4(kServerIp), kServerMac);
  ASSERT_TRUE(reply);
  EXPECT_EQ(std::vector<uint8_t>(reply->begin() + 38, reply->end()), std::vector<uint8_t>(4, 0));
}

TEST(ArpReply, IgnoresEverythingElse) {
  EXPECT_FALSE(arp_reply_for(arp_request(kVmIp, kVmIp + 1), ip4(kServerIp), kServerMac));  // other IP
  EXPECT_FALSE(arp_reply_for(arp_request(kServerIp, kServerIp), ip4(kServerIp), kServerMac));  // gratuitous
  EXPECT_FALSE(arp_reply_for(arp_request(kVmIp, kServerIp, 2), ip4(kServerIp), kServerMac));  // a reply
  auto short_frame = arp_request(kVmIp, kServerIp);
  short_frame.resize(41);
  EXPECT_FALSE(arp_reply_for(short_frame, ip4(kServerIp), kServerMac));
  auto ipv4 = arp_request(kVmIp, kServerIp);
  ipv4[13] = 0x00;  // ethertype 0x0800
  EXPECT_FALSE(arp_reply_for(ipv4, ip4(kServerIp), kServerMac));
  auto multicast_sender = arp_request(kVmIp, kServerIp);
  multicast_sender[22] |= 1;
  EXPECT_FALSE(arp_reply_for(multicast_sender, ip4(kServerIp), kServerMac));
  EXPECT_FALSE(arp_reply_for(arp_request(kVmIp, kServerIp), IpAddress{6, kServerIp}, kServerMac));
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

TEST(FakeDhcpSocket, QueuesInjectedFramesAndIsReadableWhileAnyWait) {
  FakeDhcpSocket socket;
  ASSERT_GE(socket.fd(), 0);
  EXPECT_FALSE(readable(socket.fd()));
  auto none = socket.receive();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  socket.inject(arp_request(kVmIp, kServerIp));
  socket.inject(std::vector<uint8_t>(60, 7), ChecksumState::not_ready);
  EXPECT_TRUE(readable(socket.fd()));
  auto first = socket.receive();
  ASSERT_TRUE(first && *first);
  EXPECT_TRUE((*first)->verify_udp_checksum());
  EXPECT_TRUE(readable(socket.fd()));
  auto second = socket.receive();
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->bytes, std::vector<uint8_t>(60, 7));
  EXPECT_FALSE((*second)->verify_udp_checksum());
  EXPECT_FALSE(readable(socket.fd()));
}

TEST(FakeDhcpSocket, RecordsSentFramesAndFailsAsAskedWithTheErrno) {
  FakeDhcpSocket socket;
  auto frame = arp_request(kVmIp, kServerIp);
  ASSERT_TRUE(socket.send(frame));
  socket.fail_next_send(ENOBUFS);
  auto failed = socket.send(frame);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::unavailable);
  EXPECT_EQ(failed.error().sys_errno, ENOBUFS);
  EXPECT_EQ(failed.error().origin, Origin::kernel);
  EXPECT_FALSE(socket.send(std::vector<uint8_t>(10, 0)));
  ASSERT_EQ(socket.sent().size(), 1u);
  EXPECT_EQ(socket.sent()[0], frame);
}

}  // namespace
}  // namespace nt::kernel
