#include "watch_fleet.h"

#include <boost/beast.hpp>

#include <algorithm>
#include <optional>
#include <thread>

#include "agent/watch_line.h"
#include "channel/view_digest.h"

namespace nt::bench {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

void Deliveries::expect(const std::string& port, Clock::time_point bind_sent, int hosts) {
  std::lock_guard g(mu_);
  awaited_[port] = {bind_sent, hosts, 0};
  expected_ += static_cast<uint64_t>(hosts);
}

void Deliveries::delivered(const std::string& port, Clock::time_point at) {
  std::lock_guard g(mu_);
  auto it = awaited_.find(port);
  if (it == awaited_.end() || it->second.remaining == 0) return;
  double ms = std::chrono::duration<double, std::milli>(at - it->second.sent).count();
  each_ms_.push_back(ms);
  it->second.last_ms = std::max(it->second.last_ms, ms);
  --it->second.remaining;
}

Deliveries::Summary Deliveries::summary() const {
  std::lock_guard g(mu_);
  Summary s{each_ms_, {}, expected_, 0};
  for (const auto& [port, a] : awaited_) {
    s.missing += static_cast<uint64_t>(a.remaining);
    if (a.remaining == 0) s.last_ms.push_back(a.last_ms);
  }
  return s;
}

// One agent's watch stream. Every handler runs on the watcher's strand; the state is also
// read by the main thread (state()), hence its mutex.
class Watcher : public std::enable_shared_from_this<Watcher> {
 public:
  Watcher(asio::io_context& io, const FleetOptions& o, Deliveries& d, std::string host, std::string token)
      : strand_(asio::make_strand(io)), options_(o), deliveries_(d), token_(std::move(token)), retry_(strand_) {
    st_.host = std::move(host);
    endpoint_ = {asio::ip::make_address(o.host), static_cast<unsigned short>(std::stoi(o.port))};
  }

  void start() { asio::post(strand_, [self = shared_from_this()] { self->connect(); }); }
  void stop() { asio::post(strand_, [self = shared_from_this()] { self->stopped_ = true, self->close(); }); }
  void pause() { asio::post(strand_, [self = shared_from_this()] { self->paused_ = true, self->close(); }); }
  void resume() {
    asio::post(strand_, [self = shared_from_this()] {
      if (!self->paused_) return;
      self->paused_ = false;
      self->connect();
    });
  }

  WatcherState state() const {
    std::lock_guard g(mu_);
    return st_;
  }
  Clock::time_point last_synced() const {
    std::lock_guard g(mu_);
    return st_.last_synced;
  }

 private:
  // The agent's resume: from its revision (the one before if a revision may have come in
  // part), with its view's digest.
  std::string target() {
    std::lock_guard g(mu_);
    int64_t since = st_.rev_whole ? st_.rev : st_.rev - 1;
    std::string t = "/agent/v1/hosts/" + st_.host + "/watch";
    if (since < 0) return t;
    t += "?since=" + std::to_string(since);
    if (st_.have_view) t += "&digest=" + view::Digest::to_hex(view::digest_of(st_.view));
    resuming_ = true;
    return t;
  }

  void connect() {
    if (stopped_ || paused_ || stream_) return;
    synced_ = resuming_ = false;
    req_ = {http::verb::get, target(), 11};
    req_.set(http::field::host, options_.host);
    req_.set("X-Neutrino-Host-Token", token_);
    stream_.emplace(strand_);
    buf_.clear();
    auto gen = ++generation_;  // handlers of a closed stream find a newer generation and stop
    stream_->expires_after(std::chrono::seconds(5));
    stream_->async_connect(endpoint_, [self = shared_from_this(), gen](error_code ec) {
      if (gen != self->generation_) return;
      if (ec) return self->ended();
      self->stream_->expires_after(std::chrono::seconds(15));
      http::async_write(*self->stream_, self->req_, [self, gen](error_code ec, size_t) {
        if (gen != self->generation_) return;
        if (ec) return self->ended();
        self->parser_.emplace();
        self->parser_->body_limit(boost::none);
        http::async_read_header(*self->stream_, self->buf_, *self->parser_, [self, gen](error_code ec, size_t) {
          if (gen != self->generation_) return;
          if (ec || self->parser_->get().result_int() != 200) return self->ended();
          {
            std::lock_guard g(self->mu_);
            ++self->st_.streams;
          }
          self->take_lines();
          self->read_more(gen);
        });
      });
    });
  }

  // The server's keepalives come every second: 15 s of silence is a lost server.
  void read_more(uint64_t gen) {
    stream_->expires_after(std::chrono::seconds(15));
    http::async_read_some(*stream_, buf_, *parser_, [self = shared_from_this(), gen](error_code ec, size_t) {
      if (gen != self->generation_) return;
      self->take_lines();
      if (ec || self->parser_->is_done()) return self->ended();
      self->read_more(gen);
    });
  }

  void take_lines() {
    auto& body = parser_->get().body();
    size_t start = 0;
    for (size_t nl; (nl = body.find('\n', start)) != std::string::npos; start = nl + 1)
      on_line(body.substr(start, nl - start));
    body.erase(0, start);
  }

  // As the agent's watch loop: a full view is collected apart and swapped in at `synced`.
  void on_line(const std::string& line) {
    auto now = Clock::now();
    agent::LineResult got;
    {
      std::lock_guard g(mu_);
      st_.bytes += line.size() + 1;
      ++st_.lines;
      if (synced_ || resuming_) {
        got = agent::apply_line(st_.view, line, st_.rev);
        if (got.op == "hello" && got.full) resuming_ = false;
      } else {
        got = agent::apply_line(incoming_, line, incoming_rev_);
        if (got.op == "synced") st_.view = std::move(incoming_), incoming_ = {}, st_.rev = incoming_rev_;
      }
      if (got.op == "hello" && got.full) ++st_.snapshots;
      if (got.op == "keepalive") st_.keepalive_bytes += line.size() + 1;
      if (!got.kind.empty()) st_.bytes_by_kind[got.kind] += line.size() + 1;
      if (!got.kind.empty() && got.line_rev != st_.last_change_rev) ++st_.changes, st_.last_change_rev = got.line_rev;
      if (got.op == "put" || got.op == "del") st_.rev_whole = false;
      if (synced_ && agent::closes_revision(got, st_.rev)) st_.rev_whole = true;
      if (got.op == "synced") st_.rev_whole = synced_ = st_.have_view = true, st_.last_synced = now;
    }
    if (got.op == "put" && (got.kind == "port" || got.kind == "l2pop")) deliveries_.delivered(got.id, now);
  }

  void close() {
    retry_.cancel();
    if (!stream_) return;
    ++generation_;
    error_code ignored;
    stream_->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream_->close();
    stream_.reset();
    incoming_ = {};
  }

  // The stream ended or failed: again in a second, as the agent does with one server.
  void ended() {
    {
      std::lock_guard g(mu_);
      ++st_.ends;
    }
    close();
    if (stopped_ || paused_) return;
    retry_.expires_after(std::chrono::seconds(1));
    retry_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->connect();
    });
  }

  asio::strand<asio::io_context::executor_type> strand_;
  const FleetOptions& options_;
  Deliveries& deliveries_;
  std::string token_;
  asio::ip::tcp::endpoint endpoint_;
  asio::steady_timer retry_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buf_;
  http::request<http::empty_body> req_;
  std::optional<http::response_parser<http::string_body>> parser_;
  uint64_t generation_ = 0;  // of the current stream
  bool stopped_ = false, paused_ = false;
  bool synced_ = false, resuming_ = false;  // this stream's snapshot/resume is complete; it resumes
  view::HostView incoming_;
  int64_t incoming_rev_ = -1;
  mutable std::mutex mu_;
  WatcherState st_;
};

Fleet::Fleet(FleetOptions options, Deliveries& deliveries) : options_(std::move(options)), deliveries_(deliveries) {}

Fleet::~Fleet() { stop(); }

void Fleet::start(const std::vector<std::pair<std::string, std::string>>& hosts) {
  work_ = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(io_.get_executor());
  for (const auto& [host, token] : hosts) {
    watchers_.push_back(std::make_shared<Watcher>(io_, options_, deliveries_, host, token));
    watchers_.back()->start();
  }
  for (int t = 0; t < std::max(1, options_.threads); ++t) threads_.emplace_back([this] { io_.run(); });
}

void Fleet::stop() {
  if (threads_.empty()) return;
  for (auto& w : watchers_) w->stop();
  work_.reset();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Fleet::pause(size_t i) { watchers_.at(i)->pause(); }
void Fleet::resume(size_t i) { watchers_.at(i)->resume(); }
size_t Fleet::size() const { return watchers_.size(); }
WatcherState Fleet::state(size_t i) const { return watchers_.at(i)->state(); }

size_t Fleet::synced_since(Clock::time_point since) const {
  return static_cast<size_t>(
      std::count_if(watchers_.begin(), watchers_.end(), [&](const auto& w) { return w->last_synced() >= since; }));
}

}  // namespace nt::bench
