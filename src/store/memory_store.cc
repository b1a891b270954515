// In-memory Store for unit tests: same uniqueness rules as the SQLite schema, savepoint
// semantics per apply(), and nothing durable.
#include <set>
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
    return s;
  }
  Status begin() override {
    pending_ = committed_;
    return {};
  }
  Status apply(const ChangeSet& cs, int64_t revision) override {
    State saved = pending_;
    for (const auto& a : cs.allocs)
      if (!a.claim) pending_.allocs.erase({a.kind, a.scope, a.value});
    for (const auto& a : cs.allocs) {
      if (a.claim && !pending_.allocs.insert({a.kind, a.scope, a.value}).second) {
        pending_ = std::move(saved);
        return fail(Errc::conflict, "Conflict", "UNIQUE constraint failed for " + a.scope + " " + a.value);
      }
    }
    for (const auto& r : cs.rows) {
      if (r.body) pending_.rows[r.kind][r.id] = *r.body;
      else pending_.rows[r.kind].erase(r.id);
    }
    pending_.revision = revision;
    return {};
  }
  Status commit() override {
    committed_ = pending_;
    return {};
  }
  void rollback() override { pending_ = committed_; }

 private:
  struct State {
    std::map<std::string, std::map<std::string, std::string>> rows;
    std::set<std::tuple<AllocKind, std::string, std::string>> allocs;
    int64_t revision = 0;
  };
  State committed_, pending_;
};

}  // namespace

std::unique_ptr<Store> make_memory_store() { return std::make_unique<MemoryStore>(); }

}  // namespace nt
