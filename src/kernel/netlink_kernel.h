// The real kernel through rtnetlink (libnl-route-3), in the network namespace of the
// calling thread when the kernel object is created.
#pragma once
#include <memory>

#include "kernel/kernel.h"

namespace nt::kernel {
Result<std::unique_ptr<Kernel>> open_netlink_kernel();
}  // namespace nt::kernel
