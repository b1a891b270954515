// Checked reads of JSON objects for code that consumes JSON it did not validate itself
// (host views, stored rows, API answers): a missing key or another type gives the
// fallback, never an exception. Header only (the planner and the agent link no common
// library).
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nt::jget {

inline std::string str(const boost::json::value* v) {
  return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
}
inline std::string str(const boost::json::object& o, std::string_view key) { return str(o.if_contains(key)); }

inline int64_t num(const boost::json::object& o, std::string_view key, int64_t fallback = 0) {
  auto* v = o.if_contains(key);
  return (v && v->is_int64()) ? v->get_int64() : fallback;
}

// A string or nothing (null, missing or another type).
inline std::optional<std::string> opt_str(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return (v && v->is_string()) ? std::optional<std::string>(std::string(v->get_string())) : std::nullopt;
}
inline std::optional<int64_t> opt_num(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return (v && v->is_int64()) ? std::optional<int64_t>(v->get_int64()) : std::nullopt;
}
inline bool flag(const boost::json::object& o, std::string_view key, bool fallback) {
  auto* v = o.if_contains(key);
  return (v && v->is_bool()) ? v->get_bool() : fallback;
}

inline const boost::json::array& arr(const boost::json::object& o, std::string_view key) {
  static const boost::json::array empty;
  auto* v = o.if_contains(key);
  return (v && v->is_array()) ? v->get_array() : empty;
}

}  // namespace nt::jget
