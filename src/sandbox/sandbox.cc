#include "sandbox/sandbox.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "common/text.h"
#include "common/uuid.h"
#include "kernel/netns.h"
#include "sandbox/fabric.h"
#include "sandbox/state.h"

namespace nt::sandbox {
namespace json = boost::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kInternetCidr = "203.0.113.1/24";
constexpr const char* kPhysnet = "physnet1";
constexpr int kAgentMetricsPort = 9180;  // every agent's /metrics, on 127.0.0.1 in its host's namespace

Status sandbox_error(const std::string& message) { return fail(Errc::conflict, Origin::sandbox, message); }

// cmpN → 198.51.100.(10+N), gwN → 198.51.100.(100+N).
Result<HostRecord> host_record(const std::string& name) {
  static const std::regex pattern("(cmp|gw)([1-9][0-9]?)");
  std::smatch m;
  if (!std::regex_match(name, m, pattern))
    return fail(Errc::invalid_argument, Origin::sandbox, "host names are cmp1..cmp89 and gw1..gw99, not '" + name + "'");
  int n = std::stoi(m[2]);
  bool compute = m[1] == "cmp";
  if (compute && n > 89) return fail(Errc::invalid_argument, Origin::sandbox, "at most cmp89");
  return HostRecord{name, compute ? "compute" : "gateway", "198.51.100." + std::to_string((compute ? 10 : 100) + n), 0};
}

// Polls until ready() or the deadline; false on timeout.
template <class Fn>
bool wait_until(Fn&& ready, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (!ready()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// A file's whole text ("" when it is not there).
std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string tail(const std::string& path) {
  std::ifstream f(path);
  std::string line, last;
  while (std::getline(f, line)) last = line;
  return last;
}

// The port the server printed ("listening on 127.0.0.1:PORT"): --port 0 picks a free one.
int listening_port(const std::string& log) {
  std::ifstream f(log);
  std::string line;
  int port = 0;
  while (std::getline(f, line))
    if (line.rfind("listening on 127.0.0.1:", 0) == 0) {
      auto digits = line.substr(23, line.find_first_not_of("0123456789", 23) - 23);
      port = static_cast<int>(parse_int64(digits).value_or(0));
    }
  return port;
}

// The secret the hosts' metadata proxies sign instance ids with (made once per sandbox).
std::string metadata_secret(const Options& o) {
  auto file = o.state_dir + "/metadata.secret";
  std::string secret;
  if (std::ifstream in(file); in && std::getline(in, secret) && !secret.empty()) return secret;
  secret = o.metadata_secret.empty() ? new_uuid() : o.metadata_secret;
  std::ofstream(file) << secret << "\n";
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
  return secret;
}

// The agents' nova_metadata_* options: the server's built-in backend on its Unix socket, or
// the HOST:PORT given to `up --nova-metadata` (kept in STATE_DIR/metadata.backend).
std::string metadata_backend(const Options& o) {
  auto file = o.state_dir + "/metadata.backend";
  if (!o.nova_metadata.empty()) std::ofstream(file) << o.nova_metadata << "\n";
  std::string given;
  if (std::ifstream in(file); in && std::getline(in, given)) {
    auto colon = given.rfind(':');
    if (colon != std::string::npos && colon > 0)
      return "nova_metadata_host = " + given.substr(0, colon) + "\nnova_metadata_port = " + given.substr(colon + 1) + "\n";
  }
  return "nova_metadata_host = unix://" + o.state_dir + "/metadata.sock\n";
}

// More than one server shares only a PostgreSQL database (as neutrino-server's --database
// takes it: postgresql://, postgres://, postgresql+DRIVER://).
bool postgres_url(const std::string& s) {
  return s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0 || s.rfind("postgresql+", 0) == 0;
}

// The URL with its password (user:PASSWORD@) shown as ***, for sandbox.json and status.
std::string masked(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto at = url.rfind('@', url.find_first_of("/?", scheme + 3));
  auto colon = url.find(':', scheme + 3);
  if (at == std::string::npos || colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

// Server i (1-based): server.sock / server.log / server.ini / metadata.sock for the first,
// server-i.* and metadata-i.sock for the others.
std::string server_file(const Options& o, const std::string& base, int i, const std::string& ext) {
  return o.state_dir + "/" + base + (i == 1 ? "" : "-" + std::to_string(i)) + ext;
}

Status start_one_server(const Options& o, SandboxState& s, int i) {
  auto ini = server_file(o, "server", i, ".ini");
  // The built-in metadata backend: the agents (in the hosts' namespaces) reach it on a
  // Unix socket; keys and user data of `vm create --key/--user-data` are in instances/.
  std::ofstream(ini) << "[DEFAULT]\nbind_host = 127.0.0.1\nagent_down_time = " << o.agent_down_time
                     << "\n\n[ml2_type_vlan]\nnetwork_vlan_ranges = " << kPhysnet << ":100:199\n"
                     << "\n[metadata]\nlisten = 127.0.0.1:0\nunix_socket = " << server_file(o, "metadata", i, ".sock") << "\n"
                     << "metadata_proxy_shared_secret = " << metadata_secret(o) << "\ninstance_data_dir = " << o.state_dir
                     << "/instances\n\n[ha]\npreempt = " << (o.ha_preempt ? "true" : "false") << "\n";
  auto log = server_file(o, "server", i, ".log");
  ServerRecord r{0, 0, server_file(o, "server", i, ".sock")};
  auto database = o.database.empty() ? o.state_dir + "/neutrino.db" : o.database;
  // The first server on --port, the others on free ports.
  NT_ASSIGN(r.pid, spawn({o.bin_dir + "/neutrino-server", "--config-file", ini, "--database", database, "--port",
                          std::to_string(i == 1 ? o.port : 0), "--unix-socket", r.socket},
                         log, ""));
  s.servers.push_back(r);
  NT_TRY(save_state(o, s));
  auto& rec = s.servers.back();
  bool died = false;
  bool ready = wait_until([&] { return (died = child_exited(rec.pid)) || (rec.port = listening_port(log)) > 0; },
                          std::chrono::seconds(15));
  if (!ready || died)
    return sandbox_error("neutrino-server " + std::to_string(i) + " did not start: " + tail(log) + " (log: " + log + ")");
  return save_state(o, s);
}

Status start_servers(const Options& o, SandboxState& s) {
  fs::create_directories(o.state_dir + "/instances");
  std::ofstream(o.state_dir + "/agent-ha.ini") << "[ha]\nbfd_min_tx_ms = " << o.bfd_interval_ms << "\nbfd_min_rx_ms = "
                                               << o.bfd_interval_ms << "\nbfd_detect_mult = " << o.bfd_detect_mult << "\n";
  s.database = o.database.empty() ? o.state_dir + "/neutrino.db" : masked(o.database);
  for (int i = 1; i <= o.servers; ++i) NT_TRY(start_one_server(o, s, i));
  // A shared database must be a new one: a previous cloud's hosts and ports are not this one's.
  NT_ASSIGN(auto nets, api(o, "GET", "/v2.0/networks?fields=id"));
  if (auto n = nets.as_object().at("networks").as_array().size(); n > 0)
    return sandbox_error("the database " + s.database + " already holds " + std::to_string(n) +
                         " networks; give `up --database` an empty one");
  return {};
}

// The agents' server_url: every server's Unix socket, the first first.
std::string server_urls(const SandboxState& s) {
  std::string urls;
  for (const auto& r : s.servers) urls += (urls.empty() ? "unix://" : ", unix://") + r.socket;
  return urls;
}

Status start_agent(const Options& o, const SandboxState& s, HostRecord& h) {
  auto ini = o.state_dir + "/" + h.name + ".ini";
  std::ofstream(ini) << "[DEFAULT]\nhost = " << h.name << "\nlocal_ip = " << h.underlay_ip
                     << "\nagent_mode = " << (h.role == "gateway" ? "dvr_snat" : "dvr") << "\nbridge_mappings = " << kPhysnet
                     << ":ex0\nserver_url = " << server_urls(s) << "\nreport_interval = 1\nmetrics_bind = 127.0.0.1:" << kAgentMetricsPort << "\n"
                     << "namespace_prefix = " << host_ns(o, h.name) << "-\nstate_path = " << o.state_dir << "\n"
                     << metadata_backend(o) << "metadata_proxy_shared_secret = " << metadata_secret(o) << "\n"
                     << read_file(o.state_dir + "/agent-ha.ini");
  NT_ASSIGN(h.agent_pid, spawn({o.bin_dir + "/neutrino-agent", "--config-file", ini}, o.state_dir + "/" + h.name + ".log",
                               host_ns(o, h.name)));
  return {};
}

// Hosts whose L3 agent the API reports alive.
std::set<std::string> alive_hosts(const Options& o) {
  std::set<std::string> alive;
  if (auto agents = api(o, "GET", "/v2.0/agents?agent_type=L3%20agent"))
    for (const auto& a : agents->as_object().at("agents").as_array())
      if (a.as_object().at("alive").as_bool()) alive.insert(std::string(a.as_object().at("host").as_string()));
  return alive;
}

Status wait_agents_alive(const Options& o, const std::vector<std::string>& hosts) {
  bool all = wait_until([&] {
    auto alive = alive_hosts(o);
    return std::all_of(hosts.begin(), hosts.end(), [&](const auto& h) { return alive.count(h) > 0; });
  }, std::chrono::seconds(20));
  if (!all) return sandbox_error("agents did not report alive within 20 s (logs: " + o.state_dir + "/<host>.log)");
  return {};
}

Status add_host(const Options& o, SandboxState& s, HostRecord h) {
  NT_TRY(build_host(fabric_ns(o), host_ns(o, h.name), h.name, h.underlay_ip + "/24"));
  s.hosts.push_back(h);
  NT_TRY(start_agent(o, s, s.hosts.back()));
  return save_state(o, s);
}

Status create_public_network(const Options& o) {
  NT_ASSIGN(auto net, api(o, "POST", "/v2.0/networks",
                          json::object{{"network", json::object{{"name", "public"},
                                                                {"router:external", true},
                                                                {"provider:network_type", "flat"},
                                                                {"provider:physical_network", kPhysnet}}}}));
  auto id = net.as_object().at("network").as_object().at("id");
  NT_TRY(api(o, "POST", "/v2.0/subnets",
             json::object{{"subnet", json::object{{"name", "public-subnet"},
                                                  {"network_id", id},
                                                  {"ip_version", 4},
                                                  {"cidr", "203.0.113.0/24"},
                                                  {"gateway_ip", "203.0.113.1"},
                                                  {"enable_dhcp", false}}}}));
  return {};
}

Status build(const Options& o) {
  SandboxState s;
  NT_TRY(start_servers(o, s));
  NT_TRY(build_fabric(fabric_ns(o)));
  NT_TRY(build_internet(fabric_ns(o), host_ns(o, "internet"), kInternetCidr));
  std::vector<std::string> names;
  for (int i = 1; i <= o.computes; ++i) names.push_back("cmp" + std::to_string(i));
  for (int i = 1; i <= o.gateways; ++i) names.push_back("gw" + std::to_string(i));
  for (const auto& name : names) {
    NT_ASSIGN(auto h, host_record(name));
    NT_TRY(add_host(o, s, h));
  }
  NT_TRY(wait_agents_alive(o, names));
  return create_public_network(o);
}

bool sandbox_namespace(const Options& o, const std::string& ns) {
  // Hosts, their agents' router namespaces (<host>-qrouter-..., -snat-, -fip-), VMs.
  static const std::regex pattern("fabric|internet|(cmp|gw)[0-9]+(-.+)?|vm-.+");
  return ns.rfind(o.prefix, 0) == 0 && std::regex_match(ns.substr(o.prefix.size()), pattern);
}

// Agents and VMs' DHCP clients of a crashed run still inside our namespaces (their pids are lost with the state).
void stop_stray_agents(const std::vector<std::string>& namespaces) {
  std::set<ino_t> ours;
  for (const auto& ns : namespaces) {
    struct stat st{};
    if (::stat(("/run/netns/" + ns).c_str(), &st) == 0) ours.insert(st.st_ino);
  }
  for (const auto& entry : fs::directory_iterator("/proc")) {
    auto pid_text = entry.path().filename().string();
    if (pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
    struct stat st{};
    auto pid = parse_int64(pid_text);
    if (!pid || *pid <= 0 || *pid > INT32_MAX) continue;
    if (::stat(("/proc/" + pid_text + "/ns/net").c_str(), &st) == 0 && ours.count(st.st_ino)) {
      stop_process(static_cast<int>(*pid), "neutrino-agent");
      stop_process(static_cast<int>(*pid), "neutrino-bfd");  // an agent's BFD daemon (it outlives the agent)
      stop_process(static_cast<int>(*pid), "busybox");  // a VM's udhcpc
    }
  }
}

}  // namespace

Status up(const Options& o) {
  if (kernel::namespace_exists(fabric_ns(o)) || fs::exists(state_file(o)))
    return sandbox_error("a sandbox is already up (namespace " + fabric_ns(o) + " or " + state_file(o) +
                         " exists); run `neutrino sandbox down` first");
  if (o.computes < 1 || o.computes > 89 || o.gateways < 0 || o.gateways > 99)
    return fail(Errc::invalid_argument, Origin::sandbox, "--computes is 1..89 and --gateways 0..99");
  if (o.servers < 1 || o.servers > 9) return fail(Errc::invalid_argument, Origin::sandbox, "--servers is 1..9");
  if (o.servers > 1 && !postgres_url(o.database))
    return fail(Errc::invalid_argument, Origin::sandbox,
                "--servers " + std::to_string(o.servers) +
                    " needs a database the servers share: --database postgresql://USER@HOST/DB (or ?host=SOCKETDIR); "
                    "the SQLite file is one server's");
  fs::create_directories(o.state_dir);
  // A new cloud: the previous run's database, socket and logs go.
  for (const auto& entry : fs::directory_iterator(o.state_dir)) {
    auto name = entry.path().filename().string();
    bool socket = entry.path().extension() == ".sock" && (name.rfind("server", 0) == 0 || name.rfind("metadata", 0) == 0);
    if (name.rfind("neutrino.db", 0) == 0 || socket || name == "metadata.secret" || name == "metadata.backend" ||
        entry.path().extension() == ".log")
      fs::remove(entry.path());
  }
  if (auto built = build(o); !built) {
    std::cerr << "neutrino sandbox up: " << built.error().message << "; removing what was built\n";
    (void)down(o);
    return built;
  }
  auto s = load_state(o);
  std::string servers;
  if (s)
    for (const auto& r : s->servers) servers += (servers.empty() ? "" : ", ") + ("http://127.0.0.1:" + std::to_string(r.port));
  std::cout << "sandbox up: " << (o.servers > 1 ? std::to_string(o.servers) + " servers " : "server ") << servers
            << " (agents on " << (s ? server_urls(*s) : "unix://" + o.state_dir + "/server.sock") << "), " << o.computes << " compute and " << o.gateways << " gateway hosts, internet host 203.0.113.1, "
            << "network public (flat, physnet1) 203.0.113.0/24\n";
  return {};
}

Status down(const Options& o) {
  if (auto s = load_state(o)) {
    for (const auto& v : s->vms) stop_process(v.dhcp_pid, "busybox");
    for (const auto& h : s->hosts) stop_process(h.agent_pid, "neutrino-agent");
    for (const auto& r : s->servers) stop_process(r.pid, "neutrino-server");
  }
  std::vector<std::string> ours;
  for (const auto& ns : kernel::list_namespaces(o.prefix))
    if (sandbox_namespace(o, ns)) ours.push_back(ns);
  stop_stray_agents(ours);
  // VMs first (their taps live in the hosts), the fabric last.
  std::stable_sort(ours.begin(), ours.end(), [&](const auto& a, const auto& b) {
    auto rank = [&](const std::string& n) {
      if (n.find("vm-") == o.prefix.size() || n.find("-qrouter-") != std::string::npos || n.find("-snat-") != std::string::npos ||
          n.find("-fip-") != std::string::npos || n.find("-meta-") != std::string::npos)
        return 0;
      return n == fabric_ns(o) ? 2 : 1;
    };
    return rank(a) < rank(b);
  });
  Status result;
  for (const auto& ns : ours)
    if (auto gone = kernel::delete_namespace(ns); !gone && result) result = gone;
  std::error_code ec;
  fs::remove(state_file(o), ec);
  for (const auto& entry : fs::directory_iterator(o.state_dir, ec)) {
    auto name = entry.path().filename().string();
    if (entry.path().extension() == ".sock" && (name.rfind("server", 0) == 0 || name.rfind("metadata", 0) == 0))
      fs::remove(entry.path(), ec);
  }
  std::cout << "sandbox down: removed " << ours.size() << " namespaces\n";
  return result;
}

Status host_add(const Options& o, const std::string& name) {
  NT_ASSIGN(auto s, load_state(o));
  if (s.host(name)) return sandbox_error("host " + name + " is already in the sandbox");
  NT_ASSIGN(auto h, host_record(name));
  NT_TRY(add_host(o, s, h));
  NT_TRY(wait_agents_alive(o, {name}));
  std::cout << "host " << name << " (" << h.role << ", underlay " << h.underlay_ip << ") added\n";
  return {};
}

Status agent_restart(const Options& o, const std::string& name, bool kill) {
  NT_ASSIGN(auto s, load_state(o));
  auto it = std::find_if(s.hosts.begin(), s.hosts.end(), [&](const auto& h) { return h.name == name; });
  if (it == s.hosts.end()) return fail(Errc::not_found, Origin::sandbox, "no sandbox host " + name);
  if (kill)
    kill_process(it->agent_pid, "neutrino-agent");
  else
    stop_process(it->agent_pid, "neutrino-agent");
  NT_TRY(start_agent(o, s, *it));
  NT_TRY(save_state(o, s));
  std::cout << "agent of " << name << " restarted (pid " << it->agent_pid << ")\n";
  return {};
}

Status status(const Options& o) {
  NT_ASSIGN(auto s, load_state(o));
  auto alive = alive_hosts(o);
  for (size_t i = 0; i < s.servers.size(); ++i) {
    const auto& r = s.servers[i];
    std::printf("%-9s http://127.0.0.1:%-5d  pid %d %s  unix://%s\n", (i == 0 ? "server" : "server-" + std::to_string(i + 1)).c_str(),
                r.port, r.pid, running_as(r.pid, "neutrino-server") ? "running" : "NOT RUNNING", r.socket.c_str());
  }
  if (!s.database.empty()) std::printf("%-9s %s\n", "database", s.database.c_str());
  std::printf("\n");
  std::printf("%-9s %-8s %-15s %-16s %s\n", "HOST", "ROLE", "UNDERLAY", "NAMESPACE", "AGENT");
  for (const auto& h : s.hosts) {
    bool proc = running_as(h.agent_pid, "neutrino-agent");
    std::printf("%-9s %-8s %-15s %-16s pid %d %s, %s\n", h.name.c_str(), h.role.c_str(), h.underlay_ip.c_str(),
                host_ns(o, h.name).c_str(), h.agent_pid, proc ? "running" : "NOT RUNNING", alive.count(h.name) ? "alive" : "not alive");
  }
  std::printf("%-9s %-8s %-15s %-16s\n", "internet", "-", "203.0.113.1", host_ns(o, "internet").c_str());
  if (s.vms.empty()) return {};
  std::printf("\n%-12s %-9s %-16s %-38s %s\n", "VM", "HOST", "IP", "PORT", "STATUS");
  for (const auto& v : s.vms) {
    auto port = api(o, "GET", "/v2.0/ports/" + v.port_id);
    std::string st = port ? std::string(port->at("port").at("status").as_string()) : "port gone";
    std::printf("%-12s %-9s %-16s %-38s %s\n", v.name.c_str(), v.host.c_str(), v.ip.c_str(), v.port_id.c_str(), st.c_str());
  }
  return {};
}

Status exec_in_host(const Options& o, const std::string& host, const std::vector<std::string>& argv) {
  NT_ASSIGN(auto s, load_state(o));
  if (host != "internet" && host != "fabric" && !s.host(host))
    return fail(Errc::not_found, Origin::sandbox, "no sandbox host " + host + " (see `neutrino sandbox status`)");
  NT_TRY(kernel::enter_namespace(host == "fabric" ? fabric_ns(o) : host_ns(o, host)));
  return exec_argv(argv);
}

}  // namespace nt::sandbox
