// SQLite back end: WAL journal, synchronous=FULL (an acknowledged commit survives a crash
// or power loss), prepared statements, one connection used only by the writer thread.
#include <sqlite3.h>

#include <unordered_map>

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

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override { stmts_.clear(); sqlite3_close(db_); }

  Status init() {
    NT_TRY(exec("PRAGMA journal_mode=WAL"));
    NT_TRY(exec("PRAGMA synchronous=FULL"));
    NT_TRY(exec("PRAGMA foreign_keys=ON"));
    sqlite3_busy_timeout(db_, 5000);
    return migrate();
  }

  Result<LoadedState> load() override {
    LoadedState state;
    for (const auto& kind : resource_kinds()) {
      Stmt st(db_, "SELECT id, body FROM " + kind + " ORDER BY id");
      if (!st) return db_error("load " + kind);
      auto& rows = state.rows[kind];
      while (sqlite3_step(st.get()) == SQLITE_ROW)
        rows.push_back({text(st.get(), 0), text(st.get(), 1)});
    }
    Stmt rev(db_, "SELECT value FROM meta WHERE key='revision'");
    if (rev && sqlite3_step(rev.get()) == SQLITE_ROW) state.revision = std::stoll(text(rev.get(), 0));
    return state;
  }

  Status begin() override { return exec("BEGIN IMMEDIATE"); }
  Status commit() override { return exec("COMMIT"); }
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

  nt::unexpected<Error> db_error(const std::string& what) {
    int code = sqlite3_errcode(db_);
    std::string msg = what + ": " + sqlite3_errmsg(db_);
    if ((code & 0xff) == SQLITE_CONSTRAINT) return fail(Errc::conflict, "Conflict", msg);
    if ((code & 0xff) == SQLITE_BUSY) return fail(Errc::unavailable, "ServiceUnavailable", msg);
    return fail(Errc::internal, "StoreError", msg);
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

  Status migrate() {
    Stmt v(db_, "PRAGMA user_version");
    int version = (v && sqlite3_step(v.get()) == SQLITE_ROW) ? sqlite3_column_int(v.get(), 0) : 0;
    const auto& steps = migrations();
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
    return run("UPDATE meta SET value=?1 WHERE key='revision'", {rev});
  }

  sqlite3* db_;
  std::unordered_map<std::string, Stmt> stmts_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return fail(Errc::unavailable, "StoreError", "cannot open database " + path + ": " + msg);
  }
  auto store = std::make_unique<SqliteStore>(db);
  NT_TRY(store->init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace nt
