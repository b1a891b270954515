// The calls to Keystone: HTTP or HTTPS (OpenSSL through Boost.Beast), one connection per
// call, every call bounded by http_timeout.
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>
#include <ctime>
#include <mutex>

#include "auth/keystone.h"
#include "common/json_get.h"

namespace nt::auth {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace json = boost::json;
using SystemClock = std::chrono::system_clock;

Result<SystemClock::time_point> parse_keystone_time(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6 || consumed != 19)
    return fail(Errc::invalid_argument, Origin::http, "not a Keystone time: \"" + text + "\"");
  std::string_view rest = std::string_view(text).substr(19);
  if (!rest.empty() && rest[0] == '.') {
    size_t digits = 1;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    rest.remove_prefix(digits);
  }
  if (rest != "Z" && rest != "+00:00" && !rest.empty())
    return fail(Errc::invalid_argument, Origin::http, "not a UTC Keystone time: \"" + text + "\"");
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1)) return fail(Errc::invalid_argument, Origin::http, "bad time \"" + text + "\"");
  return SystemClock::from_time_t(t);
}

namespace {

std::string str_at(const json::object* o, std::string_view key) {
  if (!o) return "";
  const json::value* v = o->if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
const json::object* obj_at(const json::object* o, std::string_view key) {
  if (!o) return nullptr;
  const json::value* v = o->if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

}  // namespace

Result<Identity> identity_from_token_body(const std::string& body) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  const json::object* token = ec || !doc.is_object() ? nullptr : obj_at(&doc.as_object(), "token");
  if (!token) return fail(Errc::invalid_argument, Origin::http, "Keystone's token answer has no \"token\" object");
  Identity id;
  auto expires = parse_keystone_time(str_at(token, "expires_at"));
  if (!expires) return nt::unexpected(expires.error());
  id.expires_at = *expires;
  const json::object* user = obj_at(token, "user");
  id.user_id = str_at(user, "id");
  id.user_name = str_at(user, "name");
  id.user_domain_id = str_at(obj_at(user, "domain"), "id");
  if (id.user_id.empty()) return fail(Errc::invalid_argument, Origin::http, "Keystone's token answer names no user");
  const json::object* project = obj_at(token, "project");
  id.project_id = str_at(project, "id");
  id.project_name = str_at(project, "name");
  id.project_domain_id = str_at(obj_at(project, "domain"), "id");
  if (const json::object* system = obj_at(token, "system"))
    id.system_scope = system->if_contains("all") && system->at("all").is_bool() && system->at("all").as_bool();
  if (const json::value* roles = token->if_contains("roles"); roles && roles->is_array())
    for (const auto& r : roles->as_array()) {
      std::string name = r.is_object() ? str_at(&r.as_object(), "name") : "";
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!name.empty()) id.roles.push_back(std::move(name));
    }
  return id;
}

namespace {

struct Endpoint {
  bool tls = false;
  std::string host, port, base;  // base: path prefix ending in /v3
};

Result<Endpoint> parse_auth_url(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->host().empty())
    return fail(Errc::invalid_argument, Origin::config, "auth_url \"" + url + "\" is not an http(s) URL");
  Endpoint e;
  e.tls = parsed->scheme() == "https";
  e.host = parsed->host_address();
  e.port = parsed->has_port() ? std::string(parsed->port()) : (e.tls ? "443" : "80");
  e.base = std::string(parsed->encoded_path());
  while (!e.base.empty() && e.base.back() == '/') e.base.pop_back();
  if (!e.base.ends_with("/v3")) e.base += "/v3";
  return e;
}

struct Answer {
  int status = 0;
  std::string body;
  std::string subject_token;  // X-Subject-Token of the answer
};

class BeastKeystoneClient final : public KeystoneClient {
 public:
  BeastKeystoneClient(KeystoneOptions o, Endpoint e) : options_(std::move(o)), endpoint_(std::move(e)) {}
  Status init_tls();
  Validation validate(const std::string& subject_token) override;

 private:
  Result<Answer> call(http::verb verb, const std::string& path, const std::string& auth_token,
                      const std::string& subject_token, const std::string& body);
  template <class Stream>
  Result<Answer> exchange(Stream& stream, asio::io_context& io, http::request<http::string_body>& req);
  Result<std::string> service_token(const std::string& refused);

  KeystoneOptions options_;
  Endpoint endpoint_;
  std::unique_ptr<ssl::context> tls_;
  std::mutex mu_;  // guards the service token
  std::string service_token_;
  SystemClock::time_point service_expiry_{};
};

Status BeastKeystoneClient::init_tls() {
  if (!endpoint_.tls) return {};
  tls_ = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  if (options_.cafile.empty()) tls_->set_default_verify_paths(ec);
  else tls_->load_verify_file(options_.cafile, ec);
  if (ec) return fail(Errc::invalid_argument, Origin::config, "cafile " + options_.cafile + ": " + ec.message());
  tls_->set_verify_mode(options_.insecure ? ssl::verify_none : ssl::verify_peer);
  return {};
}

template <class Stream>
Result<Answer> BeastKeystoneClient::exchange(Stream& stream, asio::io_context& io,
                                             http::request<http::string_body>& req) {
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(4u << 20);
  beast::error_code result = asio::error::timed_out;
  http::async_write(stream, req, [&](beast::error_code ec, size_t) {
    if (ec) {
      result = ec;
      return;
    }
    http::async_read(stream, buf, parser, [&](beast::error_code ec2, size_t) { result = ec2; });
  });
  io.run_for(options_.http_timeout);
  if (result) return fail(Errc::unavailable, Origin::http, "Keystone at " + options_.auth_url + ": " + result.message());
  auto& res = parser.get();
  return Answer{static_cast<int>(res.result_int()), res.body(), std::string(res["X-Subject-Token"])};
}

Result<Answer> BeastKeystoneClient::call(http::verb verb, const std::string& path, const std::string& auth_token,
                                         const std::string& subject_token, const std::string& body) {
  http::request<http::string_body> req{verb, endpoint_.base + path, 11};
  req.set(http::field::host, endpoint_.host);
  req.set(http::field::user_agent, "neutrino-server");
  req.set(http::field::accept, "application/json");
  if (!auth_token.empty()) req.set("X-Auth-Token", auth_token);
  if (!subject_token.empty()) req.set("X-Subject-Token", subject_token);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  asio::io_context io;
  auto deadline = SteadyClock::now() + options_.http_timeout;
  beast::error_code ec = asio::error::timed_out;
  asio::ip::tcp::resolver resolver(io);
  asio::ip::tcp::resolver::results_type addresses;
  resolver.async_resolve(endpoint_.host, endpoint_.port, [&](beast::error_code e, auto r) { ec = e, addresses = r; });
  io.run_for(options_.http_timeout);
  if (ec) return fail(Errc::unavailable, Origin::http, "Keystone at " + options_.auth_url + ": " + ec.message());
  io.restart();
  auto left = [&] { return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now())); };
  if (!tls_) {
    beast::tcp_stream stream(io);
    stream.expires_after(left());
    ec = asio::error::timed_out;
    stream.async_connect(addresses, [&](beast::error_code e, auto) { ec = e; });
    io.run_for(left());
    if (ec) return fail(Errc::unavailable, Origin::http, "Keystone at " + options_.auth_url + ": " + ec.message());
    io.restart();
    return exchange(stream, io, req);
  }
  beast::ssl_stream<beast::tcp_stream> stream(io, *tls_);
  SSL_set_tlsext_host_name(stream.native_handle(), endpoint_.host.c_str());
  if (!options_.insecure) stream.set_verify_callback(ssl::host_name_verification(endpoint_.host));
  beast::get_lowest_layer(stream).expires_after(left());
  ec = asio::error::timed_out;
  beast::get_lowest_layer(stream).async_connect(addresses, [&](beast::error_code e, auto) {
    if (e) {
      ec = e;
      return;
    }
    stream.async_handshake(ssl::stream_base::client, [&](beast::error_code e2) { ec = e2; });
  });
  io.run_for(left());
  if (ec) return fail(Errc::unavailable, Origin::http, "Keystone at " + options_.auth_url + ": " + ec.message());
  io.restart();
  return exchange(stream, io, req);
}

// The service's own token (keystonemiddleware's admin token), renewed a minute before it
// expires or when Keystone no longer takes it (`refused`: unless another thread renewed it
// meanwhile).
Result<std::string> BeastKeystoneClient::service_token(const std::string& refused) {
  std::lock_guard lock(mu_);
  bool fresh = !service_token_.empty() && SystemClock::now() + std::chrono::seconds(60) < service_expiry_;
  if (fresh && service_token_ != refused) return service_token_;
  json::object auth{
      {"identity",
       {{"methods", json::array{"password"}},
        {"password",
         {{"user",
           {{"name", options_.username}, {"password", options_.password}, {"domain", {{"name", options_.user_domain_name}}}}}}}}},
      {"scope", {{"project", {{"name", options_.project_name}, {"domain", {{"name", options_.project_domain_name}}}}}}}};
  auto answer = call(http::verb::post, "/auth/tokens", "", "", json::serialize(json::object{{"auth", auth}}));
  if (!answer) return nt::unexpected(answer.error());
  if (answer->status != 201 || answer->subject_token.empty())
    return fail(Errc::unavailable, Origin::http,
                "Keystone refused the service credentials of [keystone_authtoken] (user " + options_.username +
                    "): HTTP " + std::to_string(answer->status));
  auto identity = identity_from_token_body(answer->body);
  if (!identity) return nt::unexpected(identity.error());
  service_token_ = answer->subject_token;
  service_expiry_ = identity->expires_at;
  return service_token_;
}

Validation BeastKeystoneClient::validate(const std::string& subject_token) {
  std::string refused;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto service = service_token(refused);
    if (!service) return {Verdict::unavailable, {}, service.error().message};
    auto answer = call(http::verb::get, "/auth/tokens?nocatalog", *service, subject_token, "");
    if (!answer) return {Verdict::unavailable, {}, answer.error().message};
    if (answer->status == 401) {  // our service token was revoked or expired: renew once
      refused = *service;
      continue;
    }
    if (answer->status == 404) return {Verdict::invalid, {}, "Keystone does not know the token (expired or revoked)"};
    if (answer->status != 200)
      return {Verdict::unavailable, {}, "Keystone answered HTTP " + std::to_string(answer->status) + " to a validation"};
    auto identity = identity_from_token_body(answer->body);
    if (!identity) return {Verdict::unavailable, {}, identity.error().message};
    if (identity->expires_at <= SystemClock::now()) return {Verdict::invalid, {}, "the token has expired"};
    return {Verdict::valid, std::move(*identity), ""};
  }
  return {Verdict::unavailable, {}, "Keystone refuses the service token of [keystone_authtoken]"};
}

}  // namespace

Result<std::unique_ptr<KeystoneClient>> KeystoneClient::create(const KeystoneOptions& options) {
  auto endpoint = parse_auth_url(options.auth_url);
  if (!endpoint) return nt::unexpected(endpoint.error());
  auto client = std::make_unique<BeastKeystoneClient>(options, *endpoint);
  NT_TRY(client->init_tls());
  return std::unique_ptr<KeystoneClient>(std::move(client));
}

}  // namespace nt::auth
