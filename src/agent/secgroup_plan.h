// Security groups on the host (issue 14), planned from the view's portsec, secgroup and
// sgmembers entries (pure: no kernel here). The construct is the one proven by
// spikes/sg_conntrack.sh (see docs/architecture.md, "Security groups"):
//  - table bridge nt-sg: each filtered port's frames are checked against its MAC and
//    addresses (anti-spoofing: IPv4, ARP sender, IPv6 with its link-local, no DHCP server,
//    no router advertisement) and the port's number is written into the packet mark (low
//    bits, in prerouting); the output port's number goes into the high bits (forward);
//  - table inet nt-sg (br_netfilter hands bridged IP to these hooks): a conntrack zone per
//    bridge (network), then in forward: unmarked packets pass, invalid ones drop,
//    established/related pass, and the rest jump by mark to the port's egress and ingress
//    chains: its groups' rules, the implicit ones (DHCP, metadata, neighbour discovery),
//    default drop. remote_group_id is a named set of the group's member addresses,
//    remote_address_group_id one of the address group's addresses.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/nft_table.h"
#include "channel/entries.h"
#include "common/net.h"
#include "kernel/conntrack.h"
#include "kernel/kernel.h"

namespace nt::agent {

// One security group rule as it applies to one port: checked and normalised.
struct PortRule {
  bool ingress = true;
  int family = 4;                     // 4 or 6
  std::optional<uint8_t> protocol;    // IP protocol number; null: any
  std::optional<std::pair<uint16_t, uint16_t>> ports;  // destination ports (protocols with ports)
  std::optional<uint8_t> icmp_type, icmp_code;
  std::optional<Cidr> prefix;          // remote_ip_prefix
  std::optional<std::string> remote_group;  // remote_group_id: its member set
  std::optional<std::string> address_group;  // remote_address_group_id: its address set
  auto operator<=>(const PortRule&) const = default;
};

// A port the host filters (port security on, a usable entry).
struct FilteredPort {
  std::string tap, bridge, mac;
  int number = 0;    // 1..32767, written into packet marks
  uint16_t zone = 0;  // its bridge's conntrack zone
  bool stateful = true;
  std::map<std::string, std::vector<Cidr>> sources;  // MAC -> addresses it may send from
  std::vector<Cidr> own;                             // every address of the port (for cutting flows)
  std::vector<std::string> groups;  // its groups the view has (plain ids)
  std::set<PortRule> rules;         // every rule of those groups that can match
  bool operator==(const FilteredPort&) const = default;
};

// Port numbers and bridge zones, kept while their port or bridge stays (a zone that moved
// would orphan the bridge's connections).
struct SgNumbers {
  std::map<std::string, int> ports;    // port id -> number
  std::map<std::string, int> zones;    // bridge -> zone
};

struct SecurityPlan {
  std::map<std::string, FilteredPort> ports;                 // by port id
  std::set<std::string> open_ports;                          // port security off: not filtered at all
  std::map<std::string, std::vector<PortRule>> group_rules;  // each filtered port's group: its chains' rules
  std::map<std::string, std::vector<Cidr>> members;          // remote group -> addresses (merged)
  std::map<std::string, std::vector<Cidr>> address_groups;   // address group -> addresses (merged)
  NftTable bridge, inet;                                     // the two tables; empty when no port is filtered
  bool operator==(const SecurityPlan&) const = default;
};

SecurityPlan plan_security(const view::HostView& view, SgNumbers& numbers);

// The numbers tables made by plan_security carry, read back from nftables' listing of them
// (`inet_text`, `bridge_text`); taps are mapped back to port ids by `port_of_tap`.
SgNumbers learn_numbers(const std::string& inet_text, const std::string& bridge_text,
                        const std::map<std::string, std::string>& port_of_tap);

// Wants (or, with no filtered port, leaves out) tables bridge nt-sg and inet nt-sg.
void add_security_tables(const SecurityPlan& plan, kernel::State& host);

// The connections allowed before that the rules no longer allow, as Neutron cuts them: for
// each rule a port lost (removed, or the port left its group) and each address a remote
// group or address group lost, the port's connections that rule matched; every connection
// of a port that went, and of an address a port lost.
std::vector<kernel::FlowMatch> flows_to_cut(const SecurityPlan& before, const SecurityPlan& after);

// An IP protocol as Neutron accepts it (a name or a number 0-255), as its number.
std::optional<uint8_t> protocol_number(const std::string& name, int family);

}  // namespace nt::agent
