// The packet socket behind DhcpSocket (kept apart like garp.cc: <net/if.h> and <linux/if.h>
// clash).
#include "kernel/dhcp_socket.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "kernel/kernel.h"
#include "kernel/netns.h"
#include "kernel/packet_socket.h"

namespace nt::kernel {
namespace {

constexpr size_t kEthernetHeader = 14, kArpFrameSize = 42;
constexpr uint16_t kArpRequest = 1, kArpReply = 2, kDhcpServerPort = 67;
// Frames skipped (outgoing, tagged, truncated) in one receive() before it yields.
constexpr int kMaxSkippedPerReceive = 64;
// Large enough for any frame an interface with jumbo MTU delivers (GRO is off on packet
// sockets' view of a tap, and DHCP never comes near it).
constexpr size_t kReceiveBuffer = 65536;

sock_filter statement(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }
sock_filter jump(uint16_t code, uint32_t k, uint8_t if_true, uint8_t if_false) {
  return BPF_JUMP(code, k, if_true, if_false);
}

// Accepts (from the wire side only, untagged) ARP requests and unfragmented IPv4 UDP to
// port 67. Jump offsets count instructions after the jump: accept is at 16, drop at 17.
std::array<sock_filter, 18> dhcp_and_arp_filter() {
  return {{
      statement(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),              // 0
      jump(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 15, 0),                       // 1 -> drop
      statement(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT),     // 2
      jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 13),                                     // 3 tagged -> drop
      statement(BPF_LD | BPF_H | BPF_ABS, 12),                                       // 4 ethertype
      jump(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_ARP, 0, 2),                          // 5 -> 6 or 8
      statement(BPF_LD | BPF_H | BPF_ABS, 20),                                       // 6 ARP opcode
      jump(BPF_JMP | BPF_JEQ | BPF_K, kArpRequest, 8, 9),                             // 7 -> accept/drop
      jump(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_IP, 0, 8),                           // 8 -> drop
      statement(BPF_LD | BPF_B | BPF_ABS, 23),                                       // 9 IP protocol
      jump(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 6),                            // 10 -> drop
      statement(BPF_LD | BPF_H | BPF_ABS, 20),                                       // 11 flags, offset
      jump(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 4, 0),                                // 12 fragment -> drop
      statement(BPF_LDX | BPF_B | BPF_MSH, kEthernetHeader),                         // 13 X = IP header size
      statement(BPF_LD | BPF_H | BPF_IND, kEthernetHeader + 2),                      // 14 UDP dst port
      jump(BPF_JMP | BPF_JEQ | BPF_K, kDhcpServerPort, 0, 1),                        // 15 -> accept/drop
      statement(BPF_RET | BPF_K, 0x40000),                                           // 16 accept
      statement(BPF_RET | BPF_K, 0),                                                 // 17 drop
  }};
}

ChecksumState checksum_state_of(uint32_t tp_status) {
  if (tp_status & TP_STATUS_CSUMNOTREADY) return ChecksumState::not_ready;
  if (tp_status & TP_STATUS_CSUM_VALID) return ChecksumState::valid;
  return ChecksumState::unknown;
}

class PacketDhcpSocket final : public DhcpSocket {
 public:
  PacketDhcpSocket(int fd, int ifindex, std::string where)
      : fd_(fd), ifindex_(ifindex), where_(std::move(where)), buffer_(kReceiveBuffer) {}
  ~PacketDhcpSocket() override { ::close(fd_); }
  PacketDhcpSocket(const PacketDhcpSocket&) = delete;
  PacketDhcpSocket& operator=(const PacketDhcpSocket&) = delete;

  Result<std::optional<ReceivedFrame>> receive() override;
  Status send(std::span<const uint8_t> frame) override;
  int fd() const override { return fd_; }

 private:
  int fd_;
  int ifindex_;
  std::string where_;  // "dev in namespace", for messages
  std::vector<uint8_t> buffer_;
};

Result<std::optional<ReceivedFrame>> PacketDhcpSocket::receive() {
  for (int skipped = 0; skipped < kMaxSkippedPerReceive; ++skipped) {
    sockaddr_ll from{};
    iovec iov{buffer_.data(), buffer_.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::optional<ReceivedFrame>{};
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return nt::unexpected(from_errno(errno, "receive on " + where_));
    if (from.sll_pkttype == PACKET_OUTGOING || (msg.msg_flags & MSG_TRUNC) || size_t(n) > buffer_.size()) continue;
    ReceivedFrame frame;
    bool tagged = false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
      tpacket_auxdata aux;
      std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
      frame.checksum = checksum_state_of(aux.tp_status);
      tagged = (aux.tp_status & TP_STATUS_VLAN_VALID) && aux.tp_vlan_tci != 0;
    }
    if (tagged) continue;
    frame.bytes.assign(buffer_.begin(), buffer_.begin() + n);
    return std::optional<ReceivedFrame>{std::move(frame)};
  }
  return std::optional<ReceivedFrame>{};  // more may wait: poll says so again
}

Status PacketDhcpSocket::send(std::span<const uint8_t> frame) { return packet::send_frame(fd_, ifindex_, frame, where_); }

// Filter first, then bind with a protocol: a socket of protocol 0 receives nothing, so no
// unfiltered frame is ever queued (the filter drops outgoing frames too).
Result<int> open_filtered_socket(int ifindex, const std::string& where) {
  return packet::open_bound(ifindex, ETH_P_ALL, where, [](int fd) -> const char* {
    auto filter = dhcp_and_arp_filter();
    sock_fprog program{static_cast<unsigned short>(filter.size()), filter.data()};
    if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) < 0) return "attach filter";
    int on = 1;
    if (::setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &on, sizeof on) < 0) return "PACKET_AUXDATA";
    return nullptr;
  });
}

}  // namespace

Result<std::unique_ptr<DhcpSocket>> open_dhcp_socket(const std::string& netns, const std::string& interface) {
  auto where = interface + (netns.empty() ? "" : " in namespace " + netns);
  int ifindex = 0, fd = -1;
  auto open_here = [&]() -> Status {
    ifindex = static_cast<int>(::if_nametoindex(interface.c_str()));
    if (ifindex == 0) return nt::unexpected(from_errno(errno == ENXIO ? ENODEV : errno, "interface " + where));
    NT_ASSIGN(fd, open_filtered_socket(ifindex, where));
    return {};
  };
  NT_TRY(netns.empty() ? open_here() : run_in_namespace(netns, open_here));
  return std::unique_ptr<DhcpSocket>(std::make_unique<PacketDhcpSocket>(fd, ifindex, where));
}

std::optional<std::vector<uint8_t>> arp_reply_for(std::span<const uint8_t> frame, const IpAddress& ip, const Mac& mac) {
  if (ip.version != 4 || frame.size() < kArpFrameSize) return std::nullopt;
  auto u16 = [&](size_t at) { return uint16_t(frame[at] << 8 | frame[at + 1]); };
  bool arp_request = u16(12) == ETHERTYPE_ARP && u16(14) == 1 && u16(16) == ETHERTYPE_IP && frame[18] == 6 &&
                     frame[19] == 4 && u16(20) == kArpRequest;
  if (!arp_request) return std::nullopt;
  std::span<const uint8_t> sender_mac = frame.subspan(22, 6), sender_ip = frame.subspan(28, 4),
                           target_ip = frame.subspan(38, 4);
  uint8_t wanted_ip[4], our_mac[6];
  for (int i = 0; i < 4; ++i) wanted_ip[i] = static_cast<uint8_t>(ip.value >> (8 * (3 - i)));
  for (int i = 0; i < 6; ++i) our_mac[i] = static_cast<uint8_t>(mac.value >> (8 * (5 - i)));
  bool for_us = std::memcmp(target_ip.data(), wanted_ip, 4) == 0;
  bool gratuitous = std::memcmp(sender_ip.data(), target_ip.data(), 4) == 0;
  bool multicast_sender = sender_mac[0] & 1;
  if (!for_us || gratuitous || multicast_sender) return std::nullopt;
  std::vector<uint8_t> reply(kArpFrameSize);
  std::memcpy(&reply[0], sender_mac.data(), 6);   // to the asker
  std::memcpy(&reply[6], our_mac, 6);
  reply[12] = 0x08, reply[13] = 0x06;
  reply[14] = 0, reply[15] = 1, reply[16] = 0x08, reply[17] = 0, reply[18] = 6, reply[19] = 4;
  reply[20] = 0, reply[21] = kArpReply;
  std::memcpy(&reply[22], our_mac, 6);            // sender: we are at ip
  std::memcpy(&reply[28], wanted_ip, 4);
  std::memcpy(&reply[32], sender_mac.data(), 6);  // target: the asker (an ARP probe's 0.0.0.0 stays)
  std::memcpy(&reply[38], sender_ip.data(), 4);
  return reply;
}

}  // namespace nt::kernel
