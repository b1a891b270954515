#include "kernel/netlink_l3.h"

#include "kernel/nl_owned.h"

#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace nt::kernel::detail {
namespace {

std::string ip_of(nl_addr* a) {
  if (!a || nl_addr_get_family(a) != AF_INET || nl_addr_get_len(a) != 4) return "";
  char buf[INET_ADDRSTRLEN];
  return ::inet_ntop(AF_INET, nl_addr_get_binary_addr(a), buf, sizeof buf) ? buf : "";
}
std::string cidr_of(nl_addr* a) {
  if (!a) return "0.0.0.0/0";
  auto ip = ip_of(a);
  return (ip.empty() ? "0.0.0.0" : ip) + "/" + std::to_string(nl_addr_get_prefixlen(a));
}
std::string name_of(const std::map<int, std::string>& names, int index) {
  auto it = names.find(index);
  return it == names.end() ? "" : it->second;
}
int parse(const std::string& text, nl_addr** out) { return nl_addr_parse(text.c_str(), AF_INET, out); }

}  // namespace

int read_addresses(nl_sock* sk, const std::map<int, std::string>& names, State& s) {
  Owned<nl_cache, put_cache> cache;
  if (int e = rtnl_addr_alloc_cache(sk, &cache.p); e < 0) return e;
  for (auto* o = nl_cache_get_first(cache.p); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_family(a) != AF_INET) continue;
    auto ip = ip_of(rtnl_addr_get_local(a));
    auto dev = name_of(names, rtnl_addr_get_ifindex(a));
    if (ip.empty() || dev.empty() || dev == "lo") continue;
    s.addresses.insert({dev, ip + "/" + std::to_string(rtnl_addr_get_prefixlen(a))});
  }
  return 0;
}

int read_routes(nl_sock* sk, const std::map<int, std::string>& names, State& s) {
  Owned<nl_cache, put_cache> cache;
  if (int e = rtnl_route_alloc_cache(sk, AF_INET, 0, &cache.p); e < 0) return e;
  for (auto* o = nl_cache_get_first(cache.p); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(r) == RT_TABLE_LOCAL || rtnl_route_get_protocol(r) == RTPROT_KERNEL ||
        rtnl_route_get_type(r) != RTN_UNICAST || rtnl_route_get_nnexthops(r) != 1)
      continue;
    rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
    s.routes.insert(Route{rtnl_route_get_table(r), cidr_of(rtnl_route_get_dst(r)), ip_of(rtnl_route_nh_get_gateway(nh)),
                          name_of(names, rtnl_route_nh_get_ifindex(nh))});
  }
  return 0;
}

int read_rules(nl_sock* sk, State& s) {
  Owned<nl_cache, put_cache> cache;
  if (int e = rtnl_rule_alloc_cache(sk, AF_INET, &cache.p); e < 0) return e;
  for (auto* o = nl_cache_get_first(cache.p); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_rule*>(o);
    uint32_t prio = rtnl_rule_get_prio(r);
    if (prio == 0 || prio == 32766 || prio == 32767) continue;
    nl_addr* src = rtnl_rule_get_src(r);
    s.rules.insert(Rule{prio, src ? cidr_of(src) : "", rtnl_rule_get_table(r)});
  }
  return 0;
}

int change_address(nl_sock* sk, int ifindex, const Address& a, bool add) {
  Owned<nl_addr, put_addr> local;
  if (int e = parse(a.cidr, &local.p); e < 0) return e;
  Owned<rtnl_addr, put_rtaddr> addr{rtnl_addr_alloc()};
  rtnl_addr_set_ifindex(addr.p, ifindex);
  rtnl_addr_set_local(addr.p, local.p);
  rtnl_addr_set_prefixlen(addr.p, static_cast<int>(nl_addr_get_prefixlen(local.p)));
  return add ? rtnl_addr_add(sk, addr.p, 0) : rtnl_addr_delete(sk, addr.p, 0);
}

int change_route(nl_sock* sk, int oif, const Route& r, bool add) {
  Owned<nl_addr, put_addr> dst, via;
  if (int e = parse(r.dst, &dst.p); e < 0) return e;
  Owned<rtnl_route, put_route> route{rtnl_route_alloc()};
  rtnl_route_set_family(route.p, AF_INET);
  rtnl_route_set_table(route.p, r.table);
  rtnl_route_set_protocol(route.p, RTPROT_STATIC);
  rtnl_route_set_dst(route.p, dst.p);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();  // owned by the route
  if (!r.via.empty()) {
    if (int e = parse(r.via, &via.p); e < 0) return rtnl_route_nh_free(nh), e;
    rtnl_route_nh_set_gateway(nh, via.p);
  }
  if (oif > 0) rtnl_route_nh_set_ifindex(nh, oif);
  rtnl_route_add_nexthop(route.p, nh);
  if (r.via.empty()) rtnl_route_set_scope(route.p, RT_SCOPE_LINK);
  return add ? rtnl_route_add(sk, route.p, NLM_F_CREATE | NLM_F_EXCL) : rtnl_route_delete(sk, route.p, 0);
}

int change_rule(nl_sock* sk, const Rule& r, bool add) {
  Owned<rtnl_rule, put_rule> rule{rtnl_rule_alloc()};
  rtnl_rule_set_family(rule.p, AF_INET);
  rtnl_rule_set_prio(rule.p, r.priority);
  rtnl_rule_set_table(rule.p, r.table);
  rtnl_rule_set_action(rule.p, FR_ACT_TO_TBL);
  Owned<nl_addr, put_addr> from;
  if (!r.from.empty()) {
    if (int e = parse(r.from, &from.p); e < 0) return e;
    rtnl_rule_set_src(rule.p, from.p);
  }
  return add ? rtnl_rule_add(sk, rule.p, NLM_F_CREATE) : rtnl_rule_delete(sk, rule.p, 0);
}

namespace {

const char* family_name(int family) {
  switch (family) {
    case NFPROTO_INET: return "inet";
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_IPV6: return "ip6";
    case NFPROTO_ARP: return "arp";
    case NFPROTO_BRIDGE: return "bridge";
    case NFPROTO_NETDEV: return "netdev";
    default: return nullptr;
  }
}

// The comment nft keeps in a table's user data (TLVs of type, length, value; type 0).
std::string table_comment(const nlattr* udata) {
  const auto* p = static_cast<const unsigned char*>(nla_data(udata));
  int left = nla_len(udata);
  while (left >= 2 && p[1] <= left - 2) {
    if (p[0] == 0) return std::string(reinterpret_cast<const char*>(p + 2), strnlen(reinterpret_cast<const char*>(p + 2), p[1]));
    left -= 2 + p[1], p += 2 + p[1];
  }
  return "";
}

int on_table(nl_msg* msg, void* arg) {
  auto* s = static_cast<State*>(arg);
  nlmsghdr* h = nlmsg_hdr(msg);
  nlattr* tb[NFTA_TABLE_MAX + 1];
  if (nlmsg_parse(h, sizeof(nfgenmsg), tb, NFTA_TABLE_MAX, nullptr) < 0 || !tb[NFTA_TABLE_NAME]) return NL_SKIP;
  const char* family = family_name(static_cast<const nfgenmsg*>(nlmsg_data(h))->nfgen_family);
  std::string name = nla_get_string(tb[NFTA_TABLE_NAME]);
  if (!family || name.rfind("nt-", 0) != 0) return NL_SKIP;
  s->nft[std::string(family) + " " + name] = tb[NFTA_TABLE_USERDATA] ? table_comment(tb[NFTA_TABLE_USERDATA]) : "";
  return NL_OK;
}

}  // namespace

// One dump of the tables (names and comments) over nfnetlink: never their rules, which
// libnftables would fetch and print (hundreds of milliseconds for a host's security groups).
int read_nft(nl_sock* nf, State& s) {
  nfgenmsg request{};
  request.nfgen_family = NFPROTO_UNSPEC, request.version = NFNETLINK_V0;
  if (nl_send_simple(nf, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE, NLM_F_DUMP, &request, sizeof request) < 0)
    return EIO;
  nl_cb* cb = nl_cb_clone(nl_socket_get_cb(nf));
  if (!cb) return ENOMEM;
  nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_table, &s);
  int rc = nl_recvmsgs(nf, cb);
  nl_cb_put(cb);
  return rc < 0 ? EIO : 0;
}

int change_nft(nft_ctx* nft, const Op& op, std::string& error) {
  if (op.kind == Op::edit_nft) {  // the commands name the table themselves; one transaction
    if (nft_run_cmd_from_buffer(nft, op.nft_body.c_str()) == 0) return 0;
    error = nft_ctx_get_error_buffer(nft);
    return EINVAL;
  }
  // Declaring the table first makes the delete valid whether or not it exists; the three
  // statements are one transaction.
  std::string script = "table " + op.nft_table + "\ndelete table " + op.nft_table + "\n";
  if (op.kind == Op::put_nft)
    script += "table " + op.nft_table + " {\n  comment \"" + op.nft_digest + "\"\n" + op.nft_body + "}\n";
  if (nft_run_cmd_from_buffer(nft, script.c_str()) == 0) return 0;
  error = nft_ctx_get_error_buffer(nft);
  return EINVAL;
}

}  // namespace nt::kernel::detail
