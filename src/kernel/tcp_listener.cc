#include "kernel/tcp_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kernel/kernel.h"
#include "kernel/netns.h"

namespace nt::kernel {
namespace {

// As Neutron's metadata_backlog; the kernel caps it at net.core.somaxconn.
constexpr int kBacklog = 4096;

Result<int> open_here(const std::string& address, uint16_t port, const std::string& where) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&storage); ::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof *v4;
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
             ::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof *v6;
  } else {
    return fail(Errc::invalid_argument, Origin::kernel, "listen on " + where + ": \"" + address + "\" is not an IP address");
  }
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return nt::unexpected(from_errno(errno, "TCP socket for " + where));
  auto fail_with = [&](const std::string& step) {
    int err = errno;
    ::close(fd);
    return nt::unexpected(from_errno(err, step + " on " + where));
  };
  int on = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) return fail_with("SO_REUSEADDR");
  if (::setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof on) < 0) return fail_with("IP_FREEBIND");
  if (family == AF_INET6 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) < 0) return fail_with("IPV6_V6ONLY");
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) < 0) return fail_with("bind");
  if (::listen(fd, kBacklog) < 0) return fail_with("listen");
  return fd;
}

}  // namespace

Result<int> open_tcp_listener(const std::string& netns, const std::string& address, uint16_t port) {
  std::string where = address + ":" + std::to_string(port) + (netns.empty() ? "" : " in namespace " + netns);
  if (netns.empty()) return open_here(address, port, where);
  int fd = -1;
  auto inside = run_in_namespace(netns, [&]() -> Status {
    NT_ASSIGN(fd, open_here(address, port, where));
    return {};
  });
  if (!inside) {
    if (fd >= 0) ::close(fd);
    return nt::unexpected(std::move(inside).error());
  }
  return fd;
}

}  // namespace nt::kernel
