// The SQLite store on a real file: a committed group survives reopening, the allocation
// keys refuse a double claim inside a group without losing the rest, quarantine and
// allocation rebuilds, files it must refuse (a newer schema, a bad revision), and its
// write-ahead log checkpointed while it is open (by a thread of its own).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "store/schema.h"
#include "store/store.h"

namespace nt {
namespace {

struct TempDb {
  std::string path;
  TempDb() {
    auto dir = std::filesystem::temp_directory_path() / ("nt-store-" + std::to_string(::getpid()) + "-" +
                                                         std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(dir);
    path = (dir / "n.db").string();
  }
  ~TempDb() { std::filesystem::remove_all(std::filesystem::path(path).parent_path()); }
  void exec(const std::string& sql) const {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
};

ChangeSet port(const std::string& id, const std::string& ip) {
  ChangeSet cs;
  cs.rows.push_back({"ports", id, "p", "{\"id\":\"" + id + "\"}"});
  cs.allocs.push_back({AllocKind::ip, "subnet1", ip, id, true});
  return cs;
}

}  // namespace

TEST(SqliteStore, GroupCommitSurvivesReopenAndKeysRefuseDoubles) {
  TempDb t;
  {
    auto store = open_sqlite_store(t.path);
    ASSERT_TRUE(store) << store.error().message;
    ASSERT_TRUE((*store)->begin());
    ASSERT_TRUE((*store)->apply(port("a", "10.0.0.2"), 1));
    auto twice = (*store)->apply(port("b", "10.0.0.2"), 2);  // same address: refused, alone
    EXPECT_FALSE(twice);
    ASSERT_TRUE((*store)->apply(port("c", "10.0.0.3"), 3));
    ASSERT_TRUE((*store)->commit());
  }
  auto again = open_sqlite_store(t.path);
  ASSERT_TRUE(again) << again.error().message;
  auto state = (*again)->load();
  ASSERT_TRUE(state);
  EXPECT_EQ(state->revision, 3);
  ASSERT_EQ(state->rows["ports"].size(), 2u);
  EXPECT_EQ(state->allocations.size(), 2u);
}

TEST(SqliteStore, QuarantineAndAllocationRebuild) {
  TempDb t;
  auto store = open_sqlite_store(t.path);
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->begin());
  ASSERT_TRUE((*store)->apply(port("a", "10.0.0.2"), 1));
  ASSERT_TRUE((*store)->apply(port("b", "10.0.0.3"), 2));
  ASSERT_TRUE((*store)->commit());
  ASSERT_TRUE((*store)->quarantine("ports", "a", "test"));
  auto state = (*store)->load();
  ASSERT_EQ(state->rows["ports"].size(), 1u);
  ASSERT_EQ(state->allocations.size(), 1u);  // a's address went with it
  EXPECT_EQ(state->allocations[0].owner, "b");
  ASSERT_TRUE((*store)->replace_allocations({{AllocKind::ip, "subnet1", "10.0.0.9", "b", true}}));
  state = (*store)->load();
  ASSERT_EQ(state->allocations.size(), 1u);
  EXPECT_EQ(state->allocations[0].value, "10.0.0.9");
}

TEST(SqliteStore, RefusesANewerSchemaAndABadRevision) {
  TempDb t;
  { ASSERT_TRUE(open_sqlite_store(t.path)); }
  t.exec("PRAGMA user_version=999");
  auto newer = open_sqlite_store(t.path);
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().message.find("newer"), std::string::npos) << newer.error().message;
  t.exec("PRAGMA user_version=" + std::to_string(migrations().size()));  // the current schema
  t.exec("UPDATE meta SET value='abc' WHERE key='revision'");
  auto store = open_sqlite_store(t.path);
  auto state = store ? (*store)->load() : Result<LoadedState>(nt::unexpected(store.error()));
  ASSERT_FALSE(state);
  EXPECT_NE(state.error().message.find("abc"), std::string::npos) << state.error().message;
}

// The log is copied into the database while the store is open, by the store's own thread
// (SQLite's automatic checkpoint inside COMMIT is off), and starts over: it stays far
// below the 70 MB the commits write.
TEST(SqliteStore, TheWriteAheadLogIsCheckpointedOffTheCommitPath) {
  TempDb t;
  auto store = open_sqlite_store(t.path);
  ASSERT_TRUE(store) << store.error().message;
  std::string big(100'000, 'x');  // ~25 pages a commit
  uintmax_t largest_log = 0;
  for (int i = 1; i <= 700; ++i) {
    ASSERT_TRUE((*store)->begin());
    ChangeSet cs;
    auto id = "n" + std::to_string(i);
    cs.rows.push_back({"networks", id, "p", "{\"id\":\"" + id + "\",\"name\":\"" + big + "\"}"});
    ASSERT_TRUE((*store)->apply(cs, i));
    ASSERT_TRUE((*store)->commit());
    largest_log = std::max(largest_log, std::filesystem::file_size(t.path + "-wal"));
  }
  // Under these back-to-back commits the log still starts over (the writer copies the last
  // few frames the thread's checkpoints leave): it stays near the 1,000-frame mark (a page
  // and 24 bytes each), far below the 16,000 at which the writer would copy it all itself
  // and the ~30,000 the commits would reach without checkpoints.
  EXPECT_LT(largest_log, 4'000u * (4096u + 24u));
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::filesystem::file_size(t.path) < 60'000'000 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GE(std::filesystem::file_size(t.path), 60'000'000u) << "the log's pages did not reach the database file";
  EXPECT_GT((*store)->background_checkpoints(), 0);
}

}  // namespace nt
