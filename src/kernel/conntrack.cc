#include "kernel/conntrack.h"

#include "kernel/kernel.h"
#include "kernel/netlink_kernel.h"

#include <netinet/in.h>
#include <netlink/netfilter/ct.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace nt::kernel {
namespace {

bool has_ports(uint8_t protocol) {
  return protocol == IPPROTO_TCP || protocol == IPPROTO_UDP || protocol == IPPROTO_SCTP || protocol == IPPROTO_UDPLITE ||
         protocol == IPPROTO_DCCP;
}
bool is_icmp(uint8_t protocol) { return protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6; }

bool in_any(const std::vector<Cidr>& cidrs, const IpAddress& ip) {
  return cidrs.empty() || std::any_of(cidrs.begin(), cidrs.end(), [&](const Cidr& c) { return c.contains(ip); });
}

std::optional<IpAddress> address_of(nl_addr* a) {
  if (!a) return std::nullopt;
  IpAddress ip;
  const auto* bytes = static_cast<const unsigned char*>(nl_addr_get_binary_addr(a));
  if (nl_addr_get_family(a) == AF_INET && nl_addr_get_len(a) == 4) ip.version = 4;
  else if (nl_addr_get_family(a) == AF_INET6 && nl_addr_get_len(a) == 16) ip.version = 6;
  else return std::nullopt;
  for (unsigned i = 0; i < nl_addr_get_len(a); ++i) ip.value = (ip.value << 8) | bytes[i];
  return ip;
}

std::optional<FlowTuple> tuple_of(nfnl_ct* ct) {
  auto src = address_of(nfnl_ct_get_src(ct, 0)), dst = address_of(nfnl_ct_get_dst(ct, 0));
  if (!src || !dst) return std::nullopt;
  FlowTuple t;
  t.zone = nfnl_ct_test_zone(ct) ? nfnl_ct_get_zone(ct) : 0;
  t.src = *src, t.dst = *dst, t.protocol = nfnl_ct_get_proto(ct);
  if (has_ports(t.protocol)) t.dst_port = nfnl_ct_get_dst_port(ct, 0);
  if (is_icmp(t.protocol)) t.icmp_type = nfnl_ct_get_icmp_type(ct, 0), t.icmp_code = nfnl_ct_get_icmp_code(ct, 0);
  return t;
}

struct Sweep {
  const std::vector<FlowMatch>* matches;
  std::vector<nfnl_ct*> doomed;
};

void collect(nl_object* obj, void* arg) {
  auto* sweep = static_cast<Sweep*>(arg);
  auto* ct = reinterpret_cast<nfnl_ct*>(obj);
  auto t = tuple_of(ct);
  if (!t) return;
  for (const auto& m : *sweep->matches)
    if (flow_matches(m, *t)) {
      nl_object_get(obj);
      sweep->doomed.push_back(ct);
      return;
    }
}

}  // namespace

bool flow_matches(const FlowMatch& m, const FlowTuple& t) {
  if (m.zone != t.zone || m.family != t.src.version) return false;
  if (!in_any(m.sources, t.src) || !in_any(m.destinations, t.dst)) return false;
  if (m.protocol && *m.protocol != t.protocol) return false;
  if (m.dst_ports && (!has_ports(t.protocol) || t.dst_port < m.dst_ports->first || t.dst_port > m.dst_ports->second))
    return false;
  if (m.icmp_type && (!is_icmp(t.protocol) || *m.icmp_type != t.icmp_type)) return false;
  if (m.icmp_code && (!is_icmp(t.protocol) || *m.icmp_code != t.icmp_code)) return false;
  return true;
}

Result<size_t> delete_flows(const std::vector<FlowMatch>& matches) {
  if (matches.empty()) return size_t{0};
  nl_sock* sock = nl_socket_alloc();
  if (!sock) return nt::unexpected(from_errno(ENOMEM, "conntrack socket"));
  struct Close {
    nl_sock* s;
    ~Close() { nl_socket_free(s); }
  } close{sock};
  if (int rc = nfnl_connect(sock); rc < 0) return nt::unexpected(from_errno(errno_of_nle(rc), "conntrack netlink"));
  nl_cache* cache = nullptr;
  if (int rc = nfnl_ct_alloc_cache(sock, &cache); rc < 0)
    return nt::unexpected(from_errno(errno_of_nle(rc), "listing conntrack entries"));
  Sweep sweep{&matches, {}};
  nl_cache_foreach(cache, collect, &sweep);
  size_t deleted = 0;
  for (auto* ct : sweep.doomed) {
    // An entry that expired meanwhile is gone already: not an error.
    if (nfnl_ct_del(sock, ct, 0) >= 0) ++deleted;
    nfnl_ct_put(ct);
  }
  nl_cache_free(cache);
  return deleted;
}

}  // namespace nt::kernel
