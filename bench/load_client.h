// What neutrino-load's scenarios share: options, one keep-alive HTTP/1.1 client per worker,
// latency statistics and their report.
#pragma once
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace load {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

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

  // The project the next requests act for (noauth X-Project-Id, as a member); "" = as
  // configured (--project, or the admin default).
  void act_as(std::string project) { acting_project_ = std::move(project); }

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
        const std::string& project = acting_project_.empty() ? opts_.project : acting_project_;
        if (!project.empty()) req.set("X-Project-Id", project);
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
  std::string host_, port_, prefix_, acting_project_;
  bool connected_ = false;
};

struct Stats {
  std::string name;
  std::vector<double> ms;
  double wall_s = 0;
  int errors = 0;
};

inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

inline void report(const Stats& s) {
  std::printf("%-28s n=%-6zu errors=%-4d %9.1f ops/s   p50 %7.2f ms   p95 %7.2f ms   p99 %7.2f ms\n", s.name.c_str(),
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

// The resident set of process `pid` as /proc shows it ("  123456 kB"), or "?".
inline std::string rss_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return line.substr(6);
  return "?";
}

// CPU seconds (user + system) process `pid` has used so far, from /proc; -1 if unknown.
inline double cpu_seconds_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line) || line.rfind(')') == std::string::npos) return -1;
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt: utime is field 14
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace load
