// Every program's main runs inside guarded_main: a failure is one line on stderr
// ("neutrino-agent: ...") and an exit status, never a stack trace or libstdc++'s
// "terminate called after throwing an instance of ...". Errors are values in this code;
// this is the net for what still throws (Boost, the standard library, a bug). It also
// sets the log format for the journal when run by systemd (common/journal_log.h).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "common/journal_log.h"

namespace nt {
namespace detail {

inline const char*& guarded_program_name() {
  static const char* name = "neutrino";
  return name;
}

inline std::string current_exception_text() {
  auto current = std::current_exception();
  if (!current) return "";
  try {
    std::rethrow_exception(current);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception of an unknown type";
  }
}

// std::terminate's handler (an exception that escaped a thread, a joinable thread
// destroyed): one line, then abort() as the default handler does, for the core dump.
[[noreturn]] inline void terminate_in_one_line() {
  auto what = current_exception_text();
  std::fprintf(stderr, "%s: fatal: %s\n", guarded_program_name(),
               what.empty() ? "std::terminate called without an exception" : ("uncaught exception: " + what).c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace detail

// Runs body() (the program's main); an exception that reaches it is one line and exit 1.
template <class Body>
int guarded_main(const char* program, Body&& body) {
  detail::guarded_program_name() = program;
  std::set_terminate(detail::terminate_in_one_line);
  use_journal_format_under_systemd();
  try {
    return body();
  } catch (...) {
    std::fprintf(stderr, "%s: %s\n", program, detail::current_exception_text().c_str());
  }
  return 1;
}

}  // namespace nt
