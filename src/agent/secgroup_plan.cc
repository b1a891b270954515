#include "agent/secgroup_plan.h"

#include "agent/l3_reconciler.h"
#include "common/names.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <regex>
#include <tuple>

namespace nt::agent {
namespace {

constexpr int kMaxPortNumber = 0x7fff;  // 15 bits; bit 15 of the mark says "untracked"
constexpr int kMaxZone = 0xffff;

using devname::plain;

// FNV-1a: a slot that depends on the name only, so a restarted agent finds the same numbers.
uint32_t stable_hash(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

// Keeps the numbers of the names still wanted; a new name gets its hashed slot, or the next free one.
void allocate(std::map<std::string, int>& kept, const std::set<std::string>& wanted, int max) {
  std::erase_if(kept, [&](const auto& kv) { return !wanted.count(kv.first); });
  std::set<int> used;
  for (const auto& [name, n] : kept) used.insert(n);
  for (const auto& name : wanted) {
    if (kept.count(name) || static_cast<int>(used.size()) >= max) continue;
    int n = static_cast<int>(stable_hash(name) % max) + 1;
    while (used.count(n)) n = n % max + 1;
    kept[name] = n, used.insert(n);
  }
}

// merged()'s order: by family, then network address, then prefix length.
bool cidr_before(const Cidr& a, const Cidr& b) {
  return a.network.version != b.network.version ? a.network.version < b.network.version
         : a.network.value != b.network.value  ? a.network.value < b.network.value
                                                : a.prefix < b.prefix;
}

// Sorted, without an address or prefix another one covers (nftables refuses overlaps in a set).
std::vector<Cidr> merged(std::vector<Cidr> cidrs) {
  std::sort(cidrs.begin(), cidrs.end(), cidr_before);
  std::vector<Cidr> out;
  for (const auto& c : cidrs)
    if (out.empty() || out.back().network.version != c.network.version || !out.back().contains(c.network)) out.push_back(c);
  return out;
}

std::vector<Cidr> of_family(const std::vector<Cidr>& cidrs, int family) {
  std::vector<Cidr> out;
  for (const auto& c : cidrs)
    if (c.network.version == family) out.push_back(c);
  return out;
}

// An address as an nftables element: a host without its prefix length.
std::string element(const Cidr& c) { return c.prefix == c.network.bits() ? c.network.str() : c.str(); }

std::string joined(const std::vector<Cidr>& cidrs) {
  std::string out;
  for (const auto& c : cidrs) out += (out.empty() ? "" : ", ") + element(c);
  return out;
}

bool has_ports(uint8_t p) { return p == 6 || p == 17 || p == 33 || p == 132 || p == 136; }
bool is_icmp(uint8_t p) { return p == 1 || p == 58; }

std::string set_name(const std::string& group, int family) { return "m-" + group + "-" + std::to_string(family); }
std::string address_set_name(const std::string& id, int family) { return "a-" + id + "-" + std::to_string(family); }

// One stored rule as it applies to a port; null when it can never match here (an unknown
// protocol, a remote set the host does not have): such a rule allows nothing.
std::optional<PortRule> port_rule(const view::SecurityGroupRule& r, const view::HostView& view) {
  PortRule out;
  if (r.direction != "ingress" && r.direction != "egress") return std::nullopt;
  out.ingress = r.direction == "ingress";
  if (r.ethertype != "IPv4" && r.ethertype != "IPv6") return std::nullopt;
  out.family = r.ethertype == "IPv4" ? 4 : 6;
  if (r.protocol) {
    out.protocol = protocol_number(*r.protocol, out.family);
    if (!out.protocol) return std::nullopt;
  }
  auto lo = r.port_range_min, hi = r.port_range_max;
  if (out.protocol && has_ports(*out.protocol) && (lo || hi)) {
    int64_t a = lo.value_or(1), b = hi.value_or(a);
    if (a < 0 || b > 65535 || a > b) return std::nullopt;
    if (!(a <= 1 && b == 65535)) out.ports = std::pair<uint16_t, uint16_t>(a, b);
  } else if (out.protocol && is_icmp(*out.protocol) && lo) {
    if (*lo < 0 || *lo > 255 || (hi && (*hi < 0 || *hi > 255))) return std::nullopt;
    out.icmp_type = static_cast<uint8_t>(*lo);
    if (hi) out.icmp_code = static_cast<uint8_t>(*hi);
  }
  if (r.remote_ip_prefix) {
    auto c = Cidr::parse(*r.remote_ip_prefix);
    if (!c || c->network.version != out.family) return std::nullopt;
    if (c->prefix > 0) out.prefix = *c;
  } else if (r.remote_group_id) {
    if (!plain(*r.remote_group_id) || !view.sgmembers.count(*r.remote_group_id)) return std::nullopt;
    out.remote_group = *r.remote_group_id;
  } else if (r.remote_address_group_id) {
    if (!plain(*r.remote_address_group_id) || !view.addrgroups.count(*r.remote_address_group_id)) return std::nullopt;
    out.address_group = *r.remote_address_group_id;
  }
  return out;
}

// The port as the host filters it; null when the entry cannot be used (then the port is not
// plugged by us either: its tap name is the check).
std::optional<FilteredPort> filtered_port(const std::string& id, const view::PortSecurity& p, const view::HostView& view) {
  if (!p.port_security_enabled || !plain(id) || p.device != devname::tap(id)) return std::nullopt;
  auto net = view.networks.find(p.network_id);
  auto mac = Mac::parse(p.mac);
  // Interface names: at most 15 characters (IFNAMSIZ), or nftables refuses the whole table.
  if (net == view.networks.end() || !plain(net->second.bridge) || net->second.bridge.size() > 15 || p.device.size() > 15 ||
      !mac || mac->is_multicast())
    return std::nullopt;
  FilteredPort f;
  f.tap = p.device, f.bridge = net->second.bridge, f.mac = mac->str();
  auto& mine = f.sources[f.mac];
  for (const auto& ip : p.fixed_ips)
    if (auto c = Cidr::parse(ip)) mine.push_back(*c), f.own.push_back(*c);
  for (const auto& pair : p.allowed_address_pairs) {
    auto c = Cidr::parse(pair.ip_address);
    auto m = pair.mac_address ? Mac::parse(*pair.mac_address) : Result<Mac>(*mac);
    if (!c || !m || m->is_multicast()) continue;
    f.sources[m->str()].push_back(*c), f.own.push_back(*c);
  }
  for (auto& [m, cidrs] : f.sources) {
    // IPv6 link-local from each MAC the port may send with (SLAAC's fe80::/64 address).
    auto ll = eui64_address(*Cidr::parse("fe80::/64"), *Mac::parse(m));
    cidrs.push_back(Cidr{ll, 128});
    cidrs = merged(cidrs);
  }
  f.own = merged(f.own);
  for (const auto& g : p.security_groups) {
    auto group = view.secgroups.find(g);
    if (group == view.secgroups.end() || !plain(g)) continue;  // allows nothing
    f.stateful = f.stateful && group->second.stateful;
    f.groups.push_back(g);
    for (const auto& r : group->second.rules)
      if (auto rule = port_rule(r, view)) f.rules.insert(*rule);
  }
  return f;
}

std::string hex(uint32_t v) {
  char buf[16];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  return "0x" + std::string(buf, end);
}

// An IPv6 address or prefix as the raw 128-bit value(s) nftables compares a payload with.
std::string raw128(const Cidr& c) {
  auto hex128 = [](u128 v) {
    char buf[35] = "0x";
    for (int i = 0; i < 32; ++i) buf[2 + i] = "0123456789abcdef"[(v >> (4 * (31 - i))) & 0xf];
    buf[34] = 0;
    return std::string(buf);
  };
  return c.prefix == 128 ? hex128(c.network.value) : hex128(c.first().value) + "-" + hex128(c.last().value);
}

// The frames a port may send (bridge family): its number into the mark, then anti-spoofing.
std::string from_port_chain(int n, const FilteredPort& p) {
  std::string c = "    meta mark set meta mark | " + hex(n | (p.stateful ? 0 : 0x8000)) + "\n    jump no-server\n";
  // A neighbour advertisement only for the port's own IPv6 addresses (its target: bytes 8-23).
  std::vector<Cidr> all6;
  for (const auto& [mac, cidrs] : p.sources)
    for (const auto& cidr : of_family(cidrs, 6)) all6.push_back(cidr);
  std::string targets;  // (merged: one address under two MACs is one element)
  for (const auto& cidr : merged(all6)) targets += (targets.empty() ? "" : ", ") + raw128(cidr);
  c += "    ether type ip6 icmpv6 type nd-neighbor-advert @th,64,128 != { " + targets + " } drop\n";
  for (const auto& [mac, cidrs] : p.sources) {
    auto v4 = of_family(cidrs, 4), v6 = of_family(cidrs, 6);
    auto from = "    ether saddr " + mac;
    if (!v4.empty()) {
      c += from + " ip saddr { " + joined(v4) + " } return\n";
      c += from + " arp saddr ether " + mac + " arp saddr ip { " + joined(v4) + " } return\n";
    }
    c += from + " ip6 saddr { " + joined(v6) + " } return\n";
    // Before it has an address: DHCP, ARP probes, IPv6 duplicate address detection.
    c += from + " ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 return\n";
    c += from + " arp saddr ether " + mac + " arp saddr ip 0.0.0.0 return\n";
    c += from + " ip6 saddr :: icmpv6 type { nd-neighbor-solicit, mld-listener-report, mld2-listener-report } return\n";
  }
  return c + "    drop\n";
}

// Ports are elements of two verdict maps (by input and output interface): a port that comes
// or goes is two elements and its two chains, nothing else.
NftTable bridge_table(const SecurityPlan& plan) {
  NftTable t;
  auto& from = t.sets["in-ports"];
  auto& to = t.sets["out-ports"];
  from.map = to.map = true;
  from.declaration = to.declaration = "type ifname : verdict";
  for (const auto& [id, p] : plan.ports) {
    auto n = std::to_string(p.number);
    from.elements.insert("\"" + p.tap + "\" : jump from-" + n);
    to.elements.insert("\"" + p.tap + "\" : jump to-" + n);
    t.chains["from-" + n] = from_port_chain(p.number, p);
    // Only what br_netfilter hands to the inet rules reaches a filtered port: no VLAN tags.
    t.chains["to-" + n] = "    meta mark set meta mark | " + hex(uint32_t(p.number) << 16) + "\n    ether type != { ip, ip6, arp } drop\n";
  }
  t.chains["prerouting"] = "    type filter hook prerouting priority -300; policy accept;\n    meta mark set 0\n    iifname vmap @in-ports\n";
  t.chains["forward"] = "    type filter hook forward priority -300; policy accept;\n    oifname vmap @out-ports\n";
  // The ports' numbers stay on this host: a frame leaving (a tunnel's outer packet included)
  // carries no mark of ours.
  t.chains["postrouting"] = "    type filter hook postrouting priority 300; policy accept;\n    meta mark set 0\n";
  // No port is a DHCP server or a router.
  t.chains["no-server"] = "    ether type ip udp sport 67 udp dport 68 drop\n    ether type ip6 udp sport 547 udp dport 546 drop\n"
                          "    ether type ip6 icmpv6 type { nd-router-advert, nd-redirect } drop\n";
  return t;
}

// Bit 31 of the mark: a rule of one of the port's groups matched (the port's chain asks).
constexpr const char* kAllowed = "0x80000000";

std::string rule_statement(const PortRule& r) {
  std::string s = "    meta nfproto " + std::string(r.family == 4 ? "ipv4" : "ipv6");
  if (r.protocol) s += " meta l4proto " + std::to_string(*r.protocol);
  if (r.ports)
    s += " th dport " + std::to_string(r.ports->first) +
         (r.ports->first == r.ports->second ? "" : "-" + std::to_string(r.ports->second));
  auto icmp = std::string(r.family == 4 ? " icmp" : " icmpv6");
  if (r.icmp_type) s += icmp + " type " + std::to_string(*r.icmp_type);
  if (r.icmp_code) s += icmp + " code " + std::to_string(*r.icmp_code);
  auto side = std::string(r.family == 4 ? " ip " : " ip6 ") + (r.ingress ? "saddr " : "daddr ");
  if (r.prefix) s += side + r.prefix->str();
  if (r.remote_group) s += side + "@" + set_name(*r.remote_group, r.family);
  if (r.address_group) s += side + "@" + address_set_name(*r.address_group, r.family);
  return s + " meta mark set meta mark | " + kAllowed + " return\n";
}

std::string group_chain(const std::string& group, bool ingress) { return "g-" + group + (ingress ? "-i" : "-o"); }

// A group's rules once for all its ports: a match sets the allowed bit and returns.
void add_group_chains(NftTable& t, const std::string& group, const std::vector<PortRule>& rules) {
  auto& in = t.chains[group_chain(group, true)];
  auto& out = t.chains[group_chain(group, false)];
  for (const auto& r : rules) (r.ingress ? in : out) += rule_statement(r);
}

// What every port gets whatever its groups say (as Neutron), once for all ports: what
// anti-spoofing dropped already, again after reassembly (a header in a later fragment);
// DHCP, metadata and neighbour discovery allowed (the allowed bit, like a group's rule).
void add_implicit_chains(NftTable& t) {
  auto allow = std::string(" meta mark set meta mark | ") + kAllowed + " return\n";
  t.chains["implicit-o"] =
      "    udp sport 67 udp dport 68 drop\n    udp sport 547 udp dport 546 drop\n"
      "    icmpv6 type { nd-router-advert, nd-redirect } drop\n"
      "    ip daddr 169.254.169.254 tcp dport 80" + allow + "    udp sport 68 udp dport 67" + allow +
      "    udp sport 546 udp dport 547" + allow +
      "    icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report, "
      "mld2-listener-report }" + allow;
  t.chains["implicit-i"] =
      "    udp sport 67 udp dport 68" + allow + "    udp sport 547 udp dport 546" + allow +
      "    icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query }" + allow;
}

// A port's verdict: the implicit rules, then its groups' chains; allowed if one matched.
void add_port_chains(NftTable& t, int n, const FilteredPort& p) {
  auto num = std::to_string(n);
  // The allowed bit starts clear, whatever else on the host may have written into the mark.
  std::string out = "    meta mark set meta mark & 0x7fffffff\n    jump implicit-o\n";
  std::string in = "    meta mark set meta mark & 0x7fffffff\n    jump implicit-i\n";
  for (const auto& g : p.groups) {
    in += "    jump " + group_chain(g, true) + "\n";
    out += "    jump " + group_chain(g, false) + "\n";
  }
  auto verdict = std::string("    meta mark & ") + kAllowed + " != 0 meta mark set meta mark & 0x7fffffff return\n    drop\n";
  t.chains["egress-" + num] = out + verdict;
  t.chains["ingress-" + num] = in + verdict;
}

// A named set of one family's addresses (a remote group's or an address group's): a member
// that comes or goes is one element. An interval set only when a prefix is in it: before
// any edit of a table with an interval set, libnftables loads that set's elements (to merge
// ranges): 0.7 ms more per edit at 500 members, 2.5 ms at 2,000 (neutrino-bench-sg-edit);
// a set of addresses needs none of that. A prefix arriving or leaving changes the declaration: the table is replaced whole.
void add_address_set(NftTable& t, const std::string& name, int family, const std::vector<Cidr>& cidrs) {
  auto& s = t.sets[name];
  auto addresses = of_family(cidrs, family);
  bool prefixes = std::any_of(addresses.begin(), addresses.end(), [](const Cidr& c) { return c.prefix != c.network.bits(); });
  s.declaration = std::string("type ") + (family == 4 ? "ipv4_addr" : "ipv6_addr") + (prefixes ? "; flags interval;" : ";");
  for (const auto& c : addresses) s.elements.insert(element(c));
}

NftSet named(bool map, std::string declaration) { return NftSet{map, std::move(declaration), {}}; }

// The hooks (fixed text) look ports, bridges and zones up in named sets and maps, so a port
// that comes or goes changes elements and its own chains only.
void add_hooks(NftTable& t) {
  // The zone before defragmentation (-400), so fragments of different networks never meet.
  // Stateless traffic first, and it gets no zone: `ct zone set` attaches a conntrack template,
  // after which `notrack` does nothing (and a template set after `notrack` tracks it again).
  t.chains["zones"] = "    type filter hook prerouting priority -450; policy accept;\n"
                      "    meta mark & 0x8000 != 0 notrack accept\n    iifname . ether daddr @untracked notrack accept\n"
                      "    ct zone set iifname map @zones\n";
  t.chains["forward"] = "    type filter hook forward priority filter; policy accept;\n    iifname != @bridges accept\n"
                        "    meta mark & 0x7fff7fff == 0 accept\n    ct state invalid drop\n    ct state established,related accept\n"
                        "    meta mark & 0x7fff vmap @egress\n    meta mark & 0x7fff0000 vmap @ingress\n";
  t.sets["zones"] = named(true, "typeof iifname : ct zone;");
  t.sets["bridges"] = named(false, "type ifname;");
  t.sets["untracked"] = named(false, "typeof iifname . ether daddr;");  // frames to stateless ports
  // A number no port has (a table of the other family not loaded yet) drops: never open.
  for (const char* m : {"egress", "ingress"}) t.sets[m] = NftSet{true, "type mark : verdict;", {"0 : continue", "* : drop"}};
}

NftTable inet_table(const SecurityPlan& plan) {
  NftTable t;
  add_hooks(t);
  add_implicit_chains(t);
  for (const auto& [group, rules] : plan.group_rules) add_group_chains(t, group, rules);
  for (const auto& [group, cidrs] : plan.members)
    for (int family : {4, 6}) add_address_set(t, set_name(group, family), family, cidrs);
  for (const auto& [id, cidrs] : plan.address_groups)
    for (int family : {4, 6}) add_address_set(t, address_set_name(id, family), family, cidrs);
  for (const auto& [id, p] : plan.ports) {
    auto n = std::to_string(p.number);
    t.sets["egress"].elements.insert(n + " : jump egress-" + n);
    t.sets["ingress"].elements.insert(hex(uint32_t(p.number) << 16) + " : jump ingress-" + n);
    add_port_chains(t, p.number, p);
    t.sets["zones"].elements.insert("\"" + p.bridge + "\" : " + std::to_string(p.zone));
    t.sets["bridges"].elements.insert("\"" + p.bridge + "\"");
    // Frames to a stateless port (by its bridge and MACs: here br_netfilter's input device is the bridge).
    if (!p.stateful)
      for (const auto& [mac, cidrs] : p.sources) t.sets["untracked"].elements.insert("\"" + p.bridge + "\" . " + mac);
  }
  return t;
}

}  // namespace

std::optional<uint8_t> protocol_number(const std::string& name, int family) {
  static const std::map<std::string, int> names{
      {"ah", 51},       {"dccp", 33},      {"egp", 8},         {"esp", 50},        {"gre", 47},  {"hopopt", 0},
      {"icmp", 1},      {"igmp", 2},       {"ipip", 4},        {"ipv6-encap", 41}, {"ipv6-frag", 44},
      {"ipv6-icmp", 58}, {"icmpv6", 58},   {"ipv6-nonxt", 59}, {"ipv6-opts", 60},  {"ipv6-route", 43},
      {"ospf", 89},     {"pgm", 113},      {"rsvp", 46},       {"sctp", 132},      {"tcp", 6},   {"udp", 17},
      {"udplite", 136}, {"vrrp", 112}};
  int n = -1;
  if (auto it = names.find(name); it != names.end()) n = it->second;
  else if (!name.empty() && name.size() <= 3 && name.find_first_not_of("0123456789") == std::string::npos) n = std::stoi(name);
  if (n < 0 || n > 255) return std::nullopt;
  if (family == 6 && n == 1) n = 58;  // Neutron: icmp with IPv6 is ICMPv6
  return static_cast<uint8_t>(n);
}

SecurityPlan plan_security(const view::HostView& view, SgNumbers& numbers) {
  SecurityPlan plan;
  for (const auto& [id, p] : view.portsec)
    if (!p.port_security_enabled) plan.open_ports.insert(id);
    else if (auto f = filtered_port(id, p, view)) plan.ports.emplace(id, std::move(*f));
  std::set<std::string> port_ids, bridges;
  for (const auto& [id, p] : plan.ports) port_ids.insert(id), bridges.insert(p.bridge);
  allocate(numbers.ports, port_ids, kMaxPortNumber);
  allocate(numbers.zones, bridges, kMaxZone);
  for (auto it = plan.ports.begin(); it != plan.ports.end();) {
    auto n = numbers.ports.find(it->first);
    if (n == numbers.ports.end()) {  // more filtered ports than numbers: not filtered, and said so by the caller
      it = plan.ports.erase(it);
      continue;
    }
    it->second.number = n->second, it->second.zone = static_cast<uint16_t>(numbers.zones.at(it->second.bridge));
    for (const auto& g : it->second.groups)
      if (!plan.group_rules.count(g)) {
        auto& rules = plan.group_rules[g];
        for (const auto& r : view.secgroups.at(g).rules)
          if (auto rule = port_rule(r, view)) rules.push_back(*rule);
      }
    for (const auto& r : it->second.rules)
      if (r.remote_group && !plan.members.count(*r.remote_group)) {
        std::vector<Cidr> cidrs;
        for (const auto& ip : view.sgmembers.at(*r.remote_group).ips)
          if (auto c = Cidr::parse(ip)) cidrs.push_back(*c);
        plan.members[*r.remote_group] = merged(cidrs);
      }
    for (const auto& r : it->second.rules)
      if (r.address_group && !plan.address_groups.count(*r.address_group)) {
        std::vector<Cidr> cidrs;
        for (const auto& a : view.addrgroups.at(*r.address_group).addresses)
          if (auto c = Cidr::parse(a)) cidrs.push_back(*c);
        plan.address_groups[*r.address_group] = merged(cidrs);
      }
    ++it;
  }
  if (plan.ports.empty()) return plan;
  plan.bridge = bridge_table(plan);
  plan.inet = inet_table(plan);
  return plan;
}

SgNumbers learn_numbers(const std::string& inet_text, const std::string& bridge_text,
                        const std::map<std::string, std::string>& port_of_tap) {
  SgNumbers out;
  static const std::regex zone(R"re("([A-Za-z0-9-]{1,15})" : (\d{1,5}))re"), from(R"re("(tap[A-Za-z0-9-]{1,12})" : jump from-(\d{1,5}))re");
  // (Tables before the named map had the zones inline: an upgraded agent keeps them too.)
  auto map = inet_text.find("map zones {");
  auto line = map == std::string::npos ? inet_text.find("ct zone set iifname map {") : inet_text.find("elements = {", map);
  if (line != std::string::npos) {
    auto zones = inet_text.substr(line, inet_text.find('}', line) - line);
    std::set<int> used;  // (a zone twice would join two networks: the second is allocated anew)
    for (std::sregex_iterator it(zones.begin(), zones.end(), zone), end; it != end; ++it)
      if (int n = std::stoi((*it)[2].str()); n >= 1 && n <= kMaxZone && used.insert(n).second) out.zones[(*it)[1].str()] = n;
  }
  for (std::sregex_iterator it(bridge_text.begin(), bridge_text.end(), from), end; it != end; ++it) {
    auto port = port_of_tap.find((*it)[1].str());
    if (int n = std::stoi((*it)[2].str()); port != port_of_tap.end() && n >= 1 && n <= kMaxPortNumber)
      out.ports[port->second] = n;
  }
  return out;
}

void add_security_tables(const SecurityPlan& plan, kernel::State& host) {
  if (plan.ports.empty()) return;
  put_nft_table(host, "bridge nt-sg", plan.bridge.text());
  put_nft_table(host, "inet nt-sg", plan.inet.text());
}

namespace {

bool covers(const Cidr& outer, const Cidr& inner) {
  return outer.network.version == inner.network.version && outer.prefix <= inner.prefix && outer.contains(inner.network);
}

// The part of `c` that no element of `is` (sorted as merged() gives it) covers, as
// prefixes: c is halved around the elements of `is` inside it.
void subtract(const Cidr& c, const std::vector<Cidr>& is, std::vector<Cidr>& out) {
  // Only the last of `is` not after c in merged()'s order can cover c.
  auto after = std::upper_bound(is.begin(), is.end(), c, cidr_before);
  if (after != is.begin() && covers(*std::prev(after), c)) return;
  // If any element of `is` is inside c, the first one after c is.
  bool inside = after != is.end() && covers(c, *after);
  if (!inside || c.prefix >= c.network.bits()) return out.push_back(c);
  Cidr low = c, high = c;
  low.prefix = high.prefix = c.prefix + 1;
  high.network.value |= u128{1} << (c.network.bits() - low.prefix);
  subtract(low, is, out), subtract(high, is, out);
}

// What `was` allowed that `is` does not any more (both as merged() gives them: sorted, none
// covering another): an address a wider prefix now covers lost nothing, and a prefix that
// narrowed to some of its addresses lost only the others.
std::vector<Cidr> uncovered(const std::vector<Cidr>& was, const std::vector<Cidr>& is) {
  std::vector<Cidr> out;
  for (const auto& c : was) subtract(c, is, out);
  return out;
}

// A rule's remote addresses (empty: any, or none for a remote set).
std::vector<Cidr> remotes(const PortRule& r, const SecurityPlan& plan) {
  if (r.prefix) return {*r.prefix};
  const auto& sets = r.remote_group ? plan.members : plan.address_groups;
  auto name = r.remote_group ? r.remote_group : r.address_group;
  if (!name) return {};
  auto it = sets.find(*name);
  return it == sets.end() ? std::vector<Cidr>{} : of_family(it->second, r.family);
}

// The connections `r` allowed for port `p`, limited to the remote addresses `far` (empty: any).
std::optional<kernel::FlowMatch> flows_of(const FilteredPort& p, const PortRule& r, const std::vector<Cidr>& far) {
  kernel::FlowMatch m;
  m.zone = p.zone, m.family = r.family, m.protocol = r.protocol, m.dst_ports = r.ports;
  m.icmp_type = r.icmp_type, m.icmp_code = r.icmp_code;
  auto mine = of_family(p.own, r.family);
  if (mine.empty()) return std::nullopt;
  (r.ingress ? m.destinations : m.sources) = mine;
  (r.ingress ? m.sources : m.destinations) = far;
  return m;
}

}  // namespace

// Every connection of the port from or to one of `addresses` (a port that went, an address it lost).
void cut_addresses(const FilteredPort& p, const std::vector<Cidr>& addresses, std::vector<kernel::FlowMatch>& cuts) {
  for (int family : {4, 6}) {
    auto mine = of_family(addresses, family);
    if (mine.empty()) continue;
    kernel::FlowMatch to, from;
    to.zone = from.zone = p.zone, to.family = from.family = family;
    to.destinations = mine, from.sources = mine;
    cuts.push_back(to), cuts.push_back(from);
  }
}

std::vector<kernel::FlowMatch> flows_to_cut(const SecurityPlan& before, const SecurityPlan& after) {
  std::vector<kernel::FlowMatch> cuts;
  // What each remote set (group or address group, per family) lost: once, not per port.
  std::map<std::tuple<bool, std::string, int>, std::vector<Cidr>> lost_of_set;
  auto lost_of = [&](const PortRule& r) -> const std::vector<Cidr>& {
    auto [it, fresh] = lost_of_set.try_emplace({r.remote_group.has_value(), r.remote_group.value_or(r.address_group.value_or("")), r.family});
    if (fresh) it->second = uncovered(remotes(r, before), remotes(r, after));
    return it->second;
  };
  for (const auto& [id, old] : before.ports) {
    // A stateless port has no connections; one with port security off now keeps them all.
    if (!old.stateful || after.open_ports.count(id)) continue;
    auto now = after.ports.find(id);
    if (now == after.ports.end()) {  // the port went (or moved): its connections go too
      cut_addresses(old, old.own, cuts);
      continue;
    }
    cut_addresses(old, uncovered(old.own, now->second.own), cuts);
    for (const auto& r : old.rules) {
      bool remote_set = r.remote_group || r.address_group;
      if (!now->second.rules.count(r)) {
        auto was = remotes(r, before);
        if (remote_set && was.empty()) continue;  // it matched no address
        if (auto m = flows_of(now->second, r, was)) cuts.push_back(*m);
        continue;
      }
      if (!remote_set) continue;
      if (const auto& lost = lost_of(r); !lost.empty())
        if (auto m = flows_of(now->second, r, lost)) cuts.push_back(*m);
    }
  }
  return cuts;
}

}  // namespace nt::agent
