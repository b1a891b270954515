// Fuzzes the request path end to end in process: the request text checks, the query-string
// parser, JSON body parsing, attribute validators, the resources' rules, the agent channel
// and the config parser. An input is
//   METHOD TARGET\n
//   Header-Name: value\n      (any number of header lines, optional)
//   BODY
// `$network`, `$subnet`, `$port`, `$router`, `$security_group`, `$floatingip` in the
// target or body stand for the id of an existing resource of that kind, so updates and
// deletes reach real objects. Findings:
// - a crash or sanitizer report;
// - a 5xx answer other than 501/503 (the server must never fail on input);
// - an answer that is not valid UTF-8 JSON;
// - "store then reload": whatever the API accepted must load again as the server does at
//   start (every row valid, allocations agreeing with the resources), giving the same model.
// The structure-aware mutator (json_mutator.cc) rewrites bodies as JSON.
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <future>
#include <memory>
#include <string>

#include <boost/json.hpp>

#include "api/api.h"
#include "common/text.h"
#include "core/startup.h"
#include "store/schema.h"

namespace {

struct Server {
  nt::Settings settings = *nt::settings_from(nt::Config::defaults(nt::server_schema()));
  std::unique_ptr<nt::Store> store = nt::make_memory_store();
  nt::Model model;
  nt::Writer writer{model, *store};
  nt::Api api{settings, model, writer};
};

std::unique_ptr<Server> server;
int inputs = 0;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "FINDING: %s\n", what.c_str());
  std::abort();
}

std::string first_id(const nt::Model& m, const std::string& kind) {
  const nt::Table* t = m.find_table(kind);
  return t && !t->empty() ? t->begin()->first : std::string("00000000-0000-0000-0000-000000000000");
}

void substitute_ids(std::string& text, const nt::Model& m) {
  static const char* kinds[] = {"networks", "subnets", "ports", "routers", "security_groups", "floatingips"};
  static const char* names[] = {"$network", "$subnet", "$port", "$router", "$security_group", "$floatingip"};
  for (size_t i = 0; i < std::size(kinds); ++i)
    for (size_t at; (at = text.find(names[i])) != std::string::npos;)
      text.replace(at, std::string(names[i]).size(), first_id(m, kinds[i]));
}

nt::HttpRequest parse_input(const std::string& text) {
  nt::HttpRequest req;
  size_t line_end = text.find('\n');
  std::string head = text.substr(0, line_end);
  auto sp = head.find(' ');
  req.method = head.substr(0, sp);
  req.target = sp == std::string::npos ? "/" : head.substr(sp + 1);
  if (req.target.empty() || req.target[0] != '/') req.target = "/" + req.target;
  size_t pos = line_end == std::string::npos ? text.size() : line_end + 1;
  // Header lines: "Name: value", until a line that is not one.
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    auto colon = line.find(": ");
    if (colon == std::string::npos || colon == 0 || line[0] == '{' || line[0] == '[') break;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers[name] = line.substr(colon + 2);
    pos = end == std::string::npos ? text.size() : end + 1;
  }
  req.body = text.substr(pos);
  if (!req.headers.count("x-project-id") && req.body.size() % 3 == 1) req.headers["x-project-id"] = "fuzz-project";
  return req;
}

void check_answer(const nt::HttpResponse& r) {
  if (r.status >= 500 && r.status != 501 && r.status != 503) finding("status " + std::to_string(r.status) + ": " + r.body);
  if (r.stream || r.body.empty()) return;
  if (!nt::valid_utf8(r.body)) finding("answer is not valid UTF-8");
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (ec) finding("answer is not JSON: " + r.body.substr(0, 200));
  if (!nt::storable_json(v)) finding("answer holds a non-finite number or bad text");
}

// Whatever is stored loads again as it does at a start, into the same tables.
void check_reload(Server& s) {
  nt::Model fresh;
  if (auto loaded = nt::load_model(*s.store, fresh, {"fuzz"}); !loaded) finding("reload: " + loaded.error().message);
  if (fresh.revision != s.model.revision) finding("reload: another revision");
  for (const auto& kind : nt::resource_kinds()) {
    const nt::Table* a = fresh.find_table(kind);
    const nt::Table* b = s.model.find_table(kind);
    if ((a ? a->size() : 0) != (b ? b->size() : 0)) finding("reload: table " + kind + " has another row count");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!server || ++inputs % 1000 == 0) server = std::make_unique<Server>();  // bound the state
  std::string text(reinterpret_cast<const char*>(data), size);
  auto req = parse_input(text);
  substitute_ids(req.target, server->model);
  substitute_ids(req.body, server->model);
  std::promise<nt::HttpResponse> answered;
  auto revision = server->model.revision;
  server->api.handle(std::move(req), [&answered](nt::HttpResponse r) { answered.set_value(std::move(r)); });
  auto r = answered.get_future().get();
  check_answer(r);
  if (server->model.revision != revision) check_reload(*server);

  // The config parser and address parsers take the same bytes.
  std::string head = text.substr(0, text.find('\n'));
  (void)nt::Config::parse("fuzz.ini", text, nt::server_schema());
  (void)nt::Cidr::parse(head, size % 2 == 0);
  (void)nt::Mac::parse(head);
  return 0;
}
