// How the planner keeps one host view in memory (issue 18: 2,000 hosts with ~5,000
// entries each). A host view is mostly entries that other hosts have too, with the same
// content: a flood entry "<network>|<host>" is on every host of the network, an l2pop
// entry on every host of its port's network. So an entry is a pair of shared handles
// (channel/shared_text.h), its id (EntryId) and its JSON text (ViewEntry), which the
// planner makes once and every host view holds; and a view is a sorted array of 16-byte
// items cut into chunks (a two-level B-tree), not a tree of nodes each with its own key
// strings.
// Order: by kind name, then id, as a std::map<ViewKey, ...> would iterate.
#pragma once
#include <boost/json.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "channel/entries.h"
#include "channel/shared_text.h"

namespace nt {

class SharedView {
 public:
  // 16 bytes: the kind is kept in the id handle's tag, as its rank (kind_rank()).
  struct Item {
    EntryId id;
    ViewEntry entry;
    Item() = default;
    Item(view::Kind kind, EntryId i, ViewEntry e) : id(std::move(i)), entry(std::move(e)) {
      id.set_tag(static_cast<unsigned>(kind_rank(kind)));
    }
    int rank() const { return static_cast<int>(id.tag()); }
    view::Kind kind() const { return kind_of_rank(rank()); }
  };
  // What iterating yields, as a std::map<ViewKey, ViewEntry> would: key.first (the kind's
  // name), key.second (the id), the entry.
  struct KeyRef {
    const std::string& first;
    std::string_view second;
  };
  class const_iterator {
   public:
    std::pair<KeyRef, const ViewEntry&> operator*() const;
    const_iterator& operator++();
    bool operator==(const const_iterator& o) const { return chunk_ == o.chunk_ && at_ == o.at_; }
    const Item& item() const { return (*chunks_)[chunk_][at_]; }

   private:
    friend class SharedView;
    const_iterator(const std::vector<std::vector<Item>>* chunks, size_t chunk, size_t at)
        : chunks_(chunks), chunk_(chunk), at_(at) {}
    const std::vector<std::vector<Item>>* chunks_;
    size_t chunk_, at_;
  };

  size_t size() const { return size_; }
  // Items the chunks have room for (16 bytes each): size() and the chunks' spare room.
  size_t reserved() const;
  bool empty() const { return size_ == 0; }
  const_iterator begin() const { return {&chunks_, 0, 0}; }
  const_iterator end() const { return {&chunks_, chunks_.size(), 0}; }

  // The entry (kind, id), or null.
  const ViewEntry* find(view::Kind kind, std::string_view id) const;
  // Where (kind, id) is (entry: its entry) or would go (entry null); for one put() or
  // erase() there, with no other change of the view in between: one search, not two.
  // `from`: where an earlier key was located (and then maybe put or erased), to walk keys
  // in order without searching the whole view for each.
  struct Slot {
    size_t chunk = 0, at = 0;
    const ViewEntry* entry = nullptr;
  };
  Slot locate(view::Kind kind, std::string_view id) const;
  Slot locate(view::Kind kind, std::string_view id, Slot from) const;
  // The id of the item a slot found (slot.entry set).
  const EntryId& id_at(const Slot& slot) const { return chunks_[slot.chunk][slot.at].id; }
  void put(const Slot& slot, view::Kind kind, EntryId id, ViewEntry entry);
  void erase(const Slot& slot);
  // Many changes at once (entry null: erase), in the view's order, each key once, each
  // located in the view as it is before any of them: each chunk they touch is rewritten
  // once, not shifted once per insert (a host joining a network gains ~100 entries).
  struct Change {
    Slot slot;
    view::Kind kind;
    EntryId id;
    ViewEntry entry;
  };
  void apply(std::vector<Change>& changes);
  // The first item at or after (kind, id) (for walking the ids with a prefix).
  const_iterator lower_bound(view::Kind kind, std::string_view id) const;
  // Sets (kind, id) to `entry`, adding it or replacing what it was.
  void put(view::Kind kind, EntryId id, ViewEntry entry);
  // Removes (kind, id); false if it was not there.
  bool erase(view::Kind kind, std::string_view id);

  // Bulk (the planner's rebuild): add() in any order, then seal() once before any other
  // use. Of two items with one key, the first added stays.
  void add(view::Kind kind, EntryId id, ViewEntry entry);
  void reserve(size_t more) { added_.reserve(added_.size() + more); }
  void seal();

  // The kind's name as iteration gives it, and where it sorts among the kinds.
  static const std::string& kind_string(view::Kind kind);
  static int kind_rank(view::Kind kind);
  static view::Kind kind_of_rank(int rank);

 private:
  void apply_in_place(std::vector<Change>& changes, size_t begin, size_t end);
  void apply_merged(std::vector<Change>& changes, size_t begin, size_t end);

  std::vector<std::vector<Item>> chunks_;  // each sorted, non-empty, and before the next
  std::vector<Item> added_;                // bulk, until seal()
  size_t size_ = 0;
};

}  // namespace nt
