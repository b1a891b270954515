// Immutable, reference-counted text that many host views hold at once (issue 18: 2,000
// hosts with ~5,000 entries each). A handle is 8 bytes; its copies share one block that
// holds the count and the text together: one allocation, and comparing two texts touches
// one cache line each (ids are 40-80 characters, entries ~100-400: never a std::string's
// inline case).
#pragma once
#include <boost/json/fwd.hpp>
#include <atomic>
#include <cstdint>
#include <new>
#include <string_view>
#include <utility>

namespace nt {

class SharedText {
 public:
  SharedText() = default;
  explicit SharedText(std::string_view text);
  SharedText(const SharedText& o) noexcept : bits_(o.bits_) {
    if (auto* r = rep()) r->refs.fetch_add(1, std::memory_order_relaxed);
  }
  SharedText(SharedText&& o) noexcept : bits_(std::exchange(o.bits_, 0)) {}
  // Moves swap (the view's chunks move items on every insert: no count touched).
  SharedText& operator=(SharedText&& o) noexcept {
    std::swap(bits_, o.bits_);
    return *this;
  }
  SharedText& operator=(const SharedText& o) noexcept {
    SharedText copy(o);
    std::swap(bits_, copy.bits_);
    return *this;
  }
  ~SharedText() {
    if (auto* r = rep(); r && r->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) release(r);
  }
  std::string_view str() const {
    auto* r = rep();
    return r ? std::string_view(r->text(), r->size) : std::string_view();
  }
  explicit operator bool() const { return rep() != nullptr; }

  // References counted in bulk (the planner's boot hands one entry to thousands of views
  // from two threads: one count per handle would have both threads write the same cache
  // line for every item). add_refs(n) reserves n references; adopt() makes a handle that
  // takes one of them over without touching the count; drop_refs(n) gives back those not
  // taken. The caller's own handle must live until then (so no count reaches zero early).
  void add_refs(uint32_t n) const {
    if (auto* r = rep(); r && n) r->refs.fetch_add(n, std::memory_order_relaxed);
  }
  void drop_refs(uint32_t n) const {
    if (auto* r = rep(); r && n) r->refs.fetch_sub(n, std::memory_order_acq_rel);
  }
  // Of `reserved` references, `taken` were adopted: the rest given back (or the shortfall
  // added, which a caller that reserved enough never needs).
  void settle_refs(uint32_t reserved, uint32_t taken) const {
    if (taken <= reserved) drop_refs(reserved - taken);
    else add_refs(taken - reserved);
  }
  // Handles of this block now (checks and tests: who holds an entry is known elsewhere).
  uint32_t use_count() const {
    auto* r = rep();
    return r ? r->refs.load(std::memory_order_relaxed) : 0;
  }
  template <class Handle>
  Handle adopt() const {
    Handle out;
    static_cast<SharedText&>(out).bits_ = bits_ & ~kTagMask;
    return out;
  }
  // Which block: equal for copies of one text (to do work once per shared text).
  const void* block() const { return rep(); }

  // A number below kTags that this handle (not the text: each copy has its own) carries in
  // the low bits of its pointer, which the block's alignment (asked of operator new, not
  // assumed of the allocator) leaves free: a host view keeps each item's kind there (an
  // item is then two handles, 16 bytes).
  static constexpr unsigned kTags = 16;
  unsigned tag() const { return static_cast<unsigned>(bits_ & kTagMask); }
  void set_tag(unsigned tag) { bits_ = (bits_ & ~kTagMask) | (tag & kTagMask); }

 private:
  struct Rep {  // followed by its `size` characters
    std::atomic<uint32_t> refs;
    uint32_t size;
    const char* text() const { return reinterpret_cast<const char*>(this + 1); }
  };
  static constexpr uintptr_t kTagMask = kTags - 1;
  static constexpr std::align_val_t kAlign{kTags};  // every block, whatever its size
  Rep* rep() const { return reinterpret_cast<Rep*>(bits_ & ~kTagMask); }
  static void release(Rep* rep) noexcept;
  uintptr_t bits_ = 0;  // the block's address, and the tag in its low bits
};

// An entry's id in a host view ("<network>|<host>", a port's UUID, ...).
class EntryId : public SharedText {
 public:
  using SharedText::SharedText;
};

// An entry as the planner keeps it: its JSON serialized once, when the planner makes it
// (a host's port entry is ~270 bytes of text, where a json::object of it took several
// times that in small allocations), and the same block on every host that has it. The
// watch hub sends the text as it is. Empty: no entry.
class ViewEntry : public SharedText {
 public:
  using SharedText::SharedText;
  // The object must come from its kind's encoder (view::encode, or the node's one function
  // for the kind), so that equal content is equal text for same().
  static ViewEntry of(const boost::json::object& obj);
  boost::json::object object() const;  // parsed again (tools, tests, the trace)
  // The same content: one block, or equal text (see of()).
  bool same(const ViewEntry& o) const { return block() == o.block() || str() == o.str(); }
};

}  // namespace nt
