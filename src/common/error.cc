#include "common/error.h"

namespace nt {

nt::unexpected<Error> invalid_input(const std::string& message) {
  return fail(Errc::invalid_argument, "InvalidInput", "Invalid input for operation: " + message + ".");
}
nt::unexpected<Error> not_found(std::string type, std::string message) {
  return fail(Errc::not_found, std::move(type), std::move(message));
}
nt::unexpected<Error> conflict(std::string type, std::string message) {
  return fail(Errc::conflict, std::move(type), std::move(message));
}

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return "invalid argument";
    case Errc::not_found: return "not found";
    case Errc::conflict: return "conflict";
    case Errc::precondition_failed: return "precondition failed";
    case Errc::unauthenticated: return "unauthenticated";
    case Errc::forbidden: return "forbidden";
    case Errc::not_allowed: return "method not allowed";
    case Errc::not_acceptable: return "not acceptable";
    case Errc::too_large: return "too large";
    case Errc::unavailable: return "unavailable";
    case Errc::not_implemented: return "not implemented";
    case Errc::internal: return "internal";
    case Errc::unsupported_version: return "unsupported protocol version";
    case Errc::header_too_large: return "header too large";
  }
  return "internal";
}

}  // namespace nt
