#include "dhcp/responder.h"

#include <algorithm>

namespace nt::dhcp {
namespace {

constexpr size_t kIpUdpHeaders = kIpv4HeaderSize + kUdpHeaderSize;
constexpr size_t kRfcMinimumDatagram = 576;

DhcpAnswer no_reply(Verdict verdict, std::string reason) {
  DhcpAnswer answer;
  answer.verdict = verdict;
  answer.reason = std::move(reason);
  return answer;
}

// The fields every reply copies from the request (RFC 2131 table 3).
DhcpPacket reply_header(const DhcpRequest& request, const PortDhcpConfig& port, MessageType type) {
  DhcpPacket reply;
  reply.op = kBootReply;
  reply.xid = request.xid;
  reply.flags = request.flags;
  reply.giaddr = request.giaddr;
  reply.set_client_mac(request.client_mac);
  reply.options.push_back(DhcpOption{option::message_type, {static_cast<uint8_t>(type)}});
  reply.options.push_back(address_list_option(option::server_id, std::span(&port.server_id, 1)));
  return reply;
}

// RFC 2131 4.1 without a relay: NAKs are broadcast; a client with an address gets unicast
// to it; one that asked for broadcast (or has no address yet to reach) gets broadcast;
// else unicast to the offered address, at the client's MAC (no ARP needed on a raw socket).
ReplyDestination destination_for(const DhcpRequest& request, const DhcpPacket& reply, MessageType type) {
  bool broadcast = type == MessageType::nak ||
                   (request.ciaddr.is_zero() && (request.broadcast() || reply.yiaddr.is_zero()));
  if (broadcast) return {kBroadcastIp, kBroadcastMac};
  Ipv4Address to = request.ciaddr.is_zero() ? reply.yiaddr : request.ciaddr;
  return {to, request.client_mac};
}

std::string without_trailing_dot(std::string name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

// The options after the mandatory ones, most important first; extra options sit before
// hostname/domain/broadcast/249 so a PXE boot keeps them when space is short.
void append_port_options(const PortDhcpConfig& port, std::vector<DhcpOption>& options, size_t& extras_at) {
  auto routes = classless_routes_for(port);
  if (!routes.empty()) options.push_back({option::classless_routes, encode_classless_routes(routes)});
  if (auto gateway = effective_gateway(port))
    options.push_back(address_list_option(option::router, std::span(&*gateway, 1)));
  if (!port.dns_servers.empty()) options.push_back(address_list_option(option::dns_servers, port.dns_servers));
  if (port.mtu >= 68) options.push_back(u16_option(option::mtu, port.mtu));
  extras_at = options.size();
  if (!port.hostname.empty()) options.push_back(text_option(option::hostname, port.hostname));
  auto domain = without_trailing_dot(port.domain_name);
  if (!domain.empty()) options.push_back(text_option(option::domain_name, domain));
  if (port.prefix_length <= 30) {
    Ipv4Address broadcast{port.address.value | ~netmask_of(port.prefix_length).value};
    options.push_back(address_list_option(option::broadcast_address, std::span(&broadcast, 1)));
  }
  if (!routes.empty()) options.push_back({option::ms_classless_routes, encode_classless_routes(routes)});
}

// Extra options replace a computed option of the same code in place, or go at extras_at.
void apply_extra_options(const PortDhcpConfig& port, DhcpPacket& reply, size_t extras_at, DhcpAnswer& answer) {
  for (const auto& extra : port.extra_options) {
    auto effect = encode_extra_dhcp_option(extra);
    if (!effect) {
      answer.notes.push_back(effect.error().message);
      continue;
    }
    if (effect->next_server) reply.siaddr = *effect->next_server;
    if (!effect->boot_file.empty()) reply.boot_file = effect->boot_file;
    if (!effect->option) continue;
    auto same = std::find_if(reply.options.begin(), reply.options.end(),
                             [&](const DhcpOption& o) { return o.code == effect->option->code; });
    if (same != reply.options.end()) {
      same->data = std::move(effect->option->data);
    } else {
      reply.options.insert(reply.options.begin() + static_cast<std::ptrdiff_t>(extras_at), std::move(*effect->option));
      ++extras_at;
    }
  }
}

// An OFFER or ACK with the port's configuration; for INFORM no address and no lease.
DhcpAnswer lease_reply(const DhcpRequest& request, const PortDhcpConfig& port, MessageType type) {
  bool inform = request.type == MessageType::inform;
  DhcpAnswer answer;
  answer.verdict = type == MessageType::offer ? Verdict::offer : Verdict::ack;
  DhcpPacket reply = reply_header(request, port, type);
  reply.yiaddr = inform ? Ipv4Address{} : port.address;
  if (type == MessageType::ack) reply.ciaddr = request.ciaddr;
  if (!inform) {
    reply.options.push_back(u32_option(option::lease_time, port.lease_seconds));
    if (port.lease_seconds != kInfiniteLease) {
      reply.options.push_back(u32_option(option::renewal_time, port.lease_seconds / 2));
      reply.options.push_back(u32_option(option::rebinding_time, uint32_t(uint64_t(port.lease_seconds) * 7 / 8)));
    }
  }
  Ipv4Address mask = netmask_of(port.prefix_length);
  reply.options.push_back(address_list_option(option::subnet_mask, std::span(&mask, 1)));
  size_t mandatory = reply.options.size();
  size_t extras_at = 0;
  append_port_options(port, reply.options, extras_at);
  apply_extra_options(port, reply, extras_at, answer);
  size_t space = reply_size_limit(request, port) - kOptionsOffset - 1;  // 1: the end option
  auto fitted = fit_options(std::move(reply.options), space, mandatory);
  reply.options = std::move(fitted.kept);
  answer.dropped_options = std::move(fitted.dropped);
  answer.destination = destination_for(request, reply, type);
  answer.reply = std::move(reply);
  return answer;
}

DhcpAnswer nak(const DhcpRequest& request, const PortDhcpConfig& port, std::string reason) {
  DhcpAnswer answer;
  answer.verdict = Verdict::nak;
  answer.reason = std::move(reason);
  DhcpPacket reply = reply_header(request, port, MessageType::nak);
  reply.options.push_back(text_option(option::message, answer.reason));
  answer.destination = destination_for(request, reply, MessageType::nak);
  answer.reply = std::move(reply);
  return answer;
}

// SELECTING (server id present), INIT-REBOOT (requested IP, no server id), RENEWING or
// REBINDING (ciaddr only): the address asked for must be the port's, else NAK.
DhcpAnswer answer_request(const DhcpRequest& request, const PortDhcpConfig& port) {
  if (request.server_id && *request.server_id != port.server_id)
    return no_reply(Verdict::ignored, "the client selected server " + request.server_id->str());
  std::optional<Ipv4Address> wanted = request.requested_ip;
  if (!wanted && !request.ciaddr.is_zero()) wanted = request.ciaddr;
  if (!wanted) {
    if (request.server_id) return nak(request, port, "no requested address");
    return no_reply(Verdict::ignored, "DHCPREQUEST with no server identifier, requested address or ciaddr");
  }
  if (*wanted != port.address)
    return nak(request, port, "requested " + wanted->str() + ", the port's address is " + port.address.str());
  return lease_reply(request, port, MessageType::ack);
}

}  // namespace

Status check_port_dhcp_config(const PortDhcpConfig& port) {
  if (port.prefix_length < 1 || port.prefix_length > 32)
    return bad_request("prefix length " + std::to_string(port.prefix_length) + " is not in 1..32");
  if (port.address.is_zero() || port.address == kBroadcastIp) return bad_request("no usable port address");
  if (port.server_id.is_zero()) return bad_request("no server identifier");
  for (const auto& route : port.host_routes)
    if (route.prefix_length < 0 || route.prefix_length > 32)
      return bad_request("host route " + route.destination.str() + " has prefix " + std::to_string(route.prefix_length));
  return {};
}

std::string_view verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::offer: return "offer";
    case Verdict::ack: return "ack";
    case Verdict::nak: return "nak";
    case Verdict::ignored: return "ignored";
    case Verdict::released: return "released";
    case Verdict::declined: return "declined";
  }
  return "?";
}

std::vector<uint8_t> DhcpAnswer::payload() const { return reply ? encode_dhcp_packet(*reply) : std::vector<uint8_t>{}; }

std::optional<Ipv4Address> effective_gateway(const PortDhcpConfig& port) {
  if (port.gateway) return port.gateway;
  for (const auto& route : port.host_routes)
    if (route.prefix_length == 0) return route.next_hop;
  return std::nullopt;
}

std::vector<Ipv4Route> classless_routes_for(const PortDhcpConfig& port) {
  std::vector<Ipv4Route> routes;
  for (const auto& route : port.host_routes)
    if (route.prefix_length != 0) routes.push_back(route);
  if (routes.empty()) return routes;
  if (auto gateway = effective_gateway(port)) routes.push_back(Ipv4Route{{}, 0, *gateway});
  return routes;
}

size_t reply_size_limit(const DhcpRequest& request, const PortDhcpConfig& port) {
  size_t datagram = request.max_message_size.value_or(kRfcMinimumDatagram);
  if (port.mtu >= kRfcMinimumDatagram) datagram = std::min<size_t>(datagram, port.mtu);
  return datagram - kIpUdpHeaders;
}

DhcpAnswer answer_dhcp_request(const DhcpRequest& request, const PortDhcpConfig& port) {
  if (auto valid = check_port_dhcp_config(port); !valid)
    return no_reply(Verdict::ignored, "the port's DHCP description is invalid: " + valid.error().message);
  if (request.client_mac != port.mac)
    return no_reply(Verdict::ignored, "chaddr " + request.client_mac.str() + " is not the port's MAC " + port.mac.str());
  if (!request.giaddr.is_zero())  // DHCP is answered on the VM's host; relays are not served
    return no_reply(Verdict::ignored, "relayed through " + request.giaddr.str());
  switch (request.type) {
    case MessageType::discover: return lease_reply(request, port, MessageType::offer);
    case MessageType::request: return answer_request(request, port);
    case MessageType::inform: return lease_reply(request, port, MessageType::ack);
    case MessageType::release: return no_reply(Verdict::released, "released " + request.ciaddr.str());
    case MessageType::decline:
      return no_reply(Verdict::declined, request.client_mac.str() + " declined " +
                                             request.requested_ip.value_or(Ipv4Address{}).str() +
                                             ": the address is in use on its link");
    case MessageType::offer:
    case MessageType::ack:
    case MessageType::nak: break;
  }
  return no_reply(Verdict::ignored, std::string(message_type_name(request.type)) + " is a server's message");
}

std::vector<uint8_t> reply_frame(const DhcpAnswer& answer, const PortDhcpConfig& port) {
  if (!answer.reply) return {};
  UdpFrame frame;
  frame.source_mac = port.server_mac;
  frame.destination_mac = answer.destination.mac;
  frame.source_ip = port.server_id;
  frame.destination_ip = answer.destination.ip;
  frame.source_port = kDhcpServerPort;
  frame.destination_port = answer.destination.port;
  frame.payload = answer.payload();
  return build_udp_frame(frame);
}

}  // namespace nt::dhcp
