#include "kernel/kernel.h"

#include <cerrno>
#include <cstring>

namespace nt::kernel {

Error from_errno(int err, const std::string& what) {
  Errc code = Errc::internal;
  switch (err) {
    case EEXIST: code = Errc::conflict; break;
    case ENODEV:
    case ENOENT: code = Errc::not_found; break;
    case EINVAL:
    case ERANGE: code = Errc::invalid_argument; break;
    case EPERM:
    case EACCES: code = Errc::forbidden; break;
    case EOPNOTSUPP: code = Errc::not_implemented; break;
    case EBUSY:
    case EAGAIN:
    case ENOBUFS: code = Errc::unavailable; break;
    default: break;
  }
  return Error{code, "KernelError", what + ": " + std::strerror(err), err};
}

std::string Op::describe() const {
  switch (kind) {
    case add_link: return "add link " + link.name + " (" + link.kind + ")";
    case set_link: return "set link " + link.name;
    case del_link: return "del link " + link.name;
    case add_fdb: return "add fdb " + fdb.mac + " dev " + fdb.dev + (fdb.dst.empty() ? " master" : " dst " + fdb.dst);
    case del_fdb: return "del fdb " + fdb.mac + " dev " + fdb.dev + (fdb.dst.empty() ? " master" : " dst " + fdb.dst);
    case add_neigh: return "add neigh " + neigh.ip + " lladdr " + neigh.mac + " dev " + neigh.dev;
    case del_neigh: return "del neigh " + neigh.ip + " dev " + neigh.dev;
  }
  return "?";
}

}  // namespace nt::kernel
