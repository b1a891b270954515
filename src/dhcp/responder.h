// What the host's DHCP server answers for one VM port. The caller (the agent) finds the
// port by the interface a message came in on and describes it; deciding and building the
// answer is pure. Addresses are static, as with Neutron's dnsmasq and OVN: a port always
// gets its fixed IP and nothing else, so there is no lease database.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dhcp/frame.h"
#include "dhcp/options.h"
#include "dhcp/packet.h"

namespace nt::dhcp {

inline constexpr uint32_t kInfiniteLease = 0xffffffffu;  // Neutron's dhcp_lease_duration = -1

// The answer's content for one port.
struct PortDhcpConfig {
  Mac mac;                              // the port's MAC: any other chaddr is ignored
  Ipv4Address address;                  // the port's fixed IP
  int prefix_length = 24;               // of its subnet, 1..32
  std::optional<Ipv4Address> gateway;   // option 3; none: no router option
  std::vector<Ipv4Address> dns_servers; // option 6, omitted when empty
  std::string domain_name;              // option 15 (a trailing dot is dropped), omitted when empty
  std::string hostname;                 // option 12 (dns_name or host-<ip>), omitted when empty
  uint16_t mtu = 0;                     // option 26 when >= 68
  uint32_t lease_seconds = 86400;       // option 51; T1/T2 at 1/2 and 7/8 of it
  // The subnet's host_routes, the metadata route (169.254.169.254/32) when needed, on-link
  // routes of the segment's other subnets (next hop 0.0.0.0): options 121 and 249.
  std::vector<Ipv4Route> host_routes;
  Ipv4Address server_id;                // the DHCP port's IP: option 54 and the source IP
  Mac server_mac;                       // the DHCP port's MAC: the source MAC
  std::vector<ExtraDhcpOption> extra_options;  // the port's extra_dhcp_opts of ip_version 4
};

// A description the server cannot answer from (an address or prefix out of range).
Status check_port_dhcp_config(const PortDhcpConfig& port);

enum class Verdict {
  offer,     // DISCOVER
  ack,       // REQUEST for the port's address, INFORM
  nak,       // REQUEST for another address
  ignored,   // not ours to answer (other server chosen, other MAC, relayed, malformed use)
  released,  // RELEASE: nothing to do, addresses are static
  declined,  // DECLINE: the client found the port's address in use on the link (log it)
};
std::string_view verdict_name(Verdict verdict);

// Where the reply goes (RFC 2131 4.1); it leaves from server_mac, server_id, port 67.
struct ReplyDestination {
  Ipv4Address ip;
  Mac mac;
  uint16_t port = kDhcpClientPort;
};

struct DhcpAnswer {
  Verdict verdict = Verdict::ignored;
  std::string reason;                    // why: a NAK, an ignored message, a decline
  std::optional<DhcpPacket> reply;       // for offer, ack, nak
  ReplyDestination destination;          // meaningful with a reply
  std::vector<uint8_t> dropped_options;  // option codes left out to fit the client's size
  std::vector<std::string> notes;        // extra options skipped as invalid

  bool has_reply() const { return reply.has_value(); }
  std::vector<uint8_t> payload() const;  // the reply's UDP payload; empty without one
};

// Decides and builds the answer to one client message for the port it came from.
DhcpAnswer answer_dhcp_request(const DhcpRequest& request, const PortDhcpConfig& port);

// The gateway a client gets: `gateway`, else the next hop of a 0.0.0.0/0 host route.
std::optional<Ipv4Address> effective_gateway(const PortDhcpConfig& port);

// The routes of options 121 and 249: the host routes but a 0.0.0.0/0 one, then the
// default route via the gateway last (a client given option 121 ignores option 3, RFC
// 3442). Empty when there are no other routes: option 3 then suffices.
std::vector<Ipv4Route> classless_routes_for(const PortDhcpConfig& port);

// The DHCP message size the reply may take: the client's maximum message size (576 when
// absent, the RFC 2131 minimum), capped by the port's MTU, less the IPv4 and UDP headers.
size_t reply_size_limit(const DhcpRequest& request, const PortDhcpConfig& port);

// The Ethernet+IPv4+UDP frame carrying the answer's reply; empty without a reply.
std::vector<uint8_t> reply_frame(const DhcpAnswer& answer, const PortDhcpConfig& port);

}  // namespace nt::dhcp
