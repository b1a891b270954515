// Network interfaces of this host, by name: the one question `neutrino-agent
// --check-config` asks the host (do the bridge_mappings interfaces exist here?).
#pragma once
#include <string>

#include "common/error.h"

namespace nt::kernel {

// True when the current network namespace has an interface of that name; false when it
// has none (ENODEV); an error when the kernel could not be asked (or the name is no
// interface name at all: empty, or longer than IFNAMSIZ - 1).
Result<bool> interface_exists(const std::string& name);

}  // namespace nt::kernel
