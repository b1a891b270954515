// Address values: IPv4/IPv6 addresses, CIDRs and MAC addresses, parsed strictly and
// printed canonically (as netaddr/Neutron print them).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace nt {

using u128 = unsigned __int128;

struct IpAddress {
  int version = 4;  // 4 or 6
  u128 value = 0;   // host order; IPv4 uses the low 32 bits

  static Result<IpAddress> parse(std::string_view text);
  std::string str() const;
  int bits() const { return version == 4 ? 32 : 128; }
  auto operator<=>(const IpAddress&) const = default;
};

struct Cidr {
  IpAddress network;  // host bits cleared
  int prefix = 0;

  // Parses "a.b.c.d/n" or "x::/n". A bare address is a host route (/32 or /128).
  // strict=true rejects host bits set (as Neutron's validate_subnet does for subnets).
  static Result<Cidr> parse(std::string_view text, bool strict = false);
  std::string str() const;
  IpAddress first() const { return network; }
  IpAddress last() const;
  u128 size() const;  // number of addresses (saturates at 2^127 for huge IPv6 prefixes)
  bool contains(const IpAddress& ip) const;
  bool overlaps(const Cidr& other) const;
  auto operator<=>(const Cidr&) const = default;
};

struct Mac {
  uint64_t value = 0;  // low 48 bits
  static Result<Mac> parse(std::string_view text);
  std::string str() const;  // lower case aa:bb:cc:dd:ee:ff
  bool is_multicast() const { return (value >> 40) & 1; }
  auto operator<=>(const Mac&) const = default;
};

// The modified EUI-64 address of a MAC inside a /64 prefix (SLAAC).
IpAddress eui64_address(const Cidr& prefix64, const Mac& mac);

}  // namespace nt
