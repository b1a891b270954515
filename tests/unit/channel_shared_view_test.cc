// The planner's host view store (channel/shared_view.h) against a std::map of the same
// keys: same content, same order, through random puts and erases that split chunks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "channel/view.h"

namespace nt {
namespace {
namespace json = boost::json;
using view::Kind;

ViewEntry object(int n) { return ViewEntry::of(json::object{{"n", n}}); }

std::map<ViewKey, int> as_map(const SharedView& v) {
  std::map<ViewKey, int> out;
  for (const auto& [key, obj] : v) out.emplace_hint(out.end(), ViewKey{key.first, std::string(key.second)}, static_cast<int>(obj.object().at("n").as_int64()));
  return out;
}

// Iteration order, not only content: a std::map keyed by ViewKey iterates the same way.
std::vector<ViewKey> keys_in_order(const SharedView& v) {
  std::vector<ViewKey> out;
  for (const auto& [key, obj] : v) out.emplace_back(key.first, key.second);
  return out;
}

TEST(SharedView, RandomPutsAndErasesMatchAMap) {
  std::mt19937 rng(7);
  const Kind kinds[] = {Kind::flood, Kind::l2pop, Kind::network, Kind::arp, Kind::port};
  SharedView view;
  std::map<ViewKey, int> expected;
  for (int step = 0; step < 20000; ++step) {
    Kind kind = kinds[rng() % 5];
    std::string id = "id" + std::to_string(rng() % 1500);
    ViewKey key{std::string(view::kind_name(kind)), id};
    if (rng() % 3 == 0) {
      EXPECT_EQ(view.erase(kind, id), expected.erase(key) == 1);
    } else {
      view.put(kind, EntryId(id), object(step));
      expected[key] = step;
    }
    const auto* found = view.find(kind, id);
    ASSERT_EQ(found != nullptr, expected.count(key) == 1) << step;
    if (found) {
      EXPECT_EQ(found->object().at("n").as_int64(), expected[key]);
    }
  }
  EXPECT_EQ(view.size(), expected.size());
  EXPECT_EQ(as_map(view), expected);
  std::vector<ViewKey> order;
  for (const auto& [k, n] : expected) order.push_back(k);
  EXPECT_EQ(keys_in_order(view), order);
}

// Batches as the planner's refresh makes them: sorted keys, each located (from the last)
// in the view before the batch, then applied at once; batches big enough to cut chunks.
TEST(SharedView, SortedBatchesLocatedBeforeApplyingMatchAMap) {
  std::mt19937 rng(11);
  const Kind kinds[] = {Kind::flood, Kind::l2pop, Kind::network, Kind::arp, Kind::port};
  SharedView view;
  std::map<ViewKey, int> expected;
  for (int batch = 0; batch < 400; ++batch) {
    // Random keys, then in the view's order (kind name, id), each once.
    std::map<ViewKey, std::pair<Kind, bool>> keys;  // -> kind, erase?
    size_t n = 1 + rng() % (batch % 10 == 0 ? 600 : 40);
    for (size_t i = 0; i < n; ++i) {
      Kind kind = kinds[rng() % 5];
      std::string id = "id" + std::to_string(rng() % 3000);
      keys[{std::string(view::kind_name(kind)), id}] = {kind, rng() % 3 == 0};
    }
    std::vector<SharedView::Change> changes;
    SharedView::Slot slot;
    for (const auto& [key, what] : keys) {
      slot = view.locate(what.first, key.second, slot);
      ASSERT_EQ(slot.entry != nullptr, expected.count(key) == 1) << batch << " " << key.first << " " << key.second;
      if (what.second) {
        if (!slot.entry) continue;
        changes.push_back({slot, what.first, EntryId(), ViewEntry()});
        expected.erase(key);
      } else {
        changes.push_back({slot, what.first, EntryId(key.second), object(batch)});
        expected[key] = batch;
      }
    }
    view.apply(changes);
    ASSERT_EQ(view.size(), expected.size()) << batch;
  }
  EXPECT_GT(expected.size(), 5000u);  // many chunks
  EXPECT_EQ(as_map(view), expected);
  std::vector<ViewKey> order;
  for (const auto& [k, n] : expected) order.push_back(k);
  EXPECT_EQ(keys_in_order(view), order);
  for (const auto& [key, n] : expected) {
    auto kind = *view::parse_kind(key.first);
    ASSERT_NE(view.find(kind, key.second), nullptr);
  }
}

// A batch as the refresh makes it: keys sorted, each located from the last, then applied.
// (-1: erase.) The mirror map takes the same changes.
void apply_batch(SharedView& view, std::map<ViewKey, int>& expected, const std::map<std::string, int>& batch) {
  std::vector<SharedView::Change> changes;
  SharedView::Slot slot;
  for (const auto& [id, n] : batch) {
    slot = view.locate(Kind::l2pop, id, slot);
    ViewKey key{"l2pop", id};
    if (n < 0) {
      if (slot.entry) changes.push_back({slot, Kind::l2pop, EntryId(), ViewEntry()});
      expected.erase(key);
    } else {
      changes.push_back({slot, Kind::l2pop, EntryId(id), object(n)});
      expected[key] = n;
    }
  }
  view.apply(changes);
}

std::string id_of(int n, const char* suffix = "") {
  char text[16];
  std::snprintf(text, sizeof text, "id%04d%s", n, suffix);
  return text;
}

void expect_same(const SharedView& view, const std::map<ViewKey, int>& expected, const std::string& when) {
  ASSERT_EQ(view.size(), expected.size()) << when;
  EXPECT_EQ(as_map(view), expected) << when;
  std::vector<ViewKey> order;
  for (const auto& [k, n] : expected) order.push_back(k);
  EXPECT_EQ(keys_in_order(view), order) << when;
}

// Each way apply() changes a chunk: up to 4 changes in place, 5 merged, a chunk cut once
// it is full, a chunk emptied and dropped, the first batch into an empty view.
TEST(SharedView, BatchesInPlaceAndMergedAtTheEdgesOfChunks) {
  SharedView view;
  std::map<ViewKey, int> expected;
  apply_batch(view, expected, {{id_of(5), 1}, {id_of(1), 1}, {id_of(3), 1}});  // into nothing
  expect_same(view, expected, "first batch");
  apply_batch(view, expected, {{id_of(1), -1}, {id_of(3), -1}, {id_of(5), -1}});
  expect_same(view, expected, "all erased");
  EXPECT_TRUE(view.empty());

  for (int i = 0; i < 1400; i += 2) view.add(Kind::l2pop, EntryId(id_of(i)), object(0)), expected[{"l2pop", id_of(i)}] = 0;
  view.seal();  // chunks of 192: even ids 0..382, 384..766, 768..1150, 1152..1398
  // Four changes at one place: an insert before an item that is erased, the item after it
  // replaced, an insert after that (all in place).
  apply_batch(view, expected, {{id_of(10, "a"), 1}, {id_of(12), -1}, {id_of(14), 2}, {id_of(14, "a"), 3}});
  expect_same(view, expected, "four in place");
  // Five (merged): the same shapes, one more.
  apply_batch(view, expected, {{id_of(20, "a"), 4}, {id_of(22), -1}, {id_of(24), 5}, {id_of(24, "a"), 6}, {id_of(26), -1}});
  expect_same(view, expected, "five merged");
  // Inserts four at a time into the first chunk until it is cut, and on.
  for (int batch = 0; batch < 40; ++batch) {
    std::map<std::string, int> four;
    for (int k = 0; k < 4; ++k) four[id_of(100 + 2 * ((batch * 4 + k) % 80), batch * 4 + k < 80 ? "b" : "c")] = batch;
    apply_batch(view, expected, four);
    expect_same(view, expected, "filling, batch " + std::to_string(batch));
  }
  // A middle chunk's items erased, four at a time: it goes, its neighbours stay.
  for (int i = 384; i < 768; i += 8) {
    std::map<std::string, int> four;
    for (int k = 0; k < 8; k += 2) four[id_of(i + k)] = -1;
    apply_batch(view, expected, four);
  }
  expect_same(view, expected, "a chunk emptied");
  for (const auto& [key, n] : expected) ASSERT_NE(view.find(Kind::l2pop, key.second), nullptr) << key.second;
  EXPECT_EQ(view.find(Kind::l2pop, id_of(500)), nullptr);
  // Room for a few more per chunk, not twice what it holds.
  EXPECT_LE(view.reserved(), view.size() + view.size() / 8) << view.size();
}

// Keys located each from the last as a refresh does, at every distance from it: a run of
// new keys all before one item, then keys 1, 2, 3... items apart, up to one that is chunks
// on, and past the last item (locate gallops from the last key, then bisects).
TEST(SharedView, KeysLocatedFromTheLastAtEveryDistance) {
  SharedView view;
  std::map<ViewKey, int> expected;
  for (int i = 0; i < 2000; i += 2) view.add(Kind::l2pop, EntryId(id_of(i)), object(0)), expected[{"l2pop", id_of(i)}] = 0;
  view.seal();
  std::map<std::string, int> batch;
  for (int k = 0; k < 300; ++k) batch[id_of(40, ("r" + std::to_string(100 + k)).c_str())] = 1;  // all between 40 and 42
  int at = 60;
  for (int gap = 1; at < 2000; at += 2 * gap, gap += gap < 20 ? 1 : gap) batch[id_of(at, gap % 2 ? "" : "z")] = gap % 3 ? 2 : -1;
  batch[id_of(2001)] = 3;  // past the end
  apply_batch(view, expected, batch);
  expect_same(view, expected, "runs and gaps");
  for (const auto& [key, n] : expected) ASSERT_NE(view.find(Kind::l2pop, key.second), nullptr) << key.second;
}

TEST(SharedView, SealSortsAndKeepsTheFirstOfEqualKeys) {
  SharedView view;
  for (int i = 999; i >= 0; --i) view.add(Kind::l2pop, EntryId("p" + std::to_string(i)), object(i));
  view.add(Kind::network, EntryId("n1"), object(-1));
  view.add(Kind::arp, EntryId("r|p"), object(-2));
  view.add(Kind::l2pop, EntryId("p5"), object(12345));  // a second p5: dropped
  view.seal();
  EXPECT_EQ(view.size(), 1002u);
  auto m = as_map(view);
  EXPECT_EQ(m.at({"l2pop", "p5"}), 5);
  EXPECT_EQ(m.at({"network", "n1"}), -1);
  std::vector<ViewKey> order;
  for (const auto& [k, n] : m) order.push_back(k);
  EXPECT_EQ(keys_in_order(view), order);
  // Changes after the seal land in order.
  view.put(Kind::l2pop, EntryId("p0000"), object(7));
  EXPECT_TRUE(view.erase(Kind::network, "n1"));
  EXPECT_FALSE(view.erase(Kind::network, "n1"));
  m = as_map(view);
  EXPECT_EQ(m.size(), 1002u);
  EXPECT_EQ(m.at({"l2pop", "p0000"}), 7);
}

// The boot's usual case: each kind added in order, the kinds interleaved (a host's network
// entry, its floods, the next network...), over many chunks. The same view as a map of the
// keys, chunked as a sorted seal leaves them; one item out of order, or one key twice,
// anywhere: still the map's view.
TEST(SharedView, SealOfKindsEachInOrderPlacesItemsWhereTheyBelong) {
  auto build = [](int misplaced, bool repeat) {
    SharedView view;
    std::map<ViewKey, int> expected;
    const Kind kinds[] = {Kind::network, Kind::flood, Kind::l2pop, Kind::arp};
    for (int i = 0; i < 1000; ++i) {
      Kind kind = kinds[i % 4];
      char id[16];
      std::snprintf(id, sizeof id, "id%05d", i == misplaced ? 99999 - i : i);
      view.add(kind, EntryId(id), object(i));
      expected.emplace(ViewKey{SharedView::kind_string(kind), id}, i);
    }
    if (repeat) view.add(Kind::flood, EntryId("id00001"), object(-1));  // a second key: dropped
    view.seal();
    EXPECT_EQ(view.size(), 1000u);
    EXPECT_EQ(as_map(view), expected);
    std::vector<ViewKey> order;
    for (const auto& [k, n] : expected) order.push_back(k);
    EXPECT_EQ(keys_in_order(view), order);
    EXPECT_LE(view.reserved(), view.size() + view.size() / 8);
    view.put(Kind::arp, EntryId("id00000x"), object(7));  // changes after the seal land in order
    expected.emplace(ViewKey{"arp", "id00000x"}, 7);
    EXPECT_EQ(as_map(view), expected);
  };
  build(-1, false);
  build(500, false);
  build(-1, true);
}

TEST(SharedView, LowerBoundWalksAPrefix) {
  SharedView view;
  for (const char* id : {"r1|a", "r1|b", "r2|a", "r10|a"}) view.put(Kind::arp, EntryId(id), object(0));
  view.put(Kind::dhcp, EntryId("r1|z"), object(0));
  std::vector<std::string> ids;
  for (auto it = view.lower_bound(Kind::arp, "r1|"); it != view.end() && it.item().kind() == Kind::arp &&
                                                     it.item().id.str().rfind("r1|", 0) == 0;
       ++it)
    ids.emplace_back(it.item().id.str());
  EXPECT_EQ(ids, (std::vector<std::string>{"r1|a", "r1|b"}));
}

TEST(SharedView, CopiesOfAnIdShareItsString) {
  EntryId a("net|host");
  EntryId b = a, c;
  c = b;
  EXPECT_EQ(a.str().data(), c.str().data());
  EXPECT_EQ(c.str(), "net|host");
  EXPECT_EQ(EntryId().str(), "");
  // Outlives the original; a moved-from id is empty; any bytes, any length.
  std::string long_id = std::string(300, 'x') + std::string("\0|\xff", 3) + "host";
  EntryId d;
  {
    EntryId e(long_id);
    d = e;
    EntryId f(std::move(e));
    EXPECT_EQ(e.str(), "");
    EXPECT_EQ(f.str(), long_id);
  }
  EXPECT_EQ(d.str(), long_id);
  EXPECT_EQ(EntryId("").str(), "");
}

// An item keeps its kind in its id handle's tag: each copy its own tag, the text and the
// block the same; every kind comes back from a view as it went in, in kind-name order.
TEST(SharedView, ItemsKeepTheirKindInTheIdsTag) {
  EntryId a("port-1");
  EntryId b = a;
  b.set_tag(SharedText::kTags - 1);
  EXPECT_EQ(a.tag(), 0u);
  EXPECT_EQ(b.tag(), SharedText::kTags - 1);
  EXPECT_EQ(b.str(), "port-1");
  EXPECT_EQ(b.block(), a.block());
  EntryId c = b;  // copies keep the tag
  EXPECT_EQ(c.tag(), b.tag());
  EXPECT_EQ(sizeof(SharedView::Item), 16u);

  SharedView view;
  std::vector<Kind> all;
  for (int k = 0; k <= static_cast<int>(Kind::flood); ++k) all.push_back(static_cast<Kind>(k));
  for (auto kind : all) view.put(kind, EntryId("same-id"), object(static_cast<int>(kind)));
  ASSERT_EQ(view.size(), all.size());
  std::vector<std::string> names;
  for (auto it = view.begin(); it != view.end(); ++it) {
    const auto& item = it.item();
    EXPECT_EQ(item.id.str(), "same-id");
    EXPECT_EQ(item.entry.object().at("n").as_int64(), static_cast<int>(item.kind()));
    names.emplace_back(SharedView::kind_string(item.kind()));
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (auto kind : all) ASSERT_NE(view.find(kind, "same-id"), nullptr) << SharedView::kind_string(kind);

  // Bulk items sealed onto a view that holds items already keep their kinds too.
  SharedView merged;
  merged.put(Kind::port, EntryId("held"), object(-1));
  for (auto kind : all) merged.add(kind, EntryId("sealed"), object(static_cast<int>(kind)));
  merged.seal();
  ASSERT_EQ(merged.size(), all.size() + 1);
  for (auto kind : all) {
    const auto* found = merged.find(kind, "sealed");
    ASSERT_NE(found, nullptr) << SharedView::kind_string(kind);
    EXPECT_EQ(found->object().at("n").as_int64(), static_cast<int>(kind));
  }
  EXPECT_NE(merged.find(Kind::port, "held"), nullptr);
}

}  // namespace
}  // namespace nt
