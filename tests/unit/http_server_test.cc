// The HTTP server at its edges, over real loopback sockets: malformed, oversized and
// ambiguous requests get the application's NeutronError (rendered by api/errors.cc) with
// the right status and the connection closes; a handler that throws fails only its
// request; keep-alive serves several requests on one connection; an answer may come
// from another thread after the handler returned.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>

#include "api/errors.h"
#include "http/server.h"

namespace nt {
namespace {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Served {
 public:
  explicit Served(HttpHandler handler, size_t max_body = 1024) {
    HttpServerOptions o;
    o.port = 0;
    o.threads = 2;
    o.max_body = max_body;
    o.render_error = error_response;
    server_ = std::make_unique<HttpServer>(o, std::move(handler));
    auto started = server_->start();
    EXPECT_TRUE(started) << (started ? "" : started.error().message);
    thread_ = std::thread([this] { server_->run(); });
  }
  ~Served() {
    server_->stop();
    thread_.join();
  }
  // Sends raw bytes, reads until the server closes or 5 s pass; everything received.
  std::string exchange(const std::string& bytes, bool wait_for_close = true) const {
    asio::io_context io;
    tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_->port())});
    timeval tv{5, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    asio::write(s, asio::buffer(bytes));
    std::string got;
    char buf[4096];
    boost::system::error_code ec;
    while (true) {
      auto n = s.read_some(asio::buffer(buf), ec);
      got.append(buf, n);
      if (ec || (!wait_for_close && got.find("\r\n\r\n") != std::string::npos && complete(got))) break;
    }
    return got;
  }

 private:
  static bool complete(const std::string& answer) {
    auto head = answer.find("\r\n\r\n");
    auto cl = answer.find("Content-Length: ");
    if (cl == std::string::npos || cl > head) return true;
    return answer.size() >= head + 4 + std::stoul(answer.substr(cl + 16));
  }
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

int status_of(const std::string& answer) { return answer.size() > 12 ? std::stoi(answer.substr(9, 3)) : 0; }
std::string error_type(const std::string& answer) {
  auto body = answer.substr(answer.find("\r\n\r\n") + 4);
  return std::string(boost::json::parse(body).at("NeutronError").at("type").as_string());
}

void echo(HttpRequest&& req, Reply reply) { reply(HttpResponse{200, "{\"path\":\"" + req.target + "\"}"}); }

}  // namespace

TEST(HttpServer, MalformedRequestsGetANeutronErrorAndTheConnectionCloses) {
  Served s(echo);
  auto bad = s.exchange("GET /x HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n");
  EXPECT_EQ(status_of(bad), 400) << bad;
  EXPECT_EQ(error_type(bad), "HTTPBadRequest");
  EXPECT_NE(bad.find("Connection: close"), std::string::npos) << bad;
  auto v2 = s.exchange("GET /x HTTP/2.0\r\nHost: a\r\n\r\n");
  EXPECT_EQ(status_of(v2), 505) << v2;
  EXPECT_EQ(error_type(v2), "HTTPVersionNotSupported");
}

TEST(HttpServer, OversizedBodiesAndHeadersAreRefusedWithTheirStatus) {
  Served s(echo, 1024);
  auto big = s.exchange("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4096\r\n\r\n" + std::string(4096, 'x'));
  EXPECT_EQ(status_of(big), 413) << big;
  EXPECT_EQ(error_type(big), "RequestEntityTooLarge");
  auto huge = s.exchange("GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(70000, 'y') + "\r\n\r\n");
  EXPECT_EQ(status_of(huge), 431) << huge.substr(0, 200);
  EXPECT_EQ(error_type(huge), "HTTPRequestHeaderFieldsTooLarge");
}

TEST(HttpServer, AmbiguousFramingAndIdentityAreRefused) {
  Served s(echo);
  auto te = s.exchange("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(status_of(te), 400) << te;
  EXPECT_NE(te.find("chunked"), std::string::npos);
  auto twice = s.exchange("GET /x HTTP/1.1\r\nHost: a\r\nX-Auth-Token: a\r\nX-Auth-Token: b\r\n\r\n");
  EXPECT_EQ(status_of(twice), 400) << twice;
  EXPECT_NE(twice.find("X-Auth-Token"), std::string::npos);
}

TEST(HttpServer, AThrowingHandlerFailsOnlyItsRequest) {
  Served s([](HttpRequest&& req, Reply reply) {
    if (req.target == "/boom") throw std::runtime_error("a bug");
    echo(std::move(req), std::move(reply));
  });
  auto boom = s.exchange("GET /boom HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(boom), 500) << boom;
  EXPECT_EQ(error_type(boom), "HTTPInternalServerError");
  EXPECT_EQ(boom.find("a bug"), std::string::npos) << "the cause is logged, not sent";
  auto fine = s.exchange("GET /fine HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(fine), 200) << fine;
}

TEST(HttpServer, KeepAliveAndAnswersFromAnotherThread) {
  Served s([](HttpRequest&& req, Reply reply) {
    std::thread([reply, target = req.target] { reply(HttpResponse{200, "{\"late\":\"" + target + "\"}"}); }).detach();
  });
  auto both = s.exchange("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_NE(both.find("{\"late\":\"/a\"}"), std::string::npos) << both;
  EXPECT_NE(both.find("{\"late\":\"/b\"}"), std::string::npos) << both;
  EXPECT_LT(both.find("/a"), both.find("/b")) << "answers in request order";
}

}  // namespace nt
