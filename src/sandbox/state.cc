#include "sandbox/state.h"
#include "common/json_get.h"

#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/client.h"
#include "kernel/netns.h"

namespace nt::sandbox {
namespace json = boost::json;

const HostRecord* SandboxState::host(const std::string& name) const {
  for (const auto& h : hosts)
    if (h.name == name) return &h;
  return nullptr;
}

std::string state_file(const Options& o) { return o.state_dir + "/sandbox.json"; }
std::string host_ns(const Options& o, const std::string& host) { return o.prefix + host; }
std::string vm_ns(const Options& o, const std::string& vm) { return o.prefix + "vm-" + vm; }
std::string fabric_ns(const Options& o) { return o.prefix + "fabric"; }

namespace {
using jget::str;
int num(const json::object& o, const char* k) {
  return static_cast<int>(jget::num(o, k));
}
}  // namespace

Result<SandboxState> load_state(const Options& o) {
  std::ifstream f(state_file(o));
  if (!f) return fail(Errc::not_found, Origin::sandbox, "no sandbox is up (no " + state_file(o) + ")");
  std::stringstream text;
  text << f.rdbuf();
  boost::system::error_code ec;
  auto v = json::parse(text.str(), ec);
  if (ec || !v.is_object()) return fail(Errc::internal, Origin::sandbox, state_file(o) + " is damaged: " + ec.message());
  const auto& obj = v.as_object();
  SandboxState s;
  s.server_pid = num(obj, "server_pid");
  s.port = num(obj, "port");
  s.database = str(obj, "database");
  if (auto* servers = obj.if_contains("servers"); servers && servers->is_array())
    for (const auto& v : servers->as_array()) {
      const auto& so = v.as_object();
      s.servers.push_back({num(so, "pid"), num(so, "port"), str(so, "socket")});
    }
  if (s.servers.empty() && s.server_pid > 0)  // written before there were several servers
    s.servers.push_back({s.server_pid, s.port, o.state_dir + "/server.sock"});
  if (auto* hosts = obj.if_contains("hosts"); hosts && hosts->is_array())
    for (const auto& h : hosts->as_array()) {
      const auto& ho = h.as_object();
      s.hosts.push_back({str(ho, "name"), str(ho, "role"), str(ho, "underlay_ip"), num(ho, "agent_pid")});
    }
  if (auto* vms = obj.if_contains("vms"); vms && vms->is_array())
    for (const auto& m : vms->as_array()) {
      const auto& mo = m.as_object();
      s.vms.push_back({str(mo, "name"), str(mo, "host"), str(mo, "port_id"), str(mo, "network_id"), str(mo, "ip"),
                       static_cast<int>(jget::num(mo, "dhcp_pid", 0))});
    }
  return s;
}

Status save_state(const Options& o, const SandboxState& s) {
  json::array hosts, vms, servers;
  for (const auto& r : s.servers) servers.push_back(json::object{{"pid", r.pid}, {"port", r.port}, {"socket", r.socket}});
  int first_pid = s.servers.empty() ? s.server_pid : s.servers.front().pid;
  int first_port = s.servers.empty() ? s.port : s.servers.front().port;
  for (const auto& h : s.hosts)
    hosts.push_back(json::object{{"name", h.name}, {"role", h.role}, {"underlay_ip", h.underlay_ip}, {"agent_pid", h.agent_pid}});
  for (const auto& m : s.vms)
    vms.push_back(json::object{{"name", m.name}, {"host", m.host}, {"port_id", m.port_id}, {"network_id", m.network_id}, {"ip", m.ip},
                               {"dhcp_pid", m.dhcp_pid}});
  json::object doc{{"prefix", o.prefix}, {"server_pid", first_pid}, {"port", first_port}, {"servers", servers},
                   {"database", s.database},     {"hosts", hosts},         {"vms", vms}};
  auto tmp = state_file(o) + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << json::serialize(doc) << "\n";
    if (!f) return fail(Errc::internal, Origin::sandbox, "cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, state_file(o), ec);
  if (ec) return fail(Errc::internal, Origin::sandbox, "cannot write " + state_file(o) + ": " + ec.message());
  return {};
}

Result<int> spawn(const std::vector<std::string>& argv, const std::string& log, const std::string& netns) {
  // The pipe closes on exec: once the parent sees EOF the child runs the program (so its
  // /proc cmdline names it) or has failed.
  int exec_pipe[2];
  if (::pipe2(exec_pipe, O_CLOEXEC) < 0) return fail(Errc::internal, Origin::sandbox, "pipe failed");
  pid_t pid = ::fork();
  if (pid < 0) return fail(Errc::internal, Origin::sandbox, "fork failed");
  if (pid == 0) {
    ::close(exec_pipe[0]);
    ::setsid();
    if (!netns.empty() && !kernel::enter_namespace(netns)) ::_exit(126);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int in = ::open("/dev/null", O_RDONLY);
    if (out < 0 || in < 0) ::_exit(126);
    ::dup2(in, 0), ::dup2(out, 1), ::dup2(out, 2);
    for (int fd = 3; fd < 1024; ++fd)
      if (fd != exec_pipe[1]) ::close(fd);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(exec_pipe[1]);
  char byte;
  while (::read(exec_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
  ::close(exec_pipe[0]);
  if (child_exited(pid)) return fail(Errc::internal, Origin::sandbox, "cannot start " + argv[0] + " (see " + log + ")");
  return static_cast<int>(pid);
}

Status exec_argv(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  return fail(Errc::not_found, Origin::sandbox, "cannot run " + argv[0] + ": " + std::strerror(errno));
}

bool child_exited(int pid) { return ::waitpid(pid, nullptr, WNOHANG) == pid; }

bool running_as(int pid, const std::string& program) {
  if (pid <= 0) return false;
  ::waitpid(pid, nullptr, WNOHANG);  // reap it if it was our child and exited
  std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline");
  std::string argv0;
  if (!f || !std::getline(f, argv0, '\0')) return false;
  return std::filesystem::path(argv0).filename() == program;
}

namespace {
// A handle on process `pid` if it runs `program` (-1 if not): signals sent through it cannot
// reach a process that took the pid over, and it becomes readable only once every thread of
// the process has exited, so its sockets are closed. (/proc/pid/cmdline empties as soon as
// the main thread is gone, while other threads may still hold the process's listeners open:
// a restarted agent then found its metrics port in use.)
int open_process(int pid, const std::string& program) {
  if (!running_as(pid, program)) return -1;
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0 && !running_as(pid, program)) ::close(fd), fd = -1;  // it ended (and the pid moved on) in between
  return fd;
}

bool signal_and_wait(int pidfd, int sig, std::chrono::milliseconds limit) {
  ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
  pollfd p{.fd = pidfd, .events = POLLIN, .revents = 0};
  int n;
  do n = ::poll(&p, 1, static_cast<int>(limit.count()));
  while (n < 0 && errno == EINTR);
  return n == 1;
}

// SIGTERM first (up to 5 s) unless `term_first` is false, then SIGKILL (up to 5 s).
void end_process(int pid, const std::string& program, bool term_first) {
  int fd = open_process(pid, program);
  if (fd < 0) return;
  if (!term_first || !signal_and_wait(fd, SIGTERM, std::chrono::seconds(5)))
    signal_and_wait(fd, SIGKILL, std::chrono::seconds(5));
  ::close(fd);
  ::waitpid(pid, nullptr, WNOHANG);  // reap it if it was our child
}
}  // namespace

void stop_process(int pid, const std::string& program) { end_process(pid, program, true); }

void kill_process(int pid, const std::string& program) { end_process(pid, program, false); }

namespace {
// Whether a server listens on the Unix socket (a killed one leaves its socket file behind:
// connecting is refused).
bool accepts(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return true;  // let the client say what is wrong
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;
  int r;
  do r = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  while (r < 0 && errno == EINTR);
  ::close(fd);
  return r == 0;
}

std::vector<std::string> server_sockets(const Options& o) {
  std::vector<std::string> sockets;
  if (auto s = load_state(o))
    for (const auto& r : s->servers)
      if (!r.socket.empty()) sockets.push_back(r.socket);
  if (sockets.empty()) sockets.push_back(o.state_dir + "/server.sock");
  return sockets;
}
}  // namespace

Result<json::value> api(const Options& o, const std::string& method, const std::string& path, const json::value& body) {
  auto sockets = server_sockets(o);
  Result<agent::HttpAnswer> answered = fail(Errc::unavailable, Origin::sandbox, "no server");
  std::string tried;
  for (size_t i = 0; i < sockets.size(); ++i) {
    tried += (tried.empty() ? "unix://" : ", unix://") + sockets[i];
    bool last = i + 1 == sockets.size();
    if (!last && !accepts(sockets[i])) continue;
    agent::ChannelClient client(agent::ServerUrl{true, "", "", sockets[i]}, "");
    answered = client.call(method, path, body.is_null() ? "" : json::serialize(body));
    // A read is asked again of the next server; a write that failed on its way may be done.
    if (answered || method != "GET" || last) break;
  }
  if (!answered) {
    auto message = answered.error().message;
    if (sockets.size() > 1) message += " (servers tried: " + tried + ")";
    return fail(answered.error().code, Origin::sandbox, method + " " + path + ": " + message);
  }
  auto& answer = *answered;
  boost::system::error_code ec;
  auto v = answer.body.empty() ? json::value() : json::parse(answer.body, ec);
  if (answer.status >= 300) {
    std::string message = answer.body;
    if (v.is_object())
      if (auto* e = v.as_object().if_contains("NeutronError"); e && e->is_object()) message = str(e->as_object(), "message");
    return fail(Errc::invalid_argument, Origin::sandbox, method + " " + path + ": " + message);
  }
  return v;
}

Result<json::object> find_resource(const Options& o, const std::string& collection, const std::string& name_or_id) {
  NT_ASSIGN(auto named, api(o, "GET", "/v2.0/" + collection + "?name=" + name_or_id));
  const auto& list = named.as_object().at(collection).as_array();
  if (list.size() > 1) return fail(Errc::conflict, Origin::sandbox, "more than one of " + collection + " is named " + name_or_id);
  if (list.size() == 1) return list[0].as_object();
  NT_ASSIGN(auto by_id, api(o, "GET", "/v2.0/" + collection + "?id=" + name_or_id));
  const auto& ids = by_id.as_object().at(collection).as_array();
  if (ids.empty()) return fail(Errc::not_found, Origin::sandbox, "no " + collection.substr(0, collection.size() - 1) + " " + name_or_id);
  return ids[0].as_object();
}

}  // namespace nt::sandbox
