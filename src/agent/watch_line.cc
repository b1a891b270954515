#include "agent/watch_line.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "common/json_get.h"

namespace nt::agent {
namespace json = boost::json;

LineResult apply_line(view::HostView& view, const std::string& line, int64_t& rev) {
  boost::system::error_code ec;
  auto v = json::parse(line, ec);
  if (ec || !v.is_object()) return {"", false};
  const auto& o = v.as_object();
  auto op = jget::str(o, "op");
  int64_t line_rev = -1;
  if (auto* r = o.if_contains("rev"); r && r->is_int64()) line_rev = r->get_int64();
  if (line_rev >= 0 && op != "keepalive") rev = line_rev;
  if (op == "hello") {
    auto version = jget::num(o, "protocol", 0);
    if (version != view::kProtocolVersion)
      spdlog::warn("the server speaks watch protocol {}, this agent {}", version, view::kProtocolVersion);
    auto* full = o.if_contains("full");
    return {op, version == view::kProtocolVersion, full && full->is_bool() && full->as_bool()};
  }
  auto kind = jget::str(o, "kind"), id = jget::str(o, "id");
  if (op == "del") view::erase(view, kind, id);
  if (op != "put") return {op, true, false, std::move(kind), std::move(id), line_rev};
  const auto* obj = o.if_contains("obj");
  auto put = obj ? view::put(view, kind, id, *obj) : Status(fail(Errc::invalid_argument, "", "a put without obj"));
  if (!put) spdlog::error("watch: {}", put.error().message);
  return {op, put.has_value(), false, std::move(kind), std::move(id), line_rev};
}

}  // namespace nt::agent
