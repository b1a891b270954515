// A listening TCP socket inside a network namespace: the metadata proxy's listeners (the
// proxy itself runs Boost.Asio on the fd; only src/kernel touches namespaces and socket
// options).
#pragma once
#include <cstdint>
#include <string>

#include "common/error.h"

namespace nt::kernel {

// Opens a TCP socket (SOCK_CLOEXEC | SOCK_NONBLOCK, SO_REUSEADDR, IP_FREEBIND so that an
// address not configured yet can be bound; IPv6 addresses listen on IPv6 only) inside
// network namespace `netns` ("" = the caller's), binds address:port (port 0: the kernel
// picks one) and listens. The fd belongs to the caller (close it).
Result<int> open_tcp_listener(const std::string& netns, const std::string& address, uint16_t port);

}  // namespace nt::kernel
