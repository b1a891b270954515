#include "agent/client.h"

#include <poll.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cctype>
#include <set>

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

std::string ServerUrl::display() const {
  if (!text.empty()) return text;
  return unix_socket ? "unix://" + path : "http://" + host + ":" + port;
}

namespace {

// The elements of a server_url list: split at commas, then at whitespace. A comma with
// nothing before or after it (up to the next comma) is an empty element: "" in the output.
std::vector<std::string> split_url_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    auto comma = text.find(',', start);
    auto piece = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t before = out.size();
    for (size_t i = 0; i < piece.size();) {
      while (i < piece.size() && std::isspace(static_cast<unsigned char>(piece[i]))) ++i;
      size_t j = i;
      while (j < piece.size() && !std::isspace(static_cast<unsigned char>(piece[j]))) ++j;
      if (j > i) out.push_back(piece.substr(i, j - i));
      i = j;
    }
    if (out.size() == before) out.emplace_back();
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

}  // namespace

Result<std::vector<ServerUrl>> parse_server_urls(const std::string& text) {
  auto elements = split_url_list(text);
  if (elements.size() == 1) {  // one URL: as it always was (its errors included)
    NT_ASSIGN(auto u, ServerUrl::parse(elements[0].empty() ? text : elements[0]));
    u.text = elements[0];
    return std::vector<ServerUrl>{u};
  }
  std::vector<ServerUrl> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < elements.size(); ++i) {
    auto which = "option \"server_url\" in [DEFAULT]: element " + std::to_string(i + 1) + " of " + std::to_string(elements.size());
    if (elements[i].empty())
      return fail(Errc::invalid_argument, Origin::config, which + " is empty (\"" + text + "\")");
    auto u = ServerUrl::parse(elements[i]);
    if (!u) return fail(Errc::invalid_argument, Origin::config, which + ": " + u.error().message);
    if (!seen.insert(u->display()).second)
      return fail(Errc::invalid_argument, Origin::config, which + ": \"" + elements[i] + "\" is listed twice");
    u->text = elements[i];
    out.push_back(std::move(*u));
  }
  return out;
}

ServerRotation::Move ServerRotation::failed(size_t used) {
  if (used != current_) return {.stale = true};
  current_ = (current_ + 1) % count_;
  Move m{count_ > 1, false};
  if (++failures_ >= count_) m.cycle_done = true, failures_ = 0;
  return m;
}

void ServerRotation::answered(size_t used) {
  if (used == current_) failures_ = 0;
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

std::string duration_text(std::chrono::milliseconds t) {
  auto ms = t.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

// Waits until the socket has something to read (or was closed); false when `limit`
// passes first. Zero: no limit. (Blocking asio reads have no timeout of their own.)
template <class Stream>
bool wait_readable(Stream& s, std::chrono::milliseconds limit) {
  if (limit.count() <= 0) return true;
  pollfd p{beast::get_lowest_layer(s).socket().native_handle(), POLLIN, 0};
  int n;
  do n = ::poll(&p, 1, static_cast<int>(limit.count()));
  while (n < 0 && errno == EINTR);
  return n != 0;
}

// One step of reading a response: the parser takes what is buffered; only when it needs
// more is the socket read, after at most `limit` of silence. Throws on a broken
// connection or message, as beast's own reads do.
template <class Stream, class Parser>
Status read_some_within(Stream& s, beast::flat_buffer& buf, Parser& parser, std::chrono::milliseconds limit,
                        const std::string& what) {
  boost::system::error_code ec;
  if (buf.size() > 0) {
    parser.eager(true);  // all that is buffered at once: what stays is an incomplete piece
    auto used = parser.put(buf.data(), ec);
    buf.consume(used);
    if (used > 0 || !ec) return {};
    if (ec != http::error::need_more) throw boost::system::system_error(ec);
  }
  if (!wait_readable(s, limit))
    return fail(Errc::unavailable, Origin::channel, what + ": nothing from the server for " + duration_text(limit));
  auto got = beast::get_lowest_layer(s).socket().read_some(buf.prepare(64 * 1024), ec);
  buf.commit(got);
  if (ec == asio::error::eof) parser.put_eof(ec);  // a body that runs to the close ends here
  if (ec) throw boost::system::system_error(ec);
  return {};
}

// Reads the response's header (or all of it) with at most `limit` of silence at a time.
template <class Stream, class Parser>
Status read_within(Stream& s, beast::flat_buffer& buf, Parser& parser, std::chrono::milliseconds limit,
                   bool header_only, const std::string& what) {
  while (header_only ? !parser.is_header_done() : !parser.is_done()) NT_TRY(read_some_within(s, buf, parser, limit, what));
  return {};
}

template <class Stream>
Result<std::string> do_post(Stream& s, const std::string& target, const std::string& body, const ChannelTokens& token,
                            std::chrono::milliseconds limit, int& status) {
  http::write(s, request<Stream>(http::verb::post, target, body, token));
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  NT_TRY(read_within(s, buf, parser, limit, false, "POST " + target));
  const auto& res = parser.get();
  status = res.result_int();
  if (res.result_int() == 401)
    return fail(Errc::unauthenticated, Origin::channel, "POST " + target + ": HTTP 401 " + res.body());
  if (res.result_int() != 200)
    return fail(Errc::unavailable, Origin::channel, "POST " + target + ": HTTP " + std::to_string(res.result_int()) + " " + res.body());
  return res.body();
}

template <class Stream>
Result<HttpAnswer> do_call(Stream& s, http::verb verb, const std::string& target, const std::string& body,
                           const ChannelTokens& token, int& status) {
  http::write(s, request<Stream>(verb, target, body, token));
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  http::read(s, buf, parser);
  status = parser.get().result_int();
  return HttpAnswer{static_cast<int>(parser.get().result_int()), parser.get().body()};
}

// The watch stream; the server sends a keepalive line every second or so, so `idle` of
// silence means the server (or the way to it) is gone.
template <class Stream>
Status do_watch(Stream& s, const std::string& target, const ChannelTokens& token,
                const std::function<bool(const std::string&)>& on_line, const std::function<void()>& on_drained,
                std::chrono::milliseconds idle, int& status) {
  http::write(s, request<Stream>(http::verb::get, target, "", token));
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  NT_TRY(read_within(s, buf, parser, idle, true, "watch"));
  status = parser.get().result_int();
  if (parser.get().result_int() != 200) {
    NT_TRY(read_within(s, buf, parser, idle, false, "watch"));
    return fail(Errc::unavailable, Origin::channel, "watch: HTTP " + std::to_string(parser.get().result_int()) + " " +
                                                       parser.get().body());
  }
  // Lines may have come with the header already: they are taken before the next read.
  for (bool first = true;; first = false) {
    auto& body = parser.get().body();
    size_t start = 0;
    for (size_t nl; (nl = body.find('\n', start)) != std::string::npos; start = nl + 1)
      if (!on_line(body.substr(start, nl - start))) return {};
    body.erase(0, start);  // the parser only appends: consumed lines can go
    // Act once nothing more is waiting on the socket: a burst of lines is one pass.
    boost::system::error_code ec;
    if (on_drained && (!first || start > 0) && beast::get_lowest_layer(s).socket().available(ec) == 0) on_drained();
    if (parser.is_done()) break;
    NT_TRY(read_some_within(s, buf, parser, idle, "watch"));
  }
  return fail(Errc::unavailable, Origin::channel, "watch: the server ended the stream");
}

// Connects within `limit` (a host that is down drops the SYN: the kernel alone would wait
// minutes); throws as the blocking connect does.
void connect_within(asio::io_context& io, beast::tcp_stream& s, const asio::ip::tcp::resolver::results_type& found,
                    std::chrono::milliseconds limit) {
  boost::system::error_code result = asio::error::would_block;
  s.expires_after(limit);
  s.async_connect(found, [&](boost::system::error_code ec, const asio::ip::tcp::endpoint&) { result = ec; });
  io.run();
  io.restart();
  s.expires_never();
  if (result == beast::error::timeout) throw std::runtime_error("connect: no connection within " + duration_text(limit));
  if (result) throw boost::system::system_error(result, "connect");
}

template <class Fn>
auto with_stream(const ServerUrl& u, std::chrono::milliseconds connect_limit, Fn&& fn)
    -> decltype(fn(std::declval<beast::tcp_stream&>())) {
  asio::io_context io;
  try {
    if (u.unix_socket) {
      asio::local::stream_protocol::socket sock(io);
      sock.connect(asio::local::stream_protocol::endpoint(u.path));
      beast::basic_stream<asio::local::stream_protocol> s(std::move(sock));
      return fn(s);
    }
    beast::tcp_stream s(io);
    connect_within(io, s, asio::ip::tcp::resolver(io).resolve(u.host, u.port), connect_limit);
    return fn(s);
  } catch (const std::exception& e) {
    return fail(Errc::unavailable, Origin::channel, std::string("server unreachable: ") + e.what());
  }
}

}  // namespace

std::pair<size_t, ServerUrl> ChannelClient::pick() const {
  std::lock_guard g(rotation_mu_);
  return {rotation_.current(), urls_[rotation_.current()]};
}

std::string ChannelClient::current_server() const { return pick().second.display(); }

namespace {
// take_retry_now's answer for the calling thread's last request, and the client it went
// through. Per thread: the agent's heartbeat and watch share one client, and one thread's
// answer must not clear (or hand over) the other's.
thread_local const ChannelClient* retry_client = nullptr;
thread_local bool retry_now = false;
}  // namespace

void ChannelClient::settle(size_t used, bool failed_by_server, const std::string& reason) {
  retry_client = this;
  retry_now = false;
  std::lock_guard g(rotation_mu_);
  if (!failed_by_server) return rotation_.answered(used);
  auto move = rotation_.failed(used);
  retry_now = move.retry_at_once();
  // Boost's messages end in " [category:code at file:line ...]": not for the log line.
  if (move.moved)
    spdlog::warn("server {} unreachable ({}), moving to {}", urls_[used].display(), reason.substr(0, reason.find(" [")),
                 urls_[rotation_.current()].display());
}

bool ChannelClient::take_retry_now() {
  return retry_client == this && std::exchange(retry_now, false);
}

// The server's fault (and so a move): no HTTP answer at all, or a 5xx.
static bool server_fault(int status) { return status == 0 || status >= 500; }

Result<std::string> ChannelClient::post(const std::string& target, const std::string& body) {
  auto [used, url] = pick();
  int status = 0;
  auto r = with_stream(url, timeouts_.connect, [&](auto& s) { return do_post(s, target, body, token_, timeouts_.request, status); });
  settle(used, !r && server_fault(status), r ? "" : r.error().message);
  return r;
}

Result<HttpAnswer> ChannelClient::call(const std::string& method, const std::string& target, const std::string& body) {
  auto verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) return fail(Errc::invalid_argument, Origin::channel, "unknown HTTP method " + method);
  auto [used, url] = pick();
  int status = 0;
  auto r = with_stream(url, timeouts_.connect, [&](auto& s) { return do_call(s, verb, target, body, token_, status); });
  settle(used, !r, r ? "" : r.error().message);  // any HTTP answer is the caller's to judge
  return r;
}

Status ChannelClient::watch(const std::string& target, const std::function<bool(const std::string&)>& on_line,
                           const std::function<void()>& on_drained) {
  auto [used, url] = pick();
  int status = 0;
  auto r = with_stream(url, timeouts_.connect, [&](auto& s) -> Status {
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
    return do_watch(s, target, token_, on_line, on_drained, timeouts_.watch_idle, status);
  });
  bool stopping = false;
  {
    std::lock_guard g(watch_mu_);
    stopping = cancelled_;
  }
  // A stream that ended or broke (status 200 then an error) is the server's too.
  if (!stopping) settle(used, !r && (server_fault(status) || status == 200), r ? "" : r.error().message);
  return r;
}

void ChannelClient::cancel() {
  std::lock_guard g(watch_mu_);
  cancelled_ = true;
  if (watch_fd_ >= 0) ::shutdown(watch_fd_, SHUT_RDWR);  // the blocked read returns
}

}  // namespace nt::agent
