#pragma once
// Per-host agent credentials: random tokens (the kernel's CSPRNG), stored only as their
// SHA-256 (OpenSSL's libcrypto), compared in constant time.
#include <string>
#include <string_view>

namespace nt {

// 32 random bytes from getrandom(2) as 64 lowercase hex characters.
std::string new_secret();
// Lowercase hex SHA-256 of `text`.
std::string sha256_hex(std::string_view text);
// Whether `presented` hashes to `stored_hash`, in time independent of where they differ.
bool secret_matches(std::string_view presented, std::string_view stored_hash);

}  // namespace nt
