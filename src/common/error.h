// Errors are values. An Error carries a transport-neutral code chosen deliberately, the
// layer it comes from, and a message a user can act on. Only the Neutron layers (src/api
// and the Neutron model in src/core) name a Neutron exception in `type`; everything below
// them leaves it empty. Codes become HTTP statuses and NeutronError bodies only in
// api/errors.cc (the HTTP server's own errors included, through its error renderer).
#pragma once
#include "common/expected.h"
#include <string>
#include <utility>

namespace nt {

enum class Errc {
  invalid_argument,     // 400: the request is wrong
  not_found,            // 404
  conflict,             // 409: in use, already exists, exhausted
  precondition_failed,  // 412: If-Match revision mismatch
  unauthenticated,      // 401
  forbidden,            // 403
  not_allowed,          // 405: method not allowed on this resource
  not_acceptable,       // 406: no answer in a form the client accepts
  too_large,            // 413
  unavailable,          // 503: nothing left to allocate, store busy
  not_implemented,      // 501
  internal,             // 500
  // The HTTP framing itself (http/server.cc).
  unsupported_version,  // 505
  header_too_large,     // 431
};

// Which layer an error comes from (for logs, and to decide what a client may see).
enum class Origin { unspecified, store, kernel, config, channel, sandbox, http };

struct Error {
  Errc code = Errc::internal;
  std::string type;     // Neutron exception name, e.g. "IpAddressInUse" (src/api, src/core only)
  std::string message;
  int sys_errno = 0;    // set only by src/kernel
  std::string detail;   // for the server's log only, never sent to a client (e.g. the SQL)
  Origin origin = Origin::unspecified;
};

// A result that must be looked at: [[nodiscard]] on the type, so that a call whose
// Result is dropped is a compiler warning (GCC 12's std::expected is not marked).
template <class T>
class [[nodiscard]] Result : public nt::expected<T, Error> {
 public:
  using nt::expected<T, Error>::expected;
  Result() = default;
  Result(nt::expected<T, Error> e) : nt::expected<T, Error>(std::move(e)) {}
};
using Status = Result<void>;

// An error of a layer below the Neutron API: no Neutron type.
inline nt::unexpected<Error> fail(Errc code, Origin origin, std::string message) {
  Error e{code, "", std::move(message), 0};
  e.origin = origin;
  return nt::unexpected(std::move(e));
}
inline nt::unexpected<Error> fail(Errc code, std::string type, std::string message) {
  return nt::unexpected(Error{code, std::move(type), std::move(message), 0});
}
// The request is wrong (Neutron's HTTPBadRequest when it reaches a client).
inline nt::unexpected<Error> bad_request(std::string message) {
  return fail(Errc::invalid_argument, "", std::move(message));
}
// Neutron's InvalidInput: "Invalid input for operation: <msg>."
nt::unexpected<Error> invalid_input(const std::string& message);
nt::unexpected<Error> not_found(std::string type, std::string message);
nt::unexpected<Error> conflict(std::string type, std::string message);
std::string_view errc_name(Errc code);

}  // namespace nt

// Propagates an error out of the enclosing function returning Result/Status.
#define NT_TRY(expr)                                              \
  do {                                                            \
    if (auto nt_try_r_ = (expr); !nt_try_r_)                      \
      return nt::unexpected(std::move(nt_try_r_).error());       \
  } while (0)

#define NT_CONCAT_INNER(a, b) a##b
#define NT_CONCAT(a, b) NT_CONCAT_INNER(a, b)
// NT_ASSIGN(auto x, expr): binds the value of a Result or returns its error.
#define NT_ASSIGN(decl, expr) NT_ASSIGN_IMPL(NT_CONCAT(nt_r_, __LINE__), decl, expr)
#define NT_ASSIGN_IMPL(tmp, decl, expr)                           \
  auto tmp = (expr);                                              \
  if (!tmp) return nt::unexpected(std::move(tmp).error());       \
  decl = std::move(*tmp)
