#pragma once
#include <string>
#include <string_view>

namespace nt {
std::string new_uuid();                  // random (version 4), lower case, dashed
bool is_uuid(std::string_view text);     // 8-4-4-4-12 hex
uint64_t random_u64();                   // thread-local generator seeded from the OS
}  // namespace nt
