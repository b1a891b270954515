#include "policy/python.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include <boost/json.hpp>

namespace nt::policy {
namespace json = boost::json;

namespace {

// repr(float): the shortest digits that read back, fixed notation for exponents in
// [-4, 16), scientific ("1e+16", "1.5e-05") otherwise, and always a '.' or an exponent.
void append_python_float(double d, std::string& out) {
  if (std::isnan(d)) { out += "nan"; return; }
  if (std::isinf(d)) { out += d < 0 ? "-inf" : "inf"; return; }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, res.ptr - buf);  // "-1.2345e+02"
  bool negative = sci.front() == '-';
  if (negative) sci.remove_prefix(1);
  size_t e = sci.find('e');
  int exponent = std::atoi(std::string(sci.substr(e + 1)).c_str());
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits += c;
  if (negative) out += '-';
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0.";
      out.append(static_cast<size_t>(-exponent - 1), '0');
      out += digits;
    } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
      out += digits;
      out.append(exponent + 1 - digits.size(), '0');
      out += ".0";
    } else {
      out += digits.substr(0, exponent + 1);
      out += '.';
      out += digits.substr(exponent + 1);
    }
    return;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exp[16];
  std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  out += exp;
}

// repr(str): single quotes unless the text has one and no double quote.
void append_python_repr(std::string_view s, std::string& out) {
  char quote = (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos) ? '"' : '\'';
  out += quote;
  for (unsigned char c : s) {
    if (c == quote || c == '\\') { out += '\\'; out += static_cast<char>(c); }
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else out += static_cast<char>(c);
  }
  out += quote;
}

void append_python_repr(const json::value& v, std::string& out) {
  if (v.is_string()) append_python_repr(std::string_view(v.get_string()), out);
  else append_python_str(v, out);
}

bool is_number(const json::value& v) {
  return v.is_bool() || v.is_int64() || v.is_uint64() || v.is_double();
}

double as_double(const json::value& v) {
  if (v.is_bool()) return v.get_bool() ? 1 : 0;
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

bool numbers_equal(const json::value& a, const json::value& b) {
  if (a.is_double() || b.is_double()) return as_double(a) == as_double(b);
  // Both integral (booleans are 0 and 1): compare exactly, uint64 beyond int64 included.
  auto wide = [](const json::value& v) -> __int128 {
    if (v.is_bool()) return v.get_bool() ? 1 : 0;
    if (v.is_int64()) return v.get_int64();
    return static_cast<__int128>(v.get_uint64());
  };
  return wide(a) == wide(b);
}

}  // namespace

void append_python_str(const json::value& value, std::string& out) {
  switch (value.kind()) {
    case json::kind::string: out += std::string_view(value.get_string()); return;
    case json::kind::bool_: out += value.get_bool() ? "True" : "False"; return;
    case json::kind::null: out += "None"; return;
    case json::kind::int64: out += std::to_string(value.get_int64()); return;
    case json::kind::uint64: out += std::to_string(value.get_uint64()); return;
    case json::kind::double_: append_python_float(value.get_double(), out); return;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : value.get_array()) {
        if (!first) out += ", ";
        first = false;
        append_python_repr(item, out);
      }
      out += ']';
      return;
    }
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : value.get_object()) {
        if (!first) out += ", ";
        first = false;
        append_python_repr(std::string_view(key), out);
        out += ": ";
        append_python_repr(item, out);
      }
      out += '}';
      return;
    }
  }
}

std::string python_str(const json::value& value) {
  std::string out;
  append_python_str(value, out);
  return out;
}

bool python_str_equals(const json::value& value, std::string_view text) {
  switch (value.kind()) {
    case json::kind::string: return std::string_view(value.get_string()) == text;
    case json::kind::bool_: return text == (value.get_bool() ? "True" : "False");
    case json::kind::null: return text == "None";
    case json::kind::int64:
    case json::kind::uint64: {
      char buf[24];
      auto res = value.is_int64() ? std::to_chars(buf, buf + sizeof buf, value.get_int64())
                                  : std::to_chars(buf, buf + sizeof buf, value.get_uint64());
      return std::string_view(buf, res.ptr - buf) == text;
    }
    default: return python_str(value) == text;
  }
}

bool python_equal(const json::value& a, const json::value& b) {
  if (is_number(a) && is_number(b)) return numbers_equal(a, b);
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case json::kind::string: return a.get_string() == b.get_string();
    case json::kind::null: return true;
    case json::kind::array: {
      const auto& x = a.get_array();
      const auto& y = b.get_array();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!python_equal(x[i], y[i])) return false;
      return true;
    }
    case json::kind::object: {
      const auto& x = a.get_object();
      const auto& y = b.get_object();
      if (x.size() != y.size()) return false;
      for (const auto& [key, item] : x) {
        const json::value* other = y.if_contains(key);
        if (!other || !python_equal(item, *other)) return false;
      }
      return true;
    }
    default: return false;
  }
}

}  // namespace nt::policy
