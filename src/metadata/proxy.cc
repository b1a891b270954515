// The metadata proxy: Boost.Asio coroutines on one thread. Every connection reads requests
// with bounds (header, body, time, count), each request that comes from a known port goes
// on to the backend over a connection of its own (HTTP, or HTTPS through OpenSSL), and
// the answer comes back. Nothing a client sends may end the thread: parse errors become
// 4xx answers, I/O errors end that connection only.
#include "metadata/proxy.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <algorithm>
#include <chrono>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>

#include "kernel/tcp_listener.h"

namespace nt::metadata {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr int kMaxConnections = 1024;             // haproxy's maxconn in Neutron
constexpr int kMaxConnectionsPerSource = 64;      // one VM's share of them
constexpr int kMaxRequestsPerConnection = 100;
constexpr uint32_t kHeaderLimit = 8 * 1024;
constexpr uint64_t kBodyLimit = 64 * 1024;
constexpr uint64_t kBackendBodyLimit = 16u << 20;
constexpr auto kReadTimeout = 10s;                 // to read one request (and write its answer)
constexpr auto kConnectTimeout = 5s;               // backend: resolve + connect (+ TLS handshake)
constexpr auto kBackendTimeout = 10s;              // backend: the whole exchange
constexpr auto kLingerTimeout = 1s;                // draining a refused request before closing
constexpr size_t kLingerBytes = 256 * 1024;
constexpr size_t kMaxErrorsKept = 100;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using Key = std::tuple<std::string, std::string, uint16_t>;  // netns, address, port

std::string describe(const std::string& netns, const std::string& address, uint16_t port) {
  return address + ":" + std::to_string(port) + " in namespace " + (netns.empty() ? "(own)" : netns);
}

// IPv4 text for v4-mapped IPv6 addresses, as the tables know them.
std::string address_text(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Headers a client must not set (the identity is ours to assert) and hop-by-hop ones.
bool stripped(std::string_view raw) {
  // WSGI servers read X-Instance_ID as X-Instance-ID: compare with '_' as '-'.
  std::string normal(raw);
  std::replace(normal.begin(), normal.end(), '_', '-');
  std::string_view name = normal;
  static constexpr std::string_view exact[] = {
      "x-instance-id", "x-tenant-id",      "x-instance-id-signature", "x-forwarded-for", "forwarded",
      "x-metadata-provider", "x-metadata-provider-signature", "host", "connection", "keep-alive",
      "proxy-connection", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
      "content-length", "expect"};
  for (auto e : exact)
    if (beast::iequals(name, e)) return true;
  auto starts = [&](std::string_view prefix) {
    return name.size() >= prefix.size() && beast::iequals(name.substr(0, prefix.size()), prefix);
  };
  return starts("x-neutron-") || starts("x-ovn-");
}

// An answer of the proxy's own, in webob's plain-text form.
Response plain(http::status status, unsigned version, std::string explanation = "") {
  Response res{status, version};
  res.set(http::field::server, "neutrino-metadata-proxy");
  res.set(http::field::content_type, "text/plain; charset=UTF-8");
  res.body() = std::to_string(static_cast<unsigned>(status)) + " " + std::string(http::obsolete_reason(status)) +
               "\n\n" + (explanation.empty() ? "" : explanation + "\n\n");
  res.prepare_payload();
  return res;
}

// A parse error of the request -> the status it deserves.
http::status status_of_parse_error(const beast::error_code& ec) {
  if (ec == http::error::header_limit) return http::status::request_header_fields_too_large;
  if (ec == http::error::body_limit || ec == http::error::buffer_overflow) return http::status::payload_too_large;
  return http::status::bad_request;
}

struct Listener {
  Listener(asio::io_context& io, Key k) : key(std::move(k)), acceptor(io) {}
  Key key;
  std::string name;  // for logs
  tcp::acceptor acceptor;
  uint16_t port = 0;
  std::map<std::string, std::string> networks;  // the io thread's (set before it starts)
};

}  // namespace

std::string instance_signature(std::string_view secret, std::string_view instance_id) {
  static const unsigned char empty = 0;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  const void* key = secret.empty() ? static_cast<const void*>(&empty) : secret.data();
  const auto* data = instance_id.empty() ? &empty : reinterpret_cast<const unsigned char*>(instance_id.data());
  if (!HMAC(EVP_sha256(), key, static_cast<int>(secret.size()), data, instance_id.size(), digest, &length)) return "";
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * length);
  for (unsigned i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

struct ProxyService::Impl {
  explicit Impl(BackendSettings s);
  void describe_tcp_backend();  // backend_name, host_header, TLS context (or backend_error)
  void start_thread();

  asio::awaitable<void> accept_loop(std::shared_ptr<Listener> listener);
  asio::awaitable<void> serve(tcp::socket socket, std::shared_ptr<Listener> listener);
  asio::awaitable<Response> answer(const Request& req, const Listener& listener, const std::string& local,
                                   const std::string& peer);
  asio::awaitable<Response> forward(const Request& in, const Identity& id, const std::string& peer);
  template <class Stream>
  asio::awaitable<Response> exchange(Stream& stream, Request& out, Clock::time_point deadline, const Request& in,
                                     const Identity& id);
  void record_error(std::string message);  // holds mu

  // Declared before io: streams in coroutine frames (destroyed with io) use the context.
  BackendSettings settings;
  std::string unix_path;  // the backend's Unix socket ("" = TCP)
  std::unique_ptr<ssl::context> tls;
  std::string backend_error;  // a configuration that makes every backend call fail
  std::string backend_name;   // protocol://host:port, for logs
  std::string host_header;

  // Owned apart so that stop() can end every connection (their coroutine frames) at once.
  std::unique_ptr<asio::io_context> io_owner = std::make_unique<asio::io_context>(1);
  asio::io_context& io = *io_owner;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  std::thread thread;

  mutable std::mutex mu;  // everything below, and the whole of update()
  bool stopped = false;
  std::map<Key, std::shared_ptr<Listener>> listeners;
  std::deque<std::string> errors;

  // The io thread's.
  std::shared_ptr<const IdentityTable> table = std::make_shared<IdentityTable>();
  int connections = 0;
  std::map<std::string, int> per_source;  // "<listener> <source ip>" -> connections open
};

ProxyService::Impl::Impl(BackendSettings s) : settings(std::move(s)) {
  if (settings.host.rfind("unix://", 0) == 0) {
    // A Unix socket (nova_metadata_host = unix:///path): a backend in another network
    // namespace of the same machine, as the sandbox's server is for its hosts' agents.
    unix_path = settings.host.substr(7);
    backend_name = settings.host;
    host_header = "localhost";
    if (unix_path.empty() || unix_path[0] != '/') backend_error = "nova_metadata_host " + settings.host + " names no absolute path";
  } else {
    describe_tcp_backend();
  }
  if (!backend_error.empty()) spdlog::error("metadata proxy: {}; every metadata request will fail", backend_error);
  start_thread();
}

void ProxyService::Impl::describe_tcp_backend() {
  bool bracket = settings.host.find(':') != std::string::npos;
  std::string host = bracket ? "[" + settings.host + "]" : settings.host;
  backend_name = settings.protocol + "://" + host + ":" + std::to_string(settings.port);
  bool default_port = (settings.protocol == "http" && settings.port == 80) ||
                      (settings.protocol == "https" && settings.port == 443);
  host_header = default_port ? host : host + ":" + std::to_string(settings.port);
  if (settings.protocol != "http" && settings.protocol != "https") {
    backend_error = "nova_metadata_protocol is \"" + settings.protocol + "\", not http or https";
  } else if (settings.port <= 0 || settings.port > 65535) {
    backend_error = "nova_metadata_port " + std::to_string(settings.port) + " is not a TCP port";
  } else if (settings.protocol == "https") {
    tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    std::string step;
    if (settings.ca_cert.empty()) step = "the system's CA certificates", tls->set_default_verify_paths(ec);
    else step = "auth_ca_cert " + settings.ca_cert, tls->load_verify_file(settings.ca_cert, ec);
    if (!ec && !settings.client_cert.empty()) {
      step = "nova_client_cert " + settings.client_cert;
      tls->use_certificate_chain_file(settings.client_cert, ec);
      const std::string& key = settings.client_key.empty() ? settings.client_cert : settings.client_key;
      if (!ec) step = "nova_client_priv_key " + key, tls->use_private_key_file(key, ssl::context::pem, ec);
    }
    tls->set_verify_mode(settings.insecure ? ssl::verify_none : ssl::verify_peer);
    if (ec) backend_error = step + ": " + ec.message();
  }
}

void ProxyService::Impl::start_thread() {
  thread = std::thread([this] {
    for (;;) {
      try {
        io.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("metadata proxy: {}", e.what());
      }
    }
  });
}

void ProxyService::Impl::record_error(std::string message) {
  spdlog::error("metadata proxy: {}", message);
  errors.push_back(std::move(message));
  if (errors.size() > kMaxErrorsKept) errors.pop_front();
}

asio::awaitable<void> ProxyService::Impl::accept_loop(std::shared_ptr<Listener> listener) {
  for (;;) {
    auto [ec, socket] = co_await listener->acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !listener->acceptor.is_open()) co_return;
    if (ec) {  // out of fds, say: wait a little rather than spin
      spdlog::warn("metadata proxy: accept on {}: {}", listener->name, ec.message());
      asio::steady_timer pause(io, 100ms);
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (connections >= kMaxConnections) {
      spdlog::warn("metadata proxy: {} connections open, one more on {} closed", connections, listener->name);
      continue;  // the socket closes as it goes out of scope
    }
    // One VM (one source address on one listener: the bridge pins sources to their taps)
    // may not take the host's connections from the others.
    boost::system::error_code peer_error;
    auto peer = socket.remote_endpoint(peer_error);
    auto source = listener->name + " " + (peer_error ? std::string("?") : peer.address().to_string());
    if (per_source[source] >= kMaxConnectionsPerSource) {
      spdlog::warn("metadata proxy: {} connections from {} open, one more closed", kMaxConnectionsPerSource, source);
      continue;
    }
    ++connections;
    ++per_source[source];
    asio::co_spawn(io, serve(std::move(socket), listener), [this, source](std::exception_ptr e) {
      --connections;
      if (--per_source[source] <= 0) per_source.erase(source);
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        spdlog::error("metadata proxy: a connection failed: {}", x.what());
      }
    });
  }
}

asio::awaitable<void> ProxyService::Impl::serve(tcp::socket socket, std::shared_ptr<Listener> listener) {
  boost::system::error_code ec;
  auto local = socket.local_endpoint(ec);
  if (ec) co_return;
  auto peer = socket.remote_endpoint(ec);
  if (ec) co_return;
  std::string local_ip = address_text(local.address()), peer_ip = address_text(peer.address());
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  bool refused = false;  // a request left unread: drain before closing, or the client gets a reset
  for (int n = 0; n < kMaxRequestsPerConnection; ++n) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    stream.expires_after(kReadTimeout);
    auto [read_error, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
    Response res;
    bool keep = false;
    if (read_error) {
      if (read_error.category() != http::make_error_code(http::error::bad_target).category() ||
          read_error == http::error::end_of_stream || read_error == http::error::partial_message)
        break;  // closed, reset or timed out: nobody to answer
      spdlog::warn("metadata proxy: a request from {} on {}: {}", peer_ip, listener->name, read_error.message());
      res = plain(status_of_parse_error(read_error), 11);
      refused = true;
    } else {
      const Request& req = parser.get();
      res = co_await answer(req, *listener, local_ip, peer_ip);
      keep = req.keep_alive() && n + 1 < kMaxRequestsPerConnection;
      if (req.method() == http::verb::head) res.body().clear();
    }
    res.keep_alive(keep);
    stream.expires_after(kReadTimeout);
    auto [write_error, written] = co_await http::async_write(stream, res, use_tuple);
    if (write_error || !keep) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (refused) {
    std::array<char, 4096> scratch;
    stream.expires_after(kLingerTimeout);
    for (size_t drained = 0; drained < kLingerBytes;) {
      auto [e, got] = co_await stream.async_read_some(asio::buffer(scratch), use_tuple);
      if (e) break;
      drained += got;
    }
  }
  stream.socket().close(ec);
}

asio::awaitable<Response> ProxyService::Impl::answer(const Request& req, const Listener& listener,
                                                     const std::string& local, const std::string& peer) {
  auto net = listener.networks.find(local);
  if (net == listener.networks.end()) net = listener.networks.find("*");
  const Identity* identity = nullptr;
  if (net != listener.networks.end()) {
    auto it = table->find({net->second, peer});
    if (it != table->end()) identity = &it->second;
  }
  if (!identity) {
    spdlog::warn("metadata proxy: no port with address {} on network {} (request to {} on {}): 404", peer,
                 net == listener.networks.end() ? "(none for this address)" : net->second, local, listener.name);
    co_return plain(http::status::not_found, req.version(), "The resource could not be found.");
  }
  auto method = req.method();
  if (method != http::verb::get && method != http::verb::head && method != http::verb::post) {
    auto res = plain(http::status::method_not_allowed, req.version(),
                     "The method " + std::string(req.method_string()) + " is not allowed for this resource.");
    res.set(http::field::allow, "GET, HEAD, POST");
    co_return res;
  }
  Identity copy = *identity;  // the table may be replaced while the backend answers
  co_return co_await forward(req, copy, peer);
}

asio::awaitable<Response> ProxyService::Impl::forward(const Request& in, const Identity& id, const std::string& peer) {
  auto unavailable = [&](const std::string& why) {
    spdlog::warn("metadata proxy: the metadata backend {} is unreachable ({}) for instance {} at {}: 503", backend_name,
                 why, id.device_id, peer);
    return plain(http::status::service_unavailable, in.version(),
                 "The remote metadata server is temporarily unavailable. Please try again later.");
  };
  if (!backend_error.empty()) co_return unavailable(backend_error);
  Request out{in.method(), in.target(), 11};
  for (const auto& field : in)
    if (!stripped(field.name_string())) out.insert(field.name_string(), field.value());
  out.set(http::field::host, host_header);
  out.set("X-Forwarded-For", peer);
  out.set("X-Instance-ID", id.device_id);
  out.set("X-Tenant-ID", id.project_id);
  out.set("X-Instance-ID-Signature", instance_signature(settings.shared_secret, id.device_id));
  out.body() = in.body();
  out.keep_alive(false);
  out.prepare_payload();

  auto deadline = Clock::now() + kBackendTimeout;
  if (!unix_path.empty()) {
    beast::basic_stream<asio::local::stream_protocol> stream(io);
    stream.expires_after(kConnectTimeout);
    auto [connect_error] = co_await stream.async_connect(asio::local::stream_protocol::endpoint(unix_path), use_tuple);
    if (connect_error) co_return unavailable(connect_error.message());
    co_return co_await exchange(stream, out, deadline, in, id);
  }
  tcp::resolver resolver(io);
  asio::steady_timer resolve_timer(io, kConnectTimeout);
  resolve_timer.async_wait([&resolver](beast::error_code e) {
    if (!e) resolver.cancel();
  });
  auto [resolve_error, addresses] =
      co_await resolver.async_resolve(settings.host, std::to_string(settings.port), use_tuple);
  resolve_timer.cancel();
  if (resolve_error) co_return unavailable("resolving " + settings.host + ": " + resolve_error.message());

  if (!tls) {
    beast::tcp_stream stream(io);
    stream.expires_after(kConnectTimeout);
    auto [connect_error, endpoint] = co_await stream.async_connect(addresses, use_tuple);
    if (connect_error) co_return unavailable(connect_error.message());
    co_return co_await exchange(stream, out, deadline, in, id);
  }
  beast::ssl_stream<beast::tcp_stream> stream(io, *tls);
  if (!is_ip_literal(settings.host)) SSL_set_tlsext_host_name(stream.native_handle(), settings.host.c_str());
  if (!settings.insecure) stream.set_verify_callback(ssl::host_name_verification(settings.host));
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(kConnectTimeout);
  auto [connect_error, endpoint] = co_await lowest.async_connect(addresses, use_tuple);
  if (connect_error) co_return unavailable(connect_error.message());
  lowest.expires_after(kConnectTimeout);
  auto [handshake_error] = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
  if (handshake_error) co_return unavailable("TLS handshake: " + handshake_error.message());
  co_return co_await exchange(stream, out, deadline, in, id);
}

template <class Stream>
asio::awaitable<Response> ProxyService::Impl::exchange(Stream& stream, Request& out, Clock::time_point deadline,
                                                       const Request& in, const Identity& id) {
  beast::get_lowest_layer(stream).expires_at(deadline);
  auto failed = [&](const beast::error_code& e) {
    spdlog::error("metadata proxy: the metadata backend {} failed to answer {} {} for instance {}: {}: 500",
                  backend_name, std::string(in.method_string()), std::string(in.target()), id.device_id, e.message());
    return plain(http::status::internal_server_error, in.version(),
                 "An unknown error has occurred. Please try your request again.");
  };
  auto [write_error, written] = co_await http::async_write(stream, out, use_tuple);
  if (write_error) co_return failed(write_error);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kBackendBodyLimit);
  if (in.method() == http::verb::head) parser.skip(true);
  auto [read_error, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
  if (read_error) co_return failed(read_error);
  boost::system::error_code ignored;
  beast::get_lowest_layer(stream).socket().close(ignored);

  auto& backend = parser.get();
  Response res;
  res.version(in.version());
  res.result(backend.result_int());
  res.reason(backend.reason());
  res.set(http::field::server, "neutrino-metadata-proxy");
  if (auto type = backend.find(http::field::content_type); type != backend.end())
    res.set(http::field::content_type, type->value());
  res.body() = std::move(backend.body());
  res.prepare_payload();
  if (in.method() == http::verb::head) {
    if (auto length = backend.find(http::field::content_length); length != backend.end())
      res.set(http::field::content_length, length->value());
  }
  if (backend.result() == http::status::forbidden)
    spdlog::error(
        "metadata proxy: the metadata backend {} answered 403 for instance {}: the backend refused the signature: "
        "check metadata_proxy_shared_secret (it must equal Nova's [neutron] metadata_proxy_shared_secret)",
        backend_name, id.device_id);
  co_return res;
}

ProxyService::ProxyService(BackendSettings settings) : impl_(std::make_unique<Impl>(std::move(settings))) {}

ProxyService::~ProxyService() { stop(); }

void ProxyService::update(std::vector<ListenerSpec> specs, IdentityTable table) {
  Impl& s = *impl_;
  std::lock_guard lock(s.mu);
  if (s.stopped) return;
  std::map<Key, std::shared_ptr<Listener>> next;
  std::vector<std::pair<std::shared_ptr<Listener>, std::map<std::string, std::string>>> kept;
  std::vector<std::shared_ptr<Listener>> opened;
  for (auto& spec : specs) {
    Key key{spec.netns, spec.address, spec.port};
    if (next.contains(key)) continue;  // listed twice: the first wins
    if (auto it = s.listeners.find(key); it != s.listeners.end()) {
      next.emplace(key, it->second);
      kept.emplace_back(it->second, std::move(spec.networks));
      continue;
    }
    std::string name = describe(spec.netns, spec.address, spec.port);
    auto fd = kernel::open_tcp_listener(spec.netns, spec.address, spec.port);
    if (!fd) {
      s.record_error("listener " + name + ": " + fd.error().message);
      continue;
    }
    auto listener = std::make_shared<Listener>(s.io, key);
    boost::system::error_code ec;
    listener->acceptor.assign(spec.address.find(':') == std::string::npos ? tcp::v4() : tcp::v6(), *fd, ec);
    if (ec) {
      ::close(*fd);
      s.record_error("listener " + name + ": " + ec.message());
      continue;
    }
    auto local = listener->acceptor.local_endpoint(ec);
    listener->port = ec ? spec.port : local.port();
    listener->name = spec.port == 0 ? describe(spec.netns, spec.address, listener->port) : name;
    listener->networks = std::move(spec.networks);
    spdlog::info("metadata proxy: listening on {}", listener->name);
    next.emplace(key, listener);
    opened.push_back(std::move(listener));
  }
  std::vector<std::shared_ptr<Listener>> closed;
  for (auto& [key, listener] : s.listeners)
    if (!next.contains(key)) closed.push_back(listener);
  s.listeners = std::move(next);

  auto done = std::make_shared<std::promise<void>>();
  auto applied = done->get_future();
  asio::post(s.io, [&s, done, closed = std::move(closed), kept = std::move(kept), opened = std::move(opened),
                    table = std::make_shared<const IdentityTable>(std::move(table))]() mutable {
    for (auto& listener : closed) {
      boost::system::error_code ignored;
      listener->acceptor.close(ignored);
      spdlog::info("metadata proxy: stopped listening on {}", listener->name);
    }
    for (auto& [listener, networks] : kept) listener->networks = std::move(networks);
    for (auto& listener : opened) asio::co_spawn(s.io, s.accept_loop(listener), asio::detached);
    s.table = std::move(table);
    done->set_value();
  });
  if (!s.io.get_executor().running_in_this_thread()) applied.wait();
}

uint16_t ProxyService::bound_port(const ListenerSpec& spec) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->listeners.find(Key{spec.netns, spec.address, spec.port});
  return it == impl_->listeners.end() ? 0 : it->second->port;
}

std::vector<std::string> ProxyService::listener_errors() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->errors.begin(), impl_->errors.end()};
}

void ProxyService::stop() {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    if (s.stopped) return;
    s.stopped = true;
  }
  s.work.reset();
  s.io.stop();
  if (s.thread.get_id() == std::this_thread::get_id()) {  // from a handler: the destructor finishes
    s.thread.detach();
    return;
  }
  if (s.thread.joinable()) s.thread.join();
  std::lock_guard lock(s.mu);
  s.listeners.clear();
  s.io_owner.reset();  // closes the listeners and connections still held by coroutines
}

}  // namespace nt::metadata
