#include "core/startup.h"

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

}  // namespace nt
