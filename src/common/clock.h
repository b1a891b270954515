#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nt {
int64_t now_seconds();                              // UTC seconds since the epoch
std::string iso_utc(int64_t seconds);               // 2018-03-19T19:17:04Z (Neutron timestamps)
std::optional<int64_t> parse_iso_utc(std::string_view text);  // accepts ...Z or no zone
}  // namespace nt
