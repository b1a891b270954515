// L3 reconciliation (ARCHITECTURE §6, DVR): from the host view's router, snat and fip
// objects to namespaces and what is inside them. Pure, like the L2 reconciler: desired
// state in, operations out; the agent (l3_runner.cc) reads and applies them.
//
//  - qrouter-<router>: qr- ends of veths (the tap ends are in the host, on the network
//    bridges) with the gateway IPs and the same MAC on every host; permanent ARP for the
//    ports of its subnets; extra routes; per subnet a table whose default route is the
//    subnet's sg- address, chosen by a source rule after main; for floating IPs an rfp-
//    veth to the fip namespace, a rule per fixed IP to table 16, and DNAT/SNAT (nftables).
//  - snat-<router>: sg- and qg- ends; on the active gateway their addresses, the default
//    route and the SNAT rule; a standby keeps the same namespace warm without addresses.
//  - fip-<external network>: the host's fg- port (proxy ARP), fpr- ends, /32 routes to
//    the routers' floating IPs.
//  - the host: the veths' tap ends, a sticky FDB entry pinning each gateway MAC to its qr-
//    tap, and the bridge-family table keeping gateway ARP off the tunnels and rewriting
//    routed frames' source to this host's DVR MAC on the way out (and back on the way in).
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "channel/entries.h"

namespace nt::agent {

using view::HostView;

struct NamespacePlan {
  kernel::State want;
  std::map<std::string, std::string> sysctls;  // "net/ipv4/ip_forward" -> "1"; send_redirects 0 for all, default, each link
};

struct L3Desired {
  kernel::State host;                              // veth tap ends, sticky FDB, nft table
  std::map<std::string, NamespacePlan> namespaces;  // by full namespace name
  std::set<std::string> missing_fip_gateways;      // external networks without the host's fg- port yet
};

// rfp-/fpr- /31s of 169.254.64.0/18 by router: kept from the kernel, new ones lowest-free.
using LinkLocal = std::map<std::string, int>;
std::pair<std::string, std::string> link_local_pair(int index);  // (rfp address, fpr address)

// Wants nftables table `table` ("family name") with `body`, tagged with the body's digest
// (the kernel keeps it as the table's comment: an unchanged table is not replaced).
void put_nft_table(kernel::State& want, const std::string& table, const std::string& body);
// The tag put_nft_table gives a table body (a 64-bit FNV-1a, in hex).
std::string table_digest(const std::string& body);

L3Desired desired_l3(const HostView& view, const std::string& ns_prefix, const LinkLocal& rfp);
// Which rfp index each router in the view gets, keeping those in `current`.
LinkLocal allocate_link_local(const HostView& view, const LinkLocal& current);
// send_redirects keys set to 0 in every router namespace: all, default and each interface.
std::vector<std::string> router_sysctl_keys(const kernel::State& want);
// Namespaces of ours are <prefix>qrouter-*, <prefix>snat-*, <prefix>fip-*.
bool l3_namespace(const std::string& name, const std::string& ns_prefix);

// Inside one of our namespaces everything but lo is ours.
std::vector<kernel::Op> plan_namespace(const kernel::State& want, const kernel::State& actual);
// In the host: veth tap ends first (before L2 plugs them), then entries and the table.
std::vector<kernel::Op> plan_host_veths(const kernel::State& want, const kernel::State& actual);
std::vector<kernel::Op> plan_host_l3(const kernel::State& want, const kernel::State& actual);
// The host tables named in `ours`: put where missing or different, deleted where not wanted.
std::vector<kernel::Op> plan_host_tables(const kernel::State& want, const kernel::State& actual,
                                         const std::vector<std::string>& ours);

}  // namespace nt::agent
