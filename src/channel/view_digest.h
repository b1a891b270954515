// A digest of a host view's content: what an agent and the server compare when the
// server cannot resume a watch from its history (after its restart, or on another server),
// so that an agent whose view is already the current one gets no snapshot.
// Order-independent: the sum of one 64-bit FNV-1a hash per entry over its kind, id and
// serialized JSON. FNV-1a is ten lines and stable across builds and versions (std::hash is
// neither); the digest only decides "resend the view or not", and an agent that forged one
// would only deprive itself of its own view.
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "channel/entries.h"
#include "channel/view.h"

namespace nt::view {

class Digest {
 public:
  void add(std::string_view kind, std::string_view id, const boost::json::object& obj);
  // The same, for an entry already serialized (the planner's ViewEntry).
  void add_text(std::string_view kind, std::string_view id, std::string_view serialized);
  // A remote group's member (kind sgmember, id "<group>|<ip>"), without building its id or
  // JSON: the same sum as add() of them.
  void add_member(std::string_view group, std::string_view ip);
  uint64_t value() const { return sum_; }
  std::string hex() const { return to_hex(sum_); }
  static std::string to_hex(uint64_t digest);  // 16 lowercase hex digits
  static std::optional<uint64_t> parse(std::string_view hex);

 private:
  uint64_t sum_ = 0;
};

uint64_t digest_of(const HostView& view);
uint64_t digest_of(const SharedView& view);
uint64_t digest_of(const WireView& view);

}  // namespace nt::view
