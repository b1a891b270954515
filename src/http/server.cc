#include "http/server.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <thread>

namespace nt {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One HTTP/1.1 connection, over TCP or a Unix socket (agents in the sandbox's host
// namespaces reach the server through one).
template <class Protocol>
class Session : public std::enable_shared_from_this<Session<Protocol>> {
  using std::enable_shared_from_this<Session<Protocol>>::shared_from_this;

 public:
  Session(typename Protocol::socket socket, const HttpHandler& handler, size_t max_body)
      : stream_(std::move(socket)), handler_(handler), max_body_(max_body) {}

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(max_body_);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(std::chrono::seconds(120));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof) return close();
    if (ec == http::error::body_limit) {
      HttpResponse r{413, R"({"NeutronError": {"type": "RequestEntityTooLarge", "message": "Request is too large.", "detail": ""}})"};
      keep_alive_ = false;
      return send(std::move(r));
    }
    if (ec) return close();
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.body = std::move(msg.body());
    for (const auto& field : msg) req.headers[lower(std::string(field.name_string()))] = std::string(field.value());
    auto self = shared_from_this();
    auto reply = [self](HttpResponse r) {
      asio::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
    };
    try {
      handler_(std::move(req), reply);
    } catch (const std::exception& e) {
      spdlog::error("handler threw: {}", e.what());
      reply(HttpResponse{500, R"({"NeutronError": {"type": "HTTPInternalServerError", "message": "Request Failed: internal server error while processing your request.", "detail": ""}})"});
    }
  }

  void send(HttpResponse r) {
    if (r.stream) return send_stream(std::move(r));
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
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      if (ec || !self->keep_alive_) return self->close();
      self->read();
    });
  }

  // Chunked streaming: header first, then one chunk per piece the stream delivers.
  void send_stream(HttpResponse r) {
    auto res = std::make_shared<http::response<http::empty_body>>(static_cast<http::status>(r.status), 11);
    res->set(http::field::server, "neutrino");
    res->set(http::field::content_type, r.content_type);
    res->chunked(true);
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    stream_.expires_never();
    http::async_write_header(stream_, *sr, [self = shared_from_this(), res, sr, body = r.stream](beast::error_code ec, size_t) {
      if (ec) return body->close(), self->close();
      self->pump(body);
    });
  }

  void pump(std::shared_ptr<BodyStream> body) {
    auto self = shared_from_this();
    body->next([self, body](std::optional<std::string> piece) {
      asio::post(self->stream_.get_executor(), [self, body, piece = std::move(piece)]() mutable {
        if (!piece) {
          asio::async_write(self->stream_, http::make_chunk_last(),
                            [self](beast::error_code, size_t) { self->close(); });
          return;
        }
        auto data = std::make_shared<std::string>(std::move(*piece));
        asio::async_write(self->stream_, http::make_chunk(asio::buffer(*data)),
                          [self, body, data](beast::error_code ec, size_t) {
                            if (ec) return body->close(), self->close();
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
  size_t max_body_;
  bool keep_alive_ = true;
};

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::local::stream_protocol::acceptor local_acceptor{io};
  asio::signal_set signals{io, SIGINT, SIGTERM};  // a clean stop, handled on the pool
  int bound_port = 0;

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session<tcp>>(std::move(socket), handler, options.max_body)->start();
      }
      accept();
    });
  }

  void accept_local() {
    local_acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, asio::local::stream_protocol::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<Session<asio::local::stream_protocol>>(std::move(s), handler, options.max_body)->start();
      accept_local();
    });
  }

  Status listen_local() {
    const auto& path = options.unix_socket;
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        return fail(Errc::invalid_argument, "BindError", path + " exists and is not a socket; not replacing it");
      ::unlink(path.c_str());  // a socket left by a previous run
    }
    beast::error_code ec;
    asio::local::stream_protocol::endpoint ep(path);
    local_acceptor.open(ep.protocol(), ec);
    if (!ec) local_acceptor.bind(ep, ec);
    if (!ec) local_acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail(Errc::unavailable, "BindError", "cannot listen on unix://" + path + ": " + ec.message());
    accept_local();
    return {};
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
  if (ec) return fail(Errc::invalid_argument, "ConfigError", "bind_host \"" + impl_->options.host + "\" is not an address");
  tcp::endpoint ep{address, static_cast<unsigned short>(impl_->options.port)};
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return fail(Errc::unavailable, "BindError",
                "cannot listen on " + impl_->options.host + ":" + std::to_string(impl_->options.port) + ": " + ec.message());
  impl_->bound_port = a.local_endpoint().port();
  if (!impl_->options.unix_socket.empty()) NT_TRY(impl_->listen_local());
  impl_->signals.async_wait([this](beast::error_code ec, int) {
    if (!ec) impl_->io.stop();
  });
  impl_->accept();
  return {};
}

int HttpServer::port() const { return impl_->bound_port; }

void HttpServer::run() {
  std::vector<std::thread> pool;
  for (int i = 1; i < impl_->options.threads; ++i) pool.emplace_back([this] { impl_->io.run(); });
  impl_->io.run();
  for (auto& t : pool) t.join();
}

void HttpServer::stop() { impl_->io.stop(); }

}  // namespace nt
