// The topology page: GET /ui (one HTML page with its script and styles, compiled into the
// binary; no build step, nothing loaded from elsewhere) and GET /ui/events (its change
// stream, api/ui_events.h). Read-only: the page reads the API with the caller's token.
//
// Authentication: the page itself holds no data and is served to anyone, like the version
// document; every API call it makes and its event stream carry X-Auth-Token and are
// authenticated exactly as the API is (noauth: none needed). The page takes the token
// once from the address's fragment (/ui#token=...: a fragment never reaches the server or
// its logs), keeps it in the tab's sessionStorage and asks for one when the API answers 401.
#include <spdlog/spdlog.h>

#include <string_view>

#include "api/api.h"
#include "api/errors.h"

namespace nt {

namespace {

constexpr std::string_view kPage =
#include "api/ui_page.inc"
    ;

// The page runs only its own inline script and talks only to this server.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

HttpResponse not_allowed(const std::string& allowed) {
  auto r = error_response(Error{Errc::not_allowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource."});
  r.headers.emplace_back("Allow", allowed);
  return r;
}

HttpResponse page() {
  HttpResponse r{200, std::string(kPage), "text/html; charset=utf-8", {}};
  r.headers = {{"Content-Security-Policy", kPagePolicy},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"Cache-Control", "no-cache"}};
  return r;
}

}  // namespace

bool Api::serve_ui(const std::vector<std::string>& segments, const HttpRequest& req, Reply& reply) {
  if (segments.empty() || segments[0] != "ui") return false;
  bool events = segments.size() == 2 && segments[1] == "events";
  if (segments.size() > 1 && !events) {
    reply(error_response(Error{Errc::not_found, "HTTPNotFound", "The resource could not be found."}));
  } else if (!events) {
    if (req.method == "GET" || req.method == "HEAD") reply(page());
    else reply(not_allowed("GET, HEAD"));
  } else if (req.method != "GET") {
    reply(not_allowed("GET"));  // HEAD of a stream is no stream
  } else {
    ui_events_authenticated(req, reply);
  }
  return true;
}

// The event stream needs what any API call needs: in keystone mode, a valid token scoped
// to a project (or the system).
void Api::ui_events_authenticated(const HttpRequest& req, Reply reply) {
  if (!authenticator_) return open_ui_events(std::move(reply));
  std::string token = req.header("x-auth-token");
  if (token.empty()) return reply(unauthenticated());
  authenticator_->authenticate(token, [this, reply = std::move(reply)](const auth::Validation& v) {
    if (v.verdict == auth::Verdict::invalid) return reply(unauthenticated());
    if (v.verdict == auth::Verdict::unavailable)
      return reply(error_response(Error{Errc::unavailable, "ServiceUnavailable",
                                        "The identity service (Keystone) cannot validate tokens now; try again later."}));
    if (v.identity.project_id.empty() && !v.identity.system_scope) return reply(unauthenticated());
    open_ui_events(reply);
  });
}

void Api::open_ui_events(Reply reply) {
  auto stream = ui_events_.subscribe(model_revision());
  if (!stream) {
    spdlog::warn("/ui/events: {} pages are already following changes; refusing one more", ui_events_.max_clients());
    auto r = error_response(Error{Errc::unavailable, "ServiceUnavailable",
                                  "Too many topology pages are open (" + std::to_string(ui_events_.max_clients()) +
                                      "); close one or retry later."});
    r.headers.emplace_back("Retry-After", "5");
    return reply(std::move(r));
  }
  HttpResponse r{200, "", "text/event-stream", {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}}};
  r.stream = std::move(stream);
  reply(std::move(r));
}

}  // namespace nt
