// What the planner's engine nodes share (the model is OVN's incremental processing
// engine, lib/inc-proc-eng): each node owns some entry kinds of the host views and the
// indexes it needs for them; when an input changes it says which (host, entry) keys may
// differ now (`Keys`), and it can build any one of its entries, or all of them for a host
// from scratch (recompute, the oracle's reference). The wiring is in planner.cc.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "channel/entries.h"
#include "channel/view.h"

namespace nt::planner {

// One entry of a host view to re-derive; its id is held by the Marks it is in.
struct Mark {
  view::Kind kind;
  std::string_view id;
};

// A host's marks: collected in any order and with repeats (a push each, no tree node per
// mark: a router interface marks ~15,000), then sorted() once, in the view's order. The
// ids are copied into blocks the marks share (no allocation per mark, and close together
// for the sort and the lookups that follow).
class Marks {
 public:
  Marks() = default;
  Marks(Marks&& other) noexcept { merge(other); }  // (empty: takes the other's all)
  Marks& operator=(Marks&&) = delete;
  void insert(view::Kind kind, std::string_view id);
  void merge(Marks& other);
  size_t size() const { return items_.size(); }
  // The marks in the host view's order (SharedView: kind name, then id), each once.
  const std::vector<Mark>& sorted();

 private:
  // A host's first block is small (most changes mark one or two entries on each of many
  // hosts: a new group member on every host of the group), the next ones large.
  static constexpr size_t kFirstBlock = 128, kBlock = 8192;
  std::vector<Mark> items_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;  // the free bytes at the end of the last block
  size_t room_ = 0;
  bool sorted_ = false;
};

using Keys = std::map<std::string, Marks>;  // host -> entries to re-derive

inline ViewKey key(view::Kind kind, std::string id) { return {std::string(view::kind_name(kind)), std::move(id)}; }

inline void merge_keys(Keys& into, Keys&& from) {
  for (auto& [h, ks] : from) into[h].merge(ks);
}

// Per node, for tests and the operator (GET /agent/v1/convergence shows them).
struct NodeStats {
  uint64_t changes = 0;     // input changes the node handled
  uint64_t keys = 0;        // (host, entry) keys it asked to re-derive
  uint64_t entries = 0;     // entries it built
  uint64_t recomputes = 0;  // hosts it computed from scratch
  uint64_t build_ns = 0;    // time spent building its entries (refreshes), in nanoseconds
};

// A cache that lives for one refresh (filled as entries are built) or for one rebuild
// (filled first, then only read by the rebuild's threads).
enum class CacheMode { off, filling, frozen };

}  // namespace nt::planner
