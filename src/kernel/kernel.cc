#include "kernel/kernel.h"

#include <algorithm>
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
  Error e{code, "", what + ": " + std::strerror(err), err};
  e.origin = Origin::kernel;
  return e;
}

bool link_differs(const Link& want, const Link& have) {
  return want.master != have.master || want.mtu != have.mtu || want.up != have.up || want.port_learning != have.port_learning ||
         (!want.mac.empty() && want.mac != have.mac);
}

std::string Op::describe() const {
  switch (kind) {
    case add_link: return "add link " + link.name + " (" + link.kind + ")";
    case set_link: return "set link " + link.name;
    case del_link: return "del link " + link.name;
    case add_fdb:
      return "add fdb " + fdb.mac + " dev " + fdb.dev + (fdb.dst.empty() ? (fdb.sticky ? " master sticky" : " master") : " dst " + fdb.dst);
    case del_fdb: return "del fdb " + fdb.mac + " dev " + fdb.dev + (fdb.dst.empty() ? " master" : " dst " + fdb.dst);
    case add_neigh: return "add neigh " + neigh.ip + " lladdr " + neigh.mac + " dev " + neigh.dev;
    case del_neigh: return "del neigh " + neigh.ip + " dev " + neigh.dev;
    case add_addr: return "add address " + addr.cidr + " dev " + addr.dev;
    case del_addr: return "del address " + addr.cidr + " dev " + addr.dev;
    case add_route:
    case del_route:
      return std::string(kind == add_route ? "add" : "del") + " route " + route.dst + (route.via.empty() ? "" : " via " + route.via) +
             (route.dev.empty() ? "" : " dev " + route.dev) + " table " + std::to_string(route.table);
    case add_rule:
    case del_rule:
      return std::string(kind == add_rule ? "add" : "del") + " rule priority " + std::to_string(rule.priority) +
             (rule.from.empty() ? "" : " from " + rule.from) + " table " + std::to_string(rule.table);
    case put_nft: return "replace nftables table " + nft_table;
    case del_nft: return "delete nftables table " + nft_table;
    case edit_nft: return "change nftables table " + nft_table + " (" + std::to_string(std::count(nft_body.begin(), nft_body.end(), '\n')) + " commands)";
  }
  return "?";
}

}  // namespace nt::kernel
