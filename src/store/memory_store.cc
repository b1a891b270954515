// In-memory Store for unit tests: same uniqueness rules as the SQLite schema, savepoint
// semantics per apply(), a change log, and nothing durable. Writers of several models may
// share one: begin() holds its write lock until commit() or rollback(), as PostgreSQL's
// row lock does for servers sharing a database.
#include <map>
#include <mutex>
#include <tuple>

#include "store/store.h"

namespace nt {
namespace {

class MemoryStore final : public Store {
 public:
  Result<LoadedState> load() override {
    LoadedState s;
    for (const auto& [kind, rows] : committed_.rows)
      for (const auto& [id, body] : rows) s.rows[kind].push_back({id, body});
    s.revision = committed_.revision;
    for (const auto& [key, owner] : committed_.allocs)
      s.allocations.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), owner, true});
    return s;
  }
  Result<int64_t> begin() override {
    write_lock_.lock();
    pending_ = committed_;
    pending_log_.clear();
    return committed_.revision;
  }
  Result<std::vector<Committed>> changes_since(int64_t revision, size_t limit) override {
    std::vector<Committed> out;
    std::lock_guard g(log_mutex_);  // read without the write lock too (catching up)
    for (auto it = log_.upper_bound(revision); it != log_.end() && out.size() < limit; ++it)
      out.push_back({it->first, it->second});
    return out;
  }
  std::string describe() const override { return "memory"; }
  Status apply(const ChangeSet& cs, int64_t revision) override {
    State saved = pending_;
    for (const auto& a : cs.allocs)
      if (!a.claim) pending_.allocs.erase({a.kind, a.scope, a.value});
    for (const auto& a : cs.allocs) {
      if (a.claim && !pending_.allocs.emplace(std::tuple{a.kind, a.scope, a.value}, a.owner).second) {
        pending_ = std::move(saved);
        return fail(Errc::conflict, Origin::store, "UNIQUE constraint failed for " + a.scope + " " + a.value);
      }
    }
    for (const auto& r : cs.rows) {
      if (r.body) pending_.rows[r.kind][r.id] = *r.body;
      else pending_.rows[r.kind].erase(r.id);
    }
    pending_.revision = revision;
    pending_log_[revision] = cs;
    return {};
  }
  Status commit() override {
    committed_ = pending_;
    {
      std::lock_guard g(log_mutex_);
      log_.merge(pending_log_);
    }
    write_lock_.unlock();
    return {};
  }
  void rollback() override {
    pending_ = committed_;
    pending_log_.clear();
    write_lock_.unlock();
  }
  Status quarantine(const std::string& kind, const std::string& id, const std::string&) override {
    committed_.rows[kind].erase(id);
    std::erase_if(committed_.allocs, [&](const auto& kv) { return kv.second == id; });
    return {};
  }
  Status replace_allocations(const std::vector<AllocChange>& allocs) override {
    committed_.allocs.clear();
    for (const auto& a : allocs) committed_.allocs.emplace(std::tuple{a.kind, a.scope, a.value}, a.owner);
    return {};
  }

 private:
  struct State {
    std::map<std::string, std::map<std::string, std::string>> rows;
    std::map<std::tuple<AllocKind, std::string, std::string>, std::string> allocs;  // -> owner
    int64_t revision = 0;
  };
  State committed_, pending_;
  std::map<int64_t, ChangeSet> log_, pending_log_;
  std::mutex write_lock_, log_mutex_;
};

}  // namespace

std::unique_ptr<Store> make_memory_store() { return std::make_unique<MemoryStore>(); }

}  // namespace nt
