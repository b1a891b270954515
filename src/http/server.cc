#include "http/server.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <map>
#include <optional>
#include <mutex>
#include <thread>
#include <type_traits>

namespace nt {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One of the server's own refusals, in the application's words.
HttpResponse refusal(const HttpServerOptions& o, Errc code, std::string message) {
  Error e{code, "", std::move(message), 0};
  e.origin = Origin::http;
  if (!o.render_error) return HttpResponse{code == Errc::internal ? 500 : 400, e.message};
  return o.render_error(e);
}

// What a request that Beast could not parse is answered with (the connection then closes).
// A request line that is well formed (method, target, version: three parts) but names
// another HTTP version ("HTTP/2.0\r\n"); Beast reports that and a malformed line (bare
// LF, a space in the target) alike.
bool other_http_version(std::string_view received) {
  auto eol = received.find("\r\n");
  if (eol == std::string_view::npos) return false;
  auto line = received.substr(0, eol);
  auto first = line.find(' '), last = line.rfind(' ');
  if (first == std::string_view::npos || first == last || line.find(' ', first + 1) != last) return false;
  auto v = line.substr(last + 1);
  return v.size() == 8 && v.substr(0, 5) == "HTTP/" && std::isdigit(static_cast<unsigned char>(v[5])) && v[6] == '.' &&
         std::isdigit(static_cast<unsigned char>(v[7]));
}

// Requests whose framing or identity is ambiguous (RFC 9112 6.3: a transfer coding other
// than chunked last; the same credential header twice with maybe different values).
template <class Message>
std::optional<std::string> framing_or_identity_problem(const Message& msg) {
  if (msg.count(http::field::transfer_encoding) && !msg.chunked())
    return "Transfer-Encoding must end with chunked.";
  for (const char* name : {"X-Auth-Token", "X-Project-Id", "X-Tenant-Id", "X-Roles", "X-Neutrino-Token",
                           "X-Neutrino-Host-Token", "X-Instance-ID", "X-Instance-ID-Signature"})
    if (msg.count(name) > 1) return std::string("The header ") + name + " is given more than once.";
  return std::nullopt;
}

HttpResponse parse_error_response(const HttpServerOptions& o, beast::error_code ec, std::string_view received) {
  if (ec == http::error::body_limit) return refusal(o, Errc::too_large, "Request is too large.");
  if (ec == http::error::bad_version && other_http_version(received))
    return refusal(o, Errc::unsupported_version, "Only HTTP/1.0 and HTTP/1.1 are supported.");
  if (ec == http::error::header_limit)
    return refusal(o, Errc::header_too_large, "The request line or its headers exceed 64 KB.");
  return refusal(o, Errc::invalid_argument, "Malformed HTTP request: " + ec.message() + ".");
}

class Evictable {
 public:
  virtual ~Evictable() = default;
  virtual void evict() = 0;
};

// Every live session, whether it is waiting for a request (and since when), and the
// bytes of answers still on their way to clients.
class Registry {
 public:
  uint64_t add(std::weak_ptr<Evictable> s) {
    std::lock_guard g(mu_);
    sessions_[++next_] = {std::move(s), Clock::now(), true};
    return next_;
  }
  void remove(uint64_t id) {
    std::lock_guard g(mu_);
    sessions_.erase(id);
  }
  void reading(uint64_t id, bool yes) {
    std::lock_guard g(mu_);
    if (auto it = sessions_.find(id); it != sessions_.end()) it->second.reading = yes, it->second.since = Clock::now();
  }
  size_t size() const {
    std::lock_guard g(mu_);
    return sessions_.size();
  }
  // Closes the session that has waited longest for a request; false if none waits. The
  // victim leaves the registry at once, so it is neither counted nor chosen twice while
  // its close is on its way.
  bool evict_oldest_reader() {
    std::shared_ptr<Evictable> victim;
    {
      std::lock_guard g(mu_);
      auto oldest = sessions_.end();
      for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
        if (it->second.reading && (oldest == sessions_.end() || it->second.since < oldest->second.since) &&
            !it->second.session.expired())
          oldest = it;
      if (oldest != sessions_.end()) {
        victim = oldest->second.session.lock();
        sessions_.erase(oldest);
      }
    }
    if (victim) victim->evict();
    return victim != nullptr;
  }
  bool reserve_output(size_t bytes, size_t limit) {
    size_t now = pending_output_.load();
    do {
      if (now + bytes > limit) return false;
    } while (!pending_output_.compare_exchange_weak(now, now + bytes));
    return true;
  }
  void release_output(size_t bytes) { pending_output_ -= bytes; }

 private:
  struct Entry {
    std::weak_ptr<Evictable> session;
    Clock::time_point since;
    bool reading = true;
  };
  mutable std::mutex mu_;
  std::map<uint64_t, Entry> sessions_;
  uint64_t next_ = 0;
  std::atomic<size_t> pending_output_{0};
};

// Answers smaller than this are always sent: the output cap is for the big ones.
constexpr size_t kAlwaysSend = 64 * 1024;

// One HTTP/1.1 connection, over TCP or a Unix socket (agents in the sandbox's host
// namespaces reach the server through one).
template <class Protocol>
class Session : public Evictable, public std::enable_shared_from_this<Session<Protocol>> {
  using std::enable_shared_from_this<Session<Protocol>>::shared_from_this;

 public:
  Session(typename Protocol::socket socket, const HttpHandler& handler, const HttpServerOptions& options,
          Registry& registry)
      : stream_(std::move(socket)), handler_(handler), options_(options), registry_(registry) {}
  ~Session() override { registry_.remove(id_); }

  void start() {
    id_ = registry_.add(this->weak_from_this());
    if constexpr (std::is_same_v<Protocol, tcp>) {
      beast::error_code ec;
      auto remote = stream_.socket().remote_endpoint(ec);
      if (!ec) peer_ = remote.address().to_string();
    }
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  void evict() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->stream_.close(); });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(options_.max_body);
    parser_->header_limit(64 * 1024);
    registry_.reading(id_, true);
    stream_.expires_after(options_.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    registry_.reading(id_, false);
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::operation_aborted)
      return close();
    if (ec && ec.category() == http::make_error_code(http::error::body_limit).category()) {
      keep_alive_ = false;
      auto data = buffer_.cdata();
      return send(parse_error_response(options_, ec, {static_cast<const char*>(data.data()), data.size()}));
    }
    if (ec) return close();
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    head_ = msg.method() == http::verb::head;
    if (msg.version() != 10 && msg.version() != 11) {
      keep_alive_ = false;
      return send(refusal(options_, Errc::unsupported_version, "Only HTTP/1.0 and HTTP/1.1 are supported."));
    }
    if (auto bad = framing_or_identity_problem(msg)) {
      keep_alive_ = false;  // what follows on this connection cannot be trusted
      return send(refusal(options_, Errc::invalid_argument, *bad));
    }
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.body = std::move(msg.body());
    req.peer = peer_;
    for (const auto& field : msg) req.headers[lower(std::string(field.name_string()))] = std::string(field.value());
    auto self = shared_from_this();
    auto reply = [self](HttpResponse r) {
      asio::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
    };
    try {
      handler_(std::move(req), reply);
    } catch (const std::exception& e) {
      spdlog::error("handler threw: {}", e.what());
      reply(refusal(options_, Errc::internal, "Request Failed: internal server error while processing your request."));
    }
  }

  // Big answers count against the server-wide output cap until the client took them.
  void send(HttpResponse r) {
    if (r.stream) return send_stream(std::move(r));
    size_t reserved = 0;
    if (r.body.size() > kAlwaysSend && !head_) {
      if (registry_.reserve_output(r.body.size(), options_.max_pending_output)) {
        reserved = r.body.size();
      } else {
        r = refusal(options_, Errc::unavailable, "The server is busy sending to slow clients; retry later.");
        r.headers.emplace_back("Retry-After", "1");
      }
    }
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<http::status>(r.status));
    res->set(http::field::server, "neutrino");
    if (r.status != 204) {
      res->set(http::field::content_type, r.content_type);
      res->body() = std::move(r.body);
    }
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    if (head_) res->body().clear();  // HEAD: the GET answer's headers, no body
    stream_.expires_after(options_.write_timeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res, reserved](beast::error_code ec, size_t) {
      self->registry_.release_output(reserved);
      if (ec || !self->keep_alive_) return self->close();
      self->read();
    });
  }

  // Chunked streaming: header first, then one chunk per piece the stream delivers.
  void send_stream(HttpResponse r) {
    auto res = std::make_shared<http::response<http::empty_body>>(static_cast<http::status>(r.status), 11);
    res->set(http::field::server, "neutrino");
    res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->chunked(true);
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    stream_.expires_after(options_.write_timeout);
    http::async_write_header(stream_, *sr, [self = shared_from_this(), res, sr, body = r.stream](beast::error_code ec, size_t) {
      if (ec) return body->close(), self->close();
      self->stream_.expires_never();
      self->pump(body);
    });
  }

  // Waiting for the next piece has no deadline; writing one does (a reader that stalls
  // is cut, and its agent resumes from its last revision).
  void pump(std::shared_ptr<BodyStream> body) {
    auto self = shared_from_this();
    body->next([self, body](std::optional<std::string> piece) {
      asio::post(self->stream_.get_executor(), [self, body, piece = std::move(piece)]() mutable {
        self->stream_.expires_after(self->options_.write_timeout);
        if (!piece) {
          asio::async_write(self->stream_, http::make_chunk_last(),
                            [self](beast::error_code, size_t) { self->close(); });
          return;
        }
        auto data = std::make_shared<std::string>(std::move(*piece));
        asio::async_write(self->stream_, http::make_chunk(asio::buffer(*data)),
                          [self, body, data](beast::error_code ec, size_t) {
                            if (ec) return body->close(), self->close();
                            self->stream_.expires_never();
                            self->pump(body);
                          });
      });
    });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(asio::socket_base::shutdown_send, ec);
  }

  beast::basic_stream<Protocol> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const HttpHandler& handler_;
  const HttpServerOptions& options_;
  Registry& registry_;
  uint64_t id_ = 0;
  std::string peer_;  // the client's address (TCP only)
  bool keep_alive_ = true;
  bool head_ = false;
};

bool out_of_descriptors(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory;
}

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  // Before io: sessions still queued in io's operations leave the registry when io is
  // destroyed, so it must outlive io (it held a double free at every stop with a
  // kept-alive connection open).
  Registry registry;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::local::stream_protocol::acceptor local_acceptor{io};
  asio::signal_set signals{io, SIGINT, SIGTERM};  // a clean stop, handled on the pool
  std::function<void()> drain;  // on a signal, before the stop (on_signal_drain)
  std::thread stopper;          // runs it
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> draining;  // keeps the pool up meanwhile
  int bound_port = 0;
  int connection_limit = 0;
  std::atomic<bool> warned_exhausted{false}, warned_limit{false};
  std::once_flag refused_once;
  std::string refused_answer;  // the raw 503 for connections beyond the limit

  // Room for one more session: at the limit, the longest-waiting idle session goes.
  // False when every session is busy (the new connection is refused with a 503).
  bool make_room() {
    if (static_cast<int>(registry.size()) < connection_limit) return true;
    if (!warned_limit.exchange(true))
      spdlog::warn("{} connections (the limit): closing the longest-idle ones to admit new ones", connection_limit);
    return registry.evict_oldest_reader();
  }

  template <class Socket>
  void refuse(Socket& socket) {
    std::call_once(refused_once, [this] {
      auto r = refusal(options, Errc::unavailable, "Too many connections; retry later.");
      refused_answer = "HTTP/1.1 " + std::to_string(r.status) + " " +
                       std::string(http::obsolete_reason(static_cast<http::status>(r.status))) +
                       "\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
                       "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
    });
    const auto& answer = refused_answer;
    beast::error_code ec;
    socket.non_blocking(true, ec);
    asio::write(socket, asio::buffer(answer), ec);  // a fresh socket's buffer takes it at once
    socket.close(ec);
  }

  // accept() failing for lack of descriptors would fail again at once: free one, wait a
  // little, and say so once rather than spin.
  template <class Acceptor, class Again>
  void back_off(Acceptor&, beast::error_code ec, Again again) {
    if (!warned_exhausted.exchange(true))
      spdlog::warn("accept failed ({}): out of file descriptors; closing idle connections and retrying", ec.message());
    registry.evict_oldest_reader();
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(20));
    timer->async_wait([timer, again](beast::error_code) { again(); });
  }

  template <class Protocol, class Acceptor>
  void accept_on(Acceptor& a) {
    a.async_accept(asio::make_strand(io), [this, &a](beast::error_code ec, typename Protocol::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (out_of_descriptors(ec)) return back_off(a, ec, [this, &a] { accept_on<Protocol>(a); });
      if (!ec) {
        if constexpr (std::is_same_v<Protocol, tcp>) socket.set_option(tcp::no_delay(true), ec);
        if (make_room()) std::make_shared<Session<Protocol>>(std::move(socket), handler, options, registry)->start();
        else refuse(socket);
      }
      accept_on<Protocol>(a);
    });
  }

  Status listen_local() {
    const auto& path = options.unix_socket;
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        return fail(Errc::invalid_argument, Origin::http, path + " exists and is not a socket; not replacing it");
      ::unlink(path.c_str());  // a socket left by a previous run
    }
    beast::error_code ec;
    asio::local::stream_protocol::endpoint ep(path);
    local_acceptor.open(ep.protocol(), ec);
    if (!ec) local_acceptor.bind(ep, ec);
    if (!ec) local_acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail(Errc::unavailable, Origin::http, "cannot listen on unix://" + path + ": " + ec.message());
    accept_on<asio::local::stream_protocol>(local_acceptor);
    return {};
  }

  // The soft descriptor limit is raised to the hard one; sessions get what is left after
  // a reserve for the database, logs and listeners.
  void size_connection_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
      rlim_t was = lim.rlim_cur;
      lim.rlim_cur = lim.rlim_max;
      if (::setrlimit(RLIMIT_NOFILE, &lim) == 0) spdlog::info("raised the open-file limit from {} to {}", was, lim.rlim_max);
      ::getrlimit(RLIMIT_NOFILE, &lim);
    }
    constexpr rlim_t kReserve = 64;
    rlim_t room = lim.rlim_cur > kReserve * 2 ? lim.rlim_cur - kReserve : lim.rlim_cur / 2;
    connection_limit = static_cast<int>(std::min<rlim_t>(static_cast<rlim_t>(options.max_connections), room));
    if (connection_limit < options.max_connections)
      spdlog::warn("max_connections {} exceeds what the open-file limit ({}) allows: using {}", options.max_connections,
                   lim.rlim_cur, connection_limit);
  }
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
}
HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->options.host, ec);
  if (ec) return fail(Errc::invalid_argument, Origin::config, "bind_host \"" + impl_->options.host + "\" is not an address");
  impl_->size_connection_limit();
  tcp::endpoint ep{address, static_cast<unsigned short>(impl_->options.port)};
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return fail(Errc::unavailable, Origin::http,
                "cannot listen on " + impl_->options.host + ":" + std::to_string(impl_->options.port) + ": " + ec.message());
  impl_->bound_port = a.local_endpoint().port();
  if (!impl_->options.unix_socket.empty()) NT_TRY(impl_->listen_local());
  impl_->signals.async_wait([this](beast::error_code ec, int) {
    if (ec) return;
    if (!impl_->drain) return impl_->io.stop();
    // Streams waiting for their next line are no I/O operation: without this guard the
    // pool would run out of work once the acceptors close, and stop under the drain.
    impl_->draining.emplace(impl_->io.get_executor());
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->local_acceptor.close(ignored);
    impl_->stopper = std::thread([this] {
      impl_->drain();
      impl_->io.stop();
    });
    // A second signal stops at once, drained or not.
    impl_->signals.async_wait([this](beast::error_code again, int) {
      if (!again) impl_->io.stop();
    });
  });
  impl_->accept_on<tcp>(impl_->acceptor);
  return {};
}

int HttpServer::port() const { return impl_->bound_port; }
int HttpServer::connection_limit() const { return impl_->connection_limit; }

// A thread the system refuses to start leaves the server on fewer threads, not aborted.
void HttpServer::run() {
  std::vector<std::thread> pool;
  for (int i = 1; i < impl_->options.threads; ++i) {
    try {
      pool.emplace_back([this] { impl_->io.run(); });
    } catch (const std::system_error& e) {
      spdlog::error("could start only {} of {} API threads: {}", i, impl_->options.threads, e.what());
      break;
    }
  }
  impl_->io.run();
  for (auto& t : pool) t.join();
  if (impl_->stopper.joinable()) impl_->stopper.join();
}

void HttpServer::stop() { impl_->io.stop(); }

void HttpServer::on_signal_drain(std::function<void()> drain) { impl_->drain = std::move(drain); }

}  // namespace nt
