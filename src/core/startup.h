// Loading the store into the model at start, with the checks that keep a damaged or
// poisoned database from being served half-loaded: every row must parse (or, when asked,
// is set aside in the quarantine table), and the allocation tables must agree with the
// resources (or, when asked, are rebuilt from them).
#pragma once
#include <string>

#include "core/model.h"

namespace nt {

struct StartupOptions {
  std::string database;             // named in messages
  bool skip_bad_rows = false;       // --skip-bad-rows
  bool rebuild_allocations = false; // --rebuild-allocations
};

Status load_model(Store& store, Model& model, const StartupOptions& options);

// --migrate-from: copies every resource and allocation of `source` into `target`, which
// must be empty, in one transaction under the source's revision (ids, revision numbers and
// allocations kept). Answers how many rows it copied.
Result<size_t> migrate_store(Store& source, Store& target);

// The first few differences between the allocation tables and the resources, "" if none.
std::string allocation_differences(const std::vector<AllocChange>& stored, const std::vector<AllocChange>& derived);

}  // namespace nt
