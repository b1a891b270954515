// The agent's DHCP server (src/agent/dhcp_server.h) on in-memory sockets: it serves the
// view's dhcp entries on their taps, only with each tap's own port, and retries taps that
// are not there yet.
#include <gtest/gtest.h>

#include "agent/dhcp_server.h"
#include "dhcp/frame.h"
#include "dhcp_test_util.h"
#include "kernel/fake/fake_dhcp_socket.h"

namespace nt::agent {
namespace {

using dhcp::MessageType;

// The server owns its sockets; the test keeps the fake and lends it through this.
class Lent final : public kernel::DhcpSocket {
 public:
  explicit Lent(kernel::FakeDhcpSocket& s) : s_(s) {}
  Result<std::optional<kernel::ReceivedFrame>> receive() override { return s_.receive(); }
  Status send(std::span<const uint8_t> frame) override { return s_.send(frame); }
  int fd() const override { return s_.fd(); }

 private:
  kernel::FakeDhcpSocket& s_;
};

view::Dhcp entry(const std::string& tap, const std::string& mac, const std::string& ip, bool served) {
  view::Dhcp d;
  d.network_id = "net", d.subnet_id = "sub", d.device = tap, d.mac = mac, d.ip = ip, d.prefixlen = 24;
  d.gateway = "10.0.0.1", d.dns = {"192.0.2.53"}, d.mtu = 1450, d.lease = 600, d.hostname = "vm", d.domain = "example.org";
  d.routes = {{"198.51.100.0/24", "10.0.0.9"}, {"169.254.169.254/32", "10.0.0.2"}};
  if (served) d.server_ip = "10.0.0.2", d.server_mac = "fa:16:3e:00:00:02", d.server_port = "dhcp-port";
  d.addresses = {ip};
  return d;
}

std::vector<uint8_t> discover_from(const Mac& mac) {
  auto packet = dhcp::testing::client_packet(MessageType::discover);
  packet.set_client_mac(mac);
  dhcp::UdpFrame f;
  f.source_mac = mac, f.destination_mac = dhcp::kBroadcastMac, f.destination_ip = dhcp::kBroadcastIp;
  f.source_port = dhcp::kDhcpClientPort, f.destination_port = dhcp::kDhcpServerPort;
  f.payload = dhcp::encode_dhcp_packet(packet);
  return dhcp::build_udp_frame(f);
}

// yiaddr of a reply frame (Ethernet 14 + IPv4 20 + UDP 8, then BOOTP's yiaddr at 16).
std::string yiaddr(const std::vector<uint8_t>& frame) {
  if (frame.size() < 62) return "";
  return std::to_string(frame[58]) + "." + std::to_string(frame[59]) + "." + std::to_string(frame[60]) + "." +
         std::to_string(frame[61]);
}

TEST(AgentDhcpServer, AnswersEachTapWithItsOwnPortOnly) {
  kernel::FakeDhcpSocket a, b;
  std::map<std::string, kernel::FakeDhcpSocket*> plugged{{"tapa", &a}};
  std::vector<std::string> opened;
  DhcpServer server([&](const std::string& tap) -> Result<std::unique_ptr<kernel::DhcpSocket>> {
    opened.push_back(tap);
    auto it = plugged.find(tap);
    if (it == plugged.end()) return fail(Errc::not_found, "", tap + " is not there");
    return std::make_unique<Lent>(*it->second);
  });
  view::HostView v;
  v.dhcp["a"] = entry("tapa", "fa:16:3e:12:34:56", "10.0.0.5", true);
  v.dhcp["b"] = entry("tapb", "fa:16:3e:00:00:0b", "10.0.0.6", true);
  v.dhcp["c"] = entry("tapc", "fa:16:3e:00:00:0c", "10.0.0.7", false);  // no DHCP port: not served
  server.update(v);
  server.run_once(0);
  EXPECT_EQ(server.open_sockets(), 1u);
  EXPECT_EQ(std::count(opened.begin(), opened.end(), "tapc"), 0);

  a.inject(discover_from(dhcp::testing::kClientMac));
  server.run_once(100);
  ASSERT_EQ(a.sent().size(), 1u);
  EXPECT_EQ(yiaddr(a.sent()[0]), "10.0.0.5");
  EXPECT_EQ(server.stats().offers, 1u);

  // A client with another MAC on the same tap (a VM spoofing) gets nothing.
  a.inject(discover_from(dhcp::testing::mac("fa:16:3e:00:00:0b")));
  server.run_once(100);
  EXPECT_EQ(a.sent().size(), 1u);
  EXPECT_EQ(server.stats().ignored, 1u);

  // ARP for the DHCP port's address is answered on the tap.
  std::vector<uint8_t> arp = dhcp::testing::from_hex(
      "ffffffffffff" "fa163e123456" "0806" "0001080006040001" "fa163e123456" "0a000005" "000000000000" "0a000002");
  a.inject(arp);
  server.run_once(100);
  EXPECT_EQ(server.stats().arp_replies, 1u);

  // tapb appears later: the server opens it on a retry round and serves it.
  plugged["tapb"] = &b;
  server.update(v);
  server.run_once(0);
  EXPECT_EQ(server.open_sockets(), 2u);
  b.inject(discover_from(dhcp::testing::mac("fa:16:3e:00:00:0b")));
  server.run_once(100);
  ASSERT_EQ(b.sent().size(), 1u);
  EXPECT_EQ(yiaddr(b.sent()[0]), "10.0.0.6");

  // The port leaves the view: its socket is closed, nothing more is answered.
  v.dhcp.erase("a");
  server.update(v);
  server.run_once(0);
  EXPECT_EQ(server.open_sockets(), 1u);
}

TEST(AgentDhcpServer, EntryToResponderConfig) {
  auto d = entry("tapa", "fa:16:3e:12:34:56", "10.0.0.5", true);
  d.lease = -1;
  d.options = {{"tftp-server", "192.0.2.7", 4}};
  auto c = port_dhcp_config(d);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->lease_seconds, dhcp::kInfiniteLease);
  EXPECT_EQ(c->host_routes.size(), 2u);
  EXPECT_EQ(c->server_id.str(), "10.0.0.2");
  EXPECT_EQ(c->mtu, 1450);
  EXPECT_EQ(c->extra_options.size(), 1u);
  EXPECT_FALSE(port_dhcp_config(entry("tapa", "fa:16:3e:12:34:56", "10.0.0.5", false)));
  d.ip = "not-an-ip";
  EXPECT_FALSE(port_dhcp_config(d));
}

}  // namespace
}  // namespace nt::agent
