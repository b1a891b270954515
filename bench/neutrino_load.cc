// neutrino-load: a load generator for any Neutron-compatible endpoint (neutrino-server or
// a real neutron-server). Scenarios:
//   ports:    1 network, a /16 subnet, N concurrent port creates, one full port list,
//             N shows, N deletes
//   networks: N concurrent network creates, one full list, N shows, N deletes
// Prints ops/s and p50/p95/p99 latency per operation. Each worker keeps one HTTP/1.1
// keep-alive connection. --url may list several servers sharing one database
// (comma-separated): worker i talks to URL i % n. Works with noauth (no token) or a Keystone token (--token).
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string url = "http://127.0.0.1:9696";
  std::vector<std::string> urls;  // --url split at commas
  std::string scenario = "ports";
  std::string token, project;
  int count = 1000, concurrency = 16;
  int rss_pid = 0;
  bool keep = false;
};

class Client {
 public:
  Client(const Options& o, size_t index = 0) : opts_(o), stream_(io_) {
    auto u = boost::urls::parse_uri(o.urls[index % o.urls.size()]).value();
    host_ = u.host();
    port_ = u.has_port() ? u.port() : "80";
    prefix_ = std::string(u.path());
    if (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
  }

  // Returns the HTTP status; the body is parsed into `out` when non-empty.
  // Returns the HTTP status; the body is parsed into `out`, or kept raw in `raw`.
  int call(http::verb verb, const std::string& path, const std::string& body, json::value* out = nullptr,
           std::string* raw = nullptr) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        connect();
        http::request<http::string_body> req{verb, prefix_ + path, 11};
        req.set(http::field::host, host_);
        req.set(http::field::content_type, "application/json");
        req.set(http::field::accept, "application/json");
        if (!opts_.token.empty()) req.set("X-Auth-Token", opts_.token);
        if (!opts_.project.empty()) req.set("X-Project-Id", opts_.project);
        req.keep_alive(true);
        req.body() = body;
        req.prepare_payload();
        http::write(stream_, req);
        http::response_parser<http::string_body> parser;
        parser.body_limit(1ull << 31);
        http::read(stream_, buffer_, parser);
        auto& res = parser.get();
        if (out && !res.body().empty()) *out = json::parse(res.body());
        if (raw) *raw = std::move(res.body());
        if (!res.keep_alive()) close();
        return res.result_int();
      } catch (const std::exception& e) {
        close();
        if (attempt == 1) {
          std::fprintf(stderr, "request failed: %s\n", e.what());
          return 0;
        }
      }
    }
    return 0;
  }

 private:
  void connect() {
    if (connected_) return;
    asio::ip::tcp::resolver resolver(io_);
    stream_.connect(resolver.resolve(host_, port_));
    stream_.socket().set_option(asio::ip::tcp::no_delay(true));
    connected_ = true;
  }
  void close() {
    beast::error_code ec;
    stream_.socket().close(ec);
    connected_ = false;
  }

  const Options& opts_;
  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string host_, port_, prefix_;
  bool connected_ = false;
};

struct Stats {
  std::string name;
  std::vector<double> ms;
  double wall_s = 0;
  int errors = 0;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

void report(const Stats& s) {
  std::printf("%-16s n=%-6zu errors=%-4d %9.1f ops/s   p50 %7.2f ms   p95 %7.2f ms   p99 %7.2f ms\n", s.name.c_str(),
              s.ms.size(), s.errors, s.wall_s > 0 ? static_cast<double>(s.ms.size()) / s.wall_s : 0,
              percentile(s.ms, 0.50), percentile(s.ms, 0.95), percentile(s.ms, 0.99));
  std::fflush(stdout);
}

// Runs `op(client, i)` for i in [0, n) on `conc` workers; `op` returns true on success.
template <class Op>
Stats run(const Options& o, const std::string& name, int n, int conc, Op op) {
  Stats stats{name, {}, 0, 0};
  std::mutex mu;
  std::atomic<int> next{0};
  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < conc; ++w)
    workers.emplace_back([&, w] {
      Client client(o, static_cast<size_t>(w));
      std::vector<double> local;
      int errors = 0;
      for (int i; (i = next++) < n;) {
        auto t0 = Clock::now();
        bool ok = op(client, i);
        local.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        errors += ok ? 0 : 1;
      }
      std::lock_guard g(mu);
      stats.ms.insert(stats.ms.end(), local.begin(), local.end());
      stats.errors += errors;
    });
  for (auto& t : workers) t.join();
  stats.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  report(stats);
  return stats;
}

std::string rss_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return line.substr(6);
  return "?";
}

std::string id_of(const json::value& v, const char* key) {
  return std::string(v.at(key).at("id").as_string());
}

int scenario(const Options& o, const char* singular, const char* plural, const std::string& network_id) {
  std::vector<std::string> ids(static_cast<size_t>(o.count));
  std::string path = std::string("/v2.0/") + plural;
  auto creates = run(o, std::string(singular) + " create", o.count, o.concurrency, [&](Client& c, int i) {
    json::object item{{"name", "load-" + std::to_string(i)}};
    if (!network_id.empty()) item["network_id"] = network_id;
    json::value out;
    int st = c.call(http::verb::post, path, json::serialize(json::object{{singular, item}}), &out);
    if (st != 201) return false;
    ids[static_cast<size_t>(i)] = id_of(out, singular);
    return true;
  });
  // The list is timed to its last byte; parsing it is the client's own cost, shown apart.
  std::string listing;
  run(o, std::string(singular) + " list", 1, 1, [&](Client& c, int) {
    return c.call(http::verb::get, path + (network_id.empty() ? "" : "?network_id=" + network_id), "", nullptr, &listing) == 200;
  });
  auto t0 = Clock::now();
  size_t listed = listing.empty() ? 0 : json::parse(listing).at(plural).as_array().size();
  std::printf("%-16s %zu %s in one list (%.1f MB; client JSON parse %.1f ms)\n", "", listed, plural,
              static_cast<double>(listing.size()) / 1e6, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  if (o.rss_pid) std::printf("%-16s server RSS holding them:%s\n", "", rss_of(o.rss_pid).c_str());
  run(o, std::string(singular) + " show", o.count, o.concurrency, [&](Client& c, int i) {
    return !ids[static_cast<size_t>(i)].empty() && c.call(http::verb::get, path + "/" + ids[static_cast<size_t>(i)], "") == 200;
  });
  if (o.keep) return creates.errors;
  run(o, std::string(singular) + " delete", o.count, o.concurrency, [&](Client& c, int i) {
    return !ids[static_cast<size_t>(i)].empty() && c.call(http::verb::delete_, path + "/" + ids[static_cast<size_t>(i)], "") == 204;
  });
  return creates.errors;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"neutrino-load: Neutron API load generator"};
  app.add_option("--url", o.url, "Neutron endpoint (http://host:9696)");
  app.add_option("--scenario", o.scenario, "ports or networks")->check(CLI::IsMember({"ports", "networks"}));
  app.add_option("-n,--count", o.count, "operations per phase");
  app.add_option("-c,--concurrency", o.concurrency, "concurrent clients");
  app.add_option("--token", o.token, "X-Auth-Token for a Keystone-protected endpoint");
  app.add_option("--project", o.project, "X-Project-Id (noauth endpoints)");
  app.add_option("--rss-pid", o.rss_pid, "report this server process's RSS after the creates");
  app.add_flag("--keep", o.keep, "do not delete what was created");
  CLI11_PARSE(app, argc, argv);
  for (size_t pos = 0;;) {
    auto comma = o.url.find(',', pos);
    o.urls.push_back(o.url.substr(pos, comma - pos));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }

  std::printf("scenario %s: n=%d concurrency=%d against %s\n", o.scenario.c_str(), o.count, o.concurrency, o.url.c_str());
  if (o.scenario == "networks") return scenario(o, "network", "networks", "") ? 1 : 0;

  Client setup(o);
  json::value net, sub;
  if (setup.call(http::verb::post, "/v2.0/networks", R"({"network": {"name": "load-net"}})", &net) != 201) {
    std::fprintf(stderr, "cannot create the network\n");
    return 1;
  }
  auto net_id = id_of(net, "network");
  auto body = json::serialize(json::object{
      {"subnet", json::object{{"network_id", net_id}, {"ip_version", 4}, {"cidr", "10.200.0.0/16"}, {"name", "load-subnet"}}}});
  if (setup.call(http::verb::post, "/v2.0/subnets", body, &sub) != 201) {
    std::fprintf(stderr, "cannot create the subnet\n");
    return 1;
  }
  // With several servers, wait until each has replayed the subnet before creating ports on it.
  auto sub_path = "/v2.0/subnets/" + id_of(sub, "subnet");
  for (size_t i = 1; i < o.urls.size(); ++i) {
    Client peer(o, i);
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (peer.call(http::verb::get, sub_path, "") != 200) {
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "%s never saw the subnet\n", o.urls[i].c_str());
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  int errors = scenario(o, "port", "ports", net_id);
  if (!o.keep) {
    setup.call(http::verb::delete_, sub_path, "");
    setup.call(http::verb::delete_, "/v2.0/networks/" + net_id, "");
  }
  return errors ? 1 : 0;
}
