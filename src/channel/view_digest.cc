#include "channel/view_digest.h"

#include <algorithm>
#include <cstdio>
#include <initializer_list>

namespace nt::view {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull, kFnvPrime = 1099511628211ull;

uint64_t fnv1a(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) h = (h ^ c) * kFnvPrime;
  return h;
}

// One entry's hash with its id and its JSON text each given in pieces (FNV-1a runs byte
// by byte, so pieces hash as the text they join into).
uint64_t entry_hash(std::string_view kind, std::initializer_list<std::string_view> id,
                    std::initializer_list<std::string_view> serialized) {
  // The separators keep ("ab","c") and ("a","bc") apart.
  uint64_t h = fnv1a(kFnvOffset, kind);
  h = fnv1a(h, std::string_view("\0", 1));
  for (auto piece : id) h = fnv1a(h, piece);
  h = fnv1a(h, std::string_view("\0", 1));
  for (auto piece : serialized) h = fnv1a(h, piece);
  return h;
}

// Whether a JSON string's serialization is the text itself in quotes (no escape): printable
// ASCII but the quote and the backslash. Any other byte takes the serializer's way.
bool verbatim_in_json(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
}

}  // namespace

void Digest::add(std::string_view kind, std::string_view id, const boost::json::object& obj) {
  add_text(kind, id, boost::json::serialize(obj));
}

void Digest::add_text(std::string_view kind, std::string_view id, std::string_view serialized) {
  sum_ += entry_hash(kind, {id}, {serialized});
}

// What add() would hash for encode(SgMember{ip}): {"ip":"<ip>"}.
void Digest::add_member(std::string_view group, std::string_view ip) {
  if (!verbatim_in_json(ip))
    return add(kind_name(Kind::sgmember), std::string(group) + "|" + std::string(ip), encode(SgMember{std::string(ip)}));
  sum_ += entry_hash(kind_name(Kind::sgmember), {group, "|", ip}, {"{\"ip\":\"", ip, "\"}"});
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

// Every entry as entries(view) lists it, without the list: an agent computes this at each
// reconnect, and a view is mostly remote groups' members (thousands per host).
uint64_t digest_of(const HostView& view) {
  Digest d;
  visit_kinds(
      view,
      [&d](Kind kind, const auto& by_id) {
        for (const auto& [id, e] : by_id) d.add(kind_name(kind), id, encode(e));
      },
      [&d](const std::map<std::string, GroupMembers>& groups) {
        for (const auto& [group, members] : groups)
          for (const auto& ip : members.ips) d.add_member(group, ip);
      });
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
