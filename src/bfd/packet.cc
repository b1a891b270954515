#include "bfd/packet.h"

#include <charconv>

namespace nt::bfd {
namespace {

constexpr size_t kEthernetHeader = 14, kIpv4Header = 20, kUdpHeader = 8;
constexpr uint16_t kEthertypeIpv4 = 0x0800;
constexpr uint8_t kProtocolUdp = 17;
constexpr uint8_t kTosNetworkControl = 0xc0;  // CS6, as BFD implementations send

auto invalid(std::string message) { return fail(Errc::invalid_argument, Origin::unspecified, std::move(message)); }

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) { return uint32_t(get16(p)) << 16 | get16(p + 2); }

// The Internet checksum (RFC 1071) of `bytes`.
uint16_t internet_checksum(std::span<const uint8_t> bytes, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) sum += get16(&bytes[i]);
  if (bytes.size() % 2) sum += uint32_t(bytes.back()) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

bool udp_checksum_right(uint32_t src, uint32_t dst, std::span<const uint8_t> udp) {
  uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + kProtocolUdp + uint32_t(udp.size());
  return internet_checksum(udp, pseudo) == 0;
}

}  // namespace

std::string_view state_name(State s) {
  switch (s) {
    case State::admin_down: return "admin_down";
    case State::down: return "down";
    case State::init: return "init";
    case State::up: return "up";
  }
  return "?";
}

std::string_view diag_name(Diag d) {
  switch (d) {
    case Diag::none: return "none";
    case Diag::detection_time_expired: return "control_detection_time_expired";
    case Diag::echo_failed: return "echo_function_failed";
    case Diag::neighbor_down: return "neighbor_signaled_session_down";
    case Diag::forwarding_reset: return "forwarding_plane_reset";
    case Diag::path_down: return "path_down";
    case Diag::concatenated_path_down: return "concatenated_path_down";
    case Diag::admin_down: return "administratively_down";
    case Diag::reverse_concatenated_path_down: return "reverse_concatenated_path_down";
  }
  return "unknown";
}

std::array<uint8_t, kControlPacketSize> encode(const ControlPacket& p) {
  std::array<uint8_t, kControlPacketSize> b{};
  b[0] = static_cast<uint8_t>((p.version & 0x7) << 5 | (static_cast<uint8_t>(p.diag) & 0x1f));
  b[1] = static_cast<uint8_t>(static_cast<uint8_t>(p.state) << 6 | p.poll << 5 | p.final << 4 | p.control_independent << 3 |
                              p.authentication << 2 | p.demand << 1 | p.multipoint);
  b[2] = p.detect_mult;
  b[3] = p.length;
  put32(&b[4], p.my_discriminator);
  put32(&b[8], p.your_discriminator);
  put32(&b[12], p.desired_min_tx_us);
  put32(&b[16], p.required_min_rx_us);
  put32(&b[20], p.required_min_echo_rx_us);
  return b;
}

Result<ControlPacket> decode(std::span<const uint8_t> d) {
  if (d.size() < kControlPacketSize) return invalid("shorter than a control packet");
  ControlPacket p;
  p.version = d[0] >> 5;
  p.diag = static_cast<Diag>(d[0] & 0x1f);
  p.state = static_cast<State>(d[1] >> 6);
  p.poll = d[1] & 0x20;
  p.final = d[1] & 0x10;
  p.control_independent = d[1] & 0x08;
  p.authentication = d[1] & 0x04;
  p.demand = d[1] & 0x02;
  p.multipoint = d[1] & 0x01;
  p.detect_mult = d[2];
  p.length = d[3];
  p.my_discriminator = get32(&d[4]);
  p.your_discriminator = get32(&d[8]);
  p.desired_min_tx_us = get32(&d[12]);
  p.required_min_rx_us = get32(&d[16]);
  p.required_min_echo_rx_us = get32(&d[20]);
  if (p.version != 1) return invalid("version is not 1");
  if (p.authentication) return invalid("authentication present (not configured)");
  if (p.length < kControlPacketSize) return invalid("length below 24");
  if (p.length > d.size()) return invalid("length beyond the datagram");
  if (p.detect_mult == 0) return invalid("detect mult is zero");
  if (p.multipoint) return invalid("multipoint bit set");
  if (p.my_discriminator == 0) return invalid("my discriminator is zero");
  if (p.your_discriminator == 0 && p.state != State::down && p.state != State::admin_down)
    return invalid("your discriminator is zero outside Down and AdminDown");
  if (p.poll && p.final) return invalid("poll and final both set");
  return p;
}

MacBytes peer_mac(uint32_t ip) {
  return {0x02, 0xbf, uint8_t(ip >> 24), uint8_t(ip >> 16), uint8_t(ip >> 8), uint8_t(ip)};
}

Result<MacBytes> peer_mac(std::string_view ipv4) {
  NT_ASSIGN(auto ip, parse_ipv4(ipv4));
  return peer_mac(ip);
}

std::string mac_text(const MacBytes& mac) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < mac.size(); ++i) {
    if (i) out += ':';
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

Result<uint32_t> parse_ipv4(std::string_view text) {
  uint32_t ip = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (text.empty() || text.front() != '.') return invalid("not an IPv4 address");
      text.remove_prefix(1);
    }
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0 || digits > 3 || (digits > 1 && text[0] == '0')) return invalid("not an IPv4 address");
    unsigned value = 0;
    std::from_chars(text.data(), text.data() + digits, value);
    if (value > 255) return invalid("not an IPv4 address");
    ip = ip << 8 | value;
    text.remove_prefix(digits);
  }
  if (!text.empty()) return invalid("not an IPv4 address");
  return ip;
}

std::string ipv4_text(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." + std::to_string((ip >> 8) & 0xff) + "." +
         std::to_string(ip & 0xff);
}

namespace {

std::vector<uint8_t> build_udp_frame(const FrameAddress& to, uint16_t dst_port, std::span<const uint8_t> payload) {
  std::vector<uint8_t> f(kEthernetHeader + kIpv4Header + kUdpHeader + payload.size());
  std::copy(to.dst_mac.begin(), to.dst_mac.end(), f.begin());
  std::copy(to.src_mac.begin(), to.src_mac.end(), f.begin() + 6);
  put16(&f[12], kEthertypeIpv4);
  uint8_t* ip = &f[kEthernetHeader];
  ip[0] = 0x45;
  ip[1] = kTosNetworkControl;
  put16(ip + 2, static_cast<uint16_t>(kIpv4Header + kUdpHeader + payload.size()));
  ip[8] = kTtl;
  ip[9] = kProtocolUdp;
  put32(ip + 12, to.src_ip);
  put32(ip + 16, to.dst_ip);
  put16(ip + 10, internet_checksum({ip, kIpv4Header}));
  uint8_t* udp = ip + kIpv4Header;
  put16(udp, to.src_port);
  put16(udp + 2, dst_port);
  put16(udp + 4, static_cast<uint16_t>(kUdpHeader + payload.size()));
  std::copy(payload.begin(), payload.end(), udp + kUdpHeader);
  return f;
}

struct UdpFrame {
  FrameAddress address;
  uint16_t dst_port = 0;
  uint8_t ttl = 0;
  std::span<const uint8_t> payload;
};

// Ethernet, IPv4 (checksum, no fragment, TTL 255, to 127.0.0.1) and UDP (a non-zero
// checksum must be right) of a received frame.
Result<UdpFrame> parse_udp_frame(std::span<const uint8_t> f) {
  if (f.size() < kEthernetHeader + kIpv4Header + kUdpHeader) return invalid("frame too short");
  if (get16(&f[12]) != kEthertypeIpv4) return invalid("not IPv4");
  UdpFrame out;
  std::copy(f.begin(), f.begin() + 6, out.address.dst_mac.begin());
  std::copy(f.begin() + 6, f.begin() + 12, out.address.src_mac.begin());
  auto ip = f.subspan(kEthernetHeader);
  size_t header = size_t(ip[0] & 0xf) * 4, total = get16(&ip[2]);
  if (ip[0] >> 4 != 4 || header < kIpv4Header || total < header + kUdpHeader || total > ip.size())
    return invalid("malformed IPv4 header");
  if (internet_checksum(ip.first(header)) != 0) return invalid("wrong IPv4 header checksum");
  if ((get16(&ip[6]) & 0x3fff) != 0) return invalid("IPv4 fragment");
  if (ip[9] != kProtocolUdp) return invalid("not UDP");
  out.ttl = ip[8];
  out.address.src_ip = get32(&ip[12]);
  out.address.dst_ip = get32(&ip[16]);
  if (out.ttl != kTtl) return invalid("TTL is not 255");
  if (out.address.dst_ip != kLoopback) return invalid("inner destination is not 127.0.0.1");
  auto udp = ip.subspan(header, total - header);
  size_t udp_length = get16(&udp[4]);
  if (udp_length < kUdpHeader || udp_length > udp.size()) return invalid("malformed UDP header");
  udp = udp.first(udp_length);
  out.address.src_port = get16(&udp[0]);
  out.dst_port = get16(&udp[2]);
  if (get16(&udp[6]) != 0 && !udp_checksum_right(out.address.src_ip, out.address.dst_ip, udp))
    return invalid("wrong UDP checksum");
  out.payload = udp.subspan(kUdpHeader);
  return out;
}

constexpr std::array<uint8_t, 4> kViewMagic = {'N', 'T', 'V', '1'};

}  // namespace

std::vector<uint8_t> build_frame(const FrameAddress& to, const ControlPacket& p) {
  auto body = encode(p);
  return build_udp_frame(to, kControlPort, body);
}

std::vector<uint8_t> build_view_frame(const FrameAddress& to, std::span<const uint32_t> up) {
  auto n = std::min(up.size(), kMaxViewPeers);
  std::vector<uint8_t> body(8 + 4 * n, 0);
  std::copy(kViewMagic.begin(), kViewMagic.end(), body.begin());
  put16(&body[4], static_cast<uint16_t>(n));
  for (size_t i = 0; i < n; ++i) put32(&body[8 + 4 * i], up[i]);
  return build_udp_frame(to, kViewPort, body);
}

Result<ParsedView> parse_view_frame(std::span<const uint8_t> f) {
  NT_ASSIGN(auto udp, parse_udp_frame(f));
  if (udp.dst_port != kViewPort) return invalid("not to UDP port 3786");
  auto body = udp.payload;
  if (body.size() < 8 || !std::equal(kViewMagic.begin(), kViewMagic.end(), body.begin())) return invalid("not a peer view");
  size_t n = get16(&body[4]);
  if (n > kMaxViewPeers || body.size() != 8 + 4 * n) return invalid("malformed peer view");
  ParsedView out{udp.address, {}};
  for (size_t i = 0; i < n; ++i) out.up.push_back(get32(&body[8 + 4 * i]));
  return out;
}

Result<ParsedFrame> parse_frame(std::span<const uint8_t> f) {
  NT_ASSIGN(auto udp, parse_udp_frame(f));
  if (udp.dst_port != kControlPort) return invalid("not to UDP port 3784");
  ParsedFrame out{udp.address, udp.dst_port, udp.ttl, {}};
  NT_ASSIGN(out.packet, decode(udp.payload));
  return out;
}

}  // namespace nt::bfd
