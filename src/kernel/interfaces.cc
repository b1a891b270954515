#include "kernel/interfaces.h"

#include <net/if.h>

#include <cerrno>
#include <cstring>

namespace nt::kernel {

Result<bool> interface_exists(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name.find_first_of("/ \t") != std::string::npos)
    return fail(Errc::invalid_argument, Origin::kernel,
                "\"" + name + "\" is not an interface name (1 to " + std::to_string(IFNAMSIZ - 1) +
                    " characters, no '/' or blanks)");
  errno = 0;
  if (::if_nametoindex(name.c_str()) != 0) return true;
  if (errno == ENODEV || errno == ENXIO) return false;
  Error e{Errc::unavailable, "", "cannot look up interface \"" + name + "\": " + std::strerror(errno), errno};
  e.origin = Origin::kernel;
  return nt::unexpected(std::move(e));
}

}  // namespace nt::kernel
