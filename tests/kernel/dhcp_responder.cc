// neutrino-dhcp-responder (tests only): answers DHCP and ARP for one VM port on one
// interface with kernel::DhcpSocket and nt_dhcp, the way the agent will. For the
// real-kernel test (tests/e2e/test_dhcp_kernel.py): prints "ready" once the socket is
// open, then one line per frame answered or ignored; exits after --seconds or on SIGTERM.
#include <poll.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <iostream>

#include "dhcp/frame.h"
#include "dhcp/responder.h"
#include "kernel/dhcp_socket.h"

namespace {

volatile std::sig_atomic_t stop_requested = 0;

struct Settings {
  std::string netns, dev, mac, cidr, gateway, server_ip, server_mac;
  std::vector<std::string> dns;
  int mtu = 0, seconds = 30;
};

nt::Result<nt::dhcp::PortDhcpConfig> port_config(const Settings& s) {
  nt::dhcp::PortDhcpConfig port;
  NT_ASSIGN(port.mac, nt::Mac::parse(s.mac));
  NT_ASSIGN(auto cidr, nt::Cidr::parse(s.cidr));
  auto slash = s.cidr.find('/');
  NT_ASSIGN(port.address, nt::dhcp::Ipv4Address::parse(s.cidr.substr(0, slash)));
  port.prefix_length = cidr.prefix;
  if (!s.gateway.empty()) {
    NT_ASSIGN(auto gateway, nt::dhcp::Ipv4Address::parse(s.gateway));
    port.gateway = gateway;
  }
  for (const auto& d : s.dns) {
    NT_ASSIGN(auto server, nt::dhcp::Ipv4Address::parse(d));
    port.dns_servers.push_back(server);
  }
  port.mtu = static_cast<uint16_t>(s.mtu);
  port.hostname = "host-" + port.address.str();
  NT_ASSIGN(port.server_id, nt::dhcp::Ipv4Address::parse(s.server_ip));
  NT_ASSIGN(port.server_mac, nt::Mac::parse(s.server_mac));
  NT_TRY(nt::dhcp::check_port_dhcp_config(port));
  return port;
}

// Answers one frame (ARP who-has for the server, or DHCP to port 67); prints what it did.
nt::Status answer(nt::kernel::DhcpSocket& socket, const nt::kernel::ReceivedFrame& frame,
                  const nt::dhcp::PortDhcpConfig& port) {
  nt::IpAddress server{4, port.server_id.value};
  if (auto arp = nt::kernel::arp_reply_for(frame.bytes, server, port.server_mac)) {
    NT_TRY(socket.send(*arp));
    std::cout << "arp reply " << server.str() << std::endl;
    return {};
  }
  auto udp = nt::dhcp::parse_dhcp_server_frame(frame.bytes, frame.verify_udp_checksum());
  if (!udp) return std::cout << "dropped: " << udp.error().message << std::endl, nt::Status{};
  auto request = nt::dhcp::parse_dhcp_request(udp->payload);
  if (!request) return std::cout << "dropped: " << request.error().message << std::endl, nt::Status{};
  auto reply = nt::dhcp::answer_dhcp_request(*request, port);
  std::cout << "dhcp " << nt::dhcp::message_type_name(request->type) << " -> " << nt::dhcp::verdict_name(reply.verdict)
            << (reply.reason.empty() ? "" : " (" + reply.reason + ")") << std::endl;
  if (reply.has_reply()) NT_TRY(socket.send(nt::dhcp::reply_frame(reply, port)));
  return {};
}

int serve(nt::kernel::DhcpSocket& socket, const nt::dhcp::PortDhcpConfig& port, int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!stop_requested && std::chrono::steady_clock::now() < deadline) {
    pollfd p{socket.fd(), POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    for (int i = 0; i < 64; ++i) {
      auto frame = socket.receive();
      if (!frame) return std::cerr << "receive: " << frame.error().message << "\n", 1;
      if (!*frame) break;
      if (auto done = answer(socket, **frame, port); !done) std::cerr << "send: " << done.error().message << "\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"neutrino-dhcp-responder: DHCP and ARP for one port (tests only)"};
  Settings s;
  app.add_option("--netns", s.netns, "namespace of the interface (default: this one)");
  app.add_option("--dev", s.dev, "interface (the VM's tap or veth host end)")->required();
  app.add_option("--mac", s.mac, "the port's MAC")->required();
  app.add_option("--ip", s.cidr, "the port's address/prefix")->required();
  app.add_option("--gateway", s.gateway, "router (option 3)");
  app.add_option("--dns", s.dns, "DNS server (repeatable)");
  app.add_option("--mtu", s.mtu, "MTU (option 26)");
  app.add_option("--server-ip", s.server_ip, "the DHCP port's IP")->required();
  app.add_option("--server-mac", s.server_mac, "the DHCP port's MAC")->required();
  app.add_option("--seconds", s.seconds, "exit after this long")->check(CLI::Range(1, 600));
  CLI11_PARSE(app, argc, argv);

  auto port = port_config(s);
  if (!port) return std::cerr << "neutrino-dhcp-responder: " << port.error().message << "\n", 2;
  auto socket = nt::kernel::open_dhcp_socket(s.netns, s.dev);
  if (!socket) return std::cerr << "neutrino-dhcp-responder: " << socket.error().message << "\n", 1;
  std::signal(SIGTERM, [](int) { stop_requested = 1; });
  std::signal(SIGINT, [](int) { stop_requested = 1; });
  std::cout << "ready" << std::endl;
  return serve(**socket, *port, s.seconds);
}
