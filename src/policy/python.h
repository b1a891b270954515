// The few Python semantics oslo.policy's checks rely on, for JSON values: str(value) (what
// "%(key)s" substitution and the text comparisons of generic checks produce) and `==`
// (what Neutron's field checks use: True == 1, 1 == 1.0, 'a' != 1). Internal to nt_policy.
#pragma once
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace nt::policy {

// Appends Python's str(value): strings as they are, true -> "True", null -> "None",
// 1.0 -> "1.0", [1, "a"] -> "[1, 'a']", {"k": false} -> "{'k': False}".
void append_python_str(const boost::json::value& value, std::string& out);
std::string python_str(const boost::json::value& value);

// str(value) == text, without building the string for strings, booleans, null and integers.
bool python_str_equals(const boost::json::value& value, std::string_view text);

// Python's value == other for JSON values (numbers and booleans compare numerically).
bool python_equal(const boost::json::value& a, const boost::json::value& b);

}  // namespace nt::policy
