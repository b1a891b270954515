// The agent's server_url list: parsing, the round-robin with its backoff once per full
// cycle, and a real failover: the first server's watch stream ends and the client goes on
// with the second one, which sees the resume request.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <future>
#include <string>
#include <thread>

#include "agent/client.h"

namespace nt::agent {
namespace {

TEST(ServerUrlList, OneUrlIsAsBefore) {
  auto one = parse_server_urls("http://controller:9696");
  ASSERT_TRUE(one) << one.error().message;
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].host, "controller");
  EXPECT_EQ((*one)[0].port, "9696");
  EXPECT_EQ((*one)[0].display(), "http://controller:9696");
  // Its errors are ServerUrl::parse's own, word for word.
  for (const char* bad : {"https://controller:9696", "http://controller:99999", "unix://relative", ""}) {
    auto got = parse_server_urls(bad);
    ASSERT_FALSE(got) << bad;
    EXPECT_EQ(got.error().message, ServerUrl::parse(bad).error().message) << bad;
  }
}

TEST(ServerUrlList, CommasAndWhitespace) {
  auto list = parse_server_urls("http://a:9696, http://b:9696 unix:///run/x.sock\thttp://c");
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 4u);
  EXPECT_EQ((*list)[0].display(), "http://a:9696");
  EXPECT_EQ((*list)[1].display(), "http://b:9696");
  EXPECT_TRUE((*list)[2].unix_socket);
  EXPECT_EQ((*list)[2].path, "/run/x.sock");
  EXPECT_EQ((*list)[3].port, "80");
  auto commas = parse_server_urls("http://a:1,http://b:2");
  ASSERT_TRUE(commas);
  EXPECT_EQ(commas->size(), 2u);
}

TEST(ServerUrlList, BadElementIsNamed) {
  auto bad = parse_server_urls("http://a:9696, ftp://b:21 http://c:9696");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("\"server_url\""), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("element 2 of 3"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("ftp://b:21"), std::string::npos) << bad.error().message;
  auto port = parse_server_urls("http://a:9696 http://b:0");
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().message.find("element 2 of 2"), std::string::npos) << port.error().message;
}

TEST(ServerUrlList, EmptyElement) {
  for (const char* text : {"http://a:9696,,http://b:9696", "http://a:9696, ,http://b:9696", "http://a:9696,", ",http://a:9696"}) {
    auto got = parse_server_urls(text);
    ASSERT_FALSE(got) << text;
    EXPECT_NE(got.error().message.find("is empty"), std::string::npos) << got.error().message;
  }
}

TEST(ServerUrlList, Duplicate) {
  auto twice = parse_server_urls("http://a:9696 http://b:9696, http://a:9696");
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("element 3 of 3"), std::string::npos) << twice.error().message;
  EXPECT_NE(twice.error().message.find("listed twice"), std::string::npos) << twice.error().message;
  // The same server spelt two ways (the default port) is the same server.
  EXPECT_FALSE(parse_server_urls("http://a http://a:80"));
}

TEST(ServerRotationTest, RoundRobinAndBackoffOncePerCycle) {
  ServerRotation r(3);
  EXPECT_EQ(r.current(), 0u);
  auto m = r.failed(0);  // 0 -> 1, at once
  EXPECT_TRUE(m.moved);
  EXPECT_FALSE(m.cycle_done);
  EXPECT_EQ(r.current(), 1u);
  m = r.failed(1);  // 1 -> 2, at once
  EXPECT_TRUE(m.moved && !m.cycle_done);
  m = r.failed(2);  // 2 -> 0: every server failed in a row: back off
  EXPECT_TRUE(m.moved);
  EXPECT_TRUE(m.cycle_done);
  EXPECT_EQ(r.current(), 0u);
  m = r.failed(0);  // a new cycle
  EXPECT_FALSE(m.cycle_done);
  EXPECT_EQ(r.current(), 1u);
  r.answered(1);  // server 1 answers: its failure later starts a new cycle
  EXPECT_FALSE(r.failed(1).cycle_done);
  EXPECT_FALSE(r.failed(2).cycle_done);
  EXPECT_TRUE(r.failed(0).cycle_done);
}

TEST(ServerRotationTest, StaleFailureDoesNotMoveAgain) {
  ServerRotation r(2);
  EXPECT_TRUE(r.failed(0).moved);
  auto stale = r.failed(0);  // another thread's request to 0, which is no longer current
  EXPECT_FALSE(stale.moved);
  EXPECT_FALSE(stale.cycle_done);
  EXPECT_EQ(r.current(), 1u);
  // That thread has not tried server 1 yet: at once, and its failure there ends the cycle.
  EXPECT_TRUE(stale.retry_at_once());
  EXPECT_TRUE(r.failed(1).cycle_done);
}

TEST(ServerRotationTest, OneServerBacksOffEveryTime) {
  ServerRotation r(1);
  for (int i = 0; i < 3; ++i) {
    auto m = r.failed(0);
    EXPECT_FALSE(m.moved);
    EXPECT_TRUE(m.cycle_done);
    EXPECT_EQ(r.current(), 0u);
  }
}

// What a OneShotServer does after the request: end the stream, or go silent (with the
// answer's header and lines sent, or with nothing sent) until the client gives up.
enum class Then { close, complete, fall_silent, never_answer };

// A one-connection HTTP server on 127.0.0.1: answers the first request with `lines` as a
// streamed body, then closes the connection and stops listening. `request_line` gets
// the request's first line.
class OneShotServer {
 public:
  explicit OneShotServer(std::string lines, Then then = Then::close)
      : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}), then_(then) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this, lines = std::move(lines)] { serve(lines); });
  }
  ~OneShotServer() {
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::future<std::string> request_line() { return seen_.get_future(); }

 private:
  void serve(const std::string& lines) {
    boost::system::error_code ec;
    auto sock = acceptor_.accept(ec);
    if (ec) return seen_.set_value("");
    boost::asio::streambuf buf;
    boost::asio::read_until(sock, buf, "\r\n\r\n", ec);
    std::string head{boost::asio::buffers_begin(buf.data()), boost::asio::buffers_end(buf.data())};
    seen_.set_value(head.substr(0, head.find("\r\n")));
    if (then_ == Then::never_answer) return wait_for_close(sock);
    std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n";
    if (!lines.empty()) answer += to_hex(lines.size()) + "\r\n" + lines + "\r\n";
    if (then_ == Then::complete) answer += "0\r\n\r\n";  // a whole answer
    boost::asio::write(sock, boost::asio::buffer(answer), ec);
    if (then_ == Then::fall_silent) return wait_for_close(sock);
    sock.close(ec);  // the stream breaks (no last chunk), and nobody listens any more
    acceptor_.close(ec);
  }
  void wait_for_close(boost::asio::ip::tcp::socket& sock) {
    boost::system::error_code ec;
    char byte;
    while (!ec) sock.read_some(boost::asio::buffer(&byte, 1), ec);  // until the client hangs up
    acceptor_.close(ec);
  }
  static std::string to_hex(size_t n) {
    char out[32];
    std::snprintf(out, sizeof out, "%zx", n);
    return out;
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  Then then_;
  unsigned short port_ = 0;
  std::promise<std::string> seen_;
  std::thread thread_;
};

TEST(ChannelFailover, WatchMovesToTheNextServerAndResumes) {
  OneShotServer a("{\"op\":\"hello\",\"protocol\":8}\n{\"op\":\"synced\",\"rev\":41}\n");
  OneShotServer b("");
  auto seen_a = a.request_line(), seen_b = b.request_line();
  auto urls = parse_server_urls(a.url() + ", " + b.url());
  ASSERT_TRUE(urls) << urls.error().message;
  ChannelClient client(*urls, "t");
  EXPECT_EQ(client.current_server(), a.url());
  // As the agent does: the watch path carries the last revision received.
  int64_t rev = -1;
  auto target = [&] { return "/agent/v1/hosts/cmp1/watch" + (rev >= 0 ? "?since=" + std::to_string(rev) : ""); };
  auto on_line = [&](const std::string& line) {
    if (auto at = line.find("\"rev\":"); at != std::string::npos) rev = std::stoll(line.substr(at + 6));
    return true;
  };
  auto first = client.watch(target(), on_line);
  EXPECT_FALSE(first);
  EXPECT_EQ(rev, 41);
  EXPECT_EQ(seen_a.get(), "GET /agent/v1/hosts/cmp1/watch HTTP/1.1");
  EXPECT_EQ(client.current_server(), b.url());
  EXPECT_TRUE(client.take_retry_now());  // the next server, at once
  EXPECT_FALSE(client.take_retry_now());
  auto second = client.watch(target(), on_line);
  EXPECT_FALSE(second);
  EXPECT_EQ(seen_b.get(), "GET /agent/v1/hosts/cmp1/watch?since=41 HTTP/1.1");
  // Both failed in a row: back to the first, after the backoff.
  EXPECT_EQ(client.current_server(), a.url());
  EXPECT_FALSE(client.take_retry_now());
  // The first no longer listens: a request fails to connect and moves on at once.
  EXPECT_FALSE(client.post("/agent/v1/register", "{}"));
  EXPECT_EQ(client.current_server(), b.url());
  EXPECT_TRUE(client.take_retry_now());
}

// The agent's heartbeat and watch share one client: one thread's request neither takes
// nor clears another's "try the next server at once".
TEST(ChannelFailover, RetryNowBelongsToTheThreadWhoseRequestFailed) {
  OneShotServer b("{}", Then::complete);
  auto urls = parse_server_urls("unix:///nonexistent/neutrino-test.sock " + b.url());
  ASSERT_TRUE(urls) << urls.error().message;
  ChannelClient client(*urls, "");
  std::thread watcher([&] { EXPECT_FALSE(client.post("/agent/v1/report", "{}")); });  // the dead one: moves on
  watcher.join();
  EXPECT_EQ(client.current_server(), b.url());
  EXPECT_FALSE(client.take_retry_now());  // not this thread's failure
  EXPECT_TRUE(client.post("/agent/v1/report", "{}"));  // server b answers this thread
  std::thread([&] {
    EXPECT_FALSE(client.take_retry_now());  // a new thread made no request
  }).join();
  // A thread whose failure moved on keeps its answer though another thread's request
  // answered meanwhile.
  OneShotServer c("{}", Then::complete);
  auto pair = parse_server_urls("unix:///nonexistent/neutrino-test.sock " + c.url());
  ASSERT_TRUE(pair);
  ChannelClient shared(*pair, "");
  std::promise<void> failed, answered;
  std::thread heartbeat_like([&] {
    EXPECT_FALSE(shared.post("/agent/v1/report", "{}"));
    failed.set_value();
    answered.get_future().wait();
    EXPECT_TRUE(shared.take_retry_now());
  });
  failed.get_future().wait();
  EXPECT_TRUE(shared.post("/agent/v1/report", "{}"));
  answered.set_value();
  heartbeat_like.join();
}

TEST(ChannelFailover, OneServerAlwaysBacksOff) {
  OneShotServer a("{\"op\":\"synced\",\"rev\":3}\n");
  auto urls = parse_server_urls(a.url());
  ASSERT_TRUE(urls);
  ChannelClient client(*urls, "");
  EXPECT_FALSE(client.watch("/w", [](const std::string&) { return true; }));
  EXPECT_EQ(client.current_server(), a.url());
  EXPECT_FALSE(client.take_retry_now());
}

// A server that stops sending (no keepalive) or never answers counts as unreachable once
// its time is up: the next one is tried at once.
TEST(ChannelFailover, SilenceTimesOut) {
  OneShotServer a("{\"op\":\"synced\",\"rev\":9}\n", Then::fall_silent);
  OneShotServer b("", Then::never_answer);
  auto urls = parse_server_urls(a.url() + " " + b.url());
  ASSERT_TRUE(urls);
  ChannelClient client(*urls, "");
  client.set_timeouts({std::chrono::milliseconds(1000), std::chrono::milliseconds(300), std::chrono::milliseconds(300)});
  int lines = 0;
  auto started = std::chrono::steady_clock::now();
  auto watched = client.watch("/w", [&](const std::string&) { return ++lines, true; });
  ASSERT_FALSE(watched);
  EXPECT_NE(watched.error().message.find("nothing from the server for 300 ms"), std::string::npos) << watched.error().message;
  EXPECT_EQ(lines, 1);
  EXPECT_EQ(client.current_server(), b.url());
  EXPECT_TRUE(client.take_retry_now());
  auto posted = client.post("/agent/v1/register", "{}");
  ASSERT_FALSE(posted);
  EXPECT_NE(posted.error().message.find("nothing from the server"), std::string::npos) << posted.error().message;
  EXPECT_EQ(client.current_server(), a.url());
  EXPECT_FALSE(client.take_retry_now());  // both failed in a row: the backoff
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

}  // namespace
}  // namespace nt::agent
