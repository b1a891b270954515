// rtnetlink through libnl-route-3: links (bridge, vxlan, and existing taps/interfaces
// enslaved), bridge-port learning, FDB entries (vxlan "self" with a VTEP, bridge "master"
// static) and permanent neighbours. libnl returns negative NLE_* codes; the errno behind
// them comes from nl_syserr2nlerr's inverse, which libnl keeps in the socket's last error,
// so the translation to Error stays in kernel.cc's from_errno.
#include "kernel/netlink_kernel.h"

#include "kernel/netlink_l3.h"
#include "kernel/nl_owned.h"
#include "kernel/netns.h"

#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/neighbour.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <cerrno>
#include <utility>

namespace nt::kernel {
namespace {

// "family nt-name" of ours and nothing else (the name goes into an nftables command).
bool our_table_name(const std::string& table) {
  std::string_view t(table);
  bool family = false;
  for (std::string_view f : {"inet ", "bridge ", "ip "})
    if (t.substr(0, f.size()) == f) t.remove_prefix(f.size()), family = true;
  if (!family || t.size() > 32 || t.substr(0, 3) != "nt-") return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

int errno_of(int nle) { return errno_of_nle(nle); }

}  // namespace

// libnl error codes back to errno for the ones the reconcilers care about.
int errno_of_nle(int nle) {
  switch (-nle < 0 ? nle : -nle) {
    case NLE_EXIST: return EEXIST;
    case NLE_NODEV: return ENODEV;
    case NLE_OBJ_NOTFOUND: return ENOENT;
    case NLE_INVAL: return EINVAL;
    case NLE_PERM: return EPERM;
    case NLE_OPNOTSUPP: return EOPNOTSUPP;
    case NLE_BUSY: return EBUSY;
    case NLE_NOMEM: return ENOMEM;
    case NLE_RANGE: return ERANGE;
    default: return EIO;
  }
}

namespace {

std::string addr_str(nl_addr* a, bool mac) {
  if (!a) return "";
  char buf[128];
  nl_addr2str(a, buf, sizeof buf);
  std::string s(buf);
  if (!mac) {
    auto slash = s.find('/');
    if (slash != std::string::npos) s.resize(slash);
  }
  return s;
}

class NetlinkKernel final : public Kernel {
 public:
  // Every socket belongs to the namespace of the thread that opens the kernel.
  explicit NetlinkKernel(nl_sock* sk) : sk_(sk), nft_(nft_ctx_new(NFT_CTX_DEFAULT)) {
    if (nft_) nft_ctx_buffer_output(nft_), nft_ctx_buffer_error(nft_);
    nf_sk_ = nl_socket_alloc();
    if (nf_sk_ && nl_connect(nf_sk_, NETLINK_NETFILTER) < 0) nl_socket_free(nf_sk_), nf_sk_ = nullptr;
  }
  ~NetlinkKernel() override {
    if (nft_) nft_ctx_free(nft_);
    if (nf_sk_) nl_socket_free(nf_sk_);
    nl_socket_free(sk_);
  }

  Result<State> read() override {
    State s;
    Owned<nl_cache, put_cache> links, ports;
    if (int e = dump_links(&links.p); e < 0) return nt::unexpected(from_errno(errno_of(e), "dump links"));
    names_.clear();
    auto& names = names_;
    for (auto* o = nl_cache_get_first(links.p); o; o = nl_cache_get_next(o)) {
      auto* l = reinterpret_cast<rtnl_link*>(o);
      names[rtnl_link_get_ifindex(l)] = rtnl_link_get_name(l);
    }
    for (auto* o = nl_cache_get_first(links.p); o; o = nl_cache_get_next(o)) {
      auto* l = reinterpret_cast<rtnl_link*>(o);
      Link link;
      link.name = rtnl_link_get_name(l);
      const char* type = rtnl_link_get_type(l);
      link.kind = type ? type : "device";
      if (int m = rtnl_link_get_master(l); m > 0) link.master = names[m];
      link.mtu = static_cast<int>(rtnl_link_get_mtu(l));
      if (nl_addr* mac = rtnl_link_get_addr(l); mac && nl_addr_get_len(mac) == 6)
        link.mac = mac_text(static_cast<const uint8_t*>(nl_addr_get_binary_addr(mac)));
      link.up = rtnl_link_get_flags(l) & IFF_UP;
      if (link.kind == "vlan") {
        link.vni = rtnl_link_vlan_get_id(l);
        if (int p = rtnl_link_get_link(l); p > 0) link.parent = names[p];
      }
      if (link.kind == "vxlan") {
        uint32_t id = 0;
        rtnl_link_vxlan_get_id(l, &id);
        link.vni = id;
        nl_addr* local = nullptr;
        if (rtnl_link_vxlan_get_local(l, &local) == 0) {
          link.local_ip = addr_str(local, false);
          nl_addr_put(local);
        }
        link.learning = rtnl_link_vxlan_get_learning(l) == 1;
        link.proxy = rtnl_link_vxlan_get_proxy(l) == 1;
      }
      s.links[link.name] = link;
    }
    // Bridge ports' learning flag comes from the AF_BRIDGE dump.
    if (rtnl_link_alloc_cache(sk_, AF_BRIDGE, &ports.p) == 0)
      for (auto* o = nl_cache_get_first(ports.p); o; o = nl_cache_get_next(o)) {
        auto* l = reinterpret_cast<rtnl_link*>(o);
        auto it = s.links.find(rtnl_link_get_name(l));
        // The dump also lists the bridges themselves; only their ports have the flag.
        if (it != s.links.end() && !it->second.master.empty())
          it->second.port_learning = rtnl_link_bridge_get_flags(l) & RTNL_BRIDGE_LEARNING;
      }
    size_t unknown = 0;  // (none: the links were just read)
    for (int family : {AF_BRIDGE, AF_INET, AF_INET6})
      if (int e = dump_neighbours(family, names, s, unknown); e < 0) return nt::unexpected(from_errno(errno_of(e), "dump neighbours"));
    if (int e = detail::read_addresses(sk_, names, s); e < 0) return nt::unexpected(from_errno(errno_of(e), "dump addresses"));
    if (int e = detail::read_routes(sk_, names, s); e < 0) return nt::unexpected(from_errno(errno_of(e), "dump routes"));
    if (int e = detail::read_rules(sk_, s); e < 0) return nt::unexpected(from_errno(errno_of(e), "dump rules"));
    if (nft_ && read_tables(s) != 0) return nt::unexpected(from_errno(EIO, "list nftables tables"));
    return s;
  }

  Status reread_nft(State& s) override {
    s.nft.clear();
    if (nft_ && read_tables(s) != 0) return nt::unexpected(from_errno(EIO, "list nftables tables"));
    return {};
  }

  // The entries by the interface names of the last read(); an entry on an interface made
  // since (a VM's tap plugged meanwhile) is one that read() would see: then it reads all.
  Status reread_neighbours(State& s) override {
    State fresh;
    size_t unknown = 0;
    for (int family : {AF_BRIDGE, AF_INET, AF_INET6})
      if (int e = dump_neighbours(family, names_, fresh, unknown); e < 0)
        return nt::unexpected(from_errno(errno_of(e), "dump neighbours"));
    if (unknown > 0) {
      NT_ASSIGN(s, read());
      return {};
    }
    s.fdb = std::move(fresh.fdb);
    s.neighbours = std::move(fresh.neighbours);
    return {};
  }

  Status apply(const std::vector<Op>& batch) override {
    index_.clear();
    for (const auto& op : batch) {
      int e = apply_one(op);
      if (peer_fd_ >= 0) ::close(peer_fd_), peer_fd_ = -1;
      if (e < 0 && (op.kind == Op::put_nft || op.kind == Op::del_nft || op.kind == Op::edit_nft))
        return nt::unexpected(from_errno(EINVAL, op.describe() + ": " + nft_error_));
      // Indexes learnt so far hold until a link operation (the memo starts empty per batch).
      if (op.kind == Op::add_link || op.kind == Op::set_link || op.kind == Op::del_link) index_.clear();
      if (e < 0) return nt::unexpected(from_errno(errno_of(e), op.describe()));
    }
    return {};
  }

 private:
  struct DumpContext {
    const std::map<int, std::string>* names;
    State* state;
    size_t* unknown;  // entries on an interface not in `names`
  };

  // FDB and neighbour entries straight from the dump messages: libnl's cache objects
  // (hashing, identity checks) cost more than the kernel's dump itself at 10,000s of entries.
  int dump_neighbours(int family, const std::map<int, std::string>& names, State& s, size_t& unknown) {
    ndmsg ndm{};
    ndm.ndm_family = static_cast<uint8_t>(family);
    DumpContext ctx{&names, &s, &unknown};
    nl_cb* cb = nl_cb_clone(nl_socket_get_cb(sk_));
    if (!cb) return -NLE_NOMEM;
    nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, &NetlinkKernel::on_neighbour, &ctx);
    int e = nl_send_simple(sk_, RTM_GETNEIGH, NLM_F_DUMP, &ndm, sizeof ndm);
    if (e >= 0) e = nl_recvmsgs(sk_, cb);
    nl_cb_put(cb);
    return e;
  }

  static int on_neighbour(nl_msg* msg, void* arg) {
    auto* ctx = static_cast<DumpContext*>(arg);
    nlmsghdr* nlh = nlmsg_hdr(msg);
    if (nlh->nlmsg_type != RTM_NEWNEIGH) return NL_OK;
    auto* ndm = static_cast<ndmsg*>(nlmsg_data(nlh));
    nlattr* tb[NDA_MAX + 1];
    if (nlmsg_parse(nlh, sizeof(ndmsg), tb, NDA_MAX, nullptr) < 0) return NL_OK;
    auto dev = ctx->names->find(ndm->ndm_ifindex);
    if (dev == ctx->names->end()) ++*ctx->unknown;
    if (dev == ctx->names->end() || !tb[NDA_LLADDR] || nla_len(tb[NDA_LLADDR]) != 6) return NL_OK;
    auto mac = mac_text(static_cast<const uint8_t*>(nla_data(tb[NDA_LLADDR])));
    std::string dst = tb[NDA_DST] ? ip_text(tb[NDA_DST]) : "";
    if (ndm->ndm_family == AF_BRIDGE) {
      if ((ndm->ndm_flags & NTF_SELF) && !dst.empty()) ctx->state->fdb.insert({dev->second, mac, dst});
      else if (!(ndm->ndm_flags & NTF_SELF) && (ndm->ndm_state & NUD_NOARP) && !(ndm->ndm_state & NUD_PERMANENT))
        ctx->state->fdb.insert({dev->second, mac, "", (ndm->ndm_flags & NTF_STICKY) != 0});
    } else if ((ndm->ndm_family == AF_INET || ndm->ndm_family == AF_INET6) && (ndm->ndm_state & NUD_PERMANENT) && !dst.empty()) {
      ctx->state->neighbours.insert({dev->second, dst, mac});
    }
    return NL_OK;
  }

  static std::string mac_text(const uint8_t* b) {
    static const char* hex = "0123456789abcdef";
    std::string out(17, ':');
    for (int i = 0; i < 6; ++i) out[i * 3] = hex[b[i] >> 4], out[i * 3 + 1] = hex[b[i] & 15];
    return out;
  }

  // An address attribute as text: IPv4 or IPv6 by its length, "" for anything else.
  static std::string ip_text(const nlattr* a) {
    int family = nla_len(a) == 4 ? AF_INET : nla_len(a) == 16 ? AF_INET6 : AF_UNSPEC;
    char buf[INET6_ADDRSTRLEN];
    if (family == AF_UNSPEC || !::inet_ntop(family, nla_data(a), buf, sizeof buf)) return "";
    return buf;
  }

  // An interface's index, asked of the kernel by name (one small request, not a dump of
  // every link) and remembered within a batch until a link operation; 0 if there is none.
  int ifindex(const std::string& name) {
    if (auto it = index_.find(name); it != index_.end()) return it->second;
    Owned<rtnl_link, put_link> l;
    if (rtnl_link_get_kernel(sk_, 0, name.c_str(), &l.p) < 0) return 0;
    return index_[name] = rtnl_link_get_ifindex(l.p);
  }

  // Every link, as libnl's link cache holds them, but without their statistics
  // (RTEXT_FILTER_SKIP_STATS): libnl's own request asks for them, and filling every link's
  // counters is most of what a link dump costs the kernel; the agent never reads them.
  int dump_links(nl_cache** out) {
    Owned<nl_cache, put_cache> cache;
    if (int e = nl_cache_alloc_name("route/link", &cache.p); e < 0) return e;
    nl_cache_set_arg1(cache.p, AF_UNSPEC);
    int e = -NLE_DUMP_INTR;
    for (int attempt = 0; attempt < 50 && e == -NLE_DUMP_INTR; ++attempt) {
      nl_cache_clear(cache.p);
      e = request_link_dump();
      if (e >= 0) e = nl_cache_pickup(sk_, cache.p);  // -NLE_DUMP_INTR: links changed meanwhile
    }
    if (e < 0) return e;
    *out = std::exchange(cache.p, nullptr);
    return 0;
  }

  int request_link_dump() {
    Owned<nl_msg, nlmsg_free> msg;
    msg.p = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);
    if (!msg.p) return -NLE_NOMEM;
    ifinfomsg hdr{};
    hdr.ifi_family = AF_UNSPEC;
    if (nlmsg_append(msg.p, &hdr, sizeof hdr, NLMSG_ALIGNTO) < 0) return -NLE_MSGSIZE;
    if (int e = nla_put_u32(msg.p, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS); e < 0) return e;
    int e = nl_send_auto(sk_, msg.p);
    return e < 0 ? e : 0;
  }

  int apply_link(const Op& op) {
    const Link& want = op.link;
    Owned<rtnl_link, put_link> l;
    bool veth = want.kind == "veth" && op.kind == Op::add_link;
    l.p = want.kind == "vxlan" && op.kind == Op::add_link ? rtnl_link_vxlan_alloc() : veth ? rtnl_link_veth_alloc() : rtnl_link_alloc();
    Owned<nl_addr, put_addr> mac;
    if (!want.mac.empty()) {
      if (nl_addr_parse(want.mac.c_str(), AF_LLC, &mac.p) < 0) return -NLE_INVAL;
      rtnl_link_set_addr(l.p, mac.p);
    }
    if (veth)
      if (int e = set_veth_peer(l.p, want); e < 0) return e;
    rtnl_link_set_name(l.p, want.name.c_str());
    rtnl_link_set_mtu(l.p, static_cast<unsigned>(want.mtu));
    if (!want.master.empty()) {
      int m = ifindex(want.master);
      if (m == 0) return -NLE_NODEV;
      rtnl_link_set_master(l.p, m);
    }
    // A new bridge port without learning comes up only once learning is off: a frame
    // arriving in between would be learned, and a learned entry blocks the static one.
    bool up_later = op.kind == Op::add_link && want.up && !want.master.empty() && !want.port_learning;
    if (want.up && !up_later) rtnl_link_set_flags(l.p, IFF_UP);
    else rtnl_link_unset_flags(l.p, IFF_UP);
    int e = 0;
    if (op.kind == Op::add_link) {
      if (want.kind != "vxlan" && !veth && rtnl_link_set_type(l.p, want.kind.c_str()) < 0) return -NLE_OPNOTSUPP;
      if (want.kind == "vlan") {
        int parent = ifindex(want.parent);
        if (parent == 0) return -NLE_NODEV;
        rtnl_link_set_link(l.p, parent);
        rtnl_link_vlan_set_id(l.p, static_cast<uint16_t>(want.vni));
      }
      if (want.kind == "vxlan") {
        rtnl_link_vxlan_set_id(l.p, want.vni);
        Owned<nl_addr, put_addr> local;
        if (!want.local_ip.empty() && nl_addr_parse(want.local_ip.c_str(), AF_INET, &local.p) == 0)
          rtnl_link_vxlan_set_local(l.p, local.p);
        rtnl_link_vxlan_set_learning(l.p, want.learning ? 1 : 0);
        rtnl_link_vxlan_set_proxy(l.p, want.proxy ? 1 : 0);
        rtnl_link_vxlan_set_port(l.p, 4789);
      }
      e = rtnl_link_add(sk_, l.p, NLM_F_CREATE | NLM_F_EXCL);
    } else {
      Owned<rtnl_link, put_link> orig;
      if ((e = rtnl_link_get_kernel(sk_, 0, want.name.c_str(), &orig.p)) < 0) return e;
      e = rtnl_link_change(sk_, orig.p, l.p, 0);
    }
    index_.clear();  // a new link: its index is not known yet
    if (e < 0 || want.master.empty()) return e;
    if ((e = set_port_learning(want.name, want.port_learning)) < 0 || !up_later) return e;
    Owned<rtnl_link, put_link> orig, up;
    if ((e = rtnl_link_get_kernel(sk_, 0, want.name.c_str(), &orig.p)) < 0) return e;
    up.p = rtnl_link_alloc();
    rtnl_link_set_flags(up.p, IFF_UP);
    return rtnl_link_change(sk_, orig.p, up.p, 0);
  }

  // `bridge link set dev X learning on|off`: RTM_SETLINK in the AF_BRIDGE family with
  // IFLA_PROTINFO { IFLA_BRPORT_LEARNING }, encoded directly (libnl's bridge helpers need
  // a cached bridge object for this).
  int set_port_learning(const std::string& name, bool on) {
    int idx = ifindex(name);
    if (idx == 0) return -NLE_NODEV;
    nl_msg* msg = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK);
    if (!msg) return -NLE_NOMEM;
    ifinfomsg ifi{};
    ifi.ifi_family = AF_BRIDGE;
    ifi.ifi_index = idx;
    int e = nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO);
    nlattr* proto = e < 0 ? nullptr : nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED);
    if (!proto || nla_put_u8(msg, IFLA_BRPORT_LEARNING, on ? 1 : 0) < 0) e = -NLE_NOMEM;
    if (e >= 0) nla_nest_end(msg, proto);
    if (e >= 0) e = nl_send_auto_complete(sk_, msg);
    nlmsg_free(msg);
    return e < 0 ? e : nl_wait_for_ack(sk_);
  }

  int apply_entry(const Op& op) {
    bool fdb = op.kind == Op::add_fdb || op.kind == Op::del_fdb;
    const std::string& dev = fdb ? op.fdb.dev : op.neigh.dev;
    int idx = ifindex(dev);
    if (idx == 0) return -NLE_NODEV;
    Owned<rtnl_neigh, put_neigh> n;
    n.p = rtnl_neigh_alloc();
    rtnl_neigh_set_ifindex(n.p, idx);
    Owned<nl_addr, put_addr> mac, dst;
    if (nl_addr_parse((fdb ? op.fdb.mac : op.neigh.mac).c_str(), AF_LLC, &mac.p) < 0) return -NLE_INVAL;
    rtnl_neigh_set_lladdr(n.p, mac.p);
    if (fdb) {
      if (!op.fdb.dst.empty()) {
        // The VTEP first: libnl refuses a destination whose family differs from the entry's.
        if (nl_addr_parse(op.fdb.dst.c_str(), AF_INET, &dst.p) < 0) return -NLE_INVAL;
        rtnl_neigh_set_dst(n.p, dst.p);
        rtnl_neigh_set_family(n.p, AF_BRIDGE);
        rtnl_neigh_set_flags(n.p, NTF_SELF);
        rtnl_neigh_set_state(n.p, NUD_NOARP | NUD_PERMANENT);
      } else {
        rtnl_neigh_set_family(n.p, AF_BRIDGE);
        rtnl_neigh_set_flags(n.p, NTF_MASTER | (op.fdb.sticky ? NTF_STICKY : 0));
        rtnl_neigh_set_state(n.p, NUD_NOARP);
      }
    } else {
      int family = op.neigh.ip.find(':') == std::string::npos ? AF_INET : AF_INET6;
      rtnl_neigh_set_family(n.p, family);
      if (nl_addr_parse(op.neigh.ip.c_str(), family, &dst.p) < 0) return -NLE_INVAL;
      rtnl_neigh_set_dst(n.p, dst.p);
      rtnl_neigh_set_state(n.p, NUD_PERMANENT);
    }
    bool add = op.kind == Op::add_fdb || op.kind == Op::add_neigh;
    // Flood entries share the all-zero MAC: each VTEP is appended. Others replace whatever
    // the kernel has for the MAC (`bridge fdb replace`), a learned entry included.
    int flags = NLM_F_CREATE | (fdb && op.fdb.mac == "00:00:00:00:00:00" ? NLM_F_APPEND : NLM_F_REPLACE);
    return add ? rtnl_neigh_add(sk_, n.p, flags) : rtnl_neigh_delete(sk_, n.p, 0);
  }

  int apply_one(const Op& op) {
    switch (op.kind) {
      case Op::add_link:
      case Op::set_link: return apply_link(op);
      case Op::del_link: {
        Owned<rtnl_link, put_link> l;
        l.p = rtnl_link_alloc();
        rtnl_link_set_name(l.p, op.link.name.c_str());
        return rtnl_link_delete(sk_, l.p);
      }
      case Op::add_addr:
      case Op::del_addr: {
        int idx = ifindex(op.addr.dev);
        return idx == 0 ? -NLE_NODEV : detail::change_address(sk_, idx, op.addr, op.kind == Op::add_addr);
      }
      case Op::add_route:
      case Op::del_route: {
        int idx = op.route.dev.empty() ? 0 : ifindex(op.route.dev);
        if (!op.route.dev.empty() && idx == 0) return -NLE_NODEV;
        return detail::change_route(sk_, idx, op.route, op.kind == Op::add_route);
      }
      case Op::add_rule:
      case Op::del_rule: return detail::change_rule(sk_, op.rule, op.kind == Op::add_rule);
      case Op::put_nft:
      case Op::del_nft:
      case Op::edit_nft: return nft_ ? -detail::change_nft(nft_, op, nft_error_) : -NLE_OPNOTSUPP;
      default: return apply_entry(op);
    }
  }

  Result<std::string> list_nft(const std::string& table) override {
    if (!nft_ || !our_table_name(table)) return std::string();
    if (nft_run_cmd_from_buffer(nft_, ("list table " + table).c_str()) != 0) return std::string();
    return std::string(nft_ctx_get_output_buffer(nft_));
  }

  // Our tables' digests; a dump interrupted by another writer (NLM_F_DUMP_INTR: libnl read
  // it to its end, the socket is in step) is tried again. The socket is not reopened here:
  // this may run on a thread of another namespace than the kernel's.
  int read_tables(State& s) {
    for (int attempt = 0; nf_sk_ && attempt < 3; ++attempt) {
      if (detail::read_nft(nf_sk_, s) == 0) return 0;
      s.nft.clear();
    }
    return EIO;
  }

  // The other end of a new veth: its name, MAC, MTU, and namespace.
  int set_veth_peer(rtnl_link* l, const Link& want) {
    rtnl_link* peer = rtnl_link_veth_get_peer(l);
    rtnl_link_set_name(peer, want.peer.c_str());
    rtnl_link_set_mtu(peer, static_cast<unsigned>(want.mtu));
    int e = 0;
    Owned<nl_addr, put_addr> mac;
    if (!want.peer_mac.empty()) {
      if (nl_addr_parse(want.peer_mac.c_str(), AF_LLC, &mac.p) < 0) e = -NLE_INVAL;
      else rtnl_link_set_addr(peer, mac.p);
    }
    if (e == 0 && !want.peer_netns.empty()) {
      auto fd = open_namespace(want.peer_netns);
      if (!fd) e = -NLE_OBJ_NOTFOUND;
      else peer_fd_ = *fd, rtnl_link_set_ns_fd(peer, *fd);
    }
    rtnl_link_put(peer);
    return e;
  }

  nl_sock* sk_;
  nft_ctx* nft_;
  nl_sock* nf_sk_ = nullptr;  // nfnetlink, for reading the tables' digests
  std::string nft_error_;
  int peer_fd_ = -1;  // a veth peer's namespace, open until the link is made
  std::map<std::string, int> index_;  // within a batch, until a link operation
  std::map<int, std::string> names_;   // interface names by index, as the last read() found them
};

}  // namespace

Result<nl_sock*> open_route_socket() {
  nl_sock* sk = nl_socket_alloc();
  if (!sk) return nt::unexpected(from_errno(ENOMEM, "netlink socket"));
  if (int e = nl_connect(sk, NETLINK_ROUTE); e < 0) {
    nl_socket_free(sk);
    return nt::unexpected(from_errno(errno_of(e), "connect rtnetlink"));
  }
  return sk;
}

Result<std::unique_ptr<Kernel>> open_netlink_kernel() {
  NT_ASSIGN(nl_sock* sk, open_route_socket());
  // Big dump batches: the kernel re-walks its FDB from the start of every batch.
  nl_socket_set_buffer_size(sk, 4 << 20, 4 << 20);
  nl_socket_set_msg_buf_size(sk, 64 << 10);
  return std::unique_ptr<Kernel>(std::make_unique<NetlinkKernel>(sk));
}

}  // namespace nt::kernel

namespace nt::kernel {
namespace {

class NetlinkLinkWatcher final : public LinkWatcher {
 public:
  explicit NetlinkLinkWatcher(nl_sock* sk) : sk_(sk) {
    nl_socket_modify_cb(sk_, NL_CB_VALID, NL_CB_CUSTOM, &NetlinkLinkWatcher::on_message, &wanted_);
  }
  ~NetlinkLinkWatcher() override { nl_socket_free(sk_); }

  bool wait(int timeout_ms) override {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      int left = static_cast<int>(std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count()));
      pollfd p{nl_socket_get_fd(sk_), POLLIN, 0};
      if (::poll(&p, 1, left) <= 0) return false;
      // Drain everything queued; whether any of it calls for a pass is all that matters.
      // A read error other than "nothing more" (an overrun: events were lost) calls for one.
      wanted_ = false;
      for (;;) {
        if (int e = nl_recvmsgs_default(sk_); e < 0) {
          if (e != -NLE_AGAIN) wanted_ = true;
          break;
        }
        pollfd again{nl_socket_get_fd(sk_), POLLIN, 0};
        if (::poll(&again, 1, 0) <= 0) break;
      }
      if (wanted_) return true;
    }
  }

 private:
  // A link that appears or changes outside any bridge (a tap plugged), or any link that
  // goes, calls for a pass. A bridge port's or a bridge's own change does not: they are
  // what the agent's passes do when they plug a port (each would start one more pass for
  // nothing), and anything else about them is caught by the periodic pass.
  static int on_message(nl_msg* msg, void* arg) {
    nlmsghdr* nlh = nlmsg_hdr(msg);
    if (nlh->nlmsg_type == RTM_DELLINK) *static_cast<bool*>(arg) = true;
    if (nlh->nlmsg_type != RTM_NEWLINK) return NL_OK;
    nlattr* tb[IFLA_MAX + 1];
    if (nlmsg_parse(nlh, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) < 0) return *static_cast<bool*>(arg) = true, NL_OK;
    bool bridge_port = tb[IFLA_MASTER] && nla_get_u32(tb[IFLA_MASTER]) != 0;
    bool bridge = false;
    if (tb[IFLA_LINKINFO]) {
      nlattr* info[IFLA_INFO_MAX + 1];
      if (nla_parse_nested(info, IFLA_INFO_MAX, tb[IFLA_LINKINFO], nullptr) == 0 && info[IFLA_INFO_KIND])
        bridge = std::string_view(static_cast<const char*>(nla_data(info[IFLA_INFO_KIND]))).starts_with("bridge");
    }
    if (!bridge_port && !bridge) *static_cast<bool*>(arg) = true;
    return NL_OK;
  }

  nl_sock* sk_;
  bool wanted_ = false;
};

}  // namespace

Result<std::unique_ptr<LinkWatcher>> LinkWatcher::open() {
  nl_sock* sk = nl_socket_alloc();
  if (!sk) return nt::unexpected(from_errno(ENOMEM, "netlink socket"));
  nl_socket_disable_seq_check(sk);
  int e = nl_connect(sk, NETLINK_ROUTE);
  if (e >= 0) e = nl_socket_add_membership(sk, RTNLGRP_LINK);
  if (e >= 0) e = nl_socket_set_nonblocking(sk);
  if (e < 0) {
    nl_socket_free(sk);
    return nt::unexpected(from_errno(errno_of(e), "subscribe to link events"));
  }
  return std::unique_ptr<LinkWatcher>(std::make_unique<NetlinkLinkWatcher>(sk));
}

}  // namespace nt::kernel
