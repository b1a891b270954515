// Errors are values. An Error carries a code chosen deliberately (see ARCHITECTURE §8),
// the name of the Neutron exception it corresponds to (empty = a generic one for the
// code), and a message a user can act on. Codes map to HTTP only in api/errors.cc.
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
  too_large,            // 413
  unavailable,          // 503: nothing left to allocate, store busy
  not_implemented,      // 501
  internal,             // 500
};

struct Error {
  Errc code = Errc::internal;
  std::string type;     // Neutron exception name, e.g. "IpAddressInUse"
  std::string message;
  int sys_errno = 0;    // set only by src/kernel
  std::string detail;   // for the server's log only, never sent to a client (e.g. the SQL)
};

template <class T>
using Result = nt::expected<T, Error>;
using Status = nt::expected<void, Error>;

inline nt::unexpected<Error> fail(Errc code, std::string type, std::string message) {
  return nt::unexpected(Error{code, std::move(type), std::move(message), 0});
}
inline nt::unexpected<Error> bad_request(std::string message) {
  return fail(Errc::invalid_argument, "HTTPBadRequest", std::move(message));
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
