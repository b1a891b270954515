// The Store keeps resources durably. Resources are JSON documents in one table per kind
// (networks, subnets, ports, ...), next to relational allocation tables whose primary keys
// make double allocation impossible: one IP per subnet, one MAC per network, one segment id
// per (type, physical network). Every write request gets its own global revision and its
// change-log rows. Writes arrive grouped: begin(), apply() once per request (each inside
// its own SAVEPOINT, so one request's failure leaves the others intact), commit().
//
// A store may be shared by several servers (PostgreSQL): begin() then takes the database's
// write lock, so that one server writes at a time, and answers the latest committed
// revision; a server whose model is behind replays changes_since() first, and its requests
// are decided against everything committed before them. follow() tells a server of other
// servers' commits while it is idle.
#pragma once
#include <cstdint>
#include <functional>
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

// One committed request as the change log keeps it: what a server replays of the others.
struct Committed {
  int64_t revision = 0;
  ChangeSet changes;
};

// An agent host's heartbeat and applied revision as one server saw them (shared through a
// store that several servers use, so that liveness is decided once, by the leader).
struct Beat {
  std::string host;
  int64_t last_ms = 0;
  int64_t applied = -1;  // -1: not reported
};

// Runs while the server follows a shared store: a thread of the store's calling `changed`
// with each revision another server announces (and after a reconnection, with 0: "catch up").
class Follower {
 public:
  virtual ~Follower() = default;
  // Whether this server holds the store's leadership (one server runs liveness sweeps and
  // gateway scheduling); always true for a store of one server.
  virtual bool leader() const = 0;
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
  // Opens the write transaction; answers the latest revision committed to the store (by
  // any server). Errc::unavailable when the database cannot be reached (writes get 503).
  virtual Result<int64_t> begin() = 0;
  // The committed requests after `revision`, oldest first, at most `limit`; inside begin()'s
  // transaction or outside one (what it shows is always a prefix of the history). A store
  // only this server writes never has any to offer.
  virtual Result<std::vector<Committed>> changes_since(int64_t revision, size_t limit) = 0;
  // Applies one request's changes in a savepoint, recording them under `revision`.
  // On failure the savepoint is rolled back and the error says which constraint failed.
  virtual Status apply(const ChangeSet& changes, int64_t revision) = 0;
  virtual Status commit() = 0;
  virtual void rollback() = 0;
  // Write-ahead log checkpoints made off the commits' path so far (SQLite; any thread).
  virtual int64_t background_checkpoints() const { return 0; }

  // Shared stores: starts following other servers' commits (nullptr for a store of one
  // server: there is nothing to follow and this server leads).
  virtual std::unique_ptr<Follower> follow(std::function<void(int64_t revision)> changed) {
    (void)changed;
    return nullptr;
  }
  // Shared stores: publishes this server's heartbeats and reads everyone's (a store of one
  // server keeps none: its liveness lives in memory).
  virtual Status publish_beats(const std::vector<Beat>& beats) {
    (void)beats;
    return {};
  }
  virtual Result<std::vector<Beat>> beats() { return std::vector<Beat>{}; }
  // What the store is, for logs ("sqlite:///var/lib/neutrino/neutrino.db", a PostgreSQL
  // URL without its password).
  virtual std::string describe() const = 0;

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
// Opens a PostgreSQL database (libpq conninfo or URL, see postgres_url.h), creating and
// migrating the schema as needed; a schema newer than this binary knows is refused.
Result<std::unique_ptr<Store>> open_postgres_store(const std::string& conninfo);
// --check-config: connects without changing anything; says the server's version and the
// schema version found (or that the schema will be created at start).
Result<std::string> check_postgres_store(const std::string& conninfo);
size_t postgres_schema_version();  // the schema version this binary migrates PostgreSQL to
// A store that keeps everything in memory with the same constraint checks (unit tests).
// Several servers' writers may share one (its begin() is the shared write lock).
std::unique_ptr<Store> make_memory_store();

}  // namespace nt
