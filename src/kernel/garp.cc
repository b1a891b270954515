// Gratuitous ARP through a packet socket (kept apart: <net/if.h> and <linux/if.h> clash).
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "kernel/kernel.h"
#include "kernel/plumbing.h"

#include "common/net.h"

namespace nt::kernel {

Status send_gratuitous_arp(const std::string& dev, const std::string& ip, const std::string& mac) {
  auto what = "gratuitous ARP for " + ip + " on " + dev;
  auto parsed = Mac::parse(mac);
  in_addr addr{};
  if (!parsed || ::inet_pton(AF_INET, ip.c_str(), &addr) != 1) return nt::unexpected(from_errno(EINVAL, what));
  unsigned m[6];
  for (int i = 0; i < 6; ++i) m[i] = static_cast<unsigned>((parsed->value >> (8 * (5 - i))) & 0xff);
  unsigned index = ::if_nametoindex(dev.c_str());
  if (index == 0) return nt::unexpected(from_errno(ENODEV, what));
  uint8_t frame[42] = {};
  for (int i = 0; i < 6; ++i) frame[i] = 0xff, frame[6 + i] = static_cast<uint8_t>(m[i]), frame[22 + i] = static_cast<uint8_t>(m[i]);
  frame[12] = 0x08, frame[13] = 0x06;                  // ARP
  frame[14] = 0, frame[15] = 1, frame[16] = 0x08, frame[17] = 0;  // Ethernet, IPv4
  frame[18] = 6, frame[19] = 4, frame[20] = 0, frame[21] = 1;     // request
  std::memcpy(frame + 28, &addr, 4);                   // sender IP
  std::memcpy(frame + 38, &addr, 4);                   // target IP: the same
  int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
  if (fd < 0) return nt::unexpected(from_errno(errno, what));
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(index);
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  ssize_t sent = ::sendto(fd, frame, sizeof frame, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  int err = errno;
  ::close(fd);
  if (sent < 0) return nt::unexpected(from_errno(err, what));
  return {};
}

}  // namespace nt::kernel
