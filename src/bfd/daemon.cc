#include "bfd/daemon.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

#include "common/text.h"
#include "kernel/packet_socket.h"

namespace nt::bfd {
namespace asio = boost::asio;
namespace json = boost::json;
using unix_stream = asio::local::stream_protocol;

namespace {

constexpr size_t kMaxLine = 1u << 20;           // a longer line closes the connection
constexpr size_t kMaxPendingOutput = 16u << 20;  // a client this far behind is cut
constexpr size_t kMaxClients = 64;
constexpr int kMaxFramesPerWake = 256;
// The device went away (the agent made it again, with a new index): try a new socket this
// often while sending or receiving fails.
constexpr auto kReopenEvery = std::chrono::seconds(1);
// Peer views are sent on every change to or from Up and refreshed this often; one not
// refreshed for kViewLife is forgotten.
constexpr auto kViewRefresh = std::chrono::seconds(1);
constexpr auto kViewLife = std::chrono::milliseconds(3500);

auto invalid(std::string message) { return fail(Errc::invalid_argument, Origin::unspecified, std::move(message)); }

Result<int64_t> integer_field(const json::object& o, std::string_view key, int64_t low, int64_t high) {
  auto* v = o.if_contains(key);
  if (!v) return invalid(std::string(key) + " is missing");
  if (!v->is_int64() && !v->is_uint64()) return invalid(std::string(key) + " must be an integer");
  if (v->is_uint64() || v->get_int64() < low || v->get_int64() > high)
    return invalid(std::string(key) + " must be within " + std::to_string(low) + ".." + std::to_string(high));
  return v->get_int64();
}

Result<uint32_t> address_field(const json::value* v, const std::string& what) {
  if (!v || !v->is_string()) return invalid(what + " must be an IPv4 address string");
  auto ip = parse_ipv4(v->get_string());
  if (!ip || *ip == 0 || *ip == 0xffffffff || (*ip >> 24) == 127 || (*ip >> 28) == 0xe)
    return invalid(what + " is not a unicast IPv4 address");
  return *ip;
}

Result<std::vector<uint32_t>> peers_field(const json::object& o, uint32_t local) {
  auto* v = o.if_contains("peers");
  if (!v || !v->is_array()) return invalid("peers must be an array of IPv4 addresses");
  const auto& list = v->get_array();
  if (list.size() > kMaxPeers) return invalid("peers: at most " + std::to_string(kMaxPeers));
  std::vector<uint32_t> peers;
  peers.reserve(list.size());
  for (const auto& item : list) {
    NT_ASSIGN(auto ip, address_field(&item, "peers[" + std::to_string(peers.size()) + "]"));
    if (ip == local) return invalid("peers: " + ipv4_text(ip) + " is the local address");
    peers.push_back(ip);
  }
  std::sort(peers.begin(), peers.end());
  if (auto dup = std::adjacent_find(peers.begin(), peers.end()); dup != peers.end())
    return invalid("peers: " + ipv4_text(*dup) + " is listed twice");
  return peers;
}

json::object transition_line(uint32_t peer, State to, Diag diag) {
  return {{"op", "state"}, {"peer", ipv4_text(peer)}, {"state", state_name(to)}, {"diag", diag_name(diag)}};
}

json::object error_line(const std::string& message) { return {{"op", "error"}, {"message", message}}; }

}  // namespace

Result<Config> parse_config(const json::object& o) {
  static const std::set<std::string_view> known = {"op", "local", "min_tx_ms", "min_rx_ms", "detect_mult", "peers"};
  for (const auto& kv : o)
    if (!known.contains(kv.key())) {
      auto key = kv.key().substr(0, 64);
      while (kv.key().size() > 64 && !key.empty() && (static_cast<unsigned char>(key.back()) & 0xc0) == 0x80) key.remove_suffix(1);  // whole characters only
      if (kv.key().size() > 64 && !key.empty() && static_cast<unsigned char>(key.back()) >= 0xc0) key.remove_suffix(1);
      return invalid("unknown field " + std::string(key));
    }
  Config c;
  NT_ASSIGN(c.local, address_field(o.if_contains("local"), "local"));
  NT_ASSIGN(auto tx, integer_field(o, "min_tx_ms", kMinIntervalMs, kMaxIntervalMs));
  NT_ASSIGN(auto rx, integer_field(o, "min_rx_ms", kMinIntervalMs, kMaxIntervalMs));
  NT_ASSIGN(auto mult, integer_field(o, "detect_mult", 1, 255));
  c.timers = Timers{std::chrono::milliseconds(tx), std::chrono::milliseconds(rx), static_cast<uint8_t>(mult)};
  NT_ASSIGN(c.peers, peers_field(o, c.local));
  return c;
}

namespace {

class Daemon;

// One control connection: JSON lines in, JSON lines out (queued, one write at a time).
class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(unix_stream::socket socket, Daemon& daemon) : socket_(std::move(socket)), daemon_(daemon) {}
  void start() { read(); }
  void send(const json::object& line);
  // Sends `line`, then closes (the connection can no longer be read in step).
  void send_and_close(const json::object& line);
  void close();

 private:
  void read();
  void take(size_t n);
  void write_next();

  unix_stream::socket socket_;
  Daemon& daemon_;
  std::string in_;
  std::array<char, 65536> buffer_{};
  std::deque<std::string> out_;
  size_t pending_ = 0;
  bool writing_ = false, closing_ = false, closed_ = false;
};

struct Peer {
  uint32_t ip = 0;
  Session session;
  uint16_t src_port = kSourcePortFirst;
  uint64_t tx = 0, rx = 0;
  Clock::time_point deadline;  // as entered in Daemon::schedule_
};

class Daemon {
 public:
  Daemon(asio::io_context& io, kernel::PacketSocket socket, unix_stream::acceptor acceptor, std::string control_path)
      : io_(io), device_(socket.interface()), socket_(std::move(socket)), packets_(io, socket_.fd()), timer_(io),
        view_timer_(io), signals_(io, SIGINT, SIGTERM),
        acceptor_(std::move(acceptor)), control_path_(std::move(control_path)), rng_(std::random_device{}()),
        random_(default_random()) {}
  ~Daemon() { packets_.release(); }  // the packet socket closes its own descriptor

  void start();
  void on_line(const std::shared_ptr<Client>& client, std::string_view line);
  void forget(const std::shared_ptr<Client>& client) { clients_.erase(client); }

 private:
  void accept();
  void wait_packets();
  void reopen_socket(Clock::time_point now);
  void on_frame(std::span<const uint8_t> bytes, Clock::time_point now);
  void arm_timer();
  void on_timer();
  void apply(Peer& p, const Output& out, Clock::time_point now);
  void reschedule(Peer& p);
  void transmit(Peer& p, const ControlPacket& packet);
  void configure(const Config& c, Clock::time_point now);
  void add_peer(uint32_t ip, Clock::time_point now);
  void remove_peer(uint32_t ip, Clock::time_point now);
  json::object states(Clock::time_point now) const;
  void broadcast(const json::object& line);
  void send_views();
  void refresh_views();
  void on_view(const ParsedView& view, Clock::time_point now);
  bool drop_view(uint32_t peer);
  json::object views_object() const;
  void shutdown();

  asio::io_context& io_;
  std::string device_;
  kernel::PacketSocket socket_;
  asio::posix::stream_descriptor packets_;
  uint64_t generation_ = 0;  // of socket_: a wait on an older one is over
  Clock::time_point next_reopen_{};
  asio::steady_timer timer_;
  Clock::time_point armed_ = Clock::time_point::max();
  asio::steady_timer view_timer_;
  struct View {
    std::vector<uint32_t> up;
    Clock::time_point at;
  };
  std::map<uint32_t, View> views_;  // by the peer that sent it
  asio::signal_set signals_;
  unix_stream::acceptor acceptor_;
  std::string control_path_;
  std::optional<Config> config_;
  std::map<uint32_t, Peer> peers_;                    // by VTEP
  std::unordered_map<uint32_t, uint32_t> by_discriminator_;  // local discriminator -> VTEP
  std::set<std::pair<Clock::time_point, uint32_t>> schedule_;
  std::set<std::shared_ptr<Client>> clients_;
  std::mt19937 rng_;
  RandomSource random_;
};

void Client::send(const json::object& line) {
  if (closed_ || closing_) return;
  auto text = json::serialize(line) + "\n";
  pending_ += text.size();
  if (pending_ > kMaxPendingOutput) {
    spdlog::warn("bfd: a control client is {} bytes behind; closing it", pending_);
    close();
    return;
  }
  out_.push_back(std::move(text));
  write_next();
}

void Client::send_and_close(const json::object& line) {
  send(line);
  closing_ = true;
  if (!writing_) close();
}

void Client::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(unix_stream::socket::shutdown_both, ignored);
  socket_.close(ignored);
  daemon_.forget(shared_from_this());
}

void Client::read() {
  socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
    if (self->closed_ || self->closing_) return;
    if (ec) return self->close();
    self->take(n);
  });
}

void Client::take(size_t n) {
  size_t scanned = in_.size();
  in_.append(buffer_.data(), n);
  size_t start = 0;
  for (size_t nl; (nl = in_.find('\n', scanned)) != std::string::npos; scanned = start = nl + 1) {
    if (nl - start > kMaxLine) return send_and_close(error_line("line longer than 1 MiB"));
    daemon_.on_line(shared_from_this(), std::string_view(in_).substr(start, nl - start));
    if (closed_ || closing_) return;
  }
  in_.erase(0, start);
  if (in_.size() > kMaxLine) return send_and_close(error_line("line longer than 1 MiB"));
  read();
}

void Client::write_next() {
  if (writing_ || out_.empty() || closed_) return;
  writing_ = true;
  asio::async_write(socket_, asio::buffer(out_.front()), [self = shared_from_this()](boost::system::error_code ec, size_t) {
    self->writing_ = false;
    if (self->closed_) return;
    if (ec) return self->close();
    self->pending_ -= self->out_.front().size();
    self->out_.pop_front();
    if (self->out_.empty() && self->closing_) return self->close();
    self->write_next();
  });
}

void Daemon::start() {
  signals_.async_wait([this](boost::system::error_code ec, int signo) {
    if (ec) return;
    spdlog::info("bfd: signal {}: AdminDown to every peer, stopping", signo);
    shutdown();
  });
  accept();
  wait_packets();
  refresh_views();
}

void Daemon::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, unix_stream::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec && clients_.size() >= kMaxClients) {
      spdlog::warn("bfd: {} control clients already; refusing one more", clients_.size());
    } else if (!ec) {
      auto client = std::make_shared<Client>(std::move(socket), *this);
      clients_.insert(client);
      client->send({{"op", "hello"}, {"protocol", 1}, {"pid", static_cast<int64_t>(::getpid())}});
      if (config_) client->send(states(Clock::now()));
      client->start();
    } else {
      spdlog::warn("bfd: accept on {}: {}", control_path_, ec.message());
    }
    accept();
  });
}

void Daemon::on_line(const std::shared_ptr<Client>& client, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return;
  if (!valid_utf8(line)) return client->send_and_close(error_line("line is not UTF-8"));
  boost::system::error_code ec;
  auto value = json::parse(line, ec);
  if (ec) return client->send_and_close(error_line("line is not JSON: " + ec.message()));
  if (!value.is_object()) return client->send(error_line("a line must be a JSON object"));
  const auto& o = value.get_object();
  auto* op = o.if_contains("op");
  auto now = Clock::now();
  if (op && op->is_string() && op->get_string() == "get") return client->send(states(now));
  if (!op || !op->is_string() || op->get_string() != "config") return client->send(error_line("op must be \"config\" or \"get\""));
  auto config = parse_config(o);
  if (!config) return client->send(error_line(config.error().message));
  configure(*config, now);
  client->send(states(now));
}

void Daemon::configure(const Config& c, Clock::time_point now) {
  if (config_ && config_->local != c.local) {
    spdlog::info("bfd: local address {} -> {}: every session starts again", ipv4_text(config_->local), ipv4_text(c.local));
    while (!peers_.empty()) remove_peer(peers_.begin()->first, now);
  }
  std::vector<uint32_t> gone;
  for (const auto& [ip, p] : peers_)
    if (!std::binary_search(c.peers.begin(), c.peers.end(), ip)) gone.push_back(ip);
  for (auto ip : gone) remove_peer(ip, now);
  config_ = c;
  for (auto ip : c.peers) {
    auto it = peers_.find(ip);
    if (it == peers_.end()) add_peer(ip, now);
    else apply(it->second, it->second.session.set_timers(c.timers, now), now);
  }
  arm_timer();
}

void Daemon::add_peer(uint32_t ip, Clock::time_point now) {
  uint32_t disc = 0;
  while (disc == 0 || by_discriminator_.contains(disc)) disc = static_cast<uint32_t>(rng_());
  auto port = static_cast<uint16_t>(kSourcePortFirst + rng_() % (65536 - kSourcePortFirst));
  auto [it, added] = peers_.emplace(ip, Peer{ip, Session(disc, config_->timers, now, random_), port, 0, 0, now});
  by_discriminator_[disc] = ip;
  schedule_.insert({it->second.deadline, ip});
  reschedule(it->second);
}

void Daemon::remove_peer(uint32_t ip, Clock::time_point now) {
  auto it = peers_.find(ip);
  if (it == peers_.end()) return;
  apply(it->second, it->second.session.admin_down(now), now);
  schedule_.erase({it->second.deadline, ip});
  by_discriminator_.erase(it->second.session.local_discriminator());
  peers_.erase(it);
}

void Daemon::transmit(Peer& p, const ControlPacket& packet) {
  FrameAddress to{peer_mac(p.ip), peer_mac(config_->local), config_->local, kLoopback, p.src_port};
  auto frame = build_frame(to, packet);
  if (auto sent = socket_.send(frame); !sent) {
    spdlog::debug("bfd {}: {}", ipv4_text(p.ip), sent.error().message);
    reopen_socket(Clock::now());
    return;
  }
  ++p.tx;
}

void Daemon::apply(Peer& p, const Output& out, Clock::time_point now) {
  if (out.send) transmit(p, *out.send);
  if (out.changed) {
    const auto& t = *out.changed;
    spdlog::info("bfd {}: {} -> {} ({})", ipv4_text(p.ip), state_name(t.from), state_name(t.to), diag_name(t.diag));
    broadcast(transition_line(p.ip, t.to, t.diag));
    if (t.from == State::up && drop_view(p.ip)) broadcast({{"op", "views"}, {"views", views_object()}});
    if (t.from == State::up || t.to == State::up) send_views();
    if (t.to == State::up)  // the path is back, likely for the other sessions too: ask them now
      for (auto& [ip, other] : peers_)
        if (ip != p.ip && (other.session.state() == State::down || other.session.state() == State::init)) apply(other, other.session.nudge(now), now);
  }
  reschedule(p);
}

void Daemon::reschedule(Peer& p) {
  auto next = p.session.next_deadline();
  if (next == p.deadline) return;
  schedule_.erase({p.deadline, p.ip});
  p.deadline = next;
  schedule_.insert({next, p.ip});
}

void Daemon::arm_timer() {
  auto next = schedule_.empty() ? Clock::time_point::max() : schedule_.begin()->first;
  if (next == armed_) return;
  armed_ = next;
  if (next == Clock::time_point::max()) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(next);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    armed_ = Clock::time_point::max();
    on_timer();
  });
}

void Daemon::on_timer() {
  auto now = Clock::now();
  std::vector<uint32_t> due;
  for (auto it = schedule_.begin(); it != schedule_.end() && it->first <= now; ++it) due.push_back(it->second);
  for (auto ip : due)
    if (auto it = peers_.find(ip); it != peers_.end()) apply(it->second, it->second.session.on_timer(now), now);
  arm_timer();
}

void Daemon::wait_packets() {
  auto wait = [this, generation = generation_](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted || generation != generation_) return;
    if (ec) spdlog::warn("bfd: waiting on {}: {}", device_, ec.message());
    for (int i = 0; i < kMaxFramesPerWake; ++i) {
      auto frame = socket_.receive();
      if (!frame) {
        spdlog::warn("bfd: {}", frame.error().message);
        reopen_socket(Clock::now());
        break;
      }
      if (!*frame) break;
      on_frame((*frame)->bytes, Clock::now());
    }
    arm_timer();
    if (generation == generation_) wait_packets();  // else the new socket waits already
  };
  packets_.async_wait(asio::posix::stream_descriptor::wait_read, std::move(wait));
}

// A new packet socket on the device (by name: a device made again has a new index).
void Daemon::reopen_socket(Clock::time_point now) {
  if (now < next_reopen_) return;
  next_reopen_ = now + kReopenEvery;
  auto fresh = kernel::PacketSocket::open(device_);
  if (!fresh) return spdlog::warn("bfd: {}", fresh.error().message);
  if (fresh->ifindex() == socket_.ifindex()) return;  // the same device: nothing to gain
  spdlog::info("bfd: {} has a new index ({}): a new packet socket", device_, fresh->ifindex());
  packets_.release();  // a pending wait ends (operation_aborted)
  socket_ = std::move(*fresh);
  packets_.assign(socket_.fd());
  ++generation_;
  wait_packets();
}

// A frame from the device to our MAC: the session of its inner source (the peer's VTEP),
// else the one its your-discriminator names; anything else is ignored.
void Daemon::on_frame(std::span<const uint8_t> bytes, Clock::time_point now) {
  if (!config_) return;
  auto parsed = parse_frame(bytes);
  if (!parsed) {
    if (auto view = parse_view_frame(bytes); view && view->address.dst_mac == peer_mac(config_->local)) on_view(*view, now);
    return;
  }
  if (parsed->address.dst_mac != peer_mac(config_->local)) return;
  auto it = peers_.find(parsed->address.src_ip);
  if (it == peers_.end()) {
    auto d = by_discriminator_.find(parsed->packet.your_discriminator);
    if (parsed->packet.your_discriminator == 0 || d == by_discriminator_.end()) return;
    it = peers_.find(d->second);
  }
  auto out = it->second.session.on_packet(parsed->packet, now);
  if (out.refused) return;
  ++it->second.rx;
  apply(it->second, out, now);
}

json::object Daemon::states(Clock::time_point now) const {
  json::object peers;
  for (const auto& [ip, p] : peers_) {
    auto since = std::chrono::duration_cast<std::chrono::milliseconds>(now - p.session.since()).count();
    peers[ipv4_text(ip)] = json::object{{"state", state_name(p.session.state())},
                                        {"diag", diag_name(p.session.diag())},
                                        {"since_ms", static_cast<int64_t>(std::max<int64_t>(since, 0))},
                                        {"tx", p.tx},
                                        {"rx", p.rx}};
  }
  json::value local = config_ ? json::value(ipv4_text(config_->local)) : json::value(nullptr);
  return {{"op", "states"}, {"local", local}, {"peers", std::move(peers)}, {"views", views_object()}};
}

// Our view (the peers up, sorted) to every peer that is up.
void Daemon::send_views() {
  if (!config_) return;
  std::vector<uint32_t> up;
  for (const auto& [ip, p] : peers_)
    if (p.session.state() == State::up) up.push_back(ip);
  for (const auto& ip : up) {
    auto& p = peers_.at(ip);
    FrameAddress to{peer_mac(ip), peer_mac(config_->local), config_->local, kLoopback, p.src_port};
    if (auto sent = socket_.send(build_view_frame(to, up)); !sent) spdlog::debug("bfd {}: view: {}", ipv4_text(ip), sent.error().message);
  }
}

void Daemon::refresh_views() {
  auto now = Clock::now();
  bool expired = false;
  for (auto it = views_.begin(); it != views_.end();)
    if (now - it->second.at > kViewLife) it = views_.erase(it), expired = true;
    else ++it;
  if (expired) broadcast({{"op", "views"}, {"views", views_object()}});
  send_views();
  view_timer_.expires_after(kViewRefresh);
  view_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) refresh_views();
  });
}

// A view from a peer whose session is up (anyone else's is not believed).
void Daemon::on_view(const ParsedView& view, Clock::time_point now) {
  auto it = peers_.find(view.address.src_ip);
  if (it == peers_.end() || it->second.session.state() != State::up) return;
  auto& mine = views_[view.address.src_ip];
  bool changed = mine.up != view.up || mine.at == Clock::time_point{};
  mine = View{view.up, now};
  if (changed) broadcast({{"op", "views"}, {"views", views_object()}});
}

bool Daemon::drop_view(uint32_t peer) { return views_.erase(peer) > 0; }

json::object Daemon::views_object() const {
  json::object out;
  for (const auto& [ip, v] : views_) {
    json::array up;
    for (auto x : v.up) up.push_back(json::value(ipv4_text(x)));
    out[ipv4_text(ip)] = std::move(up);
  }
  return out;
}

void Daemon::broadcast(const json::object& line) {
  auto clients = clients_;  // a client may go away while sending
  for (const auto& c : clients) c->send(line);
}

void Daemon::shutdown() {
  auto now = Clock::now();
  view_timer_.cancel();
  for (auto& [ip, p] : peers_) transmit(p, *p.session.admin_down(now).send);
  std::error_code ignored;
  std::filesystem::remove(control_path_, ignored);
  io_.stop();
}

// The control socket: a stale file (nobody answering) is removed; a live daemon is not.
Result<unix_stream::acceptor> open_control(asio::io_context& io, const std::string& path) {
  std::error_code fs_ec;
  auto status = std::filesystem::symlink_status(path, fs_ec);
  if (std::filesystem::exists(status)) {
    if (!std::filesystem::is_socket(status)) return invalid(path + " exists and is not a socket");
    unix_stream::socket probe(io);
    boost::system::error_code ec;
    probe.connect(unix_stream::endpoint(path), ec);
    if (!ec) return fail(Errc::conflict, Origin::unspecified, "another daemon answers on " + path);
    if (ec != asio::error::connection_refused && ec != asio::error::not_found)
      return fail(Errc::unavailable, Origin::unspecified, "probing " + path + ": " + ec.message());
    spdlog::info("bfd: removing the stale socket {}", path);
    std::filesystem::remove(path, fs_ec);
  }
  boost::system::error_code ec;
  unix_stream::acceptor acceptor(io);
  acceptor.open(unix_stream(), ec);
  if (!ec) acceptor.bind(unix_stream::endpoint(path), ec);
  if (!ec) std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, fs_ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(Errc::unavailable, Origin::unspecified, "control socket " + path + ": " + ec.message());
  return acceptor;
}

}  // namespace

int run_daemon(const std::string& device, const std::string& control_path) {
  auto socket = kernel::PacketSocket::open(device);
  if (!socket) return spdlog::error("neutrino-bfd: {}", socket.error().message), 1;
  asio::io_context io;
  auto acceptor = open_control(io, control_path);
  if (!acceptor) return spdlog::error("neutrino-bfd: {}", acceptor.error().message), 1;
  Daemon daemon(io, std::move(*socket), std::move(*acceptor), control_path);
  daemon.start();
  spdlog::info("bfd: on {}, control {}", device, control_path);
  for (;;) {
    try {
      io.run();
      return 0;
    } catch (const std::exception& e) {  // last line of defence: log, keep the sessions
      spdlog::error("bfd: {}", e.what());
    }
  }
}

}  // namespace nt::bfd
