// INI configuration with a schema. Every error names the file, the line and the option,
// and a misspelt section or option suggests the closest known name:
//   server.ini:1: section header not closed: "[DEFAULT"
//   server.ini:7: unknown option "bind_prot" in [DEFAULT]; did you mean "bind_port"?
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace nt {

enum class OptType { string, integer, boolean, list };

struct OptionSpec {
  std::string section;   // "DEFAULT", "ml2", ...
  std::string name;
  OptType type = OptType::string;
  std::string default_value;
  std::string help;
  int64_t min = INT32_MIN, max = INT32_MAX;  // integers: the accepted range
};

class Config {
 public:
  // Parses text (named `file` in messages) against the schema; values are type-checked.
  static Result<Config> parse(const std::string& file, const std::string& text,
                              const std::vector<OptionSpec>& schema);
  static Result<Config> load(const std::string& path, const std::vector<OptionSpec>& schema);
  static Config defaults(const std::vector<OptionSpec>& schema);

  std::string str(const std::string& section, const std::string& name) const;
  int64_t integer(const std::string& section, const std::string& name) const;
  bool boolean(const std::string& section, const std::string& name) const;
  std::vector<std::string> list(const std::string& section, const std::string& name) const;
  // Where an option was set, "file:line", for messages about its value; "" if defaulted.
  std::string where(const std::string& section, const std::string& name) const;
  // Where an option that was not set belongs: "file:line" of the section's first header,
  // or "file" when the file has no such section (for "option ... is required").
  std::string where_missing(const std::string& section) const;
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct Value {
    std::string text;
    std::string where;
  };
  const Value& value(const std::string& section, const std::string& name) const;
  std::map<std::pair<std::string, std::string>, Value> values_;
  std::vector<std::string> warnings_;
  std::string file_;                                   // as named in messages
  std::map<std::string, std::string> section_where_;  // section -> "file:line" of its first header
};

size_t edit_distance(const std::string& a, const std::string& b);
std::vector<std::string> split_list(const std::string& text);  // comma separated, trimmed

}  // namespace nt
