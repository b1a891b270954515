#include "exe/api_get.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include "common/error.h"

namespace nt::cli {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

template <class Stream>
Answer get(Stream& s, const std::string& target, const std::string& token) {
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "neutrino-server");
  req.set(http::field::accept, "application/json");
  if (!token.empty()) req.set("X-Auth-Token", token);
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  return {static_cast<int>(res.result_int()), res.body()};
}

}  // namespace

Result<Answer> fetch(const agent::ServerUrl& u, const std::string& target, const std::string& token,
                     std::chrono::steady_clock::duration limit) {
  asio::io_context io;
  try {
    if (u.unix_socket) {
      beast::basic_stream<asio::local::stream_protocol> s(io);
      s.expires_after(limit);
      s.connect(asio::local::stream_protocol::endpoint(u.path));
      return get(s, target, token);
    }
    beast::tcp_stream s(io);
    s.expires_after(limit);
    s.connect(asio::ip::tcp::resolver(io).resolve(u.host, u.port));
    return get(s, target, token);
  } catch (const std::exception& e) {
    return fail(Errc::unavailable, Origin::http, std::string("server unreachable: ") + e.what());
  }
}

}  // namespace nt::cli
