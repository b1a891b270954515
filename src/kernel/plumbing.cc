#include "kernel/plumbing.h"

#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/geneve.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <sys/socket.h>

#include <cstring>
#include <thread>

#include "kernel/kernel.h"
#include "kernel/netlink_kernel.h"
#include "kernel/nl_owned.h"

namespace nt::kernel {
namespace {

class NetlinkPlumbing final : public Plumbing {
 public:
  explicit NetlinkPlumbing(nl_sock* sk) : sk_(sk) {}
  ~NetlinkPlumbing() override { nl_socket_free(sk_); }

  Status add_bridge(const std::string& name, int mtu) override {
    Owned<rtnl_link, put_link> l{rtnl_link_alloc()};
    rtnl_link_set_name(l.p, name.c_str());
    rtnl_link_set_type(l.p, "bridge");
    rtnl_link_set_mtu(l.p, static_cast<unsigned>(mtu));
    return check(rtnl_link_add(sk_, l.p, NLM_F_CREATE | NLM_F_EXCL), "add bridge " + name);
  }

  Status add_veth(const VethSpec& spec) override {
    auto what = "add veth " + spec.name + " peer " + spec.peer;
    Owned<rtnl_link, put_link> l{rtnl_link_veth_alloc()};
    if (!l.p) return nt::unexpected(from_errno(ENOMEM, what));
    rtnl_link_set_name(l.p, spec.name.c_str());
    rtnl_link_set_mtu(l.p, static_cast<unsigned>(spec.mtu));
    rtnl_link* peer = rtnl_link_veth_get_peer(l.p);  // owned by l (the reference we get is released below)
    rtnl_link_set_name(peer, spec.peer.c_str());
    rtnl_link_set_mtu(peer, static_cast<unsigned>(spec.mtu));
    if (spec.peer_netns_fd >= 0) rtnl_link_set_ns_fd(peer, spec.peer_netns_fd);
    Owned<nl_addr, put_addr> mac;
    if (!spec.peer_mac.empty()) {
      if (nl_addr_parse(spec.peer_mac.c_str(), AF_LLC, &mac.p) < 0) {
        rtnl_link_put(peer);
        return nt::unexpected(from_errno(EINVAL, what + ": bad MAC " + spec.peer_mac));
      }
      rtnl_link_set_addr(peer, mac.p);
    }
    rtnl_link_put(peer);
    return check(rtnl_link_add(sk_, l.p, NLM_F_CREATE | NLM_F_EXCL), what);
  }

  Status link_up(const std::string& name, const std::string& master) override {
    auto what = "set " + name + " up" + (master.empty() ? "" : " master " + master);
    Owned<rtnl_link, put_link> orig, change{rtnl_link_alloc()};
    if (int e = rtnl_link_get_kernel(sk_, 0, name.c_str(), &orig.p); e < 0) return check(e, what);
    if (!master.empty()) {
      Owned<rtnl_link, put_link> bridge;
      if (int e = rtnl_link_get_kernel(sk_, 0, master.c_str(), &bridge.p); e < 0) return check(e, what);
      rtnl_link_set_master(change.p, rtnl_link_get_ifindex(bridge.p));
    }
    rtnl_link_set_flags(change.p, IFF_UP);
    return check(rtnl_link_change(sk_, orig.p, change.p, 0), what);
  }

  Status add_address(const std::string& dev, const std::string& cidr) override {
    auto what = "add address " + cidr + " dev " + dev;
    Owned<rtnl_link, put_link> link;
    if (int e = rtnl_link_get_kernel(sk_, 0, dev.c_str(), &link.p); e < 0) return check(e, what);
    Owned<nl_addr, put_addr> local;
    if (nl_addr_parse(cidr.c_str(), AF_INET, &local.p) < 0) return nt::unexpected(from_errno(EINVAL, what));
    Owned<rtnl_addr, put_rtaddr> a{rtnl_addr_alloc()};
    rtnl_addr_set_ifindex(a.p, rtnl_link_get_ifindex(link.p));
    rtnl_addr_set_local(a.p, local.p);
    rtnl_addr_set_prefixlen(a.p, static_cast<int>(nl_addr_get_prefixlen(local.p)));
    return check(rtnl_addr_add(sk_, a.p, 0), what);
  }

  Status add_route(const std::string& dst, const std::string& via) override {
    auto what = "add route " + dst + " via " + via;
    Owned<nl_addr, put_addr> to, gw;
    if (nl_addr_parse(dst == "default" ? "0.0.0.0/0" : dst.c_str(), AF_INET, &to.p) < 0 ||
        nl_addr_parse(via.c_str(), AF_INET, &gw.p) < 0)
      return nt::unexpected(from_errno(EINVAL, what));
    Owned<rtnl_route, put_route> r{rtnl_route_alloc()};
    rtnl_route_set_family(r.p, AF_INET);
    rtnl_route_set_table(r.p, RT_TABLE_MAIN);
    rtnl_route_set_protocol(r.p, RTPROT_STATIC);
    rtnl_route_set_dst(r.p, to.p);
    rtnl_nexthop* nh = rtnl_route_nh_alloc();  // owned by the route once added
    rtnl_route_nh_set_gateway(nh, gw.p);
    rtnl_route_add_nexthop(r.p, nh);
    return check(rtnl_route_add(sk_, r.p, NLM_F_CREATE | NLM_F_EXCL), what);
  }

  bool has_link(const std::string& name) override {
    Owned<rtnl_link, put_link> l;
    return rtnl_link_get_kernel(sk_, 0, name.c_str(), &l.p) == 0;
  }

 private:
  static Status check(int nle, const std::string& what) {
    if (nle >= 0) return {};
    return nt::unexpected(from_errno(errno_of_nle(nle), what));
  }
  nl_sock* sk_;
};

}  // namespace

namespace {

std::string module_of(const std::string& kind) { return kind == "vlan" ? "8021q" : kind; }

// Creates one link of `kind` on the socket's (throwaway) namespace; the libnl result.
int try_link_kind(nl_sock* sk, const std::string& kind, int parent) {
  Owned<rtnl_link, put_link> l{kind == "vxlan" ? rtnl_link_vxlan_alloc() : rtnl_link_alloc()};
  rtnl_link_set_name(l.p, ("probe-" + kind).c_str());
  if (kind == "vxlan") {
    rtnl_link_vxlan_set_id(l.p, 5);
  } else {
    if (int e = rtnl_link_set_type(l.p, kind.c_str()); e < 0) return e;
    if (kind == "vlan") rtnl_link_set_link(l.p, parent), rtnl_link_vlan_set_id(l.p, 5);
    if (kind == "geneve") {
      rtnl_link_geneve_set_id(l.p, 5);
      Owned<nl_addr, put_addr> remote;
      if (nl_addr_parse("192.0.2.1", AF_INET, &remote.p) == 0) rtnl_link_geneve_set_remote(l.p, remote.p);
    }
  }
  return rtnl_link_add(sk, l.p, NLM_F_CREATE | NLM_F_EXCL);
}

}  // namespace

std::map<std::string, std::string> missing_link_kinds(const std::vector<std::string>& kinds) {
  std::map<std::string, std::string> missing;
  std::thread probe([&] {
    auto all = [&](const std::string& why) {
      for (const auto& k : kinds) missing[k] = why;
    };
    if (::unshare(CLONE_NEWNET) < 0) return all(std::string("cannot probe the kernel: ") + std::strerror(errno));
    auto opened = open_route_socket();
    if (!opened) return all("cannot probe the kernel: " + opened.error().message);
    nl_sock* sk = *opened;
    Owned<rtnl_link, put_link> dummy{rtnl_link_alloc()};
    rtnl_link_set_name(dummy.p, "probe0");
    rtnl_link_set_type(dummy.p, "dummy");
    rtnl_link_add(sk, dummy.p, NLM_F_CREATE | NLM_F_EXCL);
    Owned<rtnl_link, put_link> parent;
    int parent_index = rtnl_link_get_kernel(sk, 0, "probe0", &parent.p) == 0 ? rtnl_link_get_ifindex(parent.p) : 0;
    for (const auto& kind : kinds) {
      int e = try_link_kind(sk, kind, parent_index);
      if (e >= 0) continue;
      int err = errno_of_nle(e);
      missing[kind] = err == EOPNOTSUPP ? "this kernel has no " + kind + " link type (module " + module_of(kind) + ")"
                                        : "this kernel cannot create " + kind + " links: " + std::strerror(err);
    }
    nl_socket_free(sk);
  });
  probe.join();
  return missing;
}

Result<std::unique_ptr<Plumbing>> Plumbing::open() {
  NT_ASSIGN(nl_sock* sk, open_route_socket());
  return std::unique_ptr<Plumbing>(std::make_unique<NetlinkPlumbing>(sk));
}

}  // namespace nt::kernel
