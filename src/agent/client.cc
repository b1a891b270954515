#include "agent/client.h"

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

namespace nt::agent {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

Result<ServerUrl> ServerUrl::parse(const std::string& url) {
  ServerUrl u;
  if (url.rfind("unix://", 0) == 0) {
    u.unix_socket = true;
    u.path = url.substr(7);
    if (u.path.empty() || u.path[0] != '/') return fail(Errc::invalid_argument, Origin::config, "server_url \"" + url + "\": unix:// needs an absolute path");
    return u;
  }
  if (url.rfind("http://", 0) != 0) return fail(Errc::invalid_argument, Origin::config, "server_url \"" + url + "\" is neither http://host:port nor unix:///path");
  auto rest = url.substr(7);
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  auto colon = rest.rfind(':');
  u.host = colon == std::string::npos ? rest : rest.substr(0, colon);
  u.port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  if (u.host.empty()) return fail(Errc::invalid_argument, Origin::config, "server_url \"" + url + "\" has no host");
  bool digits = !u.port.empty() && u.port.size() <= 5 && u.port.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoi(u.port) < 1 || std::stoi(u.port) > 65535)
    return fail(Errc::invalid_argument, Origin::config, "server_url \"" + url + "\": port \"" + u.port + "\" is not within 1..65535");
  return u;
}

namespace {

template <class Stream>
http::request<http::string_body> request(http::verb verb, const std::string& target, const std::string& body,
                                         const ChannelTokens& token) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "neutrino-server");
  req.set(http::field::content_type, "application/json");
  if (!token.enrolment.empty()) req.set("X-Neutrino-Token", token.enrolment);
  if (!token.host.empty()) req.set("X-Neutrino-Host-Token", token.host);
  req.body() = body;
  req.prepare_payload();
  return req;
}

template <class Stream>
Result<std::string> do_post(Stream& s, const std::string& target, const std::string& body, const ChannelTokens& token) {
  http::write(s, request<Stream>(http::verb::post, target, body, token));
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  if (res.result_int() == 401)
    return fail(Errc::unauthenticated, Origin::channel, "POST " + target + ": HTTP 401 " + res.body());
  if (res.result_int() != 200)
    return fail(Errc::unavailable, Origin::channel, "POST " + target + ": HTTP " + std::to_string(res.result_int()) + " " + res.body());
  return res.body();
}

template <class Stream>
Result<HttpAnswer> do_call(Stream& s, http::verb verb, const std::string& target, const std::string& body,
                           const ChannelTokens& token) {
  http::write(s, request<Stream>(verb, target, body, token));
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  http::read(s, buf, parser);
  return HttpAnswer{static_cast<int>(parser.get().result_int()), parser.get().body()};
}

template <class Stream>
Status do_watch(Stream& s, const std::string& target, const ChannelTokens& token,
                const std::function<bool(const std::string&)>& on_line, const std::function<void()>& on_drained) {
  http::write(s, request<Stream>(http::verb::get, target, "", token));
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  http::read_header(s, buf, parser);
  if (parser.get().result_int() != 200) {
    http::read(s, buf, parser);
    return fail(Errc::unavailable, Origin::channel, "watch: HTTP " + std::to_string(parser.get().result_int()) + " " +
                                                       parser.get().body());
  }
  while (!parser.is_done()) {
    http::read_some(s, buf, parser);
    auto& body = parser.get().body();
    size_t start = 0;
    for (size_t nl; (nl = body.find('\n', start)) != std::string::npos; start = nl + 1)
      if (!on_line(body.substr(start, nl - start))) return {};
    body.erase(0, start);  // the parser only appends: consumed lines can go
    // Act once nothing more is waiting on the socket: a burst of lines is one pass.
    boost::system::error_code ec;
    if (on_drained && beast::get_lowest_layer(s).socket().available(ec) == 0) on_drained();
  }
  return fail(Errc::unavailable, Origin::channel, "watch: the server ended the stream");
}

template <class Fn>
auto with_stream(const ServerUrl& u, Fn&& fn) -> decltype(fn(std::declval<beast::tcp_stream&>())) {
  asio::io_context io;
  try {
    if (u.unix_socket) {
      asio::local::stream_protocol::socket sock(io);
      sock.connect(asio::local::stream_protocol::endpoint(u.path));
      beast::basic_stream<asio::local::stream_protocol> s(std::move(sock));
      return fn(s);
    }
    beast::tcp_stream s(io);
    s.connect(asio::ip::tcp::resolver(io).resolve(u.host, u.port));
    return fn(s);
  } catch (const std::exception& e) {
    return fail(Errc::unavailable, Origin::channel, std::string("server unreachable: ") + e.what());
  }
}

}  // namespace

Result<std::string> ChannelClient::post(const std::string& target, const std::string& body) {
  return with_stream(url_, [&](auto& s) { return do_post(s, target, body, token_); });
}

Result<HttpAnswer> ChannelClient::call(const std::string& method, const std::string& target, const std::string& body) {
  auto verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) return fail(Errc::invalid_argument, Origin::channel, "unknown HTTP method " + method);
  return with_stream(url_, [&](auto& s) { return do_call(s, verb, target, body, token_); });
}

Status ChannelClient::watch(const std::string& target, const std::function<bool(const std::string&)>& on_line,
                           const std::function<void()>& on_drained) {
  return with_stream(url_, [&](auto& s) -> Status {
    {
      std::lock_guard g(watch_mu_);
      if (cancelled_) return fail(Errc::unavailable, Origin::channel, "watch: the agent is stopping");
      watch_fd_ = beast::get_lowest_layer(s).socket().native_handle();
    }
    struct Forget {
      ChannelClient* c;
      ~Forget() {
        std::lock_guard g(c->watch_mu_);
        c->watch_fd_ = -1;
      }
    } forget{this};  // before the socket closes
    return do_watch(s, target, token_, on_line, on_drained);
  });
}

void ChannelClient::cancel() {
  std::lock_guard g(watch_mu_);
  cancelled_ = true;
  if (watch_fd_ >= 0) ::shutdown(watch_fd_, SHUT_RDWR);  // the blocked read returns
}

}  // namespace nt::agent
