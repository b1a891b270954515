#include "dhcp/options.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace nt::dhcp {
namespace {

enum class ValueKind { addresses, text, u8, u16, u32, domain_list };

struct KnownOption {
  std::string_view name;  // dnsmasq's name (OVN's with '-' for '_')
  uint8_t code;
  ValueKind kind;
};

// The options operators set through extra_dhcp_opts, by dnsmasq's names and types.
constexpr KnownOption kKnownOptions[] = {
    {"netmask", 1, ValueKind::addresses},           {"router", 3, ValueKind::addresses},
    {"dns-server", 6, ValueKind::addresses},        {"log-server", 7, ValueKind::addresses},
    {"lpr-server", 9, ValueKind::addresses},        {"hostname", 12, ValueKind::text},
    {"domain-name", 15, ValueKind::text},           {"root-path", 17, ValueKind::text},
    {"ip-forward-enable", 19, ValueKind::u8},       {"default-ttl", 23, ValueKind::u8},
    {"mtu", 26, ValueKind::u16},                    {"broadcast", 28, ValueKind::addresses},
    {"router-discovery", 31, ValueKind::u8},        {"router-solicitation", 32, ValueKind::addresses},
    {"arp-timeout", 35, ValueKind::u32},            {"nis-domain", 40, ValueKind::text},
    {"nis-server", 41, ValueKind::addresses},       {"ntp-server", 42, ValueKind::addresses},
    {"netbios-ns", 44, ValueKind::addresses},       {"netbios-nodetype", 46, ValueKind::u8},
    {"tftp-server", 66, ValueKind::text},           {"bootfile-name", 67, ValueKind::text},
    {"domain-search", 119, ValueKind::domain_list}, {"tftp-server-address", 150, ValueKind::addresses},
    {"path-prefix", 210, ValueKind::text},          {"wpad", 252, ValueKind::text},
};

// Codes whose value the server computes itself; an extra option may not replace them.
constexpr uint8_t kManagedCodes[] = {option::pad,          option::requested_ip,     option::lease_time,
                                     option::overload,     option::message_type,     option::server_id,
                                     option::parameter_request_list, option::max_message_size,
                                     option::renewal_time, option::rebinding_time,   option::client_id,
                                     option::classless_routes, option::ms_classless_routes, option::end};

nt::unexpected<Error> bad_extra(const ExtraDhcpOption& extra, std::string why) {
  return bad_request("extra_dhcp_opt " + extra.name + "=" + extra.value + ": " + std::move(why));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    items.push_back(trim(text.substr(start, comma - start)));
    start = comma + 1;
  }
  return items;
}

// "tftp_server", "option:tftp-server", "TFTP-Server" -> "tftp-server".
std::string normalized_name(std::string_view name) {
  name = trim(name);
  if (name.starts_with("option:")) name.remove_prefix(7);
  std::string out(name);
  for (char& c : out) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<uint8_t> numeric_code(std::string_view name) {
  unsigned code = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), code);
  if (ec != std::errc{} || end != name.data() + name.size() || code > 255) return std::nullopt;
  return static_cast<uint8_t>(code);
}

Result<std::vector<Ipv4Address>> parse_address_list(std::string_view text) {
  std::vector<Ipv4Address> addresses;
  for (auto item : split_list(text)) {
    NT_ASSIGN(auto address, Ipv4Address::parse(item));
    addresses.push_back(address);
  }
  return addresses;
}

Result<uint32_t> parse_unsigned(std::string_view text, uint32_t max) {
  text = trim(text);
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > max)
    return bad_request("not an integer in 0.." + std::to_string(max));
  return value;
}

// RFC 1035 labels, uncompressed (RFC 3397 allows that).
Result<std::vector<uint8_t>> encode_domain_list(std::string_view text) {
  std::vector<uint8_t> out;
  for (auto domain : split_list(text)) {
    if (domain.ends_with('.')) domain.remove_suffix(1);
    if (domain.empty()) return bad_request("an empty domain name");
    size_t start = 0;
    while (start <= domain.size()) {
      size_t dot = std::min(domain.find('.', start), domain.size());
      auto label = domain.substr(start, dot - start);
      if (label.empty() || label.size() > 63) return bad_request("a label is empty or longer than 63");
      out.push_back(static_cast<uint8_t>(label.size()));
      out.insert(out.end(), label.begin(), label.end());
      start = dot + 1;
    }
    out.push_back(0);
  }
  return out;
}

Result<std::vector<uint8_t>> encode_value(ValueKind kind, std::string_view value) {
  switch (kind) {
    case ValueKind::addresses: {
      NT_ASSIGN(auto addresses, parse_address_list(value));
      return address_list_option(0, addresses).data;
    }
    case ValueKind::text: return std::vector<uint8_t>(value.begin(), value.end());
    case ValueKind::u8: {
      NT_ASSIGN(auto v, parse_unsigned(value, 0xff));
      return std::vector<uint8_t>{static_cast<uint8_t>(v)};
    }
    case ValueKind::u16: {
      NT_ASSIGN(auto v, parse_unsigned(value, 0xffff));
      return u16_option(0, static_cast<uint16_t>(v)).data;
    }
    case ValueKind::u32: {
      NT_ASSIGN(auto v, parse_unsigned(value, std::numeric_limits<uint32_t>::max()));
      return u32_option(0, v).data;
    }
    case ValueKind::domain_list: return encode_domain_list(value);
  }
  return bad_request("unknown value kind");
}

// An unknown code: addresses when every item is one, else text (as dnsmasq guesses).
ValueKind guess_kind(std::string_view value) {
  return parse_address_list(value) ? ValueKind::addresses : ValueKind::text;
}

}  // namespace

std::vector<uint8_t> encode_classless_routes(std::span<const Ipv4Route> routes) {
  std::vector<uint8_t> out;
  for (const auto& route : routes) {
    int prefix = std::clamp(route.prefix_length, 0, 32);
    uint32_t destination = route.destination.value & netmask_of(prefix).value;
    out.push_back(static_cast<uint8_t>(prefix));
    for (int i = 0; i < (prefix + 7) / 8; ++i) out.push_back(static_cast<uint8_t>(destination >> (24 - 8 * i)));
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(route.next_hop.value >> (24 - 8 * i)));
  }
  return out;
}

Result<ExtraOptionEffect> encode_extra_dhcp_option(const ExtraDhcpOption& extra) {
  std::string name = normalized_name(extra.name);
  ExtraOptionEffect effect;
  if (name == "server-ip-address" || name == "next-server") {
    auto address = Ipv4Address::parse(trim(extra.value));
    if (!address) return bad_extra(extra, "not an IPv4 address");
    effect.next_server = *address;
    return effect;
  }
  auto known = std::find_if(std::begin(kKnownOptions), std::end(kKnownOptions),
                            [&](const KnownOption& k) { return k.name == name; });
  std::optional<uint8_t> code = known != std::end(kKnownOptions) ? std::optional(known->code) : numeric_code(name);
  if (!code) return bad_extra(extra, "unknown option name");
  if (std::find(std::begin(kManagedCodes), std::end(kManagedCodes), *code) != std::end(kManagedCodes))
    return bad_extra(extra, "option " + std::to_string(*code) + " is set by the server itself");
  if (known == std::end(kKnownOptions))  // a numeric code may still be a known one
    known = std::find_if(std::begin(kKnownOptions), std::end(kKnownOptions),
                         [&](const KnownOption& k) { return k.code == *code; });
  ValueKind kind = known != std::end(kKnownOptions) ? known->kind : guess_kind(extra.value);
  if (extra.value.empty() && kind != ValueKind::text) return bad_extra(extra, "empty value");
  auto data = encode_value(kind, extra.value);
  if (!data) return bad_extra(extra, data.error().message);
  effect.option = DhcpOption{*code, std::move(*data)};
  if (*code == option::bootfile_name && extra.value.size() < 128) effect.boot_file = extra.value;
  return effect;
}

FittedOptions fit_options(std::vector<DhcpOption> by_priority, size_t space, size_t mandatory) {
  FittedOptions fitted;
  size_t used = 0;
  for (size_t i = 0; i < by_priority.size(); ++i) {
    size_t size = encoded_option_size(by_priority[i]);
    if (i >= mandatory && used + size > space) {
      fitted.dropped.push_back(by_priority[i].code);
      continue;
    }
    used += size;
    fitted.kept.push_back(std::move(by_priority[i]));
  }
  return fitted;
}

DhcpOption address_list_option(uint8_t code, std::span<const Ipv4Address> addresses) {
  DhcpOption opt{code, {}};
  for (auto address : addresses)
    for (int i = 0; i < 4; ++i) opt.data.push_back(static_cast<uint8_t>(address.value >> (24 - 8 * i)));
  return opt;
}

DhcpOption u32_option(uint8_t code, uint32_t value) {
  return {code, {uint8_t(value >> 24), uint8_t(value >> 16), uint8_t(value >> 8), uint8_t(value)}};
}

DhcpOption u16_option(uint8_t code, uint16_t value) { return {code, {uint8_t(value >> 8), uint8_t(value)}}; }

DhcpOption text_option(uint8_t code, std::string_view text) {
  return {code, std::vector<uint8_t>(text.begin(), text.end())};
}

}  // namespace nt::dhcp
