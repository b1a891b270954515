#include "api/errors.h"

#include "common/text.h"

#include <boost/json.hpp>

namespace nt {

int http_status(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return 400;
    case Errc::unauthenticated: return 401;
    case Errc::forbidden: return 403;
    case Errc::not_found: return 404;
    case Errc::conflict: return 409;
    case Errc::precondition_failed: return 412;
    case Errc::not_allowed: return 405;
    case Errc::not_acceptable: return 406;
    case Errc::too_large: return 413;
    case Errc::not_implemented: return 501;
    case Errc::unavailable: return 503;
    case Errc::internal: return 500;
    case Errc::unsupported_version: return 505;
    case Errc::header_too_large: return 431;
  }
  return 500;
}

namespace {
// The generic exception name for a code, used when the domain did not name one.
const char* default_type(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return "HTTPBadRequest";
    case Errc::unauthenticated: return "HTTPUnauthorized";
    case Errc::forbidden: return "HTTPForbidden";
    case Errc::not_found: return "HTTPNotFound";
    case Errc::conflict: return "Conflict";
    case Errc::precondition_failed: return "RevisionNumberConstraintFailed";
    case Errc::not_allowed: return "HTTPMethodNotAllowed";
    case Errc::not_acceptable: return "HTTPNotAcceptable";
    case Errc::too_large: return "RequestEntityTooLarge";
    case Errc::not_implemented: return "NotImplementedError";
    case Errc::unavailable: return "ServiceUnavailable";
    case Errc::internal: return "HTTPInternalServerError";
    case Errc::unsupported_version: return "HTTPVersionNotSupported";
    case Errc::header_too_large: return "HTTPRequestHeaderFieldsTooLarge";
  }
  return "HTTPInternalServerError";
}
}  // namespace

HttpResponse error_response(const Error& e) {
  namespace json = boost::json;
  std::string type = e.type.empty() ? default_type(e.code) : e.type;
  // Internal failures never leak SQL or exception text to the client; the store's own
  // errors carry SQLite's sentence for the cause ("database or disk is full"), no SQL.
  std::string message = e.message;
  // (A Neutron exception Neutron itself answers with a 500, e.g. SubnetAllocationError,
  // keeps its message.)
  bool neutron_500 = !e.type.empty() && e.type != "HTTPInternalServerError";
  if (e.code == Errc::internal && !neutron_500)
    message = "Request Failed: internal server error while processing your request." +
              (e.origin == Origin::store ? " The database said: " + e.message + "." : std::string());
  if (!valid_utf8(message)) message = "The request could not be processed (its text is not valid UTF-8).";
  json::object body{{"NeutronError", json::object{{"type", type}, {"message", message}, {"detail", ""}}}};
  return HttpResponse{http_status(e.code), json::serialize(body)};
}

}  // namespace nt
