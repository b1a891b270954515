// SQLite back end: WAL journal, synchronous=FULL (an acknowledged commit survives a crash
// or power loss), prepared statements, one connection used only by the writer thread.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "store/schema.h"
#include "store/store.h"

namespace nt {
namespace {

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, const std::string& sql) { sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr); }
  Stmt(const Stmt&) = delete;
  Stmt(Stmt&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  ~Stmt() { sqlite3_finalize(s_); }
  sqlite3_stmt* get() const { return s_; }
  explicit operator bool() const { return s_ != nullptr; }

 private:
  sqlite3_stmt* s_ = nullptr;
};

// Checkpoints of the write-ahead log, off the writer's commit path. SQLite's automatic
// checkpoint runs inside the COMMIT that takes the log past 1,000 pages: that commit, and
// every write of its group, then waits while the pages are copied into the database file
// and it is synced (tens of ms here, one commit in ten under load). Instead the writer's
// connection only reports the log's size after each commit (sqlite3_wal_hook) and a thread
// with its own connection copies the pages (PASSIVE: it never blocks the writer). Should the
// thread fall behind, the writer checkpoints itself past kInlinePages: the log stays bounded.
class WalCheckpointer {
 public:
  static constexpr int kBackgroundPages = 1000, kInlinePages = 16000, kInlineRest = 64;
  explicit WalCheckpointer(sqlite3* writer) : writer_(writer) {}
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;
  int64_t made() const { return made_.load(); }
  ~WalCheckpointer() {
    {
      std::lock_guard g(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    sqlite3_wal_autocheckpoint(writer_, kBackgroundPages);  // SQLite's own again (it replaces the hook)
    sqlite3_close(own_);
  }

  // False (SQLite's own checkpoints stay, said in the log) when the library is built
  // without threads or the second connection cannot be opened.
  bool start(const std::string& path) {
    if (!sqlite3_threadsafe()) {
      spdlog::warn("SQLite is built single-threaded: WAL checkpoints stay inside commits");
      return false;
    }
    if (sqlite3_open_v2(path.c_str(), &own_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK ||
        sqlite3_exec(own_, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr) != SQLITE_OK) {
      spdlog::warn("cannot open a second connection to {} for WAL checkpoints ({}): they stay inside commits", path,
                   own_ ? sqlite3_errmsg(own_) : "out of memory");
      return false;
    }
    sqlite3_wal_hook(writer_, &WalCheckpointer::committed, this);  // replaces the automatic checkpoint
    thread_ = std::thread([this] { loop(); });
    return true;
  }

 private:
  // On the writer thread after each commit, with the log's size in frames. The log starts
  // over only after a checkpoint that copied all of it: under steady writes the thread's
  // checkpoints always leave the frames committed meanwhile, so once they have copied all
  // but a few, the writer copies the rest itself (a few pages, not the thousand SQLite's
  // own checkpoint would).
  static int committed(void* self, sqlite3* db, const char* schema, int pages) {
    auto* me = static_cast<WalCheckpointer*>(self);
    if (pages < kBackgroundPages) {
      me->copied_ = 0;  // the log started over
    } else if (pages >= kInlinePages || pages - me->copied_.load() <= kInlineRest) {
      sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else {
      {
        std::lock_guard g(me->mu_);
        me->wanted_ = true;
      }
      me->cv_.notify_one();
    }
    return SQLITE_OK;
  }

  void loop() {
    std::unique_lock g(mu_);
    for (;;) {
      cv_.wait(g, [&] { return stopping_ || wanted_; });
      if (stopping_) return;
      wanted_ = false;
      g.unlock();
      int frames = 0, copied = 0;
      int rc = sqlite3_wal_checkpoint_v2(own_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) spdlog::warn("WAL checkpoint failed: {}", sqlite3_errmsg(own_));
      else made_.fetch_add(1), copied_ = copied;
      g.lock();
    }
  }

  sqlite3* writer_;
  sqlite3* own_ = nullptr;
  std::atomic<int64_t> made_{0};
  std::atomic<int> copied_{0};  // frames of the log the last checkpoint had copied
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false, stopping_ = false;
  std::thread thread_;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override {
    checkpointer_.reset();
    stmts_.clear();
    sqlite3_close(db_);
  }

  Status init(const std::string& path) {
    path_ = path;
    NT_TRY(check_integrity(path));
    NT_TRY(exec("PRAGMA journal_mode=WAL"));
    NT_TRY(exec("PRAGMA synchronous=FULL"));
    NT_TRY(exec("PRAGMA foreign_keys=ON"));
    sqlite3_busy_timeout(db_, 5000);
    NT_TRY(migrate(path));
    std::string mode;
    NT_TRY(each_row("PRAGMA journal_mode", "the journal mode", [&](sqlite3_stmt* st) { mode = text(st, 0); }));
    if (mode == "wal") {
      checkpointer_ = std::make_unique<WalCheckpointer>(db_);
      if (!checkpointer_->start(path)) checkpointer_.reset();
    }
    return {};
  }

  Result<LoadedState> load() override {
    LoadedState state;
    for (const auto& kind : resource_kinds()) {
      auto& rows = state.rows[kind];
      NT_TRY(each_row("SELECT id, body FROM " + kind + " ORDER BY id", "table " + kind, [&](sqlite3_stmt* st) {
        rows.push_back({text(st, 0), text(st, 1)});
      }));
    }
    static const std::pair<AllocKind, const char*> allocs[] = {
        {AllocKind::ip, "SELECT subnet_id, ip_address, port_id FROM ip_allocations"},
        {AllocKind::mac, "SELECT network_id, mac_address, port_id FROM mac_allocations"},
        {AllocKind::segment, "SELECT type_physnet, segmentation_id, network_id FROM segment_allocations"}};
    for (const auto& [kind, sql] : allocs)
      NT_TRY(each_row(sql, "the allocation tables", [&, kind = kind](sqlite3_stmt* st) {
        state.allocations.push_back({kind, text(st, 0), text(st, 1), text(st, 2), true});
      }));
    std::string revision;
    NT_TRY(each_row("SELECT value FROM meta WHERE key='revision'", "table meta", [&](sqlite3_stmt* st) {
      revision = text(st, 0);
    }));
    auto parsed = parse_revision(revision);
    if (!parsed) return fail(Errc::internal, Origin::store, "table meta, row revision: '" + revision + "' is not a revision number");
    state.revision = *parsed;
    revision_ = state.revision;
    return state;
  }

  Status quarantine(const std::string& kind, const std::string& id, const std::string& reason) override {
    if (std::find(resource_kinds().begin(), resource_kinds().end(), kind) == resource_kinds().end())
      return fail(Errc::internal, Origin::store, "no table " + kind);
    NT_TRY(exec("BEGIN IMMEDIATE"));
    auto r = run("INSERT INTO quarantine (kind, id, body, reason) SELECT ?1, id, CAST(body AS BLOB), ?3 FROM " + kind +
                     " WHERE id=?2",
                 {kind, id, reason});
    if (r) r = run("DELETE FROM " + kind + " WHERE id=?1", {id});
    for (const char* t : {"DELETE FROM ip_allocations WHERE port_id=?1", "DELETE FROM mac_allocations WHERE port_id=?1",
                          "DELETE FROM segment_allocations WHERE network_id=?1"})
      if (r) r = run(t, {id});
    if (!r) return rollback(), r;
    return exec("COMMIT");
  }

  Status replace_allocations(const std::vector<AllocChange>& allocs) override {
    NT_TRY(exec("BEGIN IMMEDIATE"));
    auto r = exec("DELETE FROM ip_allocations; DELETE FROM mac_allocations; DELETE FROM segment_allocations");
    for (const auto& a : allocs)
      if (r) r = apply_alloc(a);
    if (!r) return rollback(), r;
    return exec("COMMIT");
  }

  // This server is the file's only writer: the latest revision is the one it committed.
  Result<int64_t> begin() override {
    NT_TRY(exec("BEGIN IMMEDIATE"));
    return revision_;
  }
  Result<std::vector<Committed>> changes_since(int64_t, size_t) override { return std::vector<Committed>{}; }
  Status commit() override {
    NT_TRY(exec("COMMIT"));
    revision_ = std::max(revision_, pending_revision_);
    return {};
  }
  std::string describe() const override { return "sqlite:///" + path_; }
  int64_t background_checkpoints() const override { return checkpointer_ ? checkpointer_->made() : 0; }
  void rollback() override { (void)exec("ROLLBACK"); }

  Status apply(const ChangeSet& cs, int64_t revision) override {
    NT_TRY(exec("SAVEPOINT req"));
    auto result = apply_rows(cs, revision);
    if (!result) {
      (void)exec("ROLLBACK TO req");
      (void)exec("RELEASE req");
      return result;
    }
    return exec("RELEASE req");
  }

 private:
  static std::string text(sqlite3_stmt* st, int col) {
    auto p = sqlite3_column_text(st, col);
    return p ? reinterpret_cast<const char*>(p) : "";
  }

  static Result<int64_t> parse_revision(const std::string& v) {
    if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
      return fail(Errc::internal, Origin::store, v);
    return std::stoll(v);
  }

  // Steps a query to its end; a read error (a damaged page, I/O) fails the load instead of
  // silently ending it early.
  template <class Fn>
  Status each_row(const std::string& sql, const std::string& what, Fn&& fn) {
    Stmt st(db_, sql);
    if (!st) return db_error("reading " + what);
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) fn(st.get());
    if (rc != SQLITE_DONE) return db_error("reading " + what);
    return {};
  }

  // Clients see SQLite's sentence for the error code ("database or disk is full", "UNIQUE
  // constraint failed"), never SQL; the log gets the details.
  nt::unexpected<Error> db_error(const std::string& what) {
    int code = sqlite3_extended_errcode(db_);
    std::string detail = what + ": " + sqlite3_errmsg(db_);
    std::string said = sqlite3_errstr(code);
    if ((code & 0xff) == SQLITE_CONSTRAINT) return fail(Errc::conflict, Origin::store, "database constraint violated (" + said + ")", detail);
    if ((code & 0xff) == SQLITE_BUSY) return fail(Errc::unavailable, Origin::store, "database is busy", detail);
    return fail(Errc::internal, Origin::store, said, detail);
  }

  static nt::unexpected<Error> fail(Errc code, Origin origin, std::string message, std::string detail = "") {
    Error e{code, "", std::move(message), 0};
    e.detail = std::move(detail);
    e.origin = origin;
    return nt::unexpected(std::move(e));
  }

  Status exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown";
      sqlite3_free(err);
      return db_error(sql.substr(0, 40) + " (" + msg + ")");
    }
    return {};
  }

  // integrity_check reads every index too; on big files quick_check keeps the start fast.
  Status check_integrity(const std::string& path) {
    int64_t pages = 0, page_size = 0;
    auto sized = each_row("PRAGMA page_count", "the page count", [&](sqlite3_stmt* st) { pages = sqlite3_column_int64(st, 0); });
    if (sized) sized = each_row("PRAGMA page_size", "the page size", [&](sqlite3_stmt* st) { page_size = sqlite3_column_int64(st, 0); });
    if (!sized) return fail(Errc::internal, Origin::store, "cannot read database " + path + ": " + sized.error().message);
    bool small = pages * page_size < (256 << 20);
    std::vector<std::string> problems;
    auto checked = each_row(small ? "PRAGMA integrity_check(20)" : "PRAGMA quick_check(20)", "the integrity check",
                            [&](sqlite3_stmt* st) { problems.push_back(text(st, 0)); });
    if (checked && problems.size() == 1 && problems[0] == "ok") return {};
    std::string what = checked ? "" : checked.error().message + "; " + checked.error().detail;
    for (const auto& p : problems) what += (what.empty() ? "" : "; ") + p;
    return fail(Errc::internal, Origin::store,
                "database " + path + " is damaged (" + std::string(small ? "integrity_check" : "quick_check") + ": " + what +
                    "). Stop, keep a copy of the file, and restore a backup, or recover what SQLite can read: "
                    "sqlite3 " + path + " .recover | sqlite3 NEW.db, then start on NEW.db with --rebuild-allocations "
                    "(see docs/operator-guide.md, \"A damaged database\").");
  }

  Status migrate(const std::string& path) {
    Stmt v(db_, "PRAGMA user_version");
    int version = (v && sqlite3_step(v.get()) == SQLITE_ROW) ? sqlite3_column_int(v.get(), 0) : 0;
    const auto& steps = migrations();
    if (version < 0 || static_cast<size_t>(version) > steps.size())
      return fail(Errc::internal, Origin::store,
                  "database " + path + " has schema version " + std::to_string(version) + ", newer than this binary knows (" +
                      std::to_string(steps.size()) + "): run the neutrino-server that wrote it");
    for (size_t i = static_cast<size_t>(version); i < steps.size(); ++i) {
      NT_TRY(exec("BEGIN"));
      auto r = exec(steps[i]);
      if (r) r = exec("PRAGMA user_version=" + std::to_string(i + 1));
      if (!r) {
        rollback();
        return r;
      }
      NT_TRY(exec("COMMIT"));
    }
    return {};
  }

  sqlite3_stmt* prepared(const std::string& sql) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) it = stmts_.emplace(sql, Stmt(db_, sql)).first;
    auto* st = it->second.get();
    if (st) sqlite3_reset(st), sqlite3_clear_bindings(st);
    return st;
  }

  Status run(const std::string& sql, std::initializer_list<std::string_view> args) {
    auto* st = prepared(sql);
    if (!st) return db_error("prepare");
    int i = 1;
    for (auto a : args) sqlite3_bind_text(st, i++, a.data(), static_cast<int>(a.size()), SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return db_error(sql.substr(0, 30));
    return {};
  }

  Status apply_alloc(const AllocChange& a) {
    static const char* tables[] = {"ip_allocations (subnet_id, ip_address, port_id)",
                                   "mac_allocations (network_id, mac_address, port_id)",
                                   "segment_allocations (type_physnet, segmentation_id, network_id)"};
    static const char* deletes[] = {
        "DELETE FROM ip_allocations WHERE subnet_id=?1 AND ip_address=?2",
        "DELETE FROM mac_allocations WHERE network_id=?1 AND mac_address=?2",
        "DELETE FROM segment_allocations WHERE type_physnet=?1 AND segmentation_id=?2"};
    int k = static_cast<int>(a.kind);
    if (a.claim)
      return run(std::string("INSERT INTO ") + tables[k] + " VALUES (?1, ?2, ?3)", {a.scope, a.value, a.owner});
    return run(deletes[k], {a.scope, a.value});
  }

  Status apply_rows(const ChangeSet& cs, int64_t revision) {
    // Releases first, so that a request may release and re-claim the same value.
    for (const auto& a : cs.allocs)
      if (!a.claim) NT_TRY(apply_alloc(a));
    for (const auto& a : cs.allocs)
      if (a.claim) NT_TRY(apply_alloc(a));
    auto rev = std::to_string(revision);
    for (const auto& r : cs.rows) {
      if (r.body)
        NT_TRY(run("INSERT OR REPLACE INTO " + r.kind + " (id, project_id, body) VALUES (?1, ?2, ?3)",
                   {r.id, r.project_id, *r.body}));
      else
        NT_TRY(run("DELETE FROM " + r.kind + " WHERE id=?1", {r.id}));
      NT_TRY(run("INSERT INTO changes (revision, kind, id, op) VALUES (?1, ?2, ?3, ?4)",
                 {rev, r.kind, r.id, r.body ? "put" : "del"}));
    }
    NT_TRY(run("UPDATE meta SET value=?1 WHERE key='revision'", {rev}));
    pending_revision_ = revision;
    return {};
  }

  sqlite3* db_;
  std::string path_;
  int64_t revision_ = 0, pending_revision_ = 0;
  std::unordered_map<std::string, Stmt> stmts_;
  std::unique_ptr<WalCheckpointer> checkpointer_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return fail(Errc::unavailable, Origin::store, "cannot open database " + path + ": " + msg);
  }
  auto store = std::make_unique<SqliteStore>(db);
  NT_TRY(store->init(path));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace nt
