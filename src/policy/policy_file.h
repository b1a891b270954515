// The operator's policy file ([oslo_policy] policy_file): a YAML or JSON map of rule name
// to check string, as oslopolicy-sample-generator writes it (comments allowed), read into a
// Policy and watched for changes.
//
// Where oslo.policy would accept a broken file (a rule it cannot parse becomes "never", a
// null value "always", the last of two equal keys wins) this refuses the file with the file,
// the line and the rule named:
//   policy.yaml:7: rule "create_network": unexpected token "orr" at column 22, expected ...
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "common/error.h"
#include "policy/policy.h"

namespace nt::policy {

// The rules of a policy file's text; `source` names the file in errors. An empty file, or
// one with only comments, has no rules. Errors: YAML that does not parse, a document that
// is not a map, a rule name that is not text, a value that is not a string (null, a
// number, a boolean, a list, a map: quote it), a rule name given twice.
Result<std::vector<RuleOverride>> parse_policy_text(std::string_view text, std::string_view source);

// Neutron's defaults overridden by the file at `path`; the defaults alone when there is no
// such file (as oslo.policy). Errors name the path as given.
Result<Policy> load_policy(const std::string& path, PolicyOptions options = {});

// A policy file in use: requests call current(), which re-reads the file when it changed
// (device, inode, size, modification or change time differ), at most once per
// check_interval. A changed file that cannot be used leaves the last good policy in place
// and is reported through on_error (once per change). A file removed after it was read
// also keeps the last policy (and is reported): an editor that deletes and rewrites must
// not leave a window with the defaults. Thread-safe.
class PolicyFile {
 public:
  struct Options {
    PolicyOptions policy;
    std::chrono::milliseconds check_interval{1000};  // 0: look at the file on every current()
    // Called on the thread that noticed the change, under the reload lock: log, do not call
    // back into this PolicyFile.
    std::function<void(const Error&)> on_error;
  };

  // Reads the file now: an error when it exists and cannot be used (refuse to start).
  static Result<std::unique_ptr<PolicyFile>> open(std::string path, Options options);

  // The policy for a request; cheap (an atomic load, and a stat() when the interval passed).
  std::shared_ptr<const Policy> current();
  // Looks at the file now; the error when it changed and cannot be used.
  Status reload();
  // The error of the last change that could not be used, until a good change.
  std::optional<Error> last_error() const;
  const std::string& path() const { return path_; }

 private:
  struct FileState {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t modified_ns = 0;
    int64_t changed_ns = 0;
    bool operator==(const FileState&) const = default;
  };

  PolicyFile(std::string path, Options options) : path_(std::move(path)), options_(std::move(options)) {}
  FileState stat_file() const;
  Status reload_locked();

  const std::string path_;
  const Options options_;
  std::atomic<std::shared_ptr<const Policy>> policy_;
  std::atomic<int64_t> next_check_ns_{0};
  mutable std::mutex reload_mutex_;
  FileState seen_;                  // guarded by reload_mutex_
  std::optional<Error> last_error_;  // guarded by reload_mutex_
};

}  // namespace nt::policy
