// Keystone token authentication (auth_strategy = keystone), keystonemiddleware's job in
// Neutron: a user's X-Auth-Token is validated with Keystone v3 (GET /v3/auth/tokens, the
// service's own token in X-Auth-Token, the user's in X-Subject-Token), and what Keystone
// says about it (user, project, roles) becomes the request's identity. Nothing the client
// says about itself in other headers is believed.
//
// Valid tokens are cached until their expiry or `token_cache_time`, whichever is first, so
// a revoked token is refused at the latest token_cache_time after its revocation. Tokens
// Keystone refused are cached too (a refused token never becomes valid). When Keystone
// cannot be asked (unreachable, timing out, answering 5xx, or refusing our own service
// credentials) the answer is `unavailable`: the API turns it into 503, never admits.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"

namespace nt::auth {

using SteadyClock = std::chrono::steady_clock;

// [keystone_authtoken], with keystonemiddleware's option names.
struct KeystoneOptions {
  std::string www_authenticate_uri;  // advertised in 401 answers
  std::string auth_url;              // where tokens are validated (…/v3 added when absent)
  std::string username, password, project_name;
  std::string user_domain_name = "Default", project_domain_name = "Default";
  std::chrono::seconds token_cache_time{300};
  std::vector<std::string> service_token_roles{"service"};
  std::string cafile;  // CA bundle for https; empty = the system's
  bool insecure = false;
  std::chrono::milliseconds http_timeout{3000};  // per call to Keystone (http_request_max_retries = 0)
  int validation_threads = 4;
  size_t max_pending_validations = 2048;  // beyond: 503 at once rather than an unbounded queue
  size_t max_cached_tokens = 100000;
};

// What Keystone says about a valid token.
struct Identity {
  std::string user_id, user_name, user_domain_id;
  std::string project_id, project_name, project_domain_id;
  std::vector<std::string> roles;  // lower case
  bool system_scope = false;
  std::chrono::system_clock::time_point expires_at;
};

enum class Verdict { valid, invalid, unavailable };

struct Validation {
  Verdict verdict = Verdict::unavailable;
  Identity identity;   // when valid
  std::string reason;  // when not valid: for the log and the 503 message
};

// Blocking HTTP(S) calls to Keystone; thread-safe. Keeps and refreshes the service token.
class KeystoneClient {
 public:
  static Result<std::unique_ptr<KeystoneClient>> create(const KeystoneOptions& options);
  virtual ~KeystoneClient() = default;
  virtual Validation validate(const std::string& subject_token) = 0;
};

// The cache in front of the client, and the threads that ask Keystone on a miss so that
// the API's threads never wait on Keystone.
class Authenticator {
 public:
  using Done = std::function<void(const Validation&)>;
  Authenticator(KeystoneOptions options, std::unique_ptr<KeystoneClient> client);
  ~Authenticator();
  // Calls `done` exactly once: at once on a cache hit, else from a validation thread.
  // Concurrent misses for one token share one call to Keystone.
  void authenticate(const std::string& token, Done done);
  // Stops the validation threads (a validation under way finishes) and drops the requests
  // still waiting: call it when the HTTP server has stopped, before its I/O goes away.
  void stop();
  const KeystoneOptions& options() const { return options_; }

  struct Stats {
    uint64_t hits = 0, misses = 0, keystone_calls = 0, unavailable = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  KeystoneOptions options_;
  std::unique_ptr<Impl> impl_;
};

// Parses Keystone's "2026-12-01T14:00:00.000000Z" (and without fraction / with +00:00).
Result<std::chrono::system_clock::time_point> parse_keystone_time(const std::string& text);
// Reads GET /v3/auth/tokens' body into an Identity.
Result<Identity> identity_from_token_body(const std::string& body);

}  // namespace nt::auth
