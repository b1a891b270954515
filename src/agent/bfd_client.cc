#include "agent/bfd_client.h"

#include <fcntl.h>
#include <signal.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <spdlog/spdlog.h>

namespace nt::agent {
namespace json = boost::json;

namespace {

constexpr size_t kMaxLine = 1 << 20;

// A session that went down, as opposed to one not up yet: the daemon names why.
bool failed(const std::string& state, const std::string& diag) {
  return state != "up" && !diag.empty() && diag != "none" && diag != "no_diagnostic";
}

int connect_unix(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return -1;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  // A daemon that stopped reading must not hold up the agent's pass: sends give up after 1 s.
  timeval limit{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  return fd;
}

bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    auto n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

BfdClient::BfdClient(BfdOptions options, std::function<void()> on_change)
    : options_(std::move(options)), on_change_(std::move(on_change)) {
  if (!options_.enabled) return;
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  thread_ = std::thread([this] { run(); });
}

BfdClient::~BfdClient() {
  stopping_ = true;
  cv_.notify_all();
  if (wake_[1] >= 0) (void)!::write(wake_[1], "x", 1);
  if (thread_.joinable()) thread_.join();
  for (int fd : wake_)
    if (fd >= 0) ::close(fd);
  if (fd_ >= 0) ::close(fd_);
}

void BfdClient::configure(std::vector<std::string> peers) {
  if (!options_.enabled) return;
  std::lock_guard g(mu_);
  if (have_peers_ && peers == peers_ && sent_) return;
  if (!have_peers_) configured_at_ = std::chrono::steady_clock::now();
  peers_ = std::move(peers);
  have_peers_ = true;
  sent_ = false;
  if (fd_ >= 0) send_config_locked();
  cv_.notify_all();
}

bool BfdClient::send_config_locked() {
  json::array peers(peers_.begin(), peers_.end());
  json::object o{{"op", "config"},           {"local", options_.local_ip},          {"min_tx_ms", options_.min_tx_ms},
                 {"min_rx_ms", options_.min_rx_ms}, {"detect_mult", options_.detect_mult}, {"peers", std::move(peers)}};
  sent_ = write_all(fd_, json::serialize(o) + "\n");
  return sent_;
}

// Isolated: peers to have, none of them up, and some session failed. A session that never
// came up does not count as failed (its peer may not run BFD), but neither does it keep a
// host from being isolated: a cut-off gateway that gets a new peer stays isolated.
bool BfdClient::isolated_locked(std::chrono::steady_clock::time_point) const {
  if (peers_.empty() || !known_) return false;
  bool any_failed = false;
  for (const auto& peer : peers_) {
    auto s = sessions_.find(peer);
    if (s == sessions_.end()) continue;
    if (s->second.state == "up") return false;
    any_failed = any_failed || failed(s->second.state, s->second.diag);
  }
  return any_failed;
}

void BfdClient::note_isolation_locked(std::chrono::steady_clock::time_point now) {
  bool iso = isolated_locked(now);
  if (was_isolated_ && !iso) unisolated_at_ = now;
  was_isolated_ = iso;
}

// After isolation a host waits this long before it may become active: enough for its
// sessions and its peers' views to say who is active already (no failback, no overlap).
std::chrono::milliseconds BfdClient::hold_down() const {
  return std::chrono::milliseconds(options_.detect_mult * std::max(options_.min_tx_ms, options_.min_rx_ms));
}

bool BfdClient::wait_known(std::chrono::milliseconds limit) {
  if (!options_.enabled) return true;
  std::unique_lock g(mu_);
  return cv_.wait_for(g, limit, [&] { return known_ || stopping_.load(); }) && known_;
}

Liveness BfdClient::liveness() const {
  std::lock_guard g(mu_);
  Liveness out;
  if (!known_) return out;
  auto now = std::chrono::steady_clock::now();
  for (const auto& peer : peers_) {
    auto s = sessions_.find(peer);
    if (s != sessions_.end() && failed(s->second.state, s->second.diag)) out.failed.insert(peer);
  }
  out.isolated = isolated_locked(now);
  out.settling = !out.isolated && unisolated_at_ != std::chrono::steady_clock::time_point{} && now - unisolated_at_ < hold_down();
  for (const auto& [peer, up] : views_)
    if (auto s = sessions_.find(peer); s != sessions_.end() && s->second.state == "up")
      for (const auto& other : up)
        if (other != options_.local_ip) out.vouched.insert(other);
  return out;
}

std::map<std::string, std::string> BfdClient::states() const {
  std::lock_guard g(mu_);
  std::map<std::string, std::string> out;
  for (const auto& [peer, s] : sessions_) out[peer] = s.state;
  return out;
}

void BfdClient::run() {
  auto backoff = std::chrono::milliseconds(500);
  while (!stopping_) {
    {
      std::unique_lock g(mu_);
      cv_.wait(g, [&] { return stopping_ || (have_peers_ && !peers_.empty()); });
    }
    if (stopping_) break;
    if (!connect_or_spawn()) {
      std::unique_lock g(mu_);
      cv_.wait_for(g, backoff, [&] { return stopping_.load(); });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
      continue;
    }
    backoff = std::chrono::milliseconds(500);
    read_lines();
    {
      std::lock_guard g(mu_);
      ::close(fd_);
      fd_ = -1;
    }
    if (!stopping_) spdlog::warn("BFD daemon connection lost; keeping the last known sessions until it is back");
  }
}

bool BfdClient::connect_or_spawn() {
  int fd = connect_unix(options_.control_socket);
  if (fd < 0) {
    if (::access(options_.binary.c_str(), X_OK) != 0)
      return spdlog::error("BFD daemon: {} cannot be run: {}; gateway HA follows the server only", options_.binary,
                           std::strerror(errno)),
             false;
    spawn_daemon();
    for (int i = 0; i < 40 && fd < 0 && !stopping_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50)), fd = connect_unix(options_.control_socket);
  }
  if (fd < 0) return spdlog::error("BFD daemon: no answer on {}", options_.control_socket), false;
  std::lock_guard g(mu_);
  fd_ = fd;
  if (!send_config_locked()) spdlog::warn("BFD daemon: sending the configuration failed");
  return true;
}

// Double fork: the daemon is re-parented away from the agent and leads a session of its
// own, so neither the agent's death nor a signal to its process group reaches it.
void BfdClient::spawn_daemon() {
  std::vector<std::string> args = {options_.binary, "--device", options_.device, "--control", options_.control_socket};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string log = options_.control_socket + ".log";
  pid_t child = ::fork();
  if (child < 0) return spdlog::error("BFD daemon: fork: {}", std::strerror(errno));
  if (child == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    // The daemon inherits neither the agent's blocked signals (it stops on SIGTERM) nor its
    // descriptors (the watch connection, clients' sockets: they would outlive the agent).
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int null = ::open("/dev/null", O_RDONLY);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (null >= 0) ::dup2(null, 0);
    if (out >= 0) ::dup2(out, 1), ::dup2(out, 2);
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  spdlog::info("started the BFD daemon {} (log {})", options_.binary, log);
}

void BfdClient::read_lines() {
  std::string buffer;
  char chunk[65536];
  while (!stopping_) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    bool settling = liveness().settling;
    if (::poll(fds, wake_[0] >= 0 ? 2 : 1, settling ? 50 : 1000) < 0 && errno != EINTR) return;
    if (settling && !liveness().settling) on_change_();  // the hold-down is over: decide again
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    auto n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    buffer.append(chunk, static_cast<size_t>(n));
    bool changed = false;
    for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
      changed = take_line(buffer.substr(0, nl)) || changed;
      buffer.erase(0, nl + 1);
    }
    if (buffer.size() > kMaxLine) return spdlog::error("BFD daemon: a line longer than {} bytes", kMaxLine);
    if (changed) on_change_();
  }
}

// One line of the daemon; whether a session's state changed.
bool BfdClient::take_line(const std::string& line) {
  boost::system::error_code ec;
  auto v = json::parse(line, ec);
  if (ec || !v.is_object()) return spdlog::warn("BFD daemon: not a JSON object: {:.200}", line), false;
  const auto& o = v.as_object();
  auto str = [](const json::object& obj, const char* key) {
    const auto* x = obj.if_contains(key);
    return x && x->is_string() ? std::string(x->get_string()) : std::string();
  };
  auto op = str(o, "op");
  if (op == "hello") {
    if (const auto* pid = o.if_contains("pid"); pid && pid->is_int64())
      std::ofstream(options_.control_socket + ".pid") << pid->get_int64() << "\n";
    return false;
  }
  if (op == "error") {  // our configuration was refused: sent again with the next pass
    std::lock_guard g(mu_);
    sent_ = false;
    return spdlog::error("BFD daemon refused the configuration: {}", str(o, "message")), false;
  }
  std::lock_guard g(mu_);
  bool changed = false;
  auto update = [&](const std::string& peer, Session s) {
    auto& cur = sessions_[peer];
    if (cur.state != s.state) spdlog::info("BFD session with {}: {} ({})", peer, s.state, s.diag.empty() ? "-" : s.diag);
    changed = changed || cur.state != s.state || failed(cur.state, cur.diag) != failed(s.state, s.diag);
    cur = std::move(s);
  };
  if (op == "state") update(str(o, "peer"), Session{str(o, "state"), str(o, "diag")});
  if (const auto* views = o.if_contains("views"); views && views->is_object()) {
    std::map<std::string, std::set<std::string>> next;
    for (const auto& kv : views->as_object())
      if (kv.value().is_array())
        for (const auto& ip : kv.value().as_array())
          if (ip.is_string()) next[std::string(kv.key())].insert(std::string(ip.get_string()));
    changed = changed || next != views_;
    views_ = std::move(next);
  }
  if (op == "states") {
    // The whole picture (after a connect or a config): sessions not in it are gone.
    std::map<std::string, Session> before;
    before.swap(sessions_);
    if (const auto* peers = o.if_contains("peers"); peers && peers->is_object())
      for (const auto& kv : peers->as_object())
        if (kv.value().is_object()) {
          auto& prev = sessions_[std::string(kv.key())];
          if (auto b = before.find(std::string(kv.key())); b != before.end()) prev = b->second;
          update(std::string(kv.key()), Session{str(kv.value().as_object(), "state"), str(kv.value().as_object(), "diag")});
        }
    changed = changed || before.size() != sessions_.size() || !known_;
    known_ = true;
    cv_.notify_all();
  }
  note_isolation_locked(std::chrono::steady_clock::now());
  return changed;
}

}  // namespace nt::agent
