#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/writer.h"

namespace nt {
namespace json = boost::json;

namespace {
Obj row(const std::string& id) { return Obj{{"id", id}, {"project_id", "p"}}; }
}  // namespace

TEST(Writer, AFailingRequestIsUndoneAloneAndTheOthersCommit) {
  auto store = make_memory_store();
  Model model;
  Writer writer(model, *store);
  auto ok = writer.run([](Txn& txn) -> Result<json::value> {
    txn.put("networks", row("a"));
    return json::value(nullptr);
  });
  ASSERT_TRUE(ok);
  auto bad = writer.run([](Txn& txn) -> Result<json::value> {
    txn.put("networks", row("b"));
    txn.erase("networks", "a");
    return conflict("Conflict", "no");
  });
  ASSERT_FALSE(bad);
  EXPECT_TRUE(model.find("networks", "a"));
  EXPECT_FALSE(model.find("networks", "b"));
  EXPECT_EQ(model.revision, 1);
  auto loaded = store->load();
  ASSERT_EQ(loaded->rows["networks"].size(), 1u);
  EXPECT_EQ(loaded->revision, 1);
}

TEST(Writer, StoreConstraintFailureRollsBackTheModel) {
  auto store = make_memory_store();
  // The store already holds 10.0.0.5 for subnet s (e.g. written by another server).
  ASSERT_TRUE(store->begin());
  ASSERT_TRUE(store->apply(ChangeSet{{}, {{AllocKind::ip, "s", "10.0.0.5", "other", true}}}, 1));
  ASSERT_TRUE(store->commit());
  Model model;
  Writer writer(model, *store);
  auto r = writer.run([](Txn& txn) -> Result<json::value> {
    txn.put("ports", Obj{{"id", "p1"}, {"project_id", "p"}, {"network_id", "n"}});
    txn.claim_ip("s", *IpAddress::parse("10.0.0.5"), "p1");
    return json::value(nullptr);
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_FALSE(model.find("ports", "p1"));
  EXPECT_FALSE(model.ip_used("s", IpAddress::parse("10.0.0.5")->value));
  EXPECT_EQ(model.count("ports", "p"), 0);
}

TEST(Writer, ConcurrentSubmissionsAllCommitWithDistinctRevisions) {
  auto store = make_memory_store();
  Model model;
  Writer writer(model, *store);
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto id = std::to_string(t) + "-" + std::to_string(i);
        auto r = writer.run([id](Txn& txn) -> Result<json::value> {
          txn.put("ports", Obj{{"id", id}, {"project_id", "p"}, {"network_id", "n"}});
          return json::value(nullptr);
        });
        if (r) ++done;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(done.load(), 400);
  EXPECT_EQ(model.revision, 400);
  EXPECT_EQ(model.count("ports", "p"), 400);
  EXPECT_EQ(model.ports_by_network["n"].size(), 400u);
  EXPECT_EQ(store->load()->rows["ports"].size(), 400u);
}

// The commit hook (the planner) runs after the exclusive lock is released, so readers are
// not held up by planning, and before the request is answered.
TEST(Writer, CommitHookRunsOutsideTheLockBeforeTheAnswer) {
  auto store = make_memory_store();
  Model model;
  Writer writer(model, *store);
  std::atomic<bool> readable{false};
  std::atomic<int64_t> seen{-1};
  writer.on_commit([&](const std::vector<ChangeSet>& committed, int64_t revision) {
    readable = writer.lock().try_lock_shared();
    if (readable) writer.lock().unlock_shared();
    seen = committed.size() == 1 && committed[0].rows.size() == 1 ? revision : -2;
  });
  auto ok = writer.run([](Txn& txn) -> Result<json::value> {
    txn.put("networks", row("a"));
    return json::value(nullptr);
  });
  ASSERT_TRUE(ok);
  EXPECT_TRUE(readable);
  EXPECT_EQ(seen, 1);  // the hook had run when the answer came
  seen = -1;
  ASSERT_TRUE(writer.run([](Txn&) -> Result<json::value> { return json::value(nullptr); }));
  EXPECT_EQ(seen, -1);  // nothing written: no hook
}

TEST(Model, ReloadRebuildsAllocationIndexes) {
  LoadedState state;
  state.rows["ports"].push_back({"p1", R"({"id":"p1","project_id":"x","network_id":"n","mac_address":"fa:16:3e:00:00:01",
                                          "fixed_ips":[{"subnet_id":"s","ip_address":"10.0.0.9"}]})"});
  state.rows["networks"].push_back({"n", R"({"id":"n","project_id":"x","provider:network_type":"vxlan",
                                            "provider:physical_network":null,"provider:segmentation_id":42})"});
  Model m;
  ASSERT_TRUE(m.load(state));
  EXPECT_TRUE(m.ip_used("s", IpAddress::parse("10.0.0.9")->value));
  EXPECT_TRUE(m.mac_used("n", Mac::parse("fa:16:3e:00:00:01")->value));
  EXPECT_TRUE(m.segment_used("vxlan/", 42));
  EXPECT_EQ(m.count("ports", "x"), 1);
  state.rows["ports"].push_back({"bad", "{not json"});
  EXPECT_FALSE(m.load(state));
}

}  // namespace nt
