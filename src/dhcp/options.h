// The options a DHCP answer carries for one port, encoded: classless static routes
// (RFC 3442), Neutron's extra_dhcp_opts, and fitting the whole set into the size the client
// accepts by dropping the least important ones first. Pure functions.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dhcp/packet.h"

namespace nt::dhcp {

struct Ipv4Route {
  Ipv4Address destination;  // host bits beyond prefix_length are ignored on encoding
  int prefix_length = 0;    // 0..32
  Ipv4Address next_hop;     // 0.0.0.0 = on-link
  bool operator==(const Ipv4Route&) const = default;
};

// RFC 3442's encoding for options 121 and 249: per route the prefix length, the significant
// octets of the destination (ceil(prefix/8) of them), then the router.
std::vector<uint8_t> encode_classless_routes(std::span<const Ipv4Route> routes);

// One Neutron extra_dhcp_opt of ip_version 4: opt_name is a dnsmasq option name
// ("tftp-server", "bootfile-name", "server-ip-address", ...; "option:" prefix and OVN's
// underscores accepted) or a decimal option code ("66", "150"); opt_value is text.
struct ExtraDhcpOption {
  std::string name;
  std::string value;
};

// What one extra option does to an answer: an option, or BOOTP header fields.
struct ExtraOptionEffect {
  std::optional<DhcpOption> option;
  std::optional<Ipv4Address> next_server;  // siaddr ("server-ip-address")
  std::string boot_file;                   // the BOOTP file field (with "bootfile-name")
};

// Encodes an extra option by the type its code has (address list, text, integer, domain
// list); an unknown code takes an address list when every item is a dotted quad, else
// text. Codes the server manages itself (53, 54, 50, 51, 52, 55, 57, 58, 59, 61, 0, 255)
// are refused, as are values that do not fit their type.
Result<ExtraOptionEffect> encode_extra_dhcp_option(const ExtraDhcpOption& extra);

// Fits options, given from the most to the least important, into `space` bytes of options
// area (the end option excluded): keeps each that still fits, drops the others, so the
// outcome only depends on the input. `mandatory` leading options are kept whatever their size.
struct FittedOptions {
  std::vector<DhcpOption> kept;
  std::vector<uint8_t> dropped;  // codes left out
};
FittedOptions fit_options(std::vector<DhcpOption> by_priority, size_t space, size_t mandatory);

// Encoding helpers shared with the responder.
DhcpOption address_list_option(uint8_t code, std::span<const Ipv4Address> addresses);
DhcpOption u32_option(uint8_t code, uint32_t value);
DhcpOption u16_option(uint8_t code, uint16_t value);
DhcpOption text_option(uint8_t code, std::string_view text);

}  // namespace nt::dhcp
