// planner::Marks: a host's marks, with their ids copied into shared blocks, in the view's
// order once sorted, whatever the ids' lengths and however the marks were merged or moved.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "channel/shared_view.h"
#include "planner/node.h"

namespace nt {
namespace {

using planner::Marks;
using view::Kind;

std::set<std::pair<int, std::string>> expected_of(const std::set<std::pair<Kind, std::string>>& marks) {
  std::set<std::pair<int, std::string>> out;
  for (const auto& [kind, id] : marks) out.insert({SharedView::kind_rank(kind), id});
  return out;
}

std::vector<std::pair<int, std::string>> sorted_of(Marks& marks) {
  std::vector<std::pair<int, std::string>> out;
  for (const auto& m : marks.sorted()) out.push_back({SharedView::kind_rank(m.kind), std::string(m.id)});
  return out;
}

TEST(PlannerMarks, IdsOfEveryLengthSurviveMergesAndMoves) {
  // Empty, short, past the small first block, and longer than a quarter of a block.
  const std::string ids[] = {"", "a", std::string(100, 'b'), std::string(130, 'c'), std::string(3000, 'd'), "e|192.0.2.1"};
  const Kind kinds[] = {Kind::sgmember, Kind::l2pop, Kind::flood};
  std::set<std::pair<Kind, std::string>> all;
  Marks first, second, third;
  int n = 0;
  for (int round = 0; round < 60; ++round)  // enough to fill several large blocks
    for (const auto& id : ids)
      for (auto kind : kinds) {
        auto unique = id.empty() ? id : id + std::to_string(round);
        Marks& into = n % 3 == 0 ? first : n % 3 == 1 ? second : third;
        into.insert(kind, unique);
        into.insert(kind, unique);  // a repeat is kept once
        all.insert({kind, unique});
        ++n;
      }
  Marks empty;
  empty.merge(first);  // into an empty one: takes everything
  EXPECT_EQ(first.size(), 0u);
  empty.merge(second);  // into a full one: the other's blocks come along
  EXPECT_EQ(second.size(), 0u);
  Marks moved(std::move(empty));
  moved.merge(third);
  moved.insert(Kind::network, "after-merges");  // still has room or gets a block
  all.insert({Kind::network, "after-merges"});
  second.insert(Kind::port, "reused");  // a merged-from one is usable again
  auto want = expected_of(all);
  auto got = sorted_of(moved);
  std::set<std::pair<int, std::string>> got_set(got.begin(), got.end());
  EXPECT_EQ(got_set, want);
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  std::vector<std::pair<int, std::string>> reused{{SharedView::kind_rank(Kind::port), "reused"}};
  EXPECT_EQ(sorted_of(second), reused);
}

// The edges of the blocks: the small first block filled exactly, then one byte more; marks
// with empty ids only (no block) merged both ways; a long id as the only block.
TEST(PlannerMarks, BlockEdgesAndEmptyIds) {
  Marks exact;
  std::string fill(128, 'x');
  exact.insert(Kind::sgmember, fill);
  exact.insert(Kind::sgmember, "y");  // no room left: a new block
  exact.insert(Kind::sgmember, std::string(40, 'z'));
  auto got = sorted_of(exact);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].second, fill);
  EXPECT_EQ(got[1].second, "y");
  EXPECT_EQ(got[2].second, std::string(40, 'z'));

  Marks blockless, other;
  blockless.insert(Kind::network, "");
  other.insert(Kind::port, "p1");
  other.merge(blockless);  // items but no blocks, into one with a block
  blockless.insert(Kind::network, "");
  Marks into_blockless;
  into_blockless.insert(Kind::l2pop, "");
  into_blockless.merge(other);  // one with a block into items without blocks
  into_blockless.insert(Kind::l2pop, "after");
  auto merged = sorted_of(into_blockless);
  std::set<std::pair<int, std::string>> merged_set(merged.begin(), merged.end());
  auto want = expected_of({{Kind::network, ""}, {Kind::port, "p1"}, {Kind::l2pop, ""}, {Kind::l2pop, "after"}});
  EXPECT_EQ(merged_set, want);

  Marks long_only;
  std::string long_id(5000, 'l');
  long_only.insert(Kind::flood, long_id);
  long_only.insert(Kind::flood, "short");  // a block of its own after the long one
  long_only.insert(Kind::flood, long_id + "2");
  auto longs = sorted_of(long_only);
  ASSERT_EQ(longs.size(), 3u);
  EXPECT_EQ(longs[0].second, long_id);
  EXPECT_EQ(longs[1].second, long_id + "2");
  EXPECT_EQ(longs[2].second, "short");
}

}  // namespace
}  // namespace nt
