#include "channel/view_digest.h"

#include <cstdio>

namespace nt::view {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull, kFnvPrime = 1099511628211ull;

uint64_t fnv1a(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) h = (h ^ c) * kFnvPrime;
  return h;
}

}  // namespace

void Digest::add(std::string_view kind, std::string_view id, const boost::json::object& obj) {
  add_text(kind, id, boost::json::serialize(obj));
}

void Digest::add_text(std::string_view kind, std::string_view id, std::string_view serialized) {
  // The separators keep ("ab","c") and ("a","bc") apart.
  uint64_t h = fnv1a(kFnvOffset, kind);
  h = fnv1a(h, std::string_view("\0", 1));
  h = fnv1a(h, id);
  h = fnv1a(h, std::string_view("\0", 1));
  sum_ += fnv1a(h, serialized);
}

std::string Digest::to_hex(uint64_t digest) {
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(digest));
  return out;
}

std::optional<uint64_t> Digest::parse(std::string_view hex) {
  if (hex.empty() || hex.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : hex) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

uint64_t digest_of(const HostView& view) {
  Digest d;
  for (const auto& [kind, id, obj] : entries(view)) d.add(kind_name(kind), id, obj);
  return d.value();
}

uint64_t digest_of(const SharedView& view) {
  Digest d;
  for (const auto& [key, obj] : view) d.add_text(key.first, key.second, obj.str());
  return d.value();
}

uint64_t digest_of(const WireView& view) {
  Digest d;
  for (const auto& [key, obj] : view) d.add(key.first, key.second, obj);
  return d.value();
}

}  // namespace nt::view
