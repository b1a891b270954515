// rtnetlink for the routing side of a namespace (addresses, routes, rules) and libnftables
// for its tables; used by the netlink kernel (netlink_kernel.cc). Functions return libnl
// NLE_* codes (negative on failure) like the rest of that file.
#pragma once
#include <map>
#include <string>

#include "kernel/kernel.h"

struct nl_sock;
struct nft_ctx;

namespace nt::kernel::detail {

int read_addresses(nl_sock* sk, const std::map<int, std::string>& names, State& s);
int read_routes(nl_sock* sk, const std::map<int, std::string>& names, State& s);
int read_rules(nl_sock* sk, State& s);
int change_address(nl_sock* sk, int ifindex, const Address& a, bool add);
int change_route(nl_sock* sk, int oif, const Route& r, bool add);
int change_rule(nl_sock* sk, const Rule& r, bool add);

// nftables tables named nt-* and the digest in their comment (a netfilter socket); the errno on failure.
int read_nft(nl_sock* nf, State& s);
int change_nft(nft_ctx* nft, const Op& op, std::string& error);

}  // namespace nt::kernel::detail
