// Checks that keep what is stored and sent valid: UTF-8 text (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF) and JSON without non-finite numbers (a double that
// overflowed while parsing would serialize as a bare `Infinity`, which no parser reads back).
#pragma once
#include <boost/json/fwd.hpp>
#include <string_view>

namespace nt {

bool valid_utf8(std::string_view text);

// True when every number in `v` is finite and every string and key is valid UTF-8.
bool storable_json(const boost::json::value& v);

}  // namespace nt
