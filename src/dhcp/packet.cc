#include "dhcp/packet.h"

#include <algorithm>
#include <charconv>

namespace nt::dhcp {
namespace {

constexpr uint8_t kMagicCookie[4] = {99, 130, 83, 99};
constexpr size_t kChaddrOffset = 28, kSnameOffset = 44, kFileOffset = 108;
constexpr size_t kSnameSize = 64, kFileSize = 128;

nt::unexpected<Error> malformed(std::string message) {
  return fail(Errc::invalid_argument, Origin::unspecified, "malformed DHCP message: " + std::move(message));
}

uint16_t read_u16(std::span<const uint8_t> b, size_t at) { return uint16_t(b[at] << 8 | b[at + 1]); }
uint32_t read_u32(std::span<const uint8_t> b, size_t at) {
  return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | b[at + 3];
}
void put_u16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(uint8_t(v >> 8));
  out.push_back(uint8_t(v));
}
void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  put_u16(out, uint16_t(v >> 16));
  put_u16(out, uint16_t(v));
}

// A NUL-terminated string inside a fixed-size field (sname, file).
std::string read_field_string(std::span<const uint8_t> field) {
  auto end = std::find(field.begin(), field.end(), uint8_t{0});
  return std::string(field.begin(), end);
}
void put_field_string(std::vector<uint8_t>& out, const std::string& text, size_t field_size) {
  size_t n = std::min(text.size(), field_size - 1);  // always NUL-terminated
  out.insert(out.end(), text.begin(), text.begin() + static_cast<std::ptrdiff_t>(n));
  out.insert(out.end(), field_size - n, uint8_t{0});
}

// Walks the options area; a repeated code extends the first occurrence (RFC 3396).
Status parse_options(std::span<const uint8_t> area, std::vector<DhcpOption>& options) {
  size_t at = 0;
  while (at < area.size()) {
    uint8_t code = area[at++];
    if (code == option::pad) continue;
    if (code == option::end) return {};
    if (at >= area.size()) return malformed("option " + std::to_string(code) + " has no length");
    size_t length = area[at++];
    if (length > area.size() - at)
      return malformed("option " + std::to_string(code) + " runs past the end of the message");
    auto data = area.subspan(at, length);
    at += length;
    auto same = std::find_if(options.begin(), options.end(), [&](const DhcpOption& o) { return o.code == code; });
    if (same != options.end())
      same->data.insert(same->data.end(), data.begin(), data.end());
    else
      options.push_back(DhcpOption{code, std::vector<uint8_t>(data.begin(), data.end())});
  }
  return {};  // no end option: tolerated when the last option is complete
}

}  // namespace

Result<Ipv4Address> Ipv4Address::parse(std::string_view text) {
  uint32_t value = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (p == end || *p != '.') return bad_request("'" + std::string(text) + "' is not an IPv4 address");
      ++p;
    }
    unsigned octet = 0;
    auto [next, ec] = std::from_chars(p, end, octet);
    if (ec != std::errc{} || next == p || next - p > 3 || octet > 255 || (next - p > 1 && *p == '0'))
      return bad_request("'" + std::string(text) + "' is not an IPv4 address");
    value = value << 8 | octet;
    p = next;
  }
  if (p != end) return bad_request("'" + std::string(text) + "' is not an IPv4 address");
  return Ipv4Address{value};
}

std::string Ipv4Address::str() const {
  return std::to_string(value >> 24) + "." + std::to_string(value >> 16 & 0xff) + "." +
         std::to_string(value >> 8 & 0xff) + "." + std::to_string(value & 0xff);
}

Ipv4Address netmask_of(int prefix_length) {
  if (prefix_length <= 0) return {0};
  if (prefix_length >= 32) return {0xffffffffu};
  return {~((1u << (32 - prefix_length)) - 1)};
}

std::string_view message_type_name(MessageType type) {
  switch (type) {
    case MessageType::discover: return "DHCPDISCOVER";
    case MessageType::offer: return "DHCPOFFER";
    case MessageType::request: return "DHCPREQUEST";
    case MessageType::decline: return "DHCPDECLINE";
    case MessageType::ack: return "DHCPACK";
    case MessageType::nak: return "DHCPNAK";
    case MessageType::release: return "DHCPRELEASE";
    case MessageType::inform: return "DHCPINFORM";
  }
  return "DHCP?";
}

const DhcpOption* DhcpPacket::find(uint8_t code) const {
  auto it = std::find_if(options.begin(), options.end(), [&](const DhcpOption& o) { return o.code == code; });
  return it == options.end() ? nullptr : &*it;
}

Mac DhcpPacket::client_mac() const {
  uint64_t v = 0;
  for (int i = 0; i < 6; ++i) v = v << 8 | chaddr[i];
  return Mac{v};
}

void DhcpPacket::set_client_mac(const Mac& mac) {
  chaddr.fill(0);
  for (int i = 0; i < 6; ++i) chaddr[i] = uint8_t(mac.value >> (8 * (5 - i)));
}

Result<DhcpPacket> parse_dhcp_packet(std::span<const uint8_t> payload) {
  if (payload.size() < kOptionsOffset)
    return malformed(std::to_string(payload.size()) + " bytes, shorter than the 240-byte header");
  if (payload.size() > kMaxUdpPayload)
    return malformed(std::to_string(payload.size()) + " bytes, larger than a UDP datagram");
  if (!std::equal(std::begin(kMagicCookie), std::end(kMagicCookie), payload.begin() + kFixedHeaderSize))
    return malformed("no DHCP magic cookie (a BOOTP message?)");
  DhcpPacket packet;
  packet.op = payload[0];
  packet.htype = payload[1];
  packet.hlen = payload[2];
  packet.hops = payload[3];
  packet.xid = read_u32(payload, 4);
  packet.secs = read_u16(payload, 8);
  packet.flags = read_u16(payload, 10);
  packet.ciaddr = {read_u32(payload, 12)};
  packet.yiaddr = {read_u32(payload, 16)};
  packet.siaddr = {read_u32(payload, 20)};
  packet.giaddr = {read_u32(payload, 24)};
  std::copy_n(payload.begin() + kChaddrOffset, 16, packet.chaddr.begin());
  packet.server_name = read_field_string(payload.subspan(kSnameOffset, kSnameSize));
  packet.boot_file = read_field_string(payload.subspan(kFileOffset, kFileSize));
  NT_TRY(parse_options(payload.subspan(kOptionsOffset), packet.options));
  if (packet.find(option::overload))
    return fail(Errc::not_implemented, Origin::unspecified, "DHCP option overload (52) is not supported");
  return packet;
}

size_t encoded_option_size(const DhcpOption& option) {
  size_t chunks = option.data.empty() ? 1 : (option.data.size() + 254) / 255;
  return option.data.size() + 2 * chunks;
}

std::vector<uint8_t> encode_dhcp_packet(const DhcpPacket& packet) {
  std::vector<uint8_t> out;
  out.reserve(kMinimumReplySize + 64);
  out.insert(out.end(), {packet.op, packet.htype, packet.hlen, packet.hops});
  put_u32(out, packet.xid);
  put_u16(out, packet.secs);
  put_u16(out, packet.flags);
  for (auto ip : {packet.ciaddr, packet.yiaddr, packet.siaddr, packet.giaddr}) put_u32(out, ip.value);
  out.insert(out.end(), packet.chaddr.begin(), packet.chaddr.end());
  put_field_string(out, packet.server_name, kSnameSize);
  put_field_string(out, packet.boot_file, kFileSize);
  out.insert(out.end(), std::begin(kMagicCookie), std::end(kMagicCookie));
  for (const auto& opt : packet.options) {
    size_t at = 0;
    do {  // an empty option is still one code/length pair
      size_t n = std::min<size_t>(255, opt.data.size() - at);
      out.push_back(opt.code);
      out.push_back(uint8_t(n));
      out.insert(out.end(), opt.data.begin() + static_cast<std::ptrdiff_t>(at),
                 opt.data.begin() + static_cast<std::ptrdiff_t>(at + n));
      at += n;
    } while (at < opt.data.size());
  }
  out.push_back(option::end);
  if (out.size() < kMinimumReplySize) out.resize(kMinimumReplySize, option::pad);
  return out;
}

namespace {

Result<Ipv4Address> address_option(const DhcpOption& opt, std::string_view what) {
  if (opt.data.size() != 4)
    return malformed(std::string(what) + " has length " + std::to_string(opt.data.size()) + ", not 4");
  return Ipv4Address{read_u32(opt.data, 0)};
}

Status read_request_options(const DhcpPacket& packet, DhcpRequest& request) {
  if (auto* opt = packet.find(option::requested_ip)) {
    NT_ASSIGN(request.requested_ip, address_option(*opt, "requested IP address (50)"));
  }
  if (auto* opt = packet.find(option::server_id)) {
    NT_ASSIGN(request.server_id, address_option(*opt, "server identifier (54)"));
  }
  if (auto* opt = packet.find(option::client_id)) {
    if (opt->data.size() < 2) return malformed("client identifier (61) shorter than 2 bytes");
    request.client_id = opt->data;
  }
  if (auto* opt = packet.find(option::parameter_request_list)) request.parameter_request_list = opt->data;
  if (auto* opt = packet.find(option::hostname)) {
    // Only the text up to a NUL: some clients terminate it.
    auto end = std::find(opt->data.begin(), opt->data.end(), uint8_t{0});
    request.hostname.assign(opt->data.begin(), end);
  }
  if (auto* opt = packet.find(option::max_message_size)) {
    if (opt->data.size() != 2) return malformed("maximum message size (57) is not 2 bytes");
    uint16_t size = read_u16(opt->data, 0);
    if (size >= 576) request.max_message_size = size;  // smaller is illegal: ignored
  }
  return {};
}

}  // namespace

Result<DhcpRequest> read_dhcp_request(const DhcpPacket& packet) {
  if (packet.op != kBootRequest) return malformed("op " + std::to_string(packet.op) + " is not BOOTREQUEST");
  if (packet.htype != 1 || packet.hlen != 6)
    return malformed("hardware type " + std::to_string(packet.htype) + "/length " + std::to_string(packet.hlen) +
                     " is not Ethernet");
  auto* type = packet.find(option::message_type);
  if (!type) return malformed("no message type (53): BOOTP is not served");
  if (type->data.size() != 1 || type->data[0] < 1 || type->data[0] > 8)
    return malformed("message type (53) is not one of 1..8");
  DhcpRequest request;
  request.type = static_cast<MessageType>(type->data[0]);
  request.xid = packet.xid;
  request.secs = packet.secs;
  request.flags = packet.flags;
  request.ciaddr = packet.ciaddr;
  request.giaddr = packet.giaddr;
  request.client_mac = packet.client_mac();
  NT_TRY(read_request_options(packet, request));
  return request;
}

Result<DhcpRequest> parse_dhcp_request(std::span<const uint8_t> payload) {
  NT_ASSIGN(auto packet, parse_dhcp_packet(payload));
  return read_dhcp_request(packet);
}

}  // namespace nt::dhcp
