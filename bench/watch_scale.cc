// neutrino-watch-scale (issue 18): one server, many hosts. Registers N hosts through the
// agent channel, keeps N watch streams open (bench/watch_fleet.h: each decodes its lines
// with the agent's own code), then binds ports the way Nova does (create, then set
// binding:host_id) at a steady rate and measures:
//   - delivery: from the bind request to each concerned watcher's `port`/`l2pop` entry
//     (every host of the port's network), p50/p99, and per port to its last host;
//   - bytes the watchers received per delivery (one change set's entries reaching one
//     host: every host that gets a line of it, e.g. all hosts of the port's security
//     group for its address), the server's RSS and CPU;
//   - with --restart-at: the server restarted under the load (it must be started by this
//     tool: the command after `--`); time until every watcher is in sync again after the
//     server listens, and how many needed a full view (--lagging K watchers are kept
//     away for 2 s before the restart, so they fell behind);
//   - with --verify: every watcher's final view digest equals the server's recompute.
// Phases: join (one port per host, so every host is on its networks), then steady
// (--seconds of binds at --rate). Hosts are split into networks of --span hosts (0: one
// network spanning every host). Prints a summary and, with --json, writes it to a file.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <iostream>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "agent/client.h"
#include "channel/messages.h"
#include "channel/view_digest.h"
#include "watch_fleet.h"

extern char** environ;

namespace {
namespace json = boost::json;
using nt::bench::Clock;

struct Options {
  std::string url = "http://127.0.0.1:9696", token, json_out, server_log = "/dev/null";
  int hosts = 100, span = 25, rate = 100, seconds = 10, threads = 2, workers = 8, report_interval = 10;
  int lagging = 0, server_pid = 0;
  double restart_at = 0;
  bool verify = false;
  std::vector<std::string> server;  // the command that runs the server (after --)
};

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(std::ceil(p * static_cast<double>(v.size()))) - (p > 0 ? 1 : 0))];
}

json::object stats_of(const std::vector<double>& v) {
  return {{"n", v.size()}, {"p50", percentile(v, 0.5)}, {"p90", percentile(v, 0.9)}, {"p99", percentile(v, 0.99)},
          {"max", v.empty() ? 0.0 : *std::max_element(v.begin(), v.end())}};
}

// The server process: started (and restarted) by this tool, or watched by PID.
class ServerProcess {
 public:
  ServerProcess(const Options& o) : opts_(o), pid_(o.server_pid) {}
  ~ServerProcess() { stop(); }
  bool owned() const { return !opts_.server.empty(); }
  pid_t pid() const { return pid_; }

  void start() {
    if (!owned()) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, opts_.server_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> argv;
    for (const auto& a : opts_.server) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (posix_spawnp(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid_ = 0;
    posix_spawn_file_actions_destroy(&fa);
    if (!pid_) throw std::runtime_error("cannot start " + opts_.server[0]);
  }

  // SIGTERM (a clean stop, as systemd's), waited for.
  void stop() {
    if (!owned() || pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
  }

  // RSS in MB and CPU seconds (user + system) so far.
  std::pair<double, double> usage() const {
    double rss = 0, cpu = 0;
    if (pid_ <= 0) return {0, 0};
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmRSS:", 0) == 0) rss = std::stod(line.substr(6)) / 1024.0;
    std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    auto close = text.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest(text.substr(close + 2));
      std::string field;
      std::vector<std::string> f;
      while (rest >> field) f.push_back(field);
      if (f.size() > 12) cpu = (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    return {rss, cpu};
  }

 private:
  const Options& opts_;
  pid_t pid_ = 0;
};

// Peak RSS and CPU of the server, sampled every 100 ms on a thread of its own.
class Sampler {
 public:
  explicit Sampler(const ServerProcess& p) : proc_(p), thread_([this] { run(); }) {}
  ~Sampler() {
    done_ = true;
    thread_.join();
  }
  double peak_rss() const { return peak_.load(); }
  double cpu() const { return proc_.usage().second; }

 private:
  void run() {
    while (!done_) {
      peak_ = std::max(peak_.load(), proc_.usage().first);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  const ServerProcess& proc_;
  std::atomic<double> peak_{0};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

std::vector<nt::agent::ServerUrl> server_urls(const Options& o) { return {*nt::agent::ServerUrl::parse(o.url)}; }

// A call retried (bounded, 60 s) while the server cannot answer: it may be restarting.
json::value call(nt::agent::ChannelClient& c, const std::string& method, const std::string& target,
                 const json::value& body, int want) {
  auto until = Clock::now() + std::chrono::seconds(60);
  std::string last;
  while (Clock::now() < until) {
    auto r = c.call(method, target, body.is_null() ? "" : json::serialize(body));
    if (r && r->status == want) return r->body.empty() ? json::value() : json::parse(r->body);
    last = r ? std::to_string(r->status) + " " + r->body : r.error().message;
    if (r && r->status < 500 && r->status != 409) break;  // not the server's state: an error of ours
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error(method + " " + target + ": " + last);
}

void wait_listening(const Options& o) {
  nt::agent::ChannelClient c(server_urls(o), o.token);
  auto until = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < until) {
    if (auto r = c.call("GET", "/healthz"); r && r->status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  throw std::runtime_error("the server does not listen on " + o.url);
}


// The registered hosts and their networks: host h is on network h / span (span 0: one).
struct Cloud {
  std::vector<std::pair<std::string, std::string>> hosts;  // name, its host token
  std::vector<std::string> networks;
  int span = 0;
  size_t network_of(size_t h) const { return span == 0 ? 0 : h / static_cast<size_t>(span); }
  int hosts_in(size_t g) const {
    if (span == 0) return static_cast<int>(hosts.size());
    return static_cast<int>(std::min(hosts.size(), (g + 1) * static_cast<size_t>(span)) - g * static_cast<size_t>(span));
  }
};

// `count` calls of fn(i) spread over `workers` threads at `rate` per second (as due: a
// worker that falls behind catches up at once). Answers the seconds it took.
double run_paced(int count, int rate, int workers, const std::function<void(int)>& fn) {
  std::atomic<int> next{0};
  auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w)
    pool.emplace_back([&] {
      for (int i; (i = next++) < count;) {
        std::this_thread::sleep_until(start + std::chrono::microseconds(static_cast<int64_t>(1e6 * i / rate)));
        fn(i);
      }
    });
  for (auto& t : pool) t.join();
  return ms_since(start) / 1000.0;
}

Cloud register_hosts(const Options& o) {
  Cloud cloud;
  cloud.span = o.span >= o.hosts ? 0 : o.span;
  cloud.hosts.resize(static_cast<size_t>(o.hosts));
  run_paced(o.hosts, 1000000, o.workers, [&](int h) {
    nt::agent::ChannelClient c(server_urls(o), o.token);
    char name[32], ip[32];
    std::snprintf(name, sizeof name, "scale-h%05d", h);
    std::snprintf(ip, sizeof ip, "172.16.%d.%d", h / 250, h % 250 + 1);
    nt::channel::Registration r{name, "dvr", ip, {}, std::nullopt, std::nullopt, "watch-scale"};
    auto answer = call(c, "POST", "/agent/v1/register", json::value_from(r), 200);
    const auto* token = answer.as_object().if_contains("host_token");
    if (!token || !token->is_string()) throw std::runtime_error(std::string(name) + " is registered already: use a new database");
    cloud.hosts[static_cast<size_t>(h)] = {name, std::string(token->as_string())};
  });
  return cloud;
}

// One network per group of hosts, each with a subnet big enough for its ports.
void create_networks(const Options& o, Cloud& cloud) {
  nt::agent::ChannelClient c(server_urls(o), o.token);
  call(c, "PUT", "/v2.0/quotas/fake_project_id", json::parse(R"({"quota": {"port": -1, "network": -1, "subnet": -1}})"), 200);
  size_t groups = cloud.span == 0 ? 1 : (cloud.hosts.size() + static_cast<size_t>(cloud.span) - 1) / static_cast<size_t>(cloud.span);
  double ports = static_cast<double>(o.hosts + o.rate * o.seconds) / static_cast<double>(groups) + 16;
  int host_bits = std::max(4, static_cast<int>(std::ceil(std::log2(ports * 1.5))));
  for (size_t g = 0; g < groups; ++g) {
    auto net = call(c, "POST", "/v2.0/networks", json::object{{"network", json::object{{"name", "scale-" + std::to_string(g)}}}}, 201);
    auto id = std::string(net.at("network").at("id").as_string());
    uint32_t base = (10u << 24) + static_cast<uint32_t>(g << host_bits);
    auto cidr = std::to_string(base >> 24) + "." + std::to_string(base >> 16 & 255) + "." + std::to_string(base >> 8 & 255) + ".0/" +
                std::to_string(32 - host_bits);
    call(c, "POST", "/v2.0/subnets",
         json::object{{"subnet", json::object{{"network_id", id}, {"ip_version", 4}, {"cidr", cidr}}}}, 201);
    cloud.networks.push_back(id);
  }
}

// Nova's way: the port, then its binding. `bind_ms` gets the binding's latency.
void bind_port(nt::agent::ChannelClient& c, const Cloud& cloud, int i, size_t host, nt::bench::Deliveries* awaited,
               std::vector<double>& bind_ms, std::mutex& mu) {
  auto g = cloud.network_of(host);
  auto port = call(c, "POST", "/v2.0/ports",
                   json::object{{"port", json::object{{"network_id", cloud.networks[g]}, {"device_id", "vm-" + std::to_string(i)},
                                                      {"device_owner", "compute:nova"}}}},
                   201);
  auto id = std::string(port.at("port").at("id").as_string());
  auto sent = Clock::now();
  if (awaited) awaited->expect(id, sent, cloud.hosts_in(g));
  call(c, "PUT", "/v2.0/ports/" + id, json::object{{"port", json::object{{"binding:host_id", cloud.hosts[host].first}}}}, 200);
  std::lock_guard g2(mu);
  bind_ms.push_back(ms_since(sent));
}

// Status reports as agents send them: every `report_interval` seconds per host, spread.
class Reporter {
 public:
  Reporter(const Options& o, const nt::bench::Fleet& fleet, std::vector<std::string> tokens)
      : opts_(o), fleet_(fleet), tokens_(std::move(tokens)) {
    for (int t = 0; t < 2; ++t) threads_.emplace_back([this, t] { run(static_cast<size_t>(t), 2); });
  }
  ~Reporter() {
    done_ = true;
    for (auto& t : threads_) t.join();
  }

 private:
  void run(size_t first, size_t step) {
    auto period = std::chrono::milliseconds(1000 * opts_.report_interval);
    auto n = fleet_.size();
    for (auto round = Clock::now(); !done_; round += period)
      for (size_t i = first; i < n && !done_; i += step) {
        std::this_thread::sleep_until(round + period * i / n);
        report(i);
      }
  }
  void report(size_t i) {
    auto st = fleet_.state(i);
    nt::channel::StatusMessage m;
    for (const auto& [id, port] : st.view.ports) m.ports[id] = "up";
    if (st.rev >= 0 && st.rev_whole) m.applied = st.rev;
    nt::agent::ChannelClient c(server_urls(opts_), opts_.token);
    c.set_host_token(tokens_[i]);
    (void)c.post("/agent/v1/hosts/" + st.host + "/status", nt::channel::encode(m));
  }

  const Options& opts_;
  const nt::bench::Fleet& fleet_;
  std::vector<std::string> tokens_;
  std::atomic<bool> done_{false};
  std::vector<std::thread> threads_;
};

// The watchers' counters summed.
struct FleetTotals {
  uint64_t bytes = 0, lines = 0, snapshots = 0, ends = 0, keepalive_bytes = 0, changes = 0;
  std::map<std::string, uint64_t> bytes_by_kind;
};

json::object kind_bytes(const FleetTotals& before, const FleetTotals& after) {
  json::object out;
  for (const auto& [kind, n] : after.bytes_by_kind) {
    auto was = before.bytes_by_kind.find(kind);
    out[kind] = n - (was == before.bytes_by_kind.end() ? 0 : was->second);
  }
  return out;
}

FleetTotals totals(const nt::bench::Fleet& fleet) {
  FleetTotals t;
  for (size_t i = 0; i < fleet.size(); ++i) {
    auto st = fleet.state(i);
    t.bytes += st.bytes, t.lines += st.lines, t.snapshots += st.snapshots, t.ends += st.ends;
    t.keepalive_bytes += st.keepalive_bytes, t.changes += st.changes;
    for (const auto& [kind, n] : st.bytes_by_kind) t.bytes_by_kind[kind] += n;
  }
  return t;
}

// Until every watcher has had its first `synced` (bounded).
double wait_all_synced(const nt::bench::Fleet& fleet, Clock::time_point since, int limit_s) {
  auto until = Clock::now() + std::chrono::seconds(limit_s);
  while (fleet.synced_since(since) < fleet.size() && Clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return ms_since(since);
}

// The server restarted under the load; lagging watchers stay away for 2 s before it.
json::object restart_storm(const Options& o, ServerProcess& server, nt::bench::Fleet& fleet) {
  auto lagging = static_cast<size_t>(std::clamp(o.lagging, 0, static_cast<int>(fleet.size())));
  for (size_t i = 0; i < lagging; ++i) fleet.pause(i);
  std::this_thread::sleep_for(std::chrono::seconds(lagging ? 2 : 0));
  auto before = totals(fleet);
  auto stopping = Clock::now();
  server.stop();
  server.start();
  wait_listening(o);
  auto listening = Clock::now();
  for (size_t i = 0; i < lagging; ++i) fleet.resume(i);
  double all = wait_all_synced(fleet, listening, 60);
  std::vector<double> on_time, behind;
  for (size_t i = 0; i < fleet.size(); ++i) {
    auto st = fleet.state(i);
    double ms = std::chrono::duration<double, std::milli>(st.last_synced - listening).count();
    (i < lagging ? behind : on_time).push_back(ms);
  }
  auto after = totals(fleet);
  return {{"down_ms", std::chrono::duration<double, std::milli>(listening - stopping).count()},
          {"all_in_sync_ms", all}, {"in_sync", fleet.synced_since(listening)},
          {"sync_ms", stats_of(on_time)}, {"lagging_sync_ms", stats_of(behind)}, {"lagging", lagging},
          {"full_views", after.snapshots - before.snapshots}};
}

// Every watcher's view against the server's recompute for its host (bounded wait for the
// last lines to arrive).
json::object verify(const Options& o, const nt::bench::Fleet& fleet) {
  nt::agent::ChannelClient c(server_urls(o), o.token);
  auto until = Clock::now() + std::chrono::seconds(20);
  json::array wrong;
  size_t checked = 0;
  do {
    wrong.clear();
    auto answer = call(c, "GET", "/agent/v1/digests", nullptr, 200);
    const auto& hosts = answer.at("hosts").as_object();
    checked = fleet.size();
    for (size_t i = 0; i < fleet.size(); ++i) {
      auto st = fleet.state(i);
      const auto* h = hosts.if_contains(st.host);
      auto mine = nt::view::Digest::to_hex(nt::view::digest_of(st.view));
      auto recomputed = h ? std::string(h->at("recomputed").as_string()) : nt::view::Digest::to_hex(0);
      bool same_rev = !h || h->at("revision").as_int64() == st.rev;
      if (mine != recomputed || !same_rev || h->at("view") != h->at("recomputed"))
        wrong.push_back(json::object{{"host", st.host}, {"rev", st.rev}, {"digest", mine},
                                     {"server", h ? *h : json::value(nullptr)}});
    }
    if (!wrong.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (!wrong.empty() && Clock::now() < until);
  if (wrong.size() > 10) wrong.resize(10);
  return {{"checked", checked}, {"equal", wrong.empty()}, {"wrong", wrong}};
}

// The steady phase: binds at the rate on hosts already on their networks, each awaited
// at every host of its network; the restart storm (if asked) runs meanwhile.
json::object steady(const Options& o, const Cloud& cloud, ServerProcess& server, nt::bench::Fleet& fleet,
                    nt::bench::Deliveries& awaited, const Sampler& sampler, json::object& restart) {
  std::vector<double> bind_ms;
  std::mutex mu;
  auto before = totals(fleet);
  double cpu_before = sampler.cpu();
  std::thread storm;
  if (o.restart_at > 0)
    storm = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(1000 * o.restart_at)));
      restart = restart_storm(o, server, fleet);
    });
  int count = o.rate * o.seconds;
  double took = run_paced(count, o.rate, o.workers, [&](int i) {
    nt::agent::ChannelClient c(server_urls(o), o.token);
    bind_port(c, cloud, o.hosts + i, static_cast<size_t>(i) % cloud.hosts.size(), &awaited, bind_ms, mu);
  });
  if (storm.joinable()) storm.join();
  // The last binds' deliveries (bounded).
  for (auto until = Clock::now() + std::chrono::seconds(10); awaited.summary().missing > 0 && Clock::now() < until;)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto after = totals(fleet);
  auto s = awaited.summary();
  double payload = static_cast<double>(after.bytes - before.bytes - (after.keepalive_bytes - before.keepalive_bytes));
  return {{"binds", count}, {"seconds", took}, {"binds_per_s", count / took}, {"bind_ms", stats_of(bind_ms)},
          {"delivery_ms", stats_of(s.each_ms)}, {"port_everywhere_ms", stats_of(s.last_ms)},
          {"deliveries_expected", s.expected}, {"deliveries_missing", s.missing},
          {"bytes", after.bytes - before.bytes}, {"keepalive_bytes", after.keepalive_bytes - before.keepalive_bytes},
          {"changes_delivered", after.changes - before.changes},
          {"bytes_per_delivery", after.changes > before.changes ? payload / static_cast<double>(after.changes - before.changes) : 0.0},
          {"bytes_by_kind", kind_bytes(before, after)},
          {"stream_ends", after.ends - before.ends}, {"server_cpu_s", sampler.cpu() - cpu_before}};
}

json::object join_phase(const Options& o, const Cloud& cloud, const nt::bench::Fleet& fleet, const Sampler& sampler) {
  std::vector<double> bind_ms;
  std::mutex mu;
  auto before = totals(fleet);
  double cpu_before = sampler.cpu();
  double took = run_paced(o.hosts, o.rate, o.workers, [&](int h) {
    nt::agent::ChannelClient c(server_urls(o), o.token);
    bind_port(c, cloud, h, static_cast<size_t>(h), nullptr, bind_ms, mu);
  });
  auto after = totals(fleet);
  return {{"binds", o.hosts}, {"seconds", took}, {"bind_ms", stats_of(bind_ms)}, {"bytes", after.bytes - before.bytes},
          {"bytes_per_join", static_cast<double>(after.bytes - before.bytes) / o.hosts},
          {"bytes_by_kind", kind_bytes(before, after)},
          {"stream_ends", after.ends - before.ends}, {"server_cpu_s", sampler.cpu() - cpu_before}};
}

void raise_file_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

int run(const Options& o) {
  raise_file_limit();
  ServerProcess server(o);
  server.start();
  wait_listening(o);
  Sampler sampler(server);
  json::object out{{"hosts", o.hosts}, {"span", o.span >= o.hosts ? 0 : o.span}, {"rate", o.rate}, {"seconds", o.seconds}};
  auto rss_start = server.usage().first;
  auto setup_started = Clock::now();
  Cloud cloud = register_hosts(o);
  create_networks(o, cloud);
  auto u = boost::urls::parse_uri(o.url).value();
  nt::bench::Deliveries awaited;  // the steady phase's binds
  nt::bench::Fleet fleet({std::string(u.host()), u.has_port() ? std::string(u.port()) : "80", o.threads}, awaited);
  auto started = Clock::now();
  fleet.start(cloud.hosts);
  out["first_sync_ms"] = wait_all_synced(fleet, started, 60);
  out["setup_ms"] = ms_since(setup_started);
  std::vector<std::string> tokens;
  for (const auto& [h, t] : cloud.hosts) tokens.push_back(t);
  Reporter reporter(o, fleet, tokens);
  out["join"] = join_phase(o, cloud, fleet, sampler);
  json::object restart;
  out["steady"] = steady(o, cloud, server, fleet, awaited, sampler, restart);
  if (!restart.empty()) out["restart"] = restart;
  if (o.verify) out["verify"] = verify(o, fleet);
  out["server_rss_mb"] = json::object{{"start", rss_start}, {"peak", sampler.peak_rss()}, {"end", server.usage().first}};
  fleet.stop();
  auto text = json::serialize(out);
  std::cout << text << std::endl;
  if (!o.json_out.empty()) std::ofstream(o.json_out) << text << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"neutrino-watch-scale: many hosts' watch streams against one neutrino-server"};
  app.add_option("--url", o.url, "the server (http://host:port; with a server command, the port it listens on)");
  app.add_option("--token", o.token, "the agents' enrolment token (X-Neutrino-Token)");
  app.add_option("--hosts", o.hosts, "hosts registered and watching")->check(CLI::Range(1, 100000));
  app.add_option("--span", o.span, "hosts per network (0 or >= hosts: one network spanning every host)")->check(CLI::Range(0, 100000));
  app.add_option("--rate", o.rate, "port creates+binds per second")->check(CLI::Range(1, 100000));
  app.add_option("--seconds", o.seconds, "length of the steady phase")->check(CLI::Range(1, 3600));
  app.add_option("--threads", o.threads, "threads for the watch streams")->check(CLI::Range(1, 64));
  app.add_option("--workers", o.workers, "concurrent API clients binding ports")->check(CLI::Range(1, 256));
  app.add_option("--report-interval", o.report_interval, "seconds between one host's status reports")->check(CLI::Range(1, 3600));
  app.add_option("--restart-at", o.restart_at, "restart the server this many seconds into the steady phase (needs the server command)");
  app.add_option("--lagging", o.lagging, "watchers kept away for 2 s before the restart")->check(CLI::Range(0, 100000));
  app.add_flag("--verify", o.verify, "compare every watcher's view with the server's recompute at the end");
  app.add_option("--server-pid", o.server_pid, "the server's PID, for its RSS and CPU (when not started here)");
  app.add_option("--server-log", o.server_log, "where the started server's output goes");
  app.add_option("--json", o.json_out, "also write the summary to this file");
  app.add_option("server", o.server, "the server command, after --")->expected(-1);
  CLI11_PARSE(app, argc, argv);
  if (o.restart_at > 0 && o.server.empty()) {
    std::cerr << "--restart-at needs the server command (after --)\n";
    return 2;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "neutrino-watch-scale: " << e.what() << "\n";
    return 1;
  }
}
