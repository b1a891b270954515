// Fuzzes the request path end to end in process: the query-string parser, JSON body
// parsing, attribute validators, the resources' rules and the config parser. An input is
//   METHOD TARGET\n
//   BODY
// Any crash, sanitizer report, or a 5xx answer (the server must never fail on input) is a
// finding.
#include <cstdint>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>

#include "api/api.h"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!server || ++inputs % 5000 == 0) server = std::make_unique<Server>();  // bound the state
  std::string text(reinterpret_cast<const char*>(data), size);
  auto nl = text.find('\n');
  std::string head = text.substr(0, nl), body = nl == std::string::npos ? "" : text.substr(nl + 1);
  auto sp = head.find(' ');
  nt::HttpRequest req;
  req.method = head.substr(0, sp);
  req.target = sp == std::string::npos ? "/" : head.substr(sp + 1);
  if (req.target.empty() || req.target[0] != '/') req.target = "/" + req.target;
  req.body = body;
  if (body.size() % 3 == 1) req.headers["x-project-id"] = "fuzz-project";
  std::promise<nt::HttpResponse> answered;
  server->api.handle(std::move(req), [&answered](nt::HttpResponse r) { answered.set_value(std::move(r)); });
  auto r = answered.get_future().get();
  if (r.status >= 500 && r.status != 501 && r.status != 503) std::abort();

  // The config parser and address parsers take the same bytes.
  (void)nt::Config::parse("fuzz.ini", text, nt::server_schema());
  (void)nt::Cidr::parse(head, size % 2 == 0);
  (void)nt::Mac::parse(head);
  return 0;
}
