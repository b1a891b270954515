// What the planner's engine nodes share (the model is OVN's incremental processing
// engine, lib/inc-proc-eng): each node owns some entry kinds of the host views and the
// indexes it needs for them; when an input changes it says which (host, entry) keys may
// differ now (`Keys`), and it can build any one of its entries, or all of them for a host
// from scratch (recompute, the oracle's reference). The wiring is in planner.cc.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "channel/entries.h"
#include "channel/view.h"

namespace nt::planner {

using Keys = std::map<std::string, std::set<ViewKey>>;  // host -> entries to re-derive

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
