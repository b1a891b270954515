// The only door to the OS network stack (ARCHITECTURE §2, §6). Kernel work is expressed as
// operation values (FRR's dplane style) and applied in batches; state is read back as plain
// values so reconcilers can diff desired against actual. Implementations: the fake kernel
// (fake_kernel.cc, in memory, with the errno behaviour of the real one) for unit tests;
// the netlink implementation comes with the agent.
#pragma once
#include <compare>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"

namespace nt::kernel {

struct Link {
  std::string name;
  std::string kind;    // "bridge", "vxlan", "vlan", "geneve", "veth", "tap", "dummy"
  std::string master;  // bridge this link is a port of ("" = none)
  int mtu = 1500;
  bool up = false;
  // vxlan / geneve: the VNI; vlan: the VLAN id, on top of `parent`
  uint32_t vni = 0;
  std::string parent;
  std::string local_ip;
  bool learning = true;        // the device's own learning (vxlan "nolearning" = false)
  bool proxy = false;          // vxlan "proxy": answer ARP from the neighbour table
  bool port_learning = true;   // learning flag of its bridge port
  std::string mac;             // "" = whatever the kernel chose (not compared)
  // veth only, when creating: the other end's name, namespace ("" = here) and MAC.
  std::string peer, peer_netns, peer_mac;
  auto operator<=>(const Link&) const = default;
};

// Whether `have` (read from the kernel) differs from `want` in what can be changed in
// place; a `want` without a MAC takes any.
bool link_differs(const Link& want, const Link& have);

struct Fdb {
  std::string dev, mac;
  std::string dst;        // VTEP for a vxlan (self) entry; "" for a bridge (master) entry
  bool sticky = false;    // a master entry the bridge never moves (a DVR gateway MAC)
  auto operator<=>(const Fdb&) const = default;
};

struct Address {
  std::string dev, cidr;  // "10.0.0.1/24"
  auto operator<=>(const Address&) const = default;
};

struct Route {
  uint32_t table = 254;   // main
  std::string dst;        // "0.0.0.0/0" for default
  std::string via;        // "" = on-link through dev
  std::string dev;
  auto operator<=>(const Route&) const = default;
};

struct Rule {
  uint32_t priority = 0;
  std::string from;       // CIDR; "" = all
  uint32_t table = 0;
  auto operator<=>(const Rule&) const = default;
};

struct Neighbour {
  std::string dev, ip, mac;  // permanent entries
  auto operator<=>(const Neighbour&) const = default;
};

struct State {
  std::map<std::string, Link> links;
  std::set<Fdb> fdb;
  std::set<Neighbour> neighbours;
  std::set<Address> addresses;
  std::set<Route> routes;       // static routes of every table but local; not the kernel's connected ones
  std::set<Rule> rules;         // not the three default ones
  std::map<std::string, std::string> nft;  // our nftables tables ("bridge nt-dvr") -> their digest
  std::map<std::string, std::string> nft_bodies;  // desired states only: each table's statements
};

struct Op {
  enum Kind {
    add_link, set_link, del_link, add_fdb, del_fdb, add_neigh, del_neigh,
    add_addr, del_addr, add_route, del_route, add_rule, del_rule, put_nft, del_nft, edit_nft
  } kind;
  Link link;
  Fdb fdb;
  Neighbour neigh;
  Address addr = {};
  Route route = {};
  Rule rule = {};
  // put_nft: replaces table `nft_table` ("family name") atomically with `nft_body` (the
  // statements inside the table), tagged with `nft_digest`; del_nft: deletes it; edit_nft:
  // runs `nft_body`, commands that change parts of the existing table `nft_table` (its tag
  // stays), as one transaction.
  std::string nft_table = {}, nft_body = {}, nft_digest = {};
  std::string describe() const;  // "add link vxlan-123 (vxlan)", for --once and logs
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Result<State> read() = 0;
  // Parts of `s` (as read() left it) read again after this process changed only those parts:
  // a pass's edits read back without dumping the whole host again. The defaults read all.
  // nftables tables only:
  virtual Status reread_nft(State& s) {
    NT_ASSIGN(auto now, read());
    s.nft = std::move(now.nft);
    return {};
  }
  // FDB and neighbour entries only; the links are those of `s` (the whole host is read again
  // when an entry is on a link that `s` does not have).
  virtual Status reread_neighbours(State& s) {
    NT_ASSIGN(auto now, read());
    s = std::move(now);
    return {};
  }
  // Applies ops in order and stops at the first failure, which names the op and errno.
  virtual Status apply(const std::vector<Op>& batch) = 0;
  // One of our tables as nftables prints it ("" when absent or not supported): read once at
  // start, for what the digest cannot tell (numbers the agent chose and must keep).
  virtual Result<std::string> list_nft(const std::string& table) {
    (void)table;
    return std::string();
  }
};

// The ONE place where errno becomes an Error (code, and the errno kept for callers).
Error from_errno(int err, const std::string& what);

}  // namespace nt::kernel
