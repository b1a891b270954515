#include "common/secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/random.h>

#include <cerrno>

#include <stdexcept>

namespace nt {
namespace {

std::string hex(const unsigned char* data, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 15]);
  }
  return out;
}

}  // namespace

std::string new_secret() {
  // The kernel's CSPRNG (getrandom blocks only until it is seeded at boot). OpenSSL's
  // RAND_bytes would keep a generator per calling thread for nothing.
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("the system's random source failed");
    got += static_cast<size_t>(n);
  }
  return hex(bytes, sizeof bytes);
}

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), digest, &n, EVP_sha256(), nullptr);
  return hex(digest, n);
}

bool secret_matches(std::string_view presented, std::string_view stored_hash) {
  if (presented.empty() || stored_hash.size() != 64) return false;
  auto hash = sha256_hex(presented);
  return CRYPTO_memcmp(hash.data(), stored_hash.data(), 64) == 0;
}

}  // namespace nt
