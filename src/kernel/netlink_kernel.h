// The real kernel through rtnetlink (libnl-route-3), in the network namespace of the
// calling thread when the kernel object is created.
#pragma once
#include <memory>

#include "kernel/kernel.h"

struct nl_sock;  // libnl

namespace nt::kernel {
Result<std::unique_ptr<Kernel>> open_netlink_kernel();
// An rtnetlink socket (libnl) connected in the calling thread's namespace; caller frees it.
Result<::nl_sock*> open_route_socket();
// A libnl NLE_* code (negative or not) as the errno it stands for; for from_errno().
int errno_of_nle(int nle);
}  // namespace nt::kernel

namespace nt::kernel {
// Link events (RTNLGRP_LINK) of the current network namespace: the VIF watcher wakes the
// agent when Nova plugs or removes a tap, instead of waiting for the next periodic pass.
class LinkWatcher {
 public:
  static Result<std::unique_ptr<LinkWatcher>> open();
  virtual ~LinkWatcher() = default;
  // Waits up to timeout_ms for link events; true if any came (they are drained).
  virtual bool wait(int timeout_ms) = 0;
};
}  // namespace nt::kernel
