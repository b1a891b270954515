// The metadata proxy end to end on 127.0.0.1: a client (a VM), the proxy, and an
// in-process backend standing in for Nova's metadata API that records what it is sent.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "kernel/netns.h"
#include "metadata/proxy.h"

namespace nt::metadata {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Python: hmac.new(b"s3cret", b"abc", hashlib.sha256).hexdigest()
constexpr const char* kSignatureOfAbc = "4f2f30aaf4a57bd60ab473c8e9c2cdfefc186723d4727ed6f31f04353c91389a";
// Python: hmac.new(b"", b"abc", hashlib.sha256).hexdigest()
constexpr const char* kSignatureOfAbcNoSecret = "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351";

// Nova's side: answers every request with `status` and "served <target>", and keeps them.
class Backend {
 public:
  explicit Backend(ssl::context* tls = nullptr) : tls_(tls), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Backend() {
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void answer_with(http::status status) { status_ = status; }
  void never_answer() { silent_ = true; }
  std::vector<Request> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
      if (ec) co_return;
      if (tls_) asio::co_spawn(io_, serve_tls(std::move(socket)), asio::detached);
      else asio::co_spawn(io_, serve(beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }
  asio::awaitable<void> serve_tls(tcp::socket socket) {
    auto stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), *tls_);
    auto [ec] = co_await stream->async_handshake(ssl::stream_base::server, use_tuple);
    if (!ec) co_await serve(std::move(*stream));
  }
  template <class Stream>
  asio::awaitable<void> serve(Stream stream) {
    beast::flat_buffer buffer;
    Request req;
    auto [ec, n] = co_await http::async_read(stream, buffer, req, use_tuple);
    if (ec) co_return;
    {
      std::lock_guard lock(mu_);
      seen_.push_back(req);
    }
    if (silent_) {
      asio::steady_timer forever(io_, std::chrono::hours(1));
      co_await forever.async_wait(use_tuple);
      co_return;
    }
    Response res{status_, 11};
    res.set(http::field::content_type, "application/json");
    res.body() = "served " + std::string(req.target());
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(stream, res, use_tuple);
  }

  ssl::context* tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<http::status> status_ = http::status::ok;
  std::atomic<bool> silent_ = false;
  std::mutex mu_;
  std::vector<Request> seen_;
};

// A VM: one blocking connection from `source` (any 127/8 address is local), 15 s at most.
class Client {
 public:
  Client(uint16_t port, const std::string& source = "127.0.0.1") : socket_(io_) {
    socket_.open(tcp::v4());
    socket_.bind({asio::ip::make_address(source), 0});
    timeval limit{15, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }
  Response exchange(Request req) {
    req.set(http::field::host, "169.254.169.254");
    req.prepare_payload();
    http::write(socket_, req);
    return read();
  }
  Response read() {
    Response res;
    http::read(socket_, buffer_, res);
    return res;
  }
  // Sends raw bytes and returns everything until the proxy closes.
  std::string raw(const std::string& bytes, bool then_shutdown = false) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
    if (then_shutdown) socket_.shutdown(tcp::socket::shutdown_send, ec);
    std::string got;
    asio::read(socket_, asio::dynamic_buffer(got), ec);
    return got;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

Request get(const std::string& target) { return Request{http::verb::get, target, 11}; }

Response fetch(uint16_t port, Request req, const std::string& source = "127.0.0.1") {
  return Client(port, source).exchange(std::move(req));
}

uint16_t closed_port() {
  asio::io_context io;
  tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

bool can_connect(uint16_t port) {
  asio::io_context io;
  tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  return !ec;
}

class MetadataProxyTest : public ::testing::Test {
 protected:
  void start(BackendSettings settings) {
    proxy_ = std::make_unique<ProxyService>(std::move(settings));
    proxy_->update({spec_}, table_);
    port_ = proxy_->bound_port(spec_);
    ASSERT_NE(port_, 0) << (proxy_->listener_errors().empty() ? "" : proxy_->listener_errors().back());
  }
  BackendSettings to(const Backend& backend) {
    BackendSettings s;
    s.port = backend.port();
    s.shared_secret = "s3cret";
    return s;
  }

  Backend backend_;
  ListenerSpec spec_{"", "127.0.0.1", 0, {{"127.0.0.1", "net-1"}}};
  IdentityTable table_{{{"net-1", "127.0.0.1"}, Identity{"port-1", "abc", "project-1"}}};
  std::unique_ptr<ProxyService> proxy_;
  uint16_t port_ = 0;
};

TEST(InstanceSignature, IsPythonsHmacSha256HexDigest) {
  EXPECT_EQ(instance_signature("s3cret", "abc"), kSignatureOfAbc);
  EXPECT_EQ(instance_signature("", "abc"), kSignatureOfAbcNoSecret);
}

TEST_F(MetadataProxyTest, ForwardsWithTheIdentityOfTheSourcePort) {
  start(to(backend_));
  auto req = get("/openstack/latest/meta_data.json");
  req.set("X-Instance-ID", "someone-else");
  req.set("X-Tenant-ID", "other-project");
  req.set("X-Instance-ID-Signature", "forged");
  req.set("X-Forwarded-For", "10.9.9.9");
  req.set("X-Neutron-Network-ID", "net-2");
  req.set("X-Metadata-Provider", "lb");
  req.set("X-Custom", "kept");
  auto res = fetch(port_, req);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), "served /openstack/latest/meta_data.json");
  EXPECT_EQ(res[http::field::content_type], "application/json");

  auto seen = backend_.seen();
  ASSERT_EQ(seen.size(), 1u);
  const auto& sent = seen[0];
  EXPECT_EQ(sent.method(), http::verb::get);
  EXPECT_EQ(sent.target(), "/openstack/latest/meta_data.json");
  EXPECT_EQ(sent.count("X-Forwarded-For"), 1u);
  EXPECT_EQ(sent["X-Forwarded-For"], "127.0.0.1");
  EXPECT_EQ(sent.count("X-Instance-ID"), 1u);
  EXPECT_EQ(sent["X-Instance-ID"], "abc");
  EXPECT_EQ(sent.count("X-Tenant-ID"), 1u);
  EXPECT_EQ(sent["X-Tenant-ID"], "project-1");
  EXPECT_EQ(sent.count("X-Instance-ID-Signature"), 1u);
  EXPECT_EQ(sent["X-Instance-ID-Signature"], kSignatureOfAbc);
  EXPECT_EQ(sent.count("X-Neutron-Network-ID"), 0u);
  EXPECT_EQ(sent.count("X-Metadata-Provider"), 0u);
  EXPECT_EQ(sent["X-Custom"], "kept");
  EXPECT_EQ(sent[http::field::host], "127.0.0.1:" + std::to_string(backend_.port()));
}

TEST_F(MetadataProxyTest, PostBodiesAndHeadGoThrough) {
  start(to(backend_));
  Request post{http::verb::post, "/openstack/2013-04-04/password", 11};
  post.body() = "secret-password";
  EXPECT_EQ(fetch(port_, post).result(), http::status::ok);
  ASSERT_EQ(backend_.seen().size(), 1u);
  EXPECT_EQ(backend_.seen()[0].body(), "secret-password");

  Request head{http::verb::head, "/latest/meta-data/", 11};
  head.set(http::field::host, "169.254.169.254");
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  parser.skip(true);
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port_});
  http::write(socket, head);
  http::read(socket, buffer, parser);
  EXPECT_EQ(parser.get().result(), http::status::ok);
  EXPECT_EQ(parser.get()[http::field::content_length], std::to_string(std::string("served /latest/meta-data/").size()));
  EXPECT_EQ(backend_.seen().back().method(), http::verb::head);
}

TEST_F(MetadataProxyTest, UnknownSourceIs404AndNeverReachesTheBackend) {
  start(to(backend_));
  auto res = fetch(port_, get("/latest/meta-data/instance-id"), "127.0.0.2");
  EXPECT_EQ(res.result(), http::status::not_found);
  EXPECT_TRUE(backend_.seen().empty());
}

TEST_F(MetadataProxyTest, WildcardNetworkServesAnyLocalAddress) {
  spec_.networks = {{"*", "net-1"}};
  start(to(backend_));
  EXPECT_EQ(fetch(port_, get("/")).result(), http::status::ok);
  // Another network's table entry for the same address is not ours.
  proxy_->update({spec_}, {{{"net-2", "127.0.0.1"}, Identity{"port-2", "def", "project-2"}}});
  EXPECT_EQ(fetch(port_, get("/")).result(), http::status::not_found);
}

TEST_F(MetadataProxyTest, OtherMethodsAre405) {
  start(to(backend_));
  EXPECT_EQ(fetch(port_, Request{http::verb::delete_, "/", 11}).result(), http::status::method_not_allowed);
  EXPECT_EQ(fetch(port_, Request{http::verb::put, "/", 11}).result(), http::status::method_not_allowed);
  EXPECT_TRUE(backend_.seen().empty());
}

TEST_F(MetadataProxyTest, BackendDownIs503) {
  auto settings = to(backend_);
  settings.port = closed_port();
  start(settings);
  auto res = fetch(port_, get("/"));
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_NE(res.body().find("temporarily unavailable"), std::string::npos);
  EXPECT_EQ(fetch(port_, get("/")).result(), http::status::service_unavailable);  // and it goes on
}

TEST_F(MetadataProxyTest, BackendSilentIs500After10Seconds) {
  backend_.never_answer();
  start(to(backend_));
  auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(fetch(port_, get("/")).result(), http::status::internal_server_error);
  EXPECT_GE(std::chrono::steady_clock::now() - begin, std::chrono::seconds(9));
}

TEST_F(MetadataProxyTest, BackendForbiddenIsRelayed) {
  backend_.answer_with(http::status::forbidden);
  start(to(backend_));
  EXPECT_EQ(fetch(port_, get("/")).result(), http::status::forbidden);
  backend_.answer_with(http::status::not_found);
  EXPECT_EQ(fetch(port_, get("/nothing")).result(), http::status::not_found);
}

TEST_F(MetadataProxyTest, BadRequestsAreAnsweredAndTheProxyGoesOn) {
  start(to(backend_));
  EXPECT_TRUE(Client(port_).raw("GARBAGE\x01\x02 no http here\r\n\r\n").starts_with("HTTP/1.1 400"));
  std::string huge = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
  EXPECT_TRUE(Client(port_).raw(huge).starts_with("HTTP/1.1 431"));
  std::string big_body = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + std::string(100000, 'b');
  EXPECT_TRUE(Client(port_).raw(big_body).starts_with("HTTP/1.1 413"));
  EXPECT_EQ(Client(port_).raw("GET / HT", true), "");  // half a request, then the client is done
  std::string binary(4096, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 37 + 11);
  Client(port_).raw(binary);
  EXPECT_TRUE(backend_.seen().empty());
  EXPECT_EQ(fetch(port_, get("/still-there")).body(), "served /still-there");
}

TEST_F(MetadataProxyTest, KeepsTheConnectionAlive) {
  start(to(backend_));
  Client client(port_);
  EXPECT_EQ(client.exchange(get("/one")).body(), "served /one");
  EXPECT_EQ(client.exchange(get("/two")).body(), "served /two");
  auto last = get("/three");
  last.keep_alive(false);
  auto res = client.exchange(last);
  EXPECT_EQ(res.body(), "served /three");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(backend_.seen().size(), 3u);
}

TEST_F(MetadataProxyTest, UpdateKeepsUnchangedListenersAndClosesRemovedOnes) {
  start(to(backend_));
  auto moved = spec_;
  moved.networks = {{"127.0.0.1", "net-2"}};
  proxy_->update({moved}, {{{"net-2", "127.0.0.1"}, Identity{"port-2", "def", "project-2"}}});
  EXPECT_EQ(proxy_->bound_port(moved), port_);  // the same socket, new networks
  EXPECT_EQ(fetch(port_, get("/")).result(), http::status::ok);
  EXPECT_EQ(backend_.seen().back()["X-Instance-ID"], "def");

  proxy_->update({}, {});
  EXPECT_EQ(proxy_->bound_port(moved), 0);
  EXPECT_FALSE(can_connect(port_));
}

TEST_F(MetadataProxyTest, AMissingNamespaceIsReportedAndTheRestServes) {
  start(to(backend_));
  ListenerSpec elsewhere{"nt-no-such-namespace", "169.254.169.254", 80, {{"*", "net-1"}}};
  proxy_->update({spec_, elsewhere}, table_);
  EXPECT_EQ(proxy_->bound_port(elsewhere), 0);
  auto errors = proxy_->listener_errors();
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors.back().find("nt-no-such-namespace"), std::string::npos) << errors.back();
  EXPECT_EQ(fetch(port_, get("/")).result(), http::status::ok);
}

TEST_F(MetadataProxyTest, StopClosesTheListeners) {
  start(to(backend_));
  proxy_->stop();
  EXPECT_FALSE(can_connect(port_));
  proxy_->update({spec_}, table_);  // ignored once stopped
  EXPECT_EQ(proxy_->bound_port(spec_), 0);
}

TEST_F(MetadataProxyTest, GarbageInBulkNeverStopsIt) {
  start(to(backend_));
  uint32_t seed = 12345;
  for (int i = 0; i < 100; ++i) {
    std::string bytes(1 + i * 97 % 3000, '\0');
    for (auto& c : bytes) c = static_cast<char>((seed = seed * 1103515245 + 12345) >> 16);
    if (i % 3 == 0) bytes = "GET /" + bytes;  // a start that parses, then anything
    Client(port_).raw(bytes, true);
  }
  EXPECT_EQ(fetch(port_, get("/after")).body(), "served /after");
}

// The deployment's shape: the listener in another namespace (opened there through
// kernel::open_tcp_listener), the backend in ours. Needs root to make a namespace.
TEST_F(MetadataProxyTest, ListensInsideANamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
  std::string ns = "nt-mdproxy-test-" + std::to_string(::getpid());
  ASSERT_TRUE(kernel::create_namespace(ns));
  struct Cleanup {
    std::string ns;
    ~Cleanup() { (void)kernel::delete_namespace(ns); }
  } cleanup{ns};
  ASSERT_EQ(std::system(("ip -n " + ns + " link set lo up").c_str()), 0);
  spec_ = ListenerSpec{ns, "127.0.0.1", 0, {{"127.0.0.1", "net-1"}}};
  start(to(backend_));
  // IP_FREEBIND: an address the namespace does not have yet.
  ListenerSpec metadata{ns, "169.254.169.254", 80, {{"*", "net-1"}}};
  proxy_->update({spec_, metadata}, table_);
  EXPECT_EQ(proxy_->bound_port(metadata), 80);

  int fd = -1;
  ASSERT_TRUE(kernel::run_in_namespace(ns, [&]() -> Status {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return {};
  }));
  ASSERT_GE(fd, 0);
  asio::io_context io;
  tcp::socket socket(io, tcp::v4(), fd);
  socket.connect({asio::ip::make_address("127.0.0.1"), proxy_->bound_port(spec_)});
  auto req = get("/latest/meta-data/instance-id");
  req.set(http::field::host, "169.254.169.254");
  http::write(socket, req);
  beast::flat_buffer buffer;
  Response res;
  http::read(socket, buffer, res);
  EXPECT_EQ(res.body(), "served /latest/meta-data/instance-id");
  ASSERT_EQ(backend_.seen().size(), 1u);
  EXPECT_EQ(backend_.seen()[0]["X-Instance-ID"], "abc");
}

// HTTPS to the backend: a self-signed certificate for 127.0.0.1 made with the openssl tool.
class MetadataProxyTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("nt-metadata-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::string command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
                          " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
                          (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string() + " 2>/dev/null";
    if (std::system(command.c_str()) != 0) GTEST_SKIP() << "the openssl tool cannot make a certificate";
    tls_.use_certificate_chain_file((dir_ / "cert.pem").string());
    tls_.use_private_key_file((dir_ / "key.pem").string(), ssl::context::pem);
    backend_ = std::make_unique<Backend>(&tls_);
  }
  void TearDown() override {
    backend_.reset();
    std::filesystem::remove_all(dir_);
  }
  Response through(BackendSettings settings) {
    settings.port = backend_->port();
    settings.protocol = "https";
    ProxyService proxy(settings);
    ListenerSpec spec{"", "127.0.0.1", 0, {{"127.0.0.1", "net-1"}}};
    proxy.update({spec}, {{{"net-1", "127.0.0.1"}, Identity{"port-1", "abc", "project-1"}}});
    return fetch(proxy.bound_port(spec), get("/latest/meta-data/"));
  }

  std::filesystem::path dir_;
  ssl::context tls_{ssl::context::tls_server};
  std::unique_ptr<Backend> backend_;
};

TEST_F(MetadataProxyTlsTest, VerifiesTheBackendAgainstTheCa) {
  BackendSettings settings;
  settings.ca_cert = (dir_ / "cert.pem").string();
  auto res = through(settings);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), "served /latest/meta-data/");
  ASSERT_EQ(backend_->seen().size(), 1u);
  EXPECT_EQ(backend_->seen()[0]["X-Instance-ID"], "abc");
}

TEST_F(MetadataProxyTlsTest, AnUntrustedBackendIs503UnlessInsecure) {
  BackendSettings settings;  // the system's CAs do not know our certificate
  EXPECT_EQ(through(settings).result(), http::status::service_unavailable);
  EXPECT_TRUE(backend_->seen().empty());
  settings.insecure = true;
  EXPECT_EQ(through(settings).result(), http::status::ok);
}

}  // namespace
}  // namespace nt::metadata
