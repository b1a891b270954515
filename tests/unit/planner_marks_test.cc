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

}  // namespace
}  // namespace nt
