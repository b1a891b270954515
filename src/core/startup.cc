#include "core/startup.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include <map>
#include <tuple>

namespace nt {
namespace {

using AllocKey = std::tuple<AllocKind, std::string, std::string>;

std::map<AllocKey, std::string> by_key(const std::vector<AllocChange>& allocs) {
  std::map<AllocKey, std::string> out;
  for (const auto& a : allocs) out[{a.kind, a.scope, a.value}] = a.owner;
  return out;
}

std::string describe(const AllocKey& k) {
  static const char* kinds[] = {"IP", "MAC", "segment"};
  return std::string(kinds[static_cast<int>(std::get<0>(k))]) + " " + std::get<2>(k) + " in " + std::get<1>(k);
}

Status quarantine_bad_rows(Store& store, const std::vector<BadRow>& bad) {
  for (const auto& row : bad) {
    spdlog::warn("set aside table {}, row {} ({}) in the quarantine table", row.kind, row.id, row.reason);
    NT_TRY(store.quarantine(row.kind, row.id, row.reason));
  }
  return {};
}

}  // namespace

std::string allocation_differences(const std::vector<AllocChange>& stored, const std::vector<AllocChange>& derived) {
  auto have = by_key(stored), want = by_key(derived);
  std::vector<std::string> found;
  for (const auto& [key, owner] : want) {
    auto it = have.find(key);
    if (it == have.end()) found.push_back(describe(key) + " held by " + owner + " is not allocated");
    else if (it->second != owner) found.push_back(describe(key) + " is allocated to " + it->second + ", held by " + owner);
  }
  for (const auto& [key, owner] : have)
    if (!want.count(key)) found.push_back(describe(key) + " is allocated to " + owner + ", which does not hold it");
  std::string out;
  for (size_t i = 0; i < found.size() && i < 5; ++i) out += (i ? "; " : "") + found[i];
  if (found.size() > 5) out += "; and " + std::to_string(found.size() - 5) + " more";
  return out;
}

Status load_model(Store& store, Model& model, const StartupOptions& o) {
  auto state = store.load();
  if (!state) return nt::unexpected(state.error());
  std::vector<BadRow> bad;
  NT_TRY(model.load(*state, o.skip_bad_rows ? &bad : nullptr));
  if (!bad.empty()) {
    NT_TRY(quarantine_bad_rows(store, bad));
    state = store.load();  // the set-aside rows' allocations are gone too
    if (!state) return nt::unexpected(state.error());
  }
  auto derived = derived_allocations(model);
  if (o.rebuild_allocations) {
    spdlog::warn("rebuilding the allocation tables from the resources ({} entries)", derived.size());
    return store.replace_allocations(derived);
  }
  if (auto diff = allocation_differences(state->allocations, derived); !diff.empty())
    return fail(Errc::internal, Origin::store,
                "the allocation tables of " + o.database + " disagree with the resources: " + diff +
                    ". Keep a copy of the file; start once with --rebuild-allocations to rebuild them from the resources.");
  return {};
}

Result<size_t> migrate_store(Store& source, Store& target) {
  NT_ASSIGN(auto from, source.load());
  NT_ASSIGN(auto there, target.load());
  size_t rows_there = 0;
  for (const auto& [kind, rows] : there.rows) rows_there += rows.size();
  if (there.revision != 0 || rows_there != 0)
    return fail(Errc::conflict, Origin::store,
                target.describe() + " is not empty (revision " + std::to_string(there.revision) + ", " +
                    std::to_string(rows_there) + " rows): --migrate-from copies into an empty database only");
  Model check;  // what cannot be loaded is not copied either
  NT_TRY(check.load(from));
  ChangeSet all;
  for (const auto& [kind, rows] : from.rows)
    for (const auto& row : rows) {
      const Obj* o = check.find(kind, row.id);
      all.rows.push_back({kind, row.id, o ? project_of(*o) : "", row.body});
    }
  all.allocs = from.allocations;
  NT_ASSIGN(auto latest, target.begin());
  (void)latest;
  if (auto r = target.apply(all, std::max<int64_t>(from.revision, 1)); !r) {
    target.rollback();
    return nt::unexpected(r.error());
  }
  NT_TRY(target.commit());
  return all.rows.size();
}

}  // namespace nt
