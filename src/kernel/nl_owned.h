// Scope ownership of libnl objects (internal to src/kernel): Owned<rtnl_link, put_link> l;
#pragma once
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>

namespace nt::kernel {

template <class T, void (*Free)(T*)>
struct Owned {
  T* p = nullptr;
  ~Owned() { if (p) Free(p); }
};

inline void put_addr(nl_addr* a) { nl_addr_put(a); }
inline void put_link(rtnl_link* l) { rtnl_link_put(l); }
inline void put_neigh(rtnl_neigh* n) { rtnl_neigh_put(n); }
inline void put_cache(nl_cache* c) { nl_cache_free(c); }
inline void put_rtaddr(rtnl_addr* a) { rtnl_addr_put(a); }
inline void put_route(rtnl_route* r) { rtnl_route_put(r); }
inline void put_rule(rtnl_rule* r) { rtnl_rule_put(r); }

}  // namespace nt::kernel
