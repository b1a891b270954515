#include <gtest/gtest.h>

#include <atomic>
#include <future>
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
  // The store already holds 10.0.0.5 for subnet s, unknown to the model (a row the
  // change log does not explain: revision 0).
  ASSERT_TRUE(store->begin());
  ASSERT_TRUE(store->apply(ChangeSet{{}, {{AllocKind::ip, "s", "10.0.0.5", "other", true}}}, 0));
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
  writer.on_commit([&](const std::vector<Committed>& committed) {
    readable = writer.lock().try_lock_shared();
    if (readable) writer.lock().unlock_shared();
    seen = committed.size() == 1 && committed[0].changes.rows.size() == 1 ? committed[0].revision : -2;
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

namespace {

Result<json::value> port_with_ip(Txn& txn, const std::string& id, const std::string& ip) {
  txn.put("ports", Obj{{"id", id}, {"project_id", "p"}, {"network_id", "n"}});
  if (!txn.claim_ip("s", *IpAddress::parse(ip), id)) return conflict("IpAddressAlreadyAllocated", ip + " is taken");
  return json::value(nullptr);
}

// A store that passes everything to another; the test stores below change a call or two.
class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(Store& inner) : inner_(inner) {}
  Result<LoadedState> load() override { return inner_.load(); }
  Result<int64_t> begin() override { return inner_.begin(); }
  Result<std::vector<Committed>> changes_since(int64_t r, size_t n) override { return inner_.changes_since(r, n); }
  Status apply(const ChangeSet& cs, int64_t r) override { return inner_.apply(cs, r); }
  Status commit() override { return inner_.commit(); }
  void rollback() override { inner_.rollback(); }
  Status quarantine(const std::string& k, const std::string& id, const std::string& why) override { return inner_.quarantine(k, id, why); }
  Status replace_allocations(const std::vector<AllocChange>& a) override { return inner_.replace_allocations(a); }

 protected:
  Store& inner_;
};

// A store whose next commit fails (a connection lost at COMMIT).
class CommitFails final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Status commit() override {
    if (!fail_next) return inner_.commit();
    fail_next = false;
    inner_.rollback();
    return fail(Errc::unavailable, Origin::store, "database unavailable");
  }
  void rollback() override {
    if (!rolled_back_after_failure) inner_.rollback();
    rolled_back_after_failure = false;
  }
  std::string describe() const override { return "commit-fails"; }
  bool fail_next = false, rolled_back_after_failure = false;
};

}  // namespace

// Two servers on one store: each replays the other's commits before deciding a request,
// so an address taken through one server is taken for the other, and the planner hook
// sees the replayed changes in revision order.
TEST(Writer, TwoServersOnOneStoreDecideAgainstEachOthersCommits) {
  auto store = make_memory_store();
  Model a, b;
  Writer wa(a, *store), wb(b, *store);
  std::vector<std::string> b_followed;
  int64_t b_hook_revision = 0;
  std::vector<int64_t> b_revisions;
  wb.on_commit([&](const std::vector<Committed>& committed) {
    for (const auto& c : committed) {
      for (const auto& r : c.changes.rows) b_followed.push_back(r.id);
      b_revisions.push_back(c.revision);
    }
    b_hook_revision = committed.back().revision;
  });
  ASSERT_TRUE(wa.run([](Txn& t) { return port_with_ip(t, "p1", "10.0.0.5"); }));
  ASSERT_TRUE(wa.run([](Txn& t) { return port_with_ip(t, "p2", "10.0.0.6"); }));
  auto lost = wb.run([](Txn& t) { return port_with_ip(t, "p3", "10.0.0.5"); });
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, Errc::conflict);
  EXPECT_TRUE(b.find("ports", "p1"));
  EXPECT_TRUE(b.ip_used("s", IpAddress::parse("10.0.0.6")->value));
  EXPECT_EQ(b.revision, 2);
  EXPECT_EQ(b_followed, (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(b_revisions, (std::vector<int64_t>{1, 2}));  // each with its own revision, as a had them
  EXPECT_EQ(b_hook_revision, 2);
  ASSERT_TRUE(wb.run([](Txn& t) { return port_with_ip(t, "p3", "10.0.0.7"); }));
  EXPECT_EQ(b.revision, 3);
  // A deletion through b reaches a when a catches up on its own (a notification).
  ASSERT_TRUE(wb.run([](Txn& t) -> Result<json::value> {
    t.erase("ports", "p1");
    t.release_ip("s", *IpAddress::parse("10.0.0.5"));
    return json::value(nullptr);
  }));
  ASSERT_TRUE(wa.run([](Txn&) -> Result<json::value> { return json::value(nullptr); }));
  EXPECT_FALSE(a.find("ports", "p1"));
  EXPECT_FALSE(a.ip_used("s", IpAddress::parse("10.0.0.5")->value));
  EXPECT_TRUE(a.find("ports", "p3"));
  EXPECT_EQ(a.revision, 4);
  EXPECT_EQ(a.count("ports", "p"), 2);
}

TEST(Writer, CatchUpSoonReplaysWithoutARequest) {
  auto store = make_memory_store();
  Model a, b;
  Writer wa(a, *store), wb(b, *store);
  std::promise<int64_t> seen;
  wb.on_commit([&](const std::vector<Committed>& c) { seen.set_value(c.back().revision); });
  ASSERT_TRUE(wa.run([](Txn& t) { return port_with_ip(t, "p1", "10.0.0.5"); }));
  wb.catch_up_soon();
  auto f = seen.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(f.get(), 1);
  EXPECT_TRUE(b.find("ports", "p1"));
}

// A commit that fails leaves nothing of the group in the model (the store has nothing of
// it either), and the revision goes back, so the next group numbers on from the store.
TEST(Writer, AFailedCommitUndoesTheGroupInTheModel) {
  auto memory = make_memory_store();
  CommitFails store(*memory);
  Model model;
  Writer writer(model, store);
  ASSERT_TRUE(writer.run([](Txn& t) { return port_with_ip(t, "p1", "10.0.0.5"); }));
  store.fail_next = store.rolled_back_after_failure = true;
  auto r = writer.run([](Txn& t) { return port_with_ip(t, "p2", "10.0.0.6"); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_FALSE(model.find("ports", "p2"));
  EXPECT_FALSE(model.ip_used("s", IpAddress::parse("10.0.0.6")->value));
  EXPECT_EQ(model.revision, 1);
  EXPECT_EQ(model.count("ports", "p"), 1);
  ASSERT_TRUE(writer.run([](Txn& t) { return port_with_ip(t, "p2", "10.0.0.6"); }));
  EXPECT_EQ(model.revision, 2);
  EXPECT_EQ(memory->load()->revision, 2);
}

namespace {
// A store whose commit waits until the test lets it end, then commits or fails.
class GatedCommit final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Status commit() override {
    committing.set_value();
    if (outcome.get_future().get()) return inner_.commit();
    inner_.rollback();
    return fail(Errc::unavailable, Origin::store, "disk I/O error");
  }
  std::string describe() const override { return "gated"; }
  std::promise<void> committing;
  std::promise<bool> outcome;
};

// While a group's COMMIT runs, readers are not locked out; what they read then is answered
// only once the group is durable, or read again when its commit failed and undid it.
void read_during_commit(bool commits) {
  auto memory = make_memory_store();
  GatedCommit store(*memory);
  Model model;
  Writer writer(model, store);
  auto committing = store.committing.get_future();
  auto write = std::async(std::launch::async, [&] { return writer.run([](Txn& t) { return port_with_ip(t, "p1", "10.0.0.5"); }); });
  committing.wait();
  std::promise<bool> told;
  {
    std::shared_lock reader(writer.lock());  // not held up by the commit
    EXPECT_TRUE(model.find("ports", "p1"));  // the group, in doubt
    EXPECT_EQ(writer.model_revision(), 0);
    EXPECT_TRUE(writer.defer_until_durable([&](bool durable) { told.set_value(durable); }));
  }
  auto durable_reader = std::async(std::launch::async, [&] {
    auto lock = writer.read_durable();
    return model.find("ports", "p1") != nullptr;
  });
  auto told_future = told.get_future();
  EXPECT_EQ(told_future.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  EXPECT_EQ(durable_reader.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  store.outcome.set_value(commits);
  EXPECT_EQ(told_future.get(), commits);
  EXPECT_EQ(durable_reader.get(), commits);
  EXPECT_EQ(static_cast<bool>(write.get()), commits);
  EXPECT_EQ(writer.model_revision(), commits ? 1 : 0);
  std::shared_lock reader(writer.lock());
  EXPECT_FALSE(writer.defer_until_durable([](bool) { ADD_FAILURE() << "nothing is in doubt"; }));
}
}  // namespace

TEST(Writer, ReadersGoOnDuringACommitAndAreAnsweredOnceItIsDurable) { read_during_commit(true); }
TEST(Writer, ReadersOfAGroupWhoseCommitFailedAreToldToReadAgain) { read_during_commit(false); }

// A change log pruned past this server's model cannot be replayed: writes are refused with
// 503 (and the model stays as it was) rather than decided on a model with a hole.
TEST(Writer, AChangeLogPrunedPastTheModelRefusesWrites) {
  auto store = make_memory_store();
  ASSERT_TRUE(store->begin());
  ASSERT_TRUE(store->apply(ChangeSet{{{"networks", "far", "p", R"({"id":"far","project_id":"p"})"}}, {}}, 5));
  ASSERT_TRUE(store->commit());
  Model model;  // at revision 0: revisions 1-4 are not in the log
  Writer writer(model, *store);
  auto r = writer.run([](Txn& t) { return port_with_ip(t, "p1", "10.0.0.5"); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("behind the change log"), std::string::npos) << r.error().message;
  EXPECT_FALSE(model.find("networks", "far"));
  EXPECT_FALSE(model.find("ports", "p1"));
  EXPECT_EQ(model.revision, 0);
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

namespace nt {
// The model's lock lets a waiting group in before new readers: a read that arrives while a
// group waits for the reads in progress queues behind the group.
TEST(WriterFirstMutex, ANewReaderWaitsBehindAWaitingWriter) {
  WriterFirstMutex mu;
  mu.lock_shared();  // a read in progress
  std::atomic<bool> writer_in{false};
  std::thread writer([&] {
    std::unique_lock exclusive(mu);
    writer_in = true;
  });
  // Until the writer is queued, a new reader may still get in (and leaves at once).
  bool blocked = false;
  for (int i = 0; i < 2000 && !blocked; ++i) {
    if (mu.try_lock_shared()) mu.unlock_shared(), std::this_thread::sleep_for(std::chrono::milliseconds(1));
    else blocked = true;
  }
  EXPECT_TRUE(blocked) << "a reader got in while a writer waited";
  EXPECT_FALSE(writer_in);
  mu.unlock_shared();  // the read in progress ends: the writer goes first
  writer.join();
  EXPECT_TRUE(writer_in);
  EXPECT_TRUE(mu.try_lock_shared());
  mu.unlock_shared();
}
}  // namespace nt
