// One bounded GET to the API for the operator's tools (`neutrino wait`, `neutrino trace`):
// http://host:port or unix:///path, with an optional Keystone token.
#pragma once
#include <chrono>
#include <string>

#include "agent/client.h"
#include "common/expected.h"

namespace nt::cli {

struct Answer {
  int status = 0;
  std::string body;
};

// Connect, send and answer within `limit`; an unreachable server is an `unavailable` error.
Result<Answer> fetch(const agent::ServerUrl& u, const std::string& target, const std::string& token,
                     std::chrono::steady_clock::duration limit);

}  // namespace nt::cli
