// The DHCPv4 codec and responder (src/dhcp): messages built by the RFCs, a full exchange
// with known bytes, the exchange busybox udhcpc had with the responder, NAKs, INFORM,
// size limits, extra options.
#include <gtest/gtest.h>

#include <algorithm>

#include "dhcp/responder.h"
#include "dhcp_test_util.h"
#include "dhcp_udhcpc_capture.inc"

namespace nt::dhcp {
namespace {

using testing::address_option;
using testing::basic_port;
using testing::client_packet;
using testing::find_option;
using testing::from_hex;
using testing::ip;
using testing::kClientMac;
using testing::mac;
using testing::request_of;

std::vector<uint8_t> option_codes(const DhcpAnswer& answer) {
  std::vector<uint8_t> codes;
  for (const auto& o : answer.reply->options) codes.push_back(o.code);
  return codes;
}

// ---- The codec -------------------------------------------------------------------------

TEST(DhcpCodec, Ipv4AddressesParseStrictly) {
  EXPECT_EQ(ip("10.1.2.3").value, 0x0a010203u);
  EXPECT_EQ(ip("255.255.255.255").str(), "255.255.255.255");
  for (auto bad : {"", "10.0.0", "10.0.0.1.2", "256.0.0.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d", "1..2.3", "-1.2.3.4"})
    EXPECT_FALSE(Ipv4Address::parse(bad)) << bad;
  EXPECT_EQ(netmask_of(24).str(), "255.255.255.0");
  EXPECT_EQ(netmask_of(0).str(), "0.0.0.0");
  EXPECT_EQ(netmask_of(32).str(), "255.255.255.255");
}

TEST(DhcpCodec, EncodesThenParsesTheSameMessage) {
  auto packet = client_packet(MessageType::request);
  packet.flags = kBroadcastFlag;
  packet.secs = 7;
  packet.ciaddr = ip("192.0.2.10");
  packet.options.push_back(address_option(option::requested_ip, "192.0.2.10"));
  packet.options.push_back({option::client_id, {1, 0xfa, 0x16, 0x3e, 0x12, 0x34, 0x56}});
  packet.options.push_back({option::parameter_request_list, {1, 3, 6, 121}});
  packet.options.push_back({option::hostname, {'v', 'm', '1', 0}});
  packet.options.push_back(u16_option(option::max_message_size, 1500));
  auto bytes = encode_dhcp_packet(packet);
  ASSERT_EQ(bytes.size(), kMinimumReplySize);  // padded to BOOTP's minimum
  auto request = parse_dhcp_request(bytes);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->type, MessageType::request);
  EXPECT_EQ(request->xid, 0x3903f326u);
  EXPECT_EQ(request->secs, 7);
  EXPECT_TRUE(request->broadcast());
  EXPECT_EQ(request->ciaddr, ip("192.0.2.10"));
  EXPECT_EQ(request->client_mac, kClientMac);
  EXPECT_EQ(request->requested_ip, ip("192.0.2.10"));
  EXPECT_FALSE(request->server_id);
  EXPECT_EQ(request->client_id.size(), 7u);
  EXPECT_EQ(request->parameter_request_list, (std::vector<uint8_t>{1, 3, 6, 121}));
  EXPECT_EQ(request->hostname, "vm1");  // up to its NUL
  EXPECT_EQ(request->max_message_size, 1500);
}

TEST(DhcpCodec, SplitsLongOptionsAndConcatenatesThemBack) {  // RFC 3396
  auto packet = client_packet(MessageType::discover);
  std::vector<uint8_t> long_value(600);
  for (size_t i = 0; i < long_value.size(); ++i) long_value[i] = uint8_t(i);
  packet.options.push_back({option::parameter_request_list, long_value});
  auto bytes = encode_dhcp_packet(packet);
  EXPECT_EQ(encoded_option_size(packet.options.back()), 606u);  // 255 + 255 + 90, three headers
  EXPECT_EQ(bytes[kOptionsOffset + 3], option::parameter_request_list);
  EXPECT_EQ(bytes[kOptionsOffset + 4], 255);
  auto parsed = parse_dhcp_packet(bytes);
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->options.size(), 2u);
  EXPECT_EQ(parsed->options[1].data, long_value);
}

TEST(DhcpCodec, ToleratesAMissingEndOptionAndIgnoresAnIllegalMaximumSize) {
  auto packet = client_packet(MessageType::discover);
  packet.options.push_back(u16_option(option::max_message_size, 300));  // below 576: illegal
  auto bytes = encode_dhcp_packet(packet);
  bytes.resize(kOptionsOffset + 3 + 4);  // message type and 57, no end option
  auto request = parse_dhcp_request(bytes);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_FALSE(request->max_message_size);
}

TEST(DhcpCodec, RejectsMalformedMessagesWithAReason) {
  auto valid = encode_dhcp_packet(client_packet(MessageType::discover));
  ASSERT_TRUE(parse_dhcp_request(valid));
  auto broken = [&](auto change) {
    auto bytes = valid;
    change(bytes);
    return parse_dhcp_request(bytes);
  };
  EXPECT_FALSE(parse_dhcp_request({}));
  EXPECT_FALSE(broken([](auto& b) { b.resize(239); }));                        // shorter than the header
  EXPECT_FALSE(broken([](auto& b) { b[236] = 0; }));                           // no magic cookie
  EXPECT_FALSE(broken([](auto& b) { b.resize(241); }));                        // an option without length
  EXPECT_FALSE(broken([](auto& b) { b[241] = 200; }));                         // length past the end
  EXPECT_FALSE(broken([](auto& b) { b[2] = 7; }));                             // hlen is not Ethernet's
  EXPECT_FALSE(broken([](auto& b) { b[1] = 6; }));                             // htype IEEE 802
  EXPECT_FALSE(broken([](auto& b) { b[0] = kBootReply; }));                    // not a request
  EXPECT_FALSE(broken([](auto& b) { b[242] = 9; }));                           // message type 9
  EXPECT_FALSE(broken([](auto& b) { b[242] = 0; }));                           // message type 0
  EXPECT_FALSE(broken([](auto& b) { b[240] = option::hostname; }));            // no message type: BOOTP
  EXPECT_FALSE(broken([](auto& b) { b.resize(kMaxUdpPayload + 1, 0); }));      // beyond a datagram
  EXPECT_FALSE(broken([](auto& b) { b[243] = option::overload, b[244] = 1, b[245] = 3; }));
  EXPECT_FALSE(broken([](auto& b) { b[243] = option::requested_ip, b[244] = 3; }));   // 3-byte address
  EXPECT_FALSE(broken([](auto& b) { b[243] = option::server_id, b[244] = 5; }));      // 5-byte address
  EXPECT_FALSE(broken([](auto& b) { b[243] = option::max_message_size, b[244] = 1; }));
  EXPECT_FALSE(broken([](auto& b) { b[243] = option::client_id, b[244] = 1; }));      // shorter than 2
  auto overload = broken([](auto& b) { b[243] = option::overload, b[244] = 1, b[245] = 3; });
  EXPECT_EQ(overload.error().code, Errc::not_implemented);
  auto truncated = broken([](auto& b) { b[241] = 200; });
  EXPECT_NE(truncated.error().message.find("runs past the end"), std::string::npos) << truncated.error().message;
}

// ---- Option 121 -------------------------------------------------------------------------

TEST(DhcpClasslessRoutes, EncodesRfc3442Examples) {
  // RFC 3442 section 2: subnet number/mask -> destination descriptor.
  struct Example {
    const char* subnet;
    int prefix;
    std::vector<uint8_t> descriptor;
  };
  std::vector<Example> examples = {
      {"0.0.0.0", 0, {0}},
      {"10.0.0.0", 8, {8, 10}},
      {"10.0.0.0", 24, {24, 10, 0, 0}},
      {"10.17.0.0", 16, {16, 10, 17}},
      {"10.27.129.0", 24, {24, 10, 27, 129}},
      {"10.229.0.128", 25, {25, 10, 229, 0, 128}},
      {"10.198.122.47", 32, {32, 10, 198, 122, 47}},
  };
  for (const auto& example : examples) {
    Ipv4Route route{ip(example.subnet), example.prefix, ip("192.0.2.1")};
    auto expected = example.descriptor;
    expected.insert(expected.end(), {192, 0, 2, 1});
    EXPECT_EQ(encode_classless_routes(std::span(&route, 1)), expected) << example.subnet << "/" << example.prefix;
  }
  // Host bits beyond the prefix are not sent; routes follow each other.
  std::vector<Ipv4Route> two = {{ip("10.17.99.1"), 16, ip("10.0.0.1")}, {ip("0.0.0.0"), 0, ip("10.0.0.254")}};
  EXPECT_EQ(encode_classless_routes(two), (std::vector<uint8_t>{16, 10, 17, 10, 0, 0, 1, 0, 10, 0, 0, 254}));
}

TEST(DhcpClasslessRoutes, AddTheDefaultRouteLastAndOnlyWithOtherRoutes) {
  auto port = basic_port();
  EXPECT_TRUE(classless_routes_for(port).empty());  // option 3 is enough
  port.host_routes = {{ip("169.254.169.254"), 32, ip("192.0.2.2")}, {ip("0.0.0.0"), 0, ip("192.0.2.99")}};
  auto routes = classless_routes_for(port);
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0], (Ipv4Route{ip("169.254.169.254"), 32, ip("192.0.2.2")}));
  EXPECT_EQ(routes[1], (Ipv4Route{ip("0.0.0.0"), 0, ip("192.0.2.1")}));  // the gateway wins over a 0/0 host route
  port.gateway.reset();
  EXPECT_EQ(effective_gateway(port), ip("192.0.2.99"));  // without one, the 0/0 host route is the gateway
  EXPECT_EQ(classless_routes_for(port)[1].next_hop, ip("192.0.2.99"));
  port.host_routes.pop_back();
  EXPECT_EQ(classless_routes_for(port).size(), 1u);  // isolated network: the metadata route only
}

// ---- A full exchange with known bytes ---------------------------------------------------

// The reply header and options RFC 2131 and 2132 give for basic_port().
std::vector<uint8_t> expected_basic_reply(MessageType type, uint16_t flags) {
  std::vector<uint8_t> bytes = {2, 1, 6, 0, 0x39, 0x03, 0xf3, 0x26, 0, 0, uint8_t(flags >> 8), uint8_t(flags)};
  bytes.insert(bytes.end(), 4, 0);                    // ciaddr
  bytes.insert(bytes.end(), {192, 0, 2, 10});         // yiaddr
  bytes.insert(bytes.end(), 8, 0);                    // siaddr, giaddr
  bytes.insert(bytes.end(), {0xfa, 0x16, 0x3e, 0x12, 0x34, 0x56});
  bytes.insert(bytes.end(), 10 + 64 + 128, 0);        // chaddr padding, sname, file
  bytes.insert(bytes.end(), {99, 130, 83, 99});       // magic cookie
  bytes.insert(bytes.end(), {53, 1, uint8_t(type),    // message type
                             54, 4, 192, 0, 2, 2,     // server identifier
                             51, 4, 0, 0, 0x0e, 0x10, // lease 3600 s
                             58, 4, 0, 0, 0x07, 0x08, // T1 1800 s
                             59, 4, 0, 0, 0x0c, 0x4e, // T2 3150 s
                             1, 4, 255, 255, 255, 0,  // subnet mask
                             3, 4, 192, 0, 2, 1,      // router
                             6, 4, 192, 0, 2, 53,     // DNS
                             26, 2, 0x05, 0xdc,       // MTU 1500
                             28, 4, 192, 0, 2, 255,   // broadcast address
                             255});
  bytes.resize(300, 0);
  return bytes;
}

TEST(DhcpExchange, DiscoverOfferRequestAckWithKnownBytes) {
  auto port = basic_port();
  auto discover = client_packet(MessageType::discover);
  discover.options.push_back({option::parameter_request_list, {1, 3, 6, 15, 26, 121}});
  auto offer = answer_dhcp_request(request_of(discover), port);
  ASSERT_EQ(offer.verdict, Verdict::offer);
  EXPECT_EQ(offer.payload(), expected_basic_reply(MessageType::offer, 0));
  EXPECT_EQ(offer.destination.ip, ip("192.0.2.10"));  // no broadcast flag: unicast to yiaddr
  EXPECT_EQ(offer.destination.mac, kClientMac);
  EXPECT_EQ(offer.destination.port, 68);

  auto request = client_packet(MessageType::request);  // SELECTING, broadcast asked for
  request.flags = kBroadcastFlag;
  request.options.push_back(address_option(option::requested_ip, "192.0.2.10"));
  request.options.push_back(address_option(option::server_id, "192.0.2.2"));
  auto ack = answer_dhcp_request(request_of(request), port);
  ASSERT_EQ(ack.verdict, Verdict::ack);
  EXPECT_EQ(ack.payload(), expected_basic_reply(MessageType::ack, kBroadcastFlag));
  EXPECT_EQ(ack.destination.ip, kBroadcastIp);
  EXPECT_EQ(ack.destination.mac, kBroadcastMac);

  auto frame = reply_frame(ack, port);
  auto parsed = parse_dhcp_server_frame(frame, true);
  EXPECT_FALSE(parsed);  // to port 68: not a frame for the server
  auto udp = parse_udp_frame(frame, true);
  ASSERT_TRUE(udp) << udp.error().message;
  EXPECT_EQ(udp->source_ip, ip("192.0.2.2"));
  EXPECT_EQ(udp->source_mac, mac("fa:16:3e:00:00:02"));
  EXPECT_EQ(udp->source_port, 67);
  EXPECT_EQ(udp->payload, ack.payload());
}

// The configuration the responder had while udhcpc talked to it (dhcp_udhcpc_capture.inc).
PortDhcpConfig spike_port() {
  PortDhcpConfig port;
  port.mac = mac("fa:16:3e:aa:bb:cc");
  port.address = ip("10.9.0.5");
  port.prefix_length = 24;
  port.gateway = ip("10.9.0.1");
  port.dns_servers = {ip("10.9.0.2"), ip("8.8.8.8")};
  port.domain_name = "openstacklocal.";
  port.hostname = "host-10-9-0-5";
  port.mtu = 1450;
  port.lease_seconds = 20;
  port.host_routes = {{ip("169.254.169.254"), 32, ip("10.9.0.2")}, {ip("192.168.50.0"), 24, ip("10.9.0.254")}};
  port.server_id = ip("10.9.0.2");
  port.server_mac = mac("fa:16:3e:00:00:02");
  port.extra_options = {{"tftp-server", "tftp.example"}, {"bootfile-name", "pxelinux.0"}, {"150", "10.9.0.3"}};
  return port;
}

DhcpAnswer answer_frame(const char* hex, const PortDhcpConfig& port, bool verify_udp_checksum = true) {
  auto frame = parse_dhcp_server_frame(from_hex(hex), verify_udp_checksum);
  EXPECT_TRUE(frame) << frame.error().message;
  if (!frame) return {};
  auto request = parse_dhcp_request(frame->payload);
  EXPECT_TRUE(request) << request.error().message;
  return request ? answer_dhcp_request(*request, port) : DhcpAnswer{};
}

TEST(DhcpExchange, ReadsBusyboxUdhcpcMessages) {
  auto frame = parse_dhcp_server_frame(from_hex(kUdhcpcDiscoverFrame), true);
  ASSERT_TRUE(frame) << frame.error().message;
  EXPECT_EQ(frame->source_mac, mac("fa:16:3e:aa:bb:cc"));
  EXPECT_EQ(frame->destination_ip, kBroadcastIp);
  auto discover = parse_dhcp_request(frame->payload);
  ASSERT_TRUE(discover) << discover.error().message;
  EXPECT_EQ(discover->type, MessageType::discover);
  EXPECT_EQ(discover->xid, 0xe15c9660u);
  EXPECT_EQ(discover->max_message_size, 576);
  EXPECT_EQ(discover->hostname, "vm1");
  EXPECT_EQ(discover->client_id, (std::vector<uint8_t>{1, 0xfa, 0x16, 0x3e, 0xaa, 0xbb, 0xcc}));
  for (uint8_t wanted : {option::subnet_mask, option::router, option::mtu, option::classless_routes})
    EXPECT_NE(std::ranges::find(discover->parameter_request_list, wanted), discover->parameter_request_list.end());
}

TEST(DhcpExchange, AnswersBusyboxUdhcpcAsItWasCaptured) {
  auto port = spike_port();
  auto offer = answer_frame(kUdhcpcDiscoverFrame, port);
  EXPECT_EQ(reply_frame(offer, port), from_hex(kOfferFrame));
  auto ack = answer_frame(kUdhcpcSelectingRequestFrame, port);
  EXPECT_EQ(reply_frame(ack, port), from_hex(kAckFrame));
  // The unicast renew's UDP checksum was left to offload: refused when verified.
  EXPECT_FALSE(parse_dhcp_server_frame(from_hex(kUdhcpcRenewRequestFrame), true));
  auto renew = answer_frame(kUdhcpcRenewRequestFrame, port, false);
  EXPECT_EQ(renew.verdict, Verdict::ack);
  EXPECT_EQ(renew.destination.ip, ip("10.9.0.5"));  // RENEWING: unicast to ciaddr
  EXPECT_EQ(reply_frame(renew, port), from_hex(kRenewAckFrame));
  auto release = answer_frame(kUdhcpcReleaseFrame, port, false);
  EXPECT_EQ(release.verdict, Verdict::released);
  EXPECT_FALSE(release.has_reply());
}

TEST(DhcpExchange, OfferCarriesThePortsConfiguration) {
  auto offer = answer_frame(kUdhcpcDiscoverFrame, spike_port());
  ASSERT_TRUE(offer.has_reply());
  EXPECT_EQ(option_codes(offer), (std::vector<uint8_t>{53, 54, 51, 58, 59, 1, 121, 3, 6, 26, 66, 67, 150, 12, 15, 28, 249}));
  EXPECT_EQ(offer.reply->yiaddr, ip("10.9.0.5"));
  EXPECT_EQ(find_option(offer, option::renewal_time)->data, (std::vector<uint8_t>{0, 0, 0, 10}));
  EXPECT_EQ(find_option(offer, option::rebinding_time)->data, (std::vector<uint8_t>{0, 0, 0, 17}));
  std::vector<uint8_t> routes = {32, 169, 254, 169, 254, 10, 9, 0, 2, 24, 192, 168, 50, 10, 9, 0, 254, 0, 10, 9, 0, 1};
  EXPECT_EQ(find_option(offer, option::classless_routes)->data, routes);
  EXPECT_EQ(find_option(offer, option::ms_classless_routes)->data, routes);
  EXPECT_EQ(find_option(offer, option::domain_name)->data, from_hex("6f70656e737461636b6c6f63616c"));  // no dot
  EXPECT_EQ(offer.reply->boot_file, "pxelinux.0");
  EXPECT_TRUE(offer.dropped_options.empty());
  EXPECT_TRUE(offer.notes.empty());
}

// ---- REQUEST in each client state, NAKs -------------------------------------------------

DhcpPacket request_packet(const char* requested, const char* server, const char* ciaddr) {
  auto packet = client_packet(MessageType::request);
  if (requested) packet.options.push_back(address_option(option::requested_ip, requested));
  if (server) packet.options.push_back(address_option(option::server_id, server));
  if (ciaddr) packet.ciaddr = ip(ciaddr);
  return packet;
}

void expect_nak(const DhcpAnswer& answer) {
  ASSERT_EQ(answer.verdict, Verdict::nak) << answer.reason;
  ASSERT_TRUE(answer.has_reply());
  EXPECT_EQ(find_option(answer, option::message_type)->data, (std::vector<uint8_t>{6}));
  EXPECT_EQ(find_option(answer, option::server_id)->data, (std::vector<uint8_t>{192, 0, 2, 2}));
  EXPECT_NE(find_option(answer, option::message), nullptr);
  EXPECT_EQ(find_option(answer, option::lease_time), nullptr);
  EXPECT_TRUE(answer.reply->yiaddr.is_zero());
  EXPECT_TRUE(answer.reply->ciaddr.is_zero());
  EXPECT_EQ(answer.destination.ip, kBroadcastIp);  // NAKs are broadcast (RFC 2131 4.1)
  EXPECT_EQ(answer.destination.mac, kBroadcastMac);
}

TEST(DhcpRequest, AcksOnlyThePortsAddressInEveryState) {
  auto port = basic_port();
  auto selecting = answer_dhcp_request(request_of(request_packet("192.0.2.10", "192.0.2.2", nullptr)), port);
  EXPECT_EQ(selecting.verdict, Verdict::ack);
  auto init_reboot = answer_dhcp_request(request_of(request_packet("192.0.2.10", nullptr, nullptr)), port);
  EXPECT_EQ(init_reboot.verdict, Verdict::ack);
  EXPECT_EQ(init_reboot.destination.ip, ip("192.0.2.10"));
  auto renewing = answer_dhcp_request(request_of(request_packet(nullptr, nullptr, "192.0.2.10")), port);
  ASSERT_EQ(renewing.verdict, Verdict::ack);
  EXPECT_EQ(renewing.reply->ciaddr, ip("192.0.2.10"));
  EXPECT_EQ(renewing.destination.ip, ip("192.0.2.10"));
  EXPECT_EQ(renewing.destination.mac, kClientMac);
}

TEST(DhcpRequest, NaksAnotherAddress) {
  auto port = basic_port();
  expect_nak(answer_dhcp_request(request_of(request_packet("192.0.2.11", "192.0.2.2", nullptr)), port));
  expect_nak(answer_dhcp_request(request_of(request_packet(nullptr, "192.0.2.2", nullptr)), port));
  expect_nak(answer_dhcp_request(request_of(request_packet("10.0.0.5", nullptr, nullptr)), port));  // init-reboot
  auto renew = answer_dhcp_request(request_of(request_packet(nullptr, nullptr, "192.0.2.99")), port);
  expect_nak(renew);  // the port's fixed IP changed: the client starts over and gets the new one
  EXPECT_EQ(renew.reason, "requested 192.0.2.99, the port's address is 192.0.2.10");
  auto bytes = renew.payload();
  EXPECT_TRUE(parse_dhcp_packet(bytes));
}

TEST(DhcpRequest, StaysSilentWhenAnotherServerWasSelected) {
  auto answer = answer_dhcp_request(request_of(request_packet("192.0.2.10", "192.0.2.3", nullptr)), basic_port());
  EXPECT_EQ(answer.verdict, Verdict::ignored);
  EXPECT_FALSE(answer.has_reply());
  auto nothing = answer_dhcp_request(request_of(request_packet(nullptr, nullptr, nullptr)), basic_port());
  EXPECT_EQ(nothing.verdict, Verdict::ignored);
}

// ---- Other messages ----------------------------------------------------------------------

TEST(DhcpMessages, InformGetsConfigurationWithoutLease) {
  auto inform = client_packet(MessageType::inform);
  inform.ciaddr = ip("192.0.2.10");
  auto answer = answer_dhcp_request(request_of(inform), basic_port());
  ASSERT_EQ(answer.verdict, Verdict::ack);
  EXPECT_TRUE(answer.reply->yiaddr.is_zero());
  EXPECT_EQ(answer.reply->ciaddr, ip("192.0.2.10"));
  EXPECT_EQ(option_codes(answer), (std::vector<uint8_t>{53, 54, 1, 3, 6, 26, 28}));
  EXPECT_EQ(answer.destination.ip, ip("192.0.2.10"));
  EXPECT_EQ(answer.destination.mac, kClientMac);
  inform.ciaddr = {};  // no address to reach it at: broadcast
  EXPECT_EQ(answer_dhcp_request(request_of(inform), basic_port()).destination.ip, kBroadcastIp);
}

TEST(DhcpMessages, ReleaseAndDeclineGetNoReply) {
  auto release = client_packet(MessageType::release);
  release.ciaddr = ip("192.0.2.10");
  auto released = answer_dhcp_request(request_of(release), basic_port());
  EXPECT_EQ(released.verdict, Verdict::released);
  EXPECT_FALSE(released.has_reply());
  auto decline = client_packet(MessageType::decline);
  decline.options.push_back(address_option(option::requested_ip, "192.0.2.10"));
  decline.options.push_back(address_option(option::server_id, "192.0.2.2"));
  auto declined = answer_dhcp_request(request_of(decline), basic_port());
  EXPECT_EQ(declined.verdict, Verdict::declined);
  EXPECT_FALSE(declined.has_reply());
  EXPECT_EQ(declined.reason, "fa:16:3e:12:34:56 declined 192.0.2.10: the address is in use on its link");
}

TEST(DhcpMessages, IgnoresOtherMacsRelaysServerMessagesAndBadDescriptions) {
  auto port = basic_port();
  auto discover = client_packet(MessageType::discover);
  port.mac = mac("fa:16:3e:00:00:99");
  EXPECT_EQ(answer_dhcp_request(request_of(discover), port).verdict, Verdict::ignored);
  port = basic_port();
  discover.giaddr = ip("198.51.100.1");
  EXPECT_EQ(answer_dhcp_request(request_of(discover), port).verdict, Verdict::ignored);
  EXPECT_EQ(answer_dhcp_request(request_of(client_packet(MessageType::offer)), port).verdict, Verdict::ignored);
  port.prefix_length = 33;
  auto invalid = answer_dhcp_request(request_of(client_packet(MessageType::discover)), port);
  EXPECT_EQ(invalid.verdict, Verdict::ignored);
  EXPECT_NE(invalid.reason.find("invalid"), std::string::npos);
}

TEST(DhcpOptions, NoGatewayNoRouterOptionAndAnInfiniteLeaseHasNoRenewal) {
  auto port = basic_port();
  port.gateway.reset();
  port.lease_seconds = kInfiniteLease;
  port.host_routes = {{ip("169.254.169.254"), 32, ip("192.0.2.2")}};  // isolated: the metadata route
  auto offer = answer_dhcp_request(request_of(client_packet(MessageType::discover)), port);
  EXPECT_EQ(option_codes(offer), (std::vector<uint8_t>{53, 54, 51, 1, 121, 6, 26, 28, 249}));
  EXPECT_EQ(find_option(offer, option::lease_time)->data, (std::vector<uint8_t>{255, 255, 255, 255}));
  EXPECT_EQ(find_option(offer, option::classless_routes)->data, (std::vector<uint8_t>{32, 169, 254, 169, 254, 192, 0, 2, 2}));
}

// ---- Size limits -------------------------------------------------------------------------

PortDhcpConfig port_with_routes(int count) {
  auto port = basic_port();
  for (int i = 0; i < count; ++i) port.host_routes.push_back({Ipv4Address::of(10, uint8_t(i), 0, 0), 16, ip("192.0.2.254")});
  return port;
}

TEST(DhcpSize, DropsTheLeastImportantOptionsToFitTheClientsSize) {
  auto port = port_with_routes(40);  // option 121: 40 * 7 + 5 bytes, split in two
  auto discover = client_packet(MessageType::discover);
  auto offer = answer_dhcp_request(request_of(discover), port);  // no option 57: 576 bytes
  EXPECT_EQ(reply_size_limit(request_of(discover), port), 548u);
  EXPECT_EQ(offer.dropped_options, (std::vector<uint8_t>{121, 249}));
  EXPECT_LE(offer.payload().size(), 548u);
  EXPECT_NE(find_option(offer, option::router), nullptr);  // the default route still comes by option 3
  discover.options.push_back(u16_option(option::max_message_size, 1500));
  auto large = answer_dhcp_request(request_of(discover), port);
  EXPECT_TRUE(large.dropped_options.empty());
  EXPECT_GT(large.payload().size(), 576u);
  EXPECT_LE(large.payload().size(), 1472u);
  auto reparsed = parse_dhcp_packet(large.payload());
  ASSERT_TRUE(reparsed);
  EXPECT_EQ(reparsed->find(option::classless_routes)->data, find_option(large, option::classless_routes)->data);
}

TEST(DhcpSize, ThePortsMtuCapsTheClientsSize) {
  auto port = port_with_routes(60);
  port.mtu = 1000;
  auto discover = client_packet(MessageType::discover);
  discover.options.push_back(u16_option(option::max_message_size, 1500));
  EXPECT_EQ(reply_size_limit(request_of(discover), port), 972u);
  auto offer = answer_dhcp_request(request_of(discover), port);
  EXPECT_EQ(offer.dropped_options, (std::vector<uint8_t>{249}));
  EXPECT_LE(offer.payload().size(), 972u);
  EXPECT_NE(find_option(offer, option::classless_routes), nullptr);
}

TEST(DhcpSize, FittingKeepsMandatoryOptionsAndSkipsOnlyWhatDoesNotFit) {
  std::vector<DhcpOption> options = {
      {53, {1}}, {54, {1, 2, 3, 4}}, {121, std::vector<uint8_t>(50)}, {3, {1, 2, 3, 4}}, {249, std::vector<uint8_t>(50)}};
  auto fitted = fit_options(options, 20, 2);
  ASSERT_EQ(fitted.kept.size(), 3u);
  EXPECT_EQ(fitted.kept[2].code, 3);
  EXPECT_EQ(fitted.dropped, (std::vector<uint8_t>{121, 249}));
  EXPECT_EQ(fit_options(options, 0, 2).kept.size(), 2u);
}

// ---- Extra options -----------------------------------------------------------------------

TEST(DhcpExtraOptions, HonoursNeutronsNamesAndNumericCodes) {
  auto port = basic_port();
  port.extra_options = {{"tftp-server", "tftp.example"},       {"bootfile-name", "pxelinux.0"},
                        {"server-ip-address", "192.0.2.3"},    {"150", "192.0.2.3"},
                        {"option:ntp_server", "192.0.2.123, 192.0.2.124"},
                        {"dns-server", "198.51.100.1"},        {"domain-search", "example.com,corp.example."},
                        {"53", "5"},                           {"no-such-option", "x"},
                        {"mtu", "abc"}};
  auto offer = answer_dhcp_request(request_of(client_packet(MessageType::discover)), port);
  ASSERT_EQ(offer.verdict, Verdict::offer);
  EXPECT_EQ(option_codes(offer), (std::vector<uint8_t>{53, 54, 51, 58, 59, 1, 3, 6, 26, 66, 67, 150, 42, 119, 28}));
  EXPECT_EQ(find_option(offer, option::tftp_server)->data, from_hex("746674702e6578616d706c65"));
  EXPECT_EQ(find_option(offer, option::bootfile_name)->data, from_hex("7078656c696e75782e30"));
  EXPECT_EQ(offer.reply->boot_file, "pxelinux.0");
  EXPECT_EQ(offer.reply->siaddr, ip("192.0.2.3"));
  EXPECT_EQ(find_option(offer, option::tftp_server_address)->data, (std::vector<uint8_t>{192, 0, 2, 3}));
  EXPECT_EQ(find_option(offer, 42)->data, (std::vector<uint8_t>{192, 0, 2, 123, 192, 0, 2, 124}));
  EXPECT_EQ(find_option(offer, option::dns_servers)->data, (std::vector<uint8_t>{198, 51, 100, 1}));  // replaced
  EXPECT_EQ(find_option(offer, option::domain_search)->data,
            from_hex("076578616d706c6503636f6d0004636f7270076578616d706c6500"));
  ASSERT_EQ(offer.notes.size(), 3u);  // 53, the unknown name, the bad MTU: skipped, the rest answered
  EXPECT_NE(offer.notes[0].find("set by the server itself"), std::string::npos) << offer.notes[0];
  EXPECT_NE(offer.notes[1].find("unknown option name"), std::string::npos) << offer.notes[1];
}

TEST(DhcpExtraOptions, EncodesByTheCodesType) {
  auto encode = [](const char* name, const char* value) { return encode_extra_dhcp_option({name, value}); };
  EXPECT_EQ(encode("66", "192.0.2.9")->option->data, from_hex("3139322e302e322e39"));  // 66 is text
  EXPECT_EQ(encode("224", "192.0.2.9,192.0.2.10")->option->data, (std::vector<uint8_t>{192, 0, 2, 9, 192, 0, 2, 10}));
  EXPECT_EQ(encode("224", "some text")->option->data, from_hex("736f6d652074657874"));
  EXPECT_EQ(encode("26", "1400")->option->data, (std::vector<uint8_t>{0x05, 0x78}));
  EXPECT_EQ(encode("netbios-nodetype", "8")->option->data, (std::vector<uint8_t>{8}));
  EXPECT_EQ(encode("arp-timeout", "70000")->option->data, (std::vector<uint8_t>{0, 1, 0x11, 0x70}));
  EXPECT_EQ(encode("TFTP_Server", "t")->option->code, 66);
  EXPECT_FALSE(encode("26", "70000"));
  EXPECT_FALSE(encode("256", "x"));
  EXPECT_FALSE(encode("121", "10.0.0.0/8,10.0.0.1"));  // routes come from host_routes
  EXPECT_FALSE(encode("server-ip-address", "not-an-ip"));
  EXPECT_FALSE(encode("dns-server", ""));
  EXPECT_FALSE(encode("domain-search", "a..b"));
}

}  // namespace
}  // namespace nt::dhcp
