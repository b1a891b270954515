#include "channel/shared_view.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>
#include <limits>
#include <new>
#include <stdexcept>

namespace nt {
namespace {

using view::Kind;

// A chunk is cut in two above kMaxChunk items; seal() fills them to kSealChunk, leaving
// room for a few inserts before the first cut, and allocates kSealRoom more items each, so
// that the first few inserts after the boot (a change touches one or two items of a chunk)
// do not reallocate and copy the chunk (4% more memory for the views).
constexpr size_t kMaxChunk = 256, kSealChunk = 192, kSealRoom = 8;
constexpr size_t kMaxKinds = 64;
// Up to this many changes of one chunk are made in place, more are merged (apply()).
constexpr size_t kInPlace = 4;
// seal()'s scratch up to this many items (a host's view, 1 MB) is kept for the next seal.
constexpr size_t kScratchKept = 1 << 16;

struct KindTable {
  std::array<std::string, kMaxKinds> names;
  std::array<int, kMaxKinds> ranks{};
  std::array<Kind, kMaxKinds> by_rank{};
  KindTable() {
    std::vector<std::pair<std::string, size_t>> sorted;
    for (size_t k = 0; k < kMaxKinds; ++k) {
      names[k] = std::string(view::kind_name(static_cast<Kind>(k)));
      if (!names[k].empty()) sorted.emplace_back(names[k], k);
    }
    // An item keeps its kind's rank in its id's tag (shared_text.h).
    if (sorted.size() > SharedText::kTags) throw std::logic_error("more view kinds than an item's tag holds");
    std::sort(sorted.begin(), sorted.end());
    for (size_t r = 0; r < sorted.size(); ++r) {
      ranks[sorted[r].second] = static_cast<int>(r);
      by_rank[r] = static_cast<Kind>(sorted[r].second);
    }
  }
};

const KindTable& kinds() {
  static const KindTable table;
  return table;
}

// (kind, id) against an item, in the view's order.
int compare(int rank, std::string_view id, const SharedView::Item& item) {
  if (rank != item.rank()) return rank < item.rank() ? -1 : 1;
  return id.compare(item.id.str());
}

bool before(const SharedView::Item& a, const SharedView::Item& b) { return compare(a.rank(), a.id.str(), b) < 0; }

// Sorted items as chunks of kSealChunk, each with room for kSealRoom more.
std::vector<std::vector<SharedView::Item>> cut(std::vector<SharedView::Item>& items) {
  std::vector<std::vector<SharedView::Item>> out;
  for (size_t at = 0; at < items.size(); at += kSealChunk) {
    auto to = std::min(items.size(), at + kSealChunk);
    auto& chunk = out.emplace_back();
    chunk.reserve(to - at + kSealRoom);
    std::move(items.begin() + static_cast<std::ptrdiff_t>(at), items.begin() + static_cast<std::ptrdiff_t>(to), std::back_inserter(chunk));
  }
  return out;
}

// Room in a chunk for `more` items: what it holds and a few more, not the vector's doubling
// (a view's chunks are most of the planner's memory).
void make_room(std::vector<SharedView::Item>& chunk, size_t more) {
  if (chunk.capacity() < chunk.size() + more) chunk.reserve(chunk.size() + more + kSealRoom);
}

// Chunk c cut in two halves, each with room for a few more, once it holds more than
// kMaxChunk items.
void split_if_full(std::vector<std::vector<SharedView::Item>>& chunks, size_t c) {
  auto& full = chunks[c];
  if (full.size() <= kMaxChunk) return;
  auto half = static_cast<std::ptrdiff_t>(full.size() / 2);
  std::vector<SharedView::Item> lower, upper;
  lower.reserve(static_cast<size_t>(half) + kSealRoom);
  upper.reserve(full.size() - static_cast<size_t>(half) + kSealRoom);
  std::move(full.begin(), full.begin() + half, std::back_inserter(lower));
  std::move(full.begin() + half, full.end(), std::back_inserter(upper));
  full = std::move(lower);
  chunks.insert(chunks.begin() + static_cast<std::ptrdiff_t>(c) + 1, std::move(upper));
}

// std::partition_point for a point likely near `first`: probes first, first+2, first+6,
// first+14... (each step twice the last), then bisects the last step. A refresh locates
// its sorted keys each from the last, and a host's new entries come in runs (a network's
// flood and l2pop entries, a router's ARP entries): a key one or two items on costs one
// or two compares, not a bisection's eight, each a cache miss on another id's text.
template <class It, class Pred>
It gallop(It first, It last, Pred pred) {
  std::ptrdiff_t step = 1;
  while (first != last) {
    auto probe = last - first > step - 1 ? first + (step - 1) : last - 1;
    if (!pred(*probe)) return std::partition_point(first, probe, pred);
    first = probe + 1;
    step *= 2;
  }
  return last;
}

}  // namespace

const std::string& SharedView::kind_string(Kind kind) { return kinds().names[static_cast<size_t>(kind) % kMaxKinds]; }
int SharedView::kind_rank(Kind kind) { return kinds().ranks[static_cast<size_t>(kind) % kMaxKinds]; }
Kind SharedView::kind_of_rank(int rank) { return kinds().by_rank[static_cast<size_t>(rank) % kMaxKinds]; }

std::pair<SharedView::KeyRef, const ViewEntry&> SharedView::const_iterator::operator*() const {
  const auto& i = item();
  return {KeyRef{kind_string(i.kind()), i.id.str()}, i.entry};
}

SharedView::const_iterator& SharedView::const_iterator::operator++() {
  if (++at_ == (*chunks_)[chunk_].size()) ++chunk_, at_ = 0;
  return *this;
}

SharedView::const_iterator SharedView::lower_bound(Kind kind, std::string_view id) const {
  int rank = kind_rank(kind);
  // The first chunk whose last item is not before (kind, id), then the item in it.
  auto chunk = std::partition_point(chunks_.begin(), chunks_.end(),
                                    [&](const std::vector<Item>& c) { return compare(rank, id, c.back()) > 0; });
  if (chunk == chunks_.end()) return end();
  auto at = std::partition_point(chunk->begin(), chunk->end(), [&](const Item& i) { return compare(rank, id, i) > 0; });
  return {&chunks_, static_cast<size_t>(chunk - chunks_.begin()), static_cast<size_t>(at - chunk->begin())};
}

size_t SharedView::reserved() const {
  size_t n = 0;
  for (const auto& c : chunks_) n += c.capacity();
  return n;
}

const ViewEntry* SharedView::find(Kind kind, std::string_view id) const { return locate(kind, id).entry; }

SharedView::Slot SharedView::locate(Kind kind, std::string_view id) const { return locate(kind, id, Slot{}); }

SharedView::Slot SharedView::locate(Kind kind, std::string_view id, Slot from) const {
  if (chunks_.empty()) return {};
  int rank = kind_rank(kind);
  auto after_last = [&](const std::vector<Item>& c) { return compare(rank, id, c.back()) > 0; };
  auto after = [&](const Item& i) { return compare(rank, id, i) > 0; };
  // Everything before `from` is before (kind, id). Its chunk, or the first later one
  // whose last item is not before (kind, id), else the end of the last chunk.
  size_t c = from.chunk, at = from.at;
  if (c >= chunks_.size()) c = chunks_.size() - 1, at = 0;
  bool near = true;  // (kind, id) is likely close after `from`: gallop, not bisect
  if (c == 0 && at == 0) {  // no earlier key: one search of every chunk
    auto first = std::partition_point(chunks_.begin(), chunks_.end(), after_last);
    if (first == chunks_.end()) return {chunks_.size() - 1, chunks_.back().size(), nullptr};
    c = static_cast<size_t>(first - chunks_.begin()), near = false;
  } else if (after_last(chunks_[c])) {
    auto later = gallop(chunks_.begin() + static_cast<std::ptrdiff_t>(c) + 1, chunks_.end(), after_last);
    if (later == chunks_.end()) return {chunks_.size() - 1, chunks_.back().size(), nullptr};
    c = static_cast<size_t>(later - chunks_.begin()), at = 0, near = false;
  }
  const auto& chunk = chunks_[c];
  auto begin = chunk.begin() + static_cast<std::ptrdiff_t>(std::min(at, chunk.size()));
  auto it = near ? gallop(begin, chunk.end(), after) : std::partition_point(begin, chunk.end(), after);
  Slot slot{c, static_cast<size_t>(it - chunk.begin())};
  if (it != chunk.end() && compare(rank, id, *it) == 0) slot.entry = &it->entry;
  return slot;
}

void SharedView::put(const Slot& slot, Kind kind, EntryId id, ViewEntry entry) {
  if (slot.entry) {
    chunks_[slot.chunk][slot.at].entry = std::move(entry);
    return;
  }
  if (chunks_.empty()) chunks_.emplace_back();
  auto& c = chunks_[slot.chunk];
  make_room(c, 1);
  c.insert(c.begin() + static_cast<std::ptrdiff_t>(slot.at), Item(kind, std::move(id), std::move(entry)));
  ++size_;
  split_if_full(chunks_, slot.chunk);
}

void SharedView::erase(const Slot& slot) {
  if (!slot.entry) return;
  auto& chunk = chunks_[slot.chunk];
  chunk.erase(chunk.begin() + static_cast<std::ptrdiff_t>(slot.at));
  if (chunk.empty()) chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(slot.chunk));
  --size_;
}

void SharedView::apply(std::vector<Change>& changes) {
  if (changes.empty()) return;
  if (chunks_.empty()) chunks_.emplace_back();
  // Chunk by chunk from the last, so that splitting one leaves the earlier ones' places.
  size_t end = changes.size();
  while (end > 0) {
    size_t c = changes[end - 1].slot.chunk, begin = end;
    while (begin > 0 && changes[begin - 1].slot.chunk == c) --begin;
    if (end - begin <= kInPlace) {
      apply_in_place(changes, begin, end);
    } else {
      apply_merged(changes, begin, end);
    }
    end = begin;
  }
}

// A few changes of one chunk: each where it goes, the last first (so that the earlier
// ones' places hold), the chunk's tail shifted once per change.
void SharedView::apply_in_place(std::vector<Change>& changes, size_t begin, size_t end) {
  size_t c = changes[begin].slot.chunk;
  auto& chunk = chunks_[c];
  size_t inserts = 0;
  for (size_t k = begin; k < end; ++k) inserts += !changes[k].slot.entry && changes[k].entry;
  make_room(chunk, inserts);
  for (size_t k = end; k-- > begin;) {
    auto& ch = changes[k];
    auto at = chunk.begin() + static_cast<std::ptrdiff_t>(std::min(ch.slot.at, chunk.size()));
    if (ch.slot.entry) {
      if (ch.entry) {
        at->entry = std::move(ch.entry);
      } else {
        chunk.erase(at);
        --size_;
      }
    } else if (ch.entry) {
      chunk.insert(at, Item(ch.kind, std::move(ch.id), std::move(ch.entry)));
      ++size_;
    }
  }
  if (chunk.empty()) {
    chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(c));
  } else {
    split_if_full(chunks_, c);
  }
}

// Many changes of one chunk: merged with it in one pass, the chunk rewritten once.
void SharedView::apply_merged(std::vector<Change>& changes, size_t begin, size_t end) {
  size_t c = changes[begin].slot.chunk;
  auto& chunk = chunks_[c];
  // Merged in a buffer kept from call to call, then moved back into the chunk's own
  // (which has room for a few more): no fresh memory to fault in for every change.
  thread_local std::vector<Item> merged;
  merged.clear();
  merged.reserve(chunk.size() + (end - begin));
  size_t from = 0;
  for (size_t k = begin; k < end; ++k) {
    auto& ch = changes[k];
    auto at = std::min(ch.slot.at, chunk.size());
    std::move(chunk.begin() + static_cast<std::ptrdiff_t>(from), chunk.begin() + static_cast<std::ptrdiff_t>(at), std::back_inserter(merged));
    from = at;
    if (ch.slot.entry) {  // replaced or erased: the item at `at`
      if (ch.entry) merged.push_back(Item(ch.kind, std::move(chunk[at].id), std::move(ch.entry)));
      else --size_;
      from = at + 1;
    } else if (ch.entry) {
      merged.push_back(Item(ch.kind, std::move(ch.id), std::move(ch.entry)));
      ++size_;
    }
  }
  std::move(chunk.begin() + static_cast<std::ptrdiff_t>(from), chunk.end(), std::back_inserter(merged));
  auto at = chunks_.begin() + static_cast<std::ptrdiff_t>(c);
  if (merged.empty()) {
    chunks_.erase(at);
  } else if (merged.size() <= kMaxChunk) {
    at->clear();
    make_room(*at, merged.size());
    std::move(merged.begin(), merged.end(), std::back_inserter(*at));
  } else {
    auto pieces = cut(merged);
    *at = std::move(pieces[0]);
    chunks_.insert(at + 1, std::make_move_iterator(pieces.begin() + 1), std::make_move_iterator(pieces.end()));
  }
}

void SharedView::put(Kind kind, EntryId id, ViewEntry entry) {
  auto slot = locate(kind, id.str());
  put(slot, kind, std::move(id), std::move(entry));
}

bool SharedView::erase(Kind kind, std::string_view id) {
  auto slot = locate(kind, id);
  erase(slot);
  return slot.entry != nullptr;
}

void SharedView::add(Kind kind, EntryId id, ViewEntry entry) {
  added_.push_back(Item(kind, std::move(id), std::move(entry)));
}

// The nodes add each kind mostly in order already: grouped by kind (a counting sort), each
// group sorted only if it is not, equal keys dropped but the first.
void SharedView::seal() {
  std::array<size_t, kMaxKinds + 1> start{};
  for (const auto& i : added_) ++start[i.rank() + 1];
  for (size_t r = 1; r <= kMaxKinds; ++r) start[r] += start[r - 1];
  // The grouped items go to a scratch kept by the thread: a rebuild seals thousands of
  // views on each thread, and a fresh vector each time is fresh pages each time.
  // Emptied on the way out (it holds no entry between seals); a big one is let go.
  thread_local std::vector<Item> scratch;
  struct Emptied {
    std::vector<Item>& v;
    ~Emptied() {
      if (v.capacity() > kScratchKept) v = {};
      else v.clear();
    }
  } emptied{scratch};
  auto& items = scratch;
  items.resize(added_.size());
  auto next = start;
  for (auto& i : added_) items[next[i.rank()]++] = std::move(i);
  added_ = {};
  auto not_before = [](const Item& a, const Item& b) { return !before(a, b); };
  auto same = [](const Item& a, const Item& b) { return !before(a, b) && !before(b, a); };
  size_t kept = 0;
  for (size_t r = 0; r < kMaxKinds; ++r) {
    auto from = items.begin() + static_cast<std::ptrdiff_t>(start[r]), to = items.begin() + static_cast<std::ptrdiff_t>(start[r + 1]);
    // Strictly increasing (the usual case) means sorted without duplicates.
    if (std::adjacent_find(from, to, not_before) != to) {
      std::stable_sort(from, to, before);
      to = std::unique(from, to, same);
    }
    auto dest = items.begin() + static_cast<std::ptrdiff_t>(kept);
    kept += static_cast<size_t>(to - from);
    if (dest != from) std::move(from, to, dest);
  }
  items.resize(kept);
  if (!chunks_.empty()) {  // merged with what the view held (a rebuild seals empty views)
    for (auto& i : items) {
      auto kind = i.kind();  // (read before the id, which holds it, is moved away)
      if (!find(kind, i.id.str())) put(kind, std::move(i.id), std::move(i.entry));
    }
    return;
  }
  chunks_ = cut(items);
  size_ = items.size();
}

}  // namespace nt
