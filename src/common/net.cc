#include "common/net.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

namespace nt {
namespace {

u128 mask_of(int bits, int prefix) {
  if (prefix == 0) return 0;
  u128 all = bits == 32 ? u128{0xffffffffu} : ~u128{0};
  return (all << (bits - prefix)) & all;
}

Result<int> parse_prefix(std::string_view text, int bits) {
  if (text.empty() || text.size() > 3) return bad_request("bad prefix length");
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return bad_request("bad prefix length");
    value = value * 10 + (c - '0');
  }
  if (value > bits) return bad_request("bad prefix length");
  return value;
}

}  // namespace

Result<IpAddress> IpAddress::parse(std::string_view text) {
  auto invalid = [&] { return bad_request("'" + std::string(text) + "' is not a valid IP address"); };
  if (text.empty() || text.size() > 45) return invalid();
  std::string s(text);
  if (s.find(':') == std::string::npos) {
    // inet_pton accepts only dotted quads with 4 parts; reject leading zeros like netaddr's
    // strict mode would not, but "010.0.0.1" is ambiguous, so refuse it.
    in_addr a4{};
    if (inet_pton(AF_INET, s.c_str(), &a4) != 1) return invalid();
    return IpAddress{4, ntohl(a4.s_addr)};
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) != 1) return invalid();
  u128 v = 0;
  for (unsigned char byte : a6.s6_addr) v = (v << 8) | byte;
  return IpAddress{6, v};
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (version == 4) {
    in_addr a4{htonl(static_cast<uint32_t>(value))};
    inet_ntop(AF_INET, &a4, buf, sizeof buf);
  } else {
    in6_addr a6{};
    u128 v = value;
    for (int i = 15; i >= 0; --i, v >>= 8) a6.s6_addr[i] = static_cast<unsigned char>(v & 0xff);
    inet_ntop(AF_INET6, &a6, buf, sizeof buf);
  }
  return buf;
}

Result<Cidr> Cidr::parse(std::string_view text, bool strict) {
  auto slash = text.find('/');
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) return bad_request("'" + std::string(text) + "' is not a valid IP subnet");
  int prefix = ip->bits();
  if (slash != std::string_view::npos) {
    auto p = parse_prefix(text.substr(slash + 1), ip->bits());
    if (!p) return bad_request("'" + std::string(text) + "' is not a valid IP subnet");
    prefix = *p;
  }
  u128 mask = mask_of(ip->bits(), prefix);
  Cidr c{IpAddress{ip->version, ip->value & mask}, prefix};
  if (strict && c.network.value != ip->value)
    return bad_request("'" + std::string(text) + "' isn't a recognized IP subnet cidr, '" + c.str() +
                       "' is recommended");
  return c;
}

std::string Cidr::str() const { return network.str() + "/" + std::to_string(prefix); }

IpAddress Cidr::last() const {
  u128 all = network.bits() == 32 ? u128{0xffffffffu} : ~u128{0};
  return IpAddress{network.version, network.value | (~mask_of(network.bits(), prefix) & all)};
}

u128 Cidr::size() const {
  int host_bits = network.bits() - prefix;
  if (host_bits >= 127) return u128{1} << 127;
  return u128{1} << host_bits;
}

bool Cidr::contains(const IpAddress& ip) const {
  return ip.version == network.version &&
         (ip.value & mask_of(network.bits(), prefix)) == network.value;
}

bool Cidr::overlaps(const Cidr& other) const {
  if (other.network.version != network.version) return false;
  return contains(other.network) || other.contains(network);
}

Result<Mac> Mac::parse(std::string_view text) {
  auto invalid = [&] { return bad_request("'" + std::string(text) + "' is not a valid MAC address"); };
  // Accept aa:bb:cc:dd:ee:ff and aa-bb-cc-dd-ee-ff, as netaddr does.
  if (text.size() != 17) return invalid();
  uint64_t v = 0;
  for (size_t i = 0; i < 17; ++i) {
    char c = text[i];
    if (i % 3 == 2) {
      if (c != ':' && c != '-') return invalid();
      continue;
    }
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return invalid();
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return Mac{v};
}

std::string Mac::str() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", unsigned(value >> 40) & 0xff,
                unsigned(value >> 32) & 0xff, unsigned(value >> 24) & 0xff, unsigned(value >> 16) & 0xff,
                unsigned(value >> 8) & 0xff, unsigned(value) & 0xff);
  return buf;
}

IpAddress eui64_address(const Cidr& prefix64, const Mac& mac) {
  uint64_t m = mac.value;
  uint64_t iid = ((m >> 24) << 40) | (uint64_t{0xfffe} << 24) | (m & 0xffffff);
  iid ^= uint64_t{0x02} << 56;  // flip the universal/local bit
  return IpAddress{6, prefix64.network.value | iid};
}

}  // namespace nt
