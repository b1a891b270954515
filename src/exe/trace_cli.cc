#include "exe/trace_cli.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "agent/client.h"
#include "exe/api_get.h"
#include "common/error.h"
#include "common/json_get.h"

namespace nt::cli {
namespace json = boost::json;

namespace {

Result<json::object> get_json(const agent::ServerUrl& u, const std::string& target, const std::string& token) {
  NT_ASSIGN(auto a, fetch(u, target, token, std::chrono::seconds(15)));
  boost::system::error_code ec;
  auto v = json::parse(a.body, ec);
  if (!ec && v.is_object() && a.status == 200) return v.as_object();
  if (!ec && v.is_object())
    if (auto* e = v.as_object().if_contains("NeutronError"); e && e->is_object())
      return fail(Errc::invalid_argument, Origin::http, jget::str(e->as_object(), "message"));
  return fail(Errc::internal, Origin::http, "HTTP " + std::to_string(a.status) + " " + a.body.substr(0, 200));
}

std::string query_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') out += static_cast<char>(c);
    else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", c);
      out += b;
    }
  }
  return out;
}

bool looks_like_id(const std::string& s) {
  return s.size() == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-';
}

// A port id as given, else the one port named so (a sandbox VM's port has the VM's name).
Result<std::string> resolve_port(const agent::ServerUrl& u, const TraceOptions& o) {
  if (looks_like_id(o.port)) return o.port;
  NT_ASSIGN(auto doc, get_json(u, "/v2.0/ports?fields=id&name=" + query_escape(o.port), o.token));
  const auto* ports = doc.if_contains("ports");
  if (!ports || !ports->is_array() || ports->get_array().empty())
    return fail(Errc::not_found, Origin::http, "no port or VM is named " + o.port);
  if (ports->get_array().size() > 1) return fail(Errc::invalid_argument, Origin::http, "several ports are named " + o.port + ": give the port id");
  return jget::str(ports->get_array()[0].as_object(), "id");
}

// The sandbox's server (STATE_DIR/sandbox.json) when no --url is given and a sandbox runs.
std::string default_url(const TraceOptions& o) {
  if (!o.url.empty()) return o.url;
  std::ifstream f(o.sandbox_dir + "/sandbox.json");
  std::stringstream text;
  text << f.rdbuf();
  boost::system::error_code ec;
  auto v = json::parse(text.str(), ec);
  if (!ec && v.is_object())
    if (auto* port = v.as_object().if_contains("port"); port && port->is_int64())
      return "http://127.0.0.1:" + std::to_string(port->get_int64());
  return "http://127.0.0.1:9696";
}

std::string str_or(const json::value* v, const std::string& fallback) {
  return v && v->is_string() ? std::string(v->get_string()) : fallback;
}

void print_table(const json::object& t) {
  const auto& from = t.at("from").as_object();
  std::cout << "trace " << str_or(from.if_contains("name"), "") << " (port " << jget::str(from, "port") << ", "
            << str_or(from.if_contains("ip"), "no IPv4") << " on " << str_or(from.if_contains("host"), "no host") << ") -> "
            << jget::str(t, "to") << " " << jget::str(t, "protocol");
  if (auto* p = t.if_contains("dst_port"); p && p->is_int64()) std::cout << "/" << p->get_int64();
  std::cout << "\n";
  const auto& hops = t.at("hops").as_array();
  size_t host_w = 4, what_w = 4;
  for (const auto& h : hops) {
    host_w = std::max(host_w, str_or(h.as_object().if_contains("host"), "-").size());
    what_w = std::max(what_w, jget::str(h.as_object(), "what").size());
  }
  int n = 0;
  for (const auto& hv : hops) {
    const auto& h = hv.as_object();
    auto host = str_or(h.if_contains("host"), "-"), what = jget::str(h, "what");
    ++n;
    std::cout << "  " << n << (n < 10 ? "  " : " ") << host << std::string(host_w - host.size() + 2, ' ') << what
              << std::string(what_w - what.size() + 2, ' ') << jget::str(h, "detail");
    if (auto* live = h.if_contains("live"); live && live->is_string()) std::cout << "  [" << std::string(live->get_string()) << "]";
    std::cout << "\n";
  }
  std::cout << "result: " << jget::str(t, "result");
  if (auto* live = t.if_contains("live"); live && live->is_string()) std::cout << " (live: " << std::string(live->get_string()) << ")";
  std::cout << "\n";
}

}  // namespace

CLI::App* add_trace(CLI::App& app, TraceOptions& o) {
  auto* t = app.add_subcommand("trace", "the path of a packet from a port (or a sandbox VM) to an address, hop by hop");
  t->add_option("port", o.port, "a port id, or a port's (a sandbox VM's) name")->required();
  t->add_option("to", o.to, "the destination IPv4 address (with --from: a floating IP)")->required();
  t->add_option("--protocol", o.protocol, "tcp, udp, icmp or any")->default_val(o.protocol)->check(CLI::IsMember({"tcp", "udp", "icmp", "any"}));
  t->add_option("--dst-port", o.dst_port, "destination port (tcp, udp)")->check(CLI::Range(1, 65535));
  t->add_option("--from", o.from, "trace inbound from this external address to the floating IP TO");
  t->add_flag("--live", o.live, "check each kernel entry against what its host's agent reads from its kernel");
  t->add_option("-f,--format", o.format, "table or json")->default_val(o.format)->check(CLI::IsMember({"table", "json"}));
  t->add_option("--url", o.url, "the API: http://host:port or unix:///path (default: the sandbox's, else http://127.0.0.1:9696)");
  t->add_option("--token", o.token, "a Keystone token (X-Auth-Token) of an admin");
  t->add_option("--sandbox-dir", o.sandbox_dir, "the sandbox's state directory (for its server's URL)")->default_val(o.sandbox_dir);
  return t;
}

int run_trace(const TraceOptions& o) {
  auto url = agent::ServerUrl::parse(default_url(o));
  if (!url) return std::cerr << "neutrino trace: " << url.error().message << "\n", 2;
  auto port = resolve_port(*url, o);
  if (!port) return std::cerr << "neutrino trace: " << port.error().message << "\n", 2;
  std::string target = "/neutrino/v1/trace?port=" + query_escape(*port) + "&to=" + query_escape(o.to) +
                       "&protocol=" + query_escape(o.protocol);
  if (o.dst_port) target += "&dst_port=" + std::to_string(*o.dst_port);
  if (!o.from.empty()) target += "&from=" + query_escape(o.from);
  if (o.live) target += "&live=1";
  auto doc = get_json(*url, target, o.token);
  if (!doc) return std::cerr << "neutrino trace: " << doc.error().message << "\n", 2;
  const auto* t = doc->if_contains("trace");
  if (!t || !t->is_object()) return std::cerr << "neutrino trace: the server's answer has no trace\n", 2;
  if (o.format == "json") std::cout << json::serialize(*doc) << "\n";
  else print_table(t->as_object());
  return 0;
}

}  // namespace nt::cli
