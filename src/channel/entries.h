// The host view's entries, typed: one struct per kind, and one JSON codec for all of them
// (Boost.Describe lists each struct's members; Boost.JSON's value_from encodes from that
// list and entries.cc decodes with it). The planner builds these structs, the watch hub streams their JSON, the
// agent decodes them back into a HostView and plans from the structs; tests build them
// the same way, so a renamed field fails to compile instead of passing unnoticed.
//
// Every member is always present on the wire (absent values are null), and a decoder
// refuses an entry that lacks one or has the wrong type. Unknown members are ignored, so
// a newer server may add fields without breaking an older agent.
#pragma once
#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace nt::view {

// The version of the watch stream's format; the stream's first line says it.
// 3: dhcp entries; 4: portsec, secgroup, sgmembers; 5: addrgroup; 6: l2pop candidates, snat gateways;
// 7: l2pop other_addresses; 8: flood entries (no flood list in network entries);
// 9: sgmember entries, one per (remote group, address), instead of sgmembers lists
inline constexpr int kProtocolVersion = 9;

enum class Kind { network, port, l2pop, router, arp, snat, fip, dhcp, portsec, secgroup, sgmember, addrgroup, flood };
std::string_view kind_name(Kind kind);
std::optional<Kind> parse_kind(std::string_view name);

// A network the host has a port on: its segment and bridge.
struct Network {
  std::string network_type;
  std::optional<std::string> physical_network;
  std::optional<int64_t> segmentation_id;
  int64_t mtu = 1500;
  std::string bridge;
  bool operator==(const Network&) const = default;
};
BOOST_DESCRIBE_STRUCT(Network, (), (network_type, physical_network, segmentation_id, mtu, bridge))

// Another host on one of the host's networks: a VTEP to flood the network's broadcasts to.
// One entry per (network, other host), id "<network>|<host>": a host joining a network is
// one entry for each host already there (and theirs for it), never everyone's whole list.
struct Flood {
  std::string network_id, vtep;
  bool operator==(const Flood&) const = default;
};
BOOST_DESCRIBE_STRUCT(Flood, (), (network_id, vtep))

// A port bound to the host: its tap. `vm`: an instance's port (owner not network:*), which
// the host plugs only once its security (portsec entry) is in place.
struct Port {
  std::string network_id, mac_address;
  std::vector<std::string> fixed_ips;
  std::string device;
  bool admin_state_up = true;
  int64_t mtu = 1500;
  bool vm = false;
  bool operator==(const Port&) const = default;
};
BOOST_DESCRIBE_STRUCT(Port, (), (network_id, mac_address, fixed_ips, device, admin_state_up, mtu, vm))

// A port of one of the host's networks bound elsewhere, behind that host's VTEP.
// `candidates`: a router's sg-/qg- port only (gateway HA): the VTEPs of its gateway hosts
// in order (the first is `vtep`); a host sends to the first one it sees alive by BFD.
struct L2pop {
  std::string network_id, mac_address;
  std::vector<std::string> fixed_ips;
  std::string vtep;
  std::vector<std::string> candidates;
  // The port may answer for addresses beyond its fixed IPs (allowed address pairs, or port
  // security off): ARP on its network must reach it, not be answered from the host's table.
  bool other_addresses = false;
  bool operator==(const L2pop&) const = default;
};
BOOST_DESCRIBE_STRUCT(L2pop, (), (network_id, mac_address, fixed_ips, vtep, candidates, other_addresses))

// One port of a router in a namespace (qr-, sg-, qg-, fg-): the namespace end `device`
// of a veth whose host end `tap` is plugged into `bridge`. The address fields are null
// for a port without an address; sg_ip only for a qr- port of a router with SNAT.
struct RouterPort {
  std::string port_id, device, tap, mac, network_id, bridge;
  int64_t mtu = 1500;
  std::optional<std::string> subnet_id, ip, cidr;
  std::optional<int64_t> prefixlen;
  std::optional<std::string> gateway_ip, sg_ip;
  bool operator==(const RouterPort&) const = default;
};
BOOST_DESCRIBE_STRUCT(RouterPort, (),
                      (port_id, device, tap, mac, network_id, bridge, mtu, subnet_id, ip, cidr, prefixlen, gateway_ip, sg_ip))

struct Route {
  std::string destination, nexthop;
  bool operator==(const Route&) const = default;
};
BOOST_DESCRIBE_STRUCT(Route, (), (destination, nexthop))

struct FloatingIp {
  std::string id, floating_ip, fixed_ip;
  bool operator==(const FloatingIp&) const = default;
};
BOOST_DESCRIBE_STRUCT(FloatingIp, (), (id, floating_ip, fixed_ip))

// A distributed router with an interface on one of the host's networks.
struct Router {
  std::vector<RouterPort> interfaces;
  std::vector<Route> routes;
  std::optional<std::string> external_network_id;
  bool enable_snat = false;
  std::vector<FloatingIp> floating_ips;  // of this host's ports
  std::optional<std::string> dvr_mac;     // this host's
  bool operator==(const Router&) const = default;
};
BOOST_DESCRIBE_STRUCT(Router, (), (interfaces, routes, external_network_id, enable_snat, floating_ips, dvr_mac))

struct ArpAddress {
  std::string device, ip;
  bool operator==(const ArpAddress&) const = default;
};
BOOST_DESCRIBE_STRUCT(ArpAddress, (), (device, ip))

// A permanent neighbour of a router: one port of its subnets, per address the qr- device.
struct Arp {
  std::string router_id, mac;
  std::vector<ArpAddress> addresses;
  bool operator==(const Arp&) const = default;
};
BOOST_DESCRIBE_STRUCT(Arp, (), (router_id, mac, addresses))

// A router's SNAT role on one of its gateway hosts (priority 0 is the active one).
// A port forwarding of a floating IP, realised on the router's active gateway host:
// `protocol` to floating_ip:external ports goes to internal_ip:internal ports (ranges of
// equal size map port for port; many external ports may go to one internal port).
struct PortForward {
  std::string floating_ip, protocol, internal_ip;
  int64_t external_min = 0, external_max = 0, internal_min = 0, internal_max = 0;
  bool operator==(const PortForward&) const = default;
};
BOOST_DESCRIBE_STRUCT(PortForward, (), (floating_ip, protocol, internal_ip, external_min, external_max, internal_min,
                                        internal_max))

struct Snat {
  bool active = false;  // as the server sees it; the host decides by BFD (see `gateways`)
  int64_t priority = 0;
  std::vector<std::string> gateways;  // the VTEPs of the router's gateway hosts, in order
  std::vector<RouterPort> sg;
  std::optional<RouterPort> qg;
  std::vector<std::string> internal_cidrs;
  bool enable_snat = true;
  std::vector<PortForward> port_forwardings;
  bool operator==(const Snat&) const = default;
};
BOOST_DESCRIBE_STRUCT(Snat, (), (active, priority, gateways, sg, qg, internal_cidrs, enable_snat, port_forwardings))

struct FipRouter {
  std::string router_id;
  std::vector<std::string> floating_ips;
  bool operator==(const FipRouter&) const = default;
};
BOOST_DESCRIBE_STRUCT(FipRouter, (), (router_id, floating_ips))

// The floating IP namespace of an external network on the host.
struct Fip {
  std::string network_id, bridge;
  int64_t mtu = 1500;
  std::optional<RouterPort> fg;  // null until the server made the host's fg- port
  std::vector<FipRouter> routers;
  bool operator==(const Fip&) const = default;
};
BOOST_DESCRIBE_STRUCT(Fip, (), (network_id, bridge, mtu, fg, routers))

// One of a port's extra_dhcp_opts (Neutron's extension), as the API stored it.
struct DhcpOption {
  std::string name, value;
  int64_t ip_version = 4;
  bool operator==(const DhcpOption&) const = default;
};
BOOST_DESCRIBE_STRUCT(DhcpOption, (), (name, value, ip_version))

// What the host's DHCP server and metadata proxy know of one VM port bound to the host:
// the address DHCP gives (the first IPv4 fixed IP on a DHCP-enabled subnet, else the
// first IPv4 one), the options, and who the port's instance is. server_ip/server_mac are
// the network's DHCP port on that subnet: null when DHCP is not served to the port
// (enable_dhcp false, or no DHCP port). server_port is that port's id (the metadata
// namespace's veth is named after it).
struct Dhcp {
  std::string network_id, subnet_id, device, mac, ip;
  int64_t prefixlen = 24;
  std::optional<std::string> gateway;
  std::vector<std::string> dns;
  std::vector<Route> routes;  // classless static routes: host_routes, metadata, other subnets on-link
  int64_t mtu = 1500, lease = 86400;  // lease -1: infinite
  std::string hostname, domain;
  std::optional<std::string> server_ip, server_mac, server_port;
  std::vector<DhcpOption> options;
  std::vector<std::string> addresses;  // every IPv4 fixed IP: the sources metadata requests may come from
  std::string device_id, project_id;
  bool operator==(const Dhcp&) const = default;
};
BOOST_DESCRIBE_STRUCT(Dhcp, (), (network_id, subnet_id, device, mac, ip, prefixlen, gateway, dns, routes, mtu, lease,
                                 hostname, domain, server_ip, server_mac, server_port, options, addresses, device_id,
                                 project_id))

// One of a port's allowed_address_pairs: an address or CIDR, with the MAC it may be sent
// from (null: the port's own).
struct AddressPair {
  std::string ip_address;
  std::optional<std::string> mac_address;
  bool operator==(const AddressPair&) const = default;
};
BOOST_DESCRIBE_STRUCT(AddressPair, (), (ip_address, mac_address))

// What the host's firewall knows of one VM port bound to the host (kind portsec, by port):
// its network (the bridge its tap is on), tap, MAC and every fixed IP (v4 and v6) for anti-spoofing, whether it is filtered at
// all, its security groups (sorted ids: their secgroup entries are on the host when the
// port is filtered) and its allowed address pairs.
struct PortSecurity {
  std::string network_id, device, mac;
  std::vector<std::string> fixed_ips;
  bool port_security_enabled = true;
  std::vector<std::string> security_groups;
  std::vector<AddressPair> allowed_address_pairs;
  bool operator==(const PortSecurity&) const = default;
};
BOOST_DESCRIBE_STRUCT(PortSecurity, (), (network_id, device, mac, fixed_ips, port_security_enabled, security_groups,
                                         allowed_address_pairs))

// One rule of a security group, as the API stored it (null: any).
struct SecurityGroupRule {
  std::string id, direction, ethertype;
  std::optional<std::string> protocol;
  std::optional<int64_t> port_range_min, port_range_max;
  std::optional<std::string> remote_ip_prefix, remote_group_id, remote_address_group_id;
  bool operator==(const SecurityGroupRule&) const = default;
};
BOOST_DESCRIBE_STRUCT(SecurityGroupRule, (), (id, direction, ethertype, protocol, port_range_min, port_range_max,
                                              remote_ip_prefix, remote_group_id, remote_address_group_id))

// A security group one of the host's filtered ports is in (kind secgroup, by group): its
// rules sorted by id.
struct SecurityGroup {
  bool stateful = true;
  std::vector<SecurityGroupRule> rules;
  bool operator==(const SecurityGroup&) const = default;
};
BOOST_DESCRIBE_STRUCT(SecurityGroup, (), (stateful, rules))

// The addresses of a group named as remote_group_id by a rule of one of the host's groups:
// every fixed IP and allowed address pair of every port in it with port security,
// wherever it is bound (sorted, unique). The HostView's form; on the wire each address is
// an entry of its own (SgMember), so that a port joining a big group costs each host one
// small entry, not the group's whole list again.
struct GroupMembers {
  std::set<std::string> ips;  // (a set: a member added to a group of thousands costs log n)
  bool operator==(const GroupMembers&) const = default;
};
BOOST_DESCRIBE_STRUCT(GroupMembers, (), (ips))

// One address of such a group (kind sgmember, id "<group>|<address>"); decoded into the
// group's GroupMembers. A group with no entry has no members: its rules allow nobody.
struct SgMember {
  std::string ip;
  bool operator==(const SgMember&) const = default;
};
BOOST_DESCRIBE_STRUCT(SgMember, (), (ip))

// The addresses of an address group named as remote_address_group_id by a rule of one of
// the host's groups (kind addrgroup, by the address group): its CIDRs as the API stored
// them (network/prefixlen), sorted, unique.
struct AddressGroup {
  std::vector<std::string> addresses;
  bool operator==(const AddressGroup&) const = default;
};
BOOST_DESCRIBE_STRUCT(AddressGroup, (), (addresses))

// An arp entry's id: "<router>|<port>".
struct ArpId {
  std::string router, port;
  std::string str() const { return router + "|" + port; }
  static std::optional<ArpId> parse(std::string_view id);
};

// What one host must build, decoded: entries by id, per kind.
struct HostView {
  std::map<std::string, Network> networks;
  std::map<std::string, Port> ports;
  std::map<std::string, L2pop> l2pop;
  std::map<std::string, Router> routers;
  std::map<std::string, Arp> arp;  // by ArpId::str()
  std::map<std::string, Snat> snat;
  std::map<std::string, Fip> fips;  // by external network
  std::map<std::string, Dhcp> dhcp;  // by port
  std::map<std::string, PortSecurity> portsec;      // by port
  std::map<std::string, SecurityGroup> secgroups;   // by group
  std::map<std::string, GroupMembers> sgmembers;    // by (remote) group, from its sgmember entries
  std::map<std::string, AddressGroup> addrgroups;   // by address group
  std::map<std::string, Flood> flood;               // by "<network>|<host>"
  bool operator==(const HostView&) const = default;
  bool empty() const;
};

// Walks the view kind by kind, in the order entries() lists them: typed(kind, map) for
// each kind kept as entries by id, members(view.sgmembers) for the remote groups' members
// (an sgmember entry per address). The one list of the view's kinds, for entries() and
// the view's digest.
template <class Typed, class Members>
void visit_kinds(const HostView& view, Typed&& typed, Members&& members) {
  typed(Kind::network, view.networks);
  typed(Kind::port, view.ports);
  typed(Kind::l2pop, view.l2pop);
  typed(Kind::router, view.routers);
  typed(Kind::arp, view.arp);
  typed(Kind::snat, view.snat);
  typed(Kind::fip, view.fips);
  typed(Kind::dhcp, view.dhcp);
  typed(Kind::portsec, view.portsec);
  typed(Kind::secgroup, view.secgroups);
  members(view.sgmembers);
  typed(Kind::addrgroup, view.addrgroups);
  typed(Kind::flood, view.flood);
}

template <class Entry>
boost::json::object encode(const Entry& e) {
  return boost::json::value_from(e).as_object();
}

// Puts one decoded entry into `view` (an error names the kind, id and the member).
Status put(HostView& view, std::string_view kind, const std::string& id, const boost::json::value& obj);
// Removes one entry (an unknown kind is no error: nothing to remove).
void erase(HostView& view, std::string_view kind, const std::string& id);
// Every entry as (kind, id, JSON): for files, tools and tests.
std::vector<std::tuple<Kind, std::string, boost::json::object>> entries(const HostView& view);

}  // namespace nt::view
