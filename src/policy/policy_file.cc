#include "policy/policy_file.h"

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <sys/stat.h>
// GCC 12 reports a false -Wdangling-pointer in yaml-cpp 0.7's node iterators once inlined.
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#include <yaml-cpp/yaml.h>

namespace nt::policy {

namespace {

constexpr size_t kMaxFileSize = 16 << 20;

nt::unexpected<Error> file_error(std::string message) {
  return fail(Errc::invalid_argument, Origin::config, std::move(message));
}

std::string at(std::string_view source, const YAML::Mark& mark) {
  return std::string(source) + ":" + std::to_string(mark.line + 1);
}

// What PyYAML (YAML 1.1, as oslo.policy reads files) makes of a plain scalar that is not a
// string; nullptr for a string.
const char* plain_scalar_type(const std::string& s) {
  static const std::regex kBool("yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF");
  static const std::regex kNull("~|null|Null|NULL|");
  static const std::regex kInt(
      "[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+");
  static const std::regex kFloat(
      "[-+]?([0-9][0-9_]*)?\\.[0-9_]*([eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|"
      "[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
  if (std::regex_match(s, kBool)) return "a boolean";
  if (std::regex_match(s, kNull)) return "null";
  if (std::regex_match(s, kInt)) return "an integer";
  if (std::regex_match(s, kFloat) && s != ".") return "a number";
  return nullptr;
}

// The check string of a rule's value, or why it is not one.
Result<std::string> check_string(const YAML::Node& value) {
  switch (value.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return file_error("the value is null: write \"\" to allow everyone, \"!\" no one");
    case YAML::NodeType::Sequence: return file_error("the value is a list, not a check string");
    case YAML::NodeType::Map: return file_error("the value is a map, not a check string");
    case YAML::NodeType::Scalar: break;
  }
  const std::string& tag = value.Tag();
  if (tag == "?") {
    if (const char* type = plain_scalar_type(value.Scalar()))
      return file_error("the value is " + std::string(type) + ", not a check string (quote it)");
  } else if (tag != "!" && tag != "tag:yaml.org,2002:str") {
    return file_error("the value has the tag " + tag + ", not a check string");
  }
  return value.Scalar();
}

}  // namespace

Result<std::vector<RuleOverride>> parse_policy_text(std::string_view text, std::string_view source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return file_error(at(source, e.mark) + ": not YAML or JSON: " + e.msg);
  }
  std::vector<RuleOverride> rules;
  if (root.IsNull()) return rules;  // empty, or only comments
  if (!root.IsMap()) return file_error(std::string(source) + ": not a map of rule names to check strings");
  std::set<std::string, std::less<>> seen;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const YAML::Node& key = it->first;
    if (!key.IsScalar()) return file_error(at(source, key.Mark()) + ": a rule name must be text");
    std::string name = key.Scalar();
    std::string where = at(source, key.Mark()) + ": rule \"" + name + "\"";
    if (!seen.insert(name).second) return file_error(where + " is given twice");
    auto check = check_string(it->second);
    if (!check) return file_error(where + ": " + check.error().message);
    rules.push_back(RuleOverride{std::move(name), std::move(*check), key.Mark().line + 1});
  }
  return rules;
}

Result<Policy> load_policy(const std::string& path, PolicyOptions options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return Policy::build({}, options);
    return file_error(path + ": cannot be read");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return file_error(path + ": cannot be read");
  if (text.view().size() > kMaxFileSize) return file_error(path + ": larger than 16 MiB");
  NT_ASSIGN(auto rules, parse_policy_text(text.view(), path));
  return Policy::build(rules, options, path);
}

// ---- PolicyFile --------------------------------------------------------------------------

Result<std::unique_ptr<PolicyFile>> PolicyFile::open(std::string path, Options options) {
  std::unique_ptr<PolicyFile> file(new PolicyFile(std::move(path), std::move(options)));
  file->seen_ = file->stat_file();
  NT_ASSIGN(Policy policy, load_policy(file->path_, file->options_.policy));
  file->policy_.store(std::make_shared<const Policy>(std::move(policy)));
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  file->next_check_ns_.store(std::chrono::nanoseconds(now + file->options_.check_interval).count());
  return file;
}

PolicyFile::FileState PolicyFile::stat_file() const {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) return FileState{};
  auto ns = [](const timespec& t) { return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec; };
  return FileState{true, st.st_dev, st.st_ino, st.st_size, ns(st.st_mtim), ns(st.st_ctim)};
}

std::shared_ptr<const Policy> PolicyFile::current() {
  int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  if (now >= next_check_ns_.load(std::memory_order_relaxed)) {
    std::unique_lock lock(reload_mutex_, std::try_to_lock);
    if (lock.owns_lock()) {  // another thread looking already: use the policy we have
      next_check_ns_.store(now + std::chrono::nanoseconds(options_.check_interval).count(), std::memory_order_relaxed);
      (void)reload_locked();
    }
  }
  return policy_.load(std::memory_order_acquire);
}

Status PolicyFile::reload() {
  std::lock_guard lock(reload_mutex_);
  return reload_locked();
}

std::optional<Error> PolicyFile::last_error() const {
  std::lock_guard lock(reload_mutex_);
  return last_error_;
}

Status PolicyFile::reload_locked() {
  FileState state = stat_file();
  if (state == seen_) return {};
  seen_ = state;
  Result<Policy> policy = state.exists ? load_policy(path_, options_.policy)
                                       : Result<Policy>(file_error(path_ + ": the policy file was removed; keeping the policy read from it"));
  if (!policy) {
    last_error_ = policy.error();
    if (options_.on_error) options_.on_error(policy.error());
    return nt::unexpected(std::move(policy).error());
  }
  last_error_.reset();
  policy_.store(std::make_shared<const Policy>(std::move(*policy)), std::memory_order_release);
  return {};
}

}  // namespace nt::policy
