#include "agent/dhcp_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <vector>

#include "agent/metadata_plan.h"
#include "dhcp/frame.h"

namespace nt::agent {

namespace {

constexpr auto kRetryPeriod = std::chrono::milliseconds(500);  // taps not plugged yet
constexpr int kFramesPerWakeup = 64;                          // per socket, so no tap starves the others
// Per tap: a VM flooding DISCOVERs or ARP gets 100 answers a second (bursts of 200), the
// others keep theirs (a booting VM needs 2 exchanges and an ARP or two).
constexpr double kFramesPerSecond = 100, kBurst = 200;

Result<dhcp::Ipv4Route> route_of(const view::Route& r) {
  NT_ASSIGN(auto cidr, Cidr::parse(r.destination));
  if (cidr.network.version != 4) return bad_request("not IPv4: " + r.destination);
  NT_ASSIGN(auto destination, dhcp::Ipv4Address::parse(cidr.network.str()));
  NT_ASSIGN(auto next_hop, dhcp::Ipv4Address::parse(r.nexthop));
  return dhcp::Ipv4Route{destination, cidr.prefix, next_hop};
}

}  // namespace

Result<dhcp::PortDhcpConfig> port_dhcp_config(const view::Dhcp& d) {
  if (!d.server_ip || !d.server_mac) return fail(Errc::not_found, "", "no DHCP port serves " + d.ip);
  dhcp::PortDhcpConfig port;
  NT_ASSIGN(port.mac, Mac::parse(d.mac));
  NT_ASSIGN(port.address, dhcp::Ipv4Address::parse(d.ip));
  port.prefix_length = static_cast<int>(d.prefixlen);
  if (d.gateway) {
    NT_ASSIGN(auto gw, dhcp::Ipv4Address::parse(*d.gateway));
    port.gateway = gw;
  }
  for (const auto& s : d.dns)
    if (auto a = dhcp::Ipv4Address::parse(s)) port.dns_servers.push_back(*a);
  port.domain_name = d.domain;
  port.hostname = d.hostname;
  port.mtu = static_cast<uint16_t>(std::clamp<int64_t>(d.mtu, 0, 65535));
  port.lease_seconds = d.lease < 0 ? dhcp::kInfiniteLease : static_cast<uint32_t>(std::min<int64_t>(d.lease, 0xfffffffe));
  for (const auto& r : d.routes)
    if (auto route = route_of(r)) port.host_routes.push_back(*route);  // a route that does not read is left out
  NT_ASSIGN(port.server_id, dhcp::Ipv4Address::parse(*d.server_ip));
  NT_ASSIGN(port.server_mac, Mac::parse(*d.server_mac));
  for (const auto& o : d.options) port.extra_options.push_back({o.name, o.value});
  NT_TRY(dhcp::check_port_dhcp_config(port));
  return port;
}

DhcpServer::DhcpServer(Opener open) : open_(std::move(open)) { wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

DhcpServer::~DhcpServer() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void DhcpServer::update(const view::HostView& view) {
  std::map<std::string, std::shared_ptr<const dhcp::PortDhcpConfig>> next;
  for (const auto& [id, d] : view.dhcp) {
    if (!d.server_ip || !usable_dhcp_entry(id, d)) continue;
    auto config = port_dhcp_config(d);
    if (!config) {
      spdlog::warn("DHCP: port {} not served: {}", id, config.error().message);
      continue;
    }
    next[d.device] = std::make_shared<const dhcp::PortDhcpConfig>(std::move(*config));
  }
  std::lock_guard lock(mu_);
  wanted_ = std::move(next);
  changed_ = true;
  uint64_t one = 1;
  if (wake_fd_ >= 0) [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

// Opens the sockets of new taps (retrying those not there yet), closes those gone, and
// gives every socket its port's current description.
void DhcpServer::sync_sockets() {
  std::map<std::string, std::shared_ptr<const dhcp::PortDhcpConfig>> wanted;
  {
    std::lock_guard lock(mu_);
    if (!changed_ && std::chrono::steady_clock::now() < next_retry_) return;
    wanted = wanted_;
    changed_ = false;
  }
  for (auto it = served_.begin(); it != served_.end();)
    it = wanted.count(it->first) ? std::next(it) : served_.erase(it);
  bool missing = false;
  for (auto& [tap, config] : wanted) {
    auto& s = served_[tap];
    s.config = config;
    if (s.socket) continue;
    auto socket = open_(tap);
    if (socket) s.socket = std::move(*socket);
    else missing = true;  // the tap is not plugged yet: next round
  }
  next_retry_ = std::chrono::steady_clock::now() + (missing ? kRetryPeriod : std::chrono::hours(1));
}

void DhcpServer::answer(kernel::DhcpSocket& socket, const kernel::ReceivedFrame& frame, const dhcp::PortDhcpConfig& port,
                        const std::string& tap) {
  auto count = [&](uint64_t DhcpStats::*field) {
    std::lock_guard lock(mu_);
    ++(stats_.*field);
  };
  IpAddress server{4, port.server_id.value};
  if (auto arp = kernel::arp_reply_for(frame.bytes, server, port.server_mac)) {
    if (socket.send(*arp)) count(&DhcpStats::arp_replies);
    else count(&DhcpStats::errors);
    return;
  }
  auto udp = dhcp::parse_dhcp_server_frame(frame.bytes, frame.verify_udp_checksum());
  auto request = udp ? dhcp::parse_dhcp_request(udp->payload) : Result<dhcp::DhcpRequest>(nt::unexpected(udp.error()));
  if (!request) return count(&DhcpStats::ignored);
  auto reply = dhcp::answer_dhcp_request(*request, port);
  switch (reply.verdict) {
    case dhcp::Verdict::offer: count(&DhcpStats::offers); break;
    case dhcp::Verdict::ack: count(&DhcpStats::acks); break;
    case dhcp::Verdict::nak: count(&DhcpStats::naks); break;
    default: count(&DhcpStats::ignored); break;
  }
  if (reply.verdict == dhcp::Verdict::nak || reply.verdict == dhcp::Verdict::declined)
    spdlog::info("DHCP {} on {}: {} ({})", dhcp::message_type_name(request->type), tap, dhcp::verdict_name(reply.verdict),
                 reply.reason);
  else
    spdlog::debug("DHCP {} on {}: {} {}", dhcp::message_type_name(request->type), tap, dhcp::verdict_name(reply.verdict),
                  port.address.str());
  if (reply.has_reply())
    if (auto sent = socket.send(dhcp::reply_frame(reply, port)); !sent) {
      count(&DhcpStats::errors);
      spdlog::warn("DHCP reply on {}: {}", tap, sent.error().message);
    }
}

bool DhcpServer::take_token(Served& s) {
  auto now = std::chrono::steady_clock::now();
  if (s.refilled == std::chrono::steady_clock::time_point{}) s.tokens = kBurst, s.refilled = now;
  s.tokens = std::min(kBurst, s.tokens + std::chrono::duration<double>(now - s.refilled).count() * kFramesPerSecond);
  s.refilled = now;
  if (s.tokens < 1) return false;
  s.tokens -= 1;
  return true;
}

void DhcpServer::drain(const std::string& tap, Served& s) {
  for (int i = 0; i < kFramesPerWakeup; ++i) {
    auto frame = s.socket->receive();
    if (!frame) {
      // The tap went away (VM deleted): reopen when it is back.
      spdlog::debug("DHCP socket on {}: {}", tap, frame.error().message);
      s.socket.reset();
      std::lock_guard lock(mu_);
      next_retry_ = std::chrono::steady_clock::now() + kRetryPeriod;
      return;
    }
    if (!*frame) return;
    if (!take_token(s)) {
      std::lock_guard lock(mu_);
      if (stats_.rate_limited++ % 1000 == 0) spdlog::warn("DHCP: {} sends more than {} frames a second; dropping", tap, kFramesPerSecond);
      continue;
    }
    answer(*s.socket, **frame, *s.config, tap);
  }
}

void DhcpServer::run_once(int timeout_ms) {
  sync_sockets();
  std::vector<pollfd> fds;
  std::vector<std::string> taps;
  if (wake_fd_ >= 0) fds.push_back({wake_fd_, POLLIN, 0}), taps.emplace_back();
  for (auto& [tap, s] : served_)
    if (s.socket) fds.push_back({s.socket->fd(), POLLIN, 0}), taps.push_back(tap);
  int n = ::poll(fds.data(), fds.size(), timeout_ms);
  if (n <= 0) return;
  for (size_t i = 0; i < fds.size(); ++i) {
    if (!(fds[i].revents & (POLLIN | POLLERR | POLLHUP))) continue;
    if (taps[i].empty()) {
      uint64_t v;
      [[maybe_unused]] auto r = ::read(wake_fd_, &v, sizeof v);
      continue;
    }
    auto it = served_.find(taps[i]);
    if (it != served_.end() && it->second.socket) drain(it->first, it->second);
  }
}

void DhcpServer::start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] {
    while (running_) run_once(500);
  });
}

void DhcpServer::stop() {
  if (!running_.exchange(false)) return;
  uint64_t one = 1;
  if (wake_fd_ >= 0) [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

DhcpStats DhcpServer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

size_t DhcpServer::open_sockets() const {
  size_t n = 0;
  for (const auto& [tap, s] : served_) n += s.socket != nullptr;
  return n;
}

}  // namespace nt::agent
