#include "common/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

namespace nt {
namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string suggestion(const std::string& word, const std::set<std::string>& known) {
  std::string best;
  size_t limit = std::max<size_t>(3, word.size() / 3), best_score = SIZE_MAX;
  for (const auto& k : known) {
    size_t d = edit_distance(lower(word), lower(k));
    if (d > limit || 2 * d > k.size()) continue;  // not a word mostly rewritten ("nova" is not "ha")
    // Of names as far away, one the word begins ("bfd_min_rx": bfd_min_rx_ms, not bfd_binary).
    size_t score = 2 * d + (lower(k).rfind(lower(word), 0) == 0 ? 0 : 1);
    if (score < best_score) best_score = score, best = k;
  }
  return best.empty() ? "" : "; did you mean \"" + best + "\"?";
}

std::optional<bool> parse_bool(const std::string& v) {
  auto l = lower(v);
  if (l == "true" || l == "yes" || l == "on" || l == "1") return true;
  if (l == "false" || l == "no" || l == "off" || l == "0") return false;
  return std::nullopt;
}

Status check_type(const OptionSpec& spec, const std::string& value, const std::string& where) {
  auto err = [&](const std::string& what) {
    return fail(Errc::invalid_argument, Origin::config,
                where + ": option \"" + spec.name + "\" in [" + spec.section + "]: \"" + value +
                    "\" is not " + what);
  };
  if (spec.type == OptType::integer) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    bool digits = !value.empty() && value.find_first_not_of("-0123456789") == std::string::npos;
    if (!digits || end != value.data() + value.size() || (ec != std::errc() && ec != std::errc::result_out_of_range))
      return err("an integer");
    if (ec == std::errc::result_out_of_range || v < spec.min || v > spec.max)
      return err("within " + std::to_string(spec.min) + ".." + std::to_string(spec.max));
  } else if (spec.type == OptType::boolean && !parse_bool(value)) {
    return err("a boolean (true or false)");
  }
  return {};
}

}  // namespace

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Config Config::defaults(const std::vector<OptionSpec>& schema) {
  Config c;
  for (const auto& s : schema) c.values_[{s.section, s.name}] = Value{s.default_value, ""};
  return c;
}

Result<Config> Config::load(const std::string& path, const std::vector<OptionSpec>& schema) {
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return fail(Errc::invalid_argument, Origin::config, path + ": is a directory, not a configuration file");
  std::ifstream in(path);
  if (!in) return fail(Errc::invalid_argument, Origin::config, path + ": cannot open the file");
  std::stringstream ss;
  ss << in.rdbuf();
  auto slash = path.rfind('/');
  return parse(slash == std::string::npos ? path : path.substr(slash + 1), ss.str(), schema);
}

Result<Config> Config::parse(const std::string& file, const std::string& text,
                             const std::vector<OptionSpec>& schema) {
  Config c = defaults(schema);
  c.file_ = file;
  std::set<std::string> sections;
  std::map<std::string, std::set<std::string>> options;
  for (const auto& s : schema) sections.insert(s.section), options[s.section].insert(s.name);
  auto err = [&](int line, const std::string& msg) {
    return fail(Errc::invalid_argument, Origin::config, file + ":" + std::to_string(line) + ": " + msg);
  };
  std::istringstream in(text);
  std::string raw, section;
  bool skip_section = false;
  for (int line = 1; std::getline(in, raw); ++line) {
    std::string s = trim(raw);
    if (s.empty() || s[0] == '#' || s[0] == ';') continue;
    if (s[0] == '[') {
      if (s.back() != ']') return err(line, "section header not closed: \"" + s + "\"");
      section = trim(s.substr(1, s.size() - 2));
      if (section.empty()) return err(line, "empty section name");
      c.section_where_.emplace(section, file + ":" + std::to_string(line));
      skip_section = !sections.count(section);
      if (skip_section) {
        auto hint = suggestion(section, sections);
        if (!hint.empty()) return err(line, "unknown section [" + section + "]" + hint);
        c.warnings_.push_back(file + ":" + std::to_string(line) + ": section [" + section +
                              "] is not used by this program; ignored");
      }
      continue;
    }
    auto eq = s.find_first_of("=:");
    if (eq == std::string::npos) return err(line, "expected \"name = value\", got \"" + s + "\"");
    if (section.empty()) return err(line, "option \"" + trim(s.substr(0, eq)) + "\" before any [section]");
    if (skip_section) continue;
    std::string name = trim(s.substr(0, eq)), value = trim(s.substr(eq + 1));
    if (!options[section].count(name))
      return err(line, "unknown option \"" + name + "\" in [" + section + "]" +
                           suggestion(name, options[section]));
    auto where = file + ":" + std::to_string(line);
    for (const auto& spec : schema)
      if (spec.section == section && spec.name == name) NT_TRY(check_type(spec, value, where));
    c.values_[{section, name}] = Value{value, where};
  }
  return c;
}

const Config::Value& Config::value(const std::string& section, const std::string& name) const {
  static const Value empty;
  auto it = values_.find({section, name});
  return it == values_.end() ? empty : it->second;
}

std::string Config::str(const std::string& section, const std::string& name) const {
  return value(section, name).text;
}
// Values were range-checked when parsed; anything else reads as 0 rather than throwing.
int64_t Config::integer(const std::string& section, const std::string& name) const {
  auto& v = value(section, name).text;
  int64_t out = 0;
  std::from_chars(v.data(), v.data() + v.size(), out);
  return out;
}
bool Config::boolean(const std::string& section, const std::string& name) const {
  return parse_bool(value(section, name).text).value_or(false);
}
std::vector<std::string> Config::list(const std::string& section, const std::string& name) const {
  return split_list(value(section, name).text);
}
std::string Config::where(const std::string& section, const std::string& name) const {
  return value(section, name).where;
}
std::string Config::where_missing(const std::string& section) const {
  auto it = section_where_.find(section);
  return it == section_where_.end() ? file_ : it->second;
}

}  // namespace nt
