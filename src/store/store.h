// The Store keeps resources durably. Resources are JSON documents in one table per kind
// (networks, subnets, ports, ...), next to relational allocation tables whose primary keys
// make double allocation impossible: one IP per subnet, one MAC per network, one segment id
// per (type, physical network). Every write request gets its own global revision and its
// change-log rows. Writes arrive grouped: begin(), apply() once per request (each inside
// its own SAVEPOINT, so one request's failure leaves the others intact), commit().
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace nt {

struct RowChange {
  std::string kind;                 // table, e.g. "ports"
  std::string id;
  std::string project_id;
  std::optional<std::string> body;  // JSON text; nullopt = delete
};

enum class AllocKind { ip, mac, segment };

struct AllocChange {
  AllocKind kind;
  std::string scope;   // subnet id (ip), network id (mac), "type/physnet" (segment)
  std::string value;   // address, mac, segmentation id
  std::string owner;   // port id or network id
  bool claim = true;   // false = release
};

struct ChangeSet {
  std::vector<RowChange> rows;
  std::vector<AllocChange> allocs;
  bool empty() const { return rows.empty() && allocs.empty(); }
};

struct StoredRow {
  std::string id;
  std::string body;
};

struct LoadedState {
  std::map<std::string, std::vector<StoredRow>> rows;  // kind -> rows
  int64_t revision = 0;
  std::vector<AllocChange> allocations;  // every claimed IP, MAC and segment id, with its owner
};

class Store {
 public:
  virtual ~Store() = default;
  virtual Result<LoadedState> load() = 0;
  virtual Status begin() = 0;
  // Applies one request's changes in a savepoint, recording them under `revision`.
  // On failure the savepoint is rolled back and the error says which constraint failed.
  virtual Status apply(const ChangeSet& changes, int64_t revision) = 0;
  virtual Status commit() = 0;
  virtual void rollback() = 0;

  // Start-up repairs, each in its own transaction. quarantine() moves a row that cannot be
  // loaded to the `quarantine` table, with the allocations it owned released.
  virtual Status quarantine(const std::string& kind, const std::string& id, const std::string& reason) = 0;
  // Replaces the allocation tables with `allocs` (derived from the resources).
  virtual Status replace_allocations(const std::vector<AllocChange>& allocs) = 0;
};

// The kinds (tables) the store knows.
const std::vector<std::string>& resource_kinds();

// Opens (creating and migrating as needed) the SQLite database at `path`. A damaged file
// (PRAGMA integrity_check, or quick_check on large files) or a schema newer than this
// binary knows is refused with a message that says what to do.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path);
// A store that keeps everything in memory with the same constraint checks (unit tests).
std::unique_ptr<Store> make_memory_store();

}  // namespace nt
