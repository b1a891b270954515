// Checks that keep what is stored and sent valid: UTF-8 text (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF) and JSON without non-finite numbers (a double that
// overflowed while parsing would serialize as a bare `Infinity`, which no parser reads back).
#pragma once
#include <boost/json/fwd.hpp>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace nt {

bool valid_utf8(std::string_view text);

// The whole of `text` as a decimal integer within int64, as strtoll reads one (leading
// white space, an optional sign, digits) with nothing after it; nullopt otherwise.
inline std::optional<int64_t> parse_int64(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || (text.front() >= '\t' && text.front() <= '\r'))) text.remove_prefix(1);
  if (text.size() > 1 && text.front() == '+' && text[1] != '-') text.remove_prefix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// `text` with ASCII letters in lower case (protocol names, booleans: never locale-dependent).
inline std::string ascii_lower(std::string text) {
  for (auto& c : text)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return text;
}

// True when every number in `v` is finite and every string and key is valid UTF-8.
bool storable_json(const boost::json::value& v);

}  // namespace nt
