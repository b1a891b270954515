// PostgreSQL back end, for several servers sharing one database. Everything shared is
// decided by the database: the row lock on meta's 'revision' row is the cluster-wide write
// lock (begin() takes it, commit() releases it), every request's changes go to change_log
// for the other servers to replay, NOTIFY tells them at commit, and a session advisory lock
// picks the leader. The main connection belongs to the writer thread; the follower and the
// heartbeats have their own connections.
#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "store/postgres_url.h"
#include "store/store.h"

namespace nt {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int64_t kMigrateLockKey = 0x4e54524d4947;  // "NTRMIG": one migrating server at a time
constexpr int64_t kLeaderLockKey = 0x4e54524c4452;   // "NTRLDR": held by the leader's follower
constexpr const char* kChannel = "neutrino_changes";
constexpr int64_t kChangeLogKept = 200000;  // revisions of change log kept for catching up
constexpr int64_t kPruneEvery = 1000;

// Each entry migrates the schema from version i to i+1 (meta 'schema_version'). Never edit a
// released migration: append one. A kind added to resource_kinds() needs its table here too.
const std::vector<std::string>& pg_migrations() {
  static const std::vector<std::string> steps = {
      R"sql(
      CREATE TABLE networks (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE subnets (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE ports (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE security_groups (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE security_group_rules (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE quotas (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE routers (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE floatingips (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE agents (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE hosts (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE l3_bindings (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE address_scopes (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE subnetpools (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE port_forwardings (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE rbac_policies (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE address_groups (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE auto_allocated_topologies (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE ip_allocations (subnet_id TEXT NOT NULL, ip_address TEXT NOT NULL,
                                   port_id TEXT NOT NULL, PRIMARY KEY (subnet_id, ip_address));
      CREATE TABLE mac_allocations (network_id TEXT NOT NULL, mac_address TEXT NOT NULL,
                                    port_id TEXT NOT NULL, PRIMARY KEY (network_id, mac_address));
      CREATE TABLE segment_allocations (type_physnet TEXT NOT NULL, segmentation_id TEXT NOT NULL,
                                        network_id TEXT NOT NULL, PRIMARY KEY (type_physnet, segmentation_id));
      CREATE TABLE quarantine (kind TEXT NOT NULL, id TEXT NOT NULL, body BYTEA, reason TEXT NOT NULL,
                               at TIMESTAMPTZ NOT NULL DEFAULT now());
      CREATE TABLE change_log (revision BIGINT PRIMARY KEY, changes TEXT NOT NULL);
      CREATE TABLE heartbeats (host TEXT PRIMARY KEY, last_ms BIGINT NOT NULL, applied BIGINT NOT NULL);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('revision', '0'), ('schema_version', '0');
      )sql",
  };
  return steps;
}

nt::unexpected<Error> store_fail(Errc code, std::string message, std::string detail = "") {
  Error e{code, "", std::move(message), 0};
  e.detail = std::move(detail);
  e.origin = Origin::store;
  return nt::unexpected(std::move(e));
}

nt::unexpected<Error> unavailable(std::string detail) {
  return store_fail(Errc::unavailable, "database unavailable", std::move(detail));
}

Result<int64_t> parse_revision(const char* v, const char* where = "table meta, row revision") {
  std::string s = v ? v : "";
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
    return store_fail(Errc::internal, std::string(where) + ": '" + s + "' is not a revision number");
  return std::stoll(s);
}

using PgRes = std::unique_ptr<PGresult, decltype(&PQclear)>;

// Clients see a short sentence; the log (detail) gets the server's message and the SQL.
nt::unexpected<Error> pg_error(PGconn* conn, const PGresult* res, const std::string& what) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string msg = primary ? primary : (conn ? PQerrorMessage(conn) : "no connection");
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  std::string code = state ? state : "";
  std::string detail = what + ": " + msg + (code.empty() ? "" : " (SQLSTATE " + code + ")");
  if (!conn || PQstatus(conn) != CONNECTION_OK || code.empty() || code.rfind("08", 0) == 0 ||
      code.rfind("57P", 0) == 0)
    return unavailable(detail);
  if (code == "23505") {
    const char* constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    return store_fail(Errc::conflict,
                      "database constraint violated (unique: " + std::string(constraint ? constraint : "?") + ")", detail);
  }
  if (code.rfind("23", 0) == 0) return store_fail(Errc::conflict, "database constraint violated (" + msg + ")", detail);
  if (code == "40001" || code == "40P01")
    return store_fail(Errc::unavailable, "database is busy (" + std::string(code == "40001" ? "serialization failure" : "deadlock") +
                                             " with another server), retry",
                      detail);
  if (code == "55P03") return store_fail(Errc::unavailable, "database is busy (a lock was not granted in time)", detail);
  if (code == "57014") return store_fail(Errc::unavailable, "database is busy (statement timeout)", detail);
  return store_fail(Errc::internal, "database error (" + msg + ")", detail);
}

// One connection, reconnected on demand with a backoff (50 ms doubling to 2 s) during which
// callers fail fast with Errc::unavailable instead of blocking. Connecting is non-blocking:
// each ensure() drives the attempt for at most its budget, later calls go on with it, and
// the whole attempt is bounded by connect_timeout (libpq leaves that to the caller here).
class PgConn {
 public:
  explicit PgConn(std::string conninfo) : conninfo_(std::move(conninfo)), limit_(connect_limit(conninfo_)) {}
  PgConn(const PgConn&) = delete;
  ~PgConn() { drop(); }

  PGconn* get() const { return conn_; }
  bool ok() const { return conn_ && !connecting_ && PQstatus(conn_) == CONNECTION_OK; }
  void drop() {
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    connecting_ = false;
  }
  // Connects when there is no good connection, waiting at most `budget` in this call;
  // `fresh` tells whether this call completed a new connection.
  Status ensure(bool* fresh = nullptr, std::chrono::milliseconds budget = 50ms) {
    if (fresh) *fresh = false;
    if (ok()) return {};
    auto now = Clock::now();
    if (!connecting_) {
      if (now < next_try_) return unavailable("reconnecting: waiting for the backoff");
      drop();
      conn_ = PQconnectStart(conninfo_.c_str());
      if (!conn_ || PQstatus(conn_) == CONNECTION_BAD) return failed("");
      connecting_ = true;
      started_ = now;
      polling_ = PGRES_POLLING_WRITING;
    }
    NT_TRY(drive(now + budget));
    connecting_ = false;
    backoff_ = 50ms;
    next_try_ = {};
    if (fresh) *fresh = true;
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);  // not on stderr
    // A stuck peer's lock gives 503 instead of a hang; an abandoned transaction ends.
    auto set = command("SET statement_timeout = '60s'; SET lock_timeout = '5s'; "
                       "SET idle_in_transaction_session_timeout = '60s'");
    if (!set) drop();  // never a connection without its timeouts
    return set;
  }
  // Forgets the backoff: the connection was good until now, so trying again at once is fair.
  void retry_now() { next_try_ = {}; }

  Result<PgRes> query(const std::string& sql, const std::vector<std::string>& params = {}) {
    if (!conn_) return unavailable(sql.substr(0, 40) + ": not connected");
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PgRes res(params.empty() ? PQexec(conn_, sql.c_str())
                             : PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                            nullptr, nullptr, 0),
              &PQclear);
    auto st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return pg_error(conn_, res.get(), sql.substr(0, 60));
    return res;
  }
  Status command(const std::string& sql, const std::vector<std::string>& params = {}) {
    NT_TRY(query(sql, params));
    return {};
  }

 private:
  static std::chrono::milliseconds connect_limit(const std::string& conninfo) {
    int seconds = 2;
    if (PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), nullptr)) {
      for (auto* o = opts; o->keyword; ++o)
        if (o->val && std::string(o->keyword) == "connect_timeout") seconds = std::max(1, std::atoi(o->val));
      PQconninfoFree(opts);
    }
    return std::chrono::seconds(seconds);
  }

  // Polls the connection attempt until it succeeds, fails, or `until` passes (an attempt
  // left alone for a while gets one look before it counts as timed out).
  Status drive(Clock::time_point until) {
    for (;;) {
      if (polling_ == PGRES_POLLING_OK) return {};
      if (polling_ == PGRES_POLLING_FAILED) return failed("");
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(std::min(until, started_ + limit_) - Clock::now());
      pollfd p{PQsocket(conn_), static_cast<short>(polling_ == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
      if (p.fd < 0) return failed("no socket");
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) > 0) {
        polling_ = PQconnectPoll(conn_);
        continue;
      }
      if (Clock::now() >= started_ + limit_) return failed("timeout expired");
      if (Clock::now() >= until) return unavailable("connecting");
    }
  }

  nt::unexpected<Error> failed(const std::string& why) {
    std::string msg = why.empty() && conn_ ? PQerrorMessage(conn_) : why.empty() ? "out of memory" : why;
    drop();
    next_try_ = Clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(2000));
    return unavailable("connect: " + msg);
  }

  std::string conninfo_;
  std::chrono::milliseconds limit_;
  PGconn* conn_ = nullptr;
  bool connecting_ = false;
  PostgresPollingStatusType polling_ = PGRES_POLLING_WRITING;
  Clock::time_point started_{}, next_try_{};
  std::chrono::milliseconds backoff_ = 50ms;
};

std::string value(const PgRes& r, int row, int col) {
  const char* v = PQgetvalue(r.get(), row, col);
  return v ? v : "";
}

// --- The change log's JSON ------------------------------------------------------------

const char* alloc_kind_name(AllocKind k) {
  return k == AllocKind::ip ? "ip" : k == AllocKind::mac ? "mac" : "segment";
}

std::string encode_changes(const ChangeSet& cs) {
  boost::json::array rows, allocs;
  for (const auto& r : cs.rows) {
    boost::json::object o{{"kind", r.kind}, {"id", r.id}, {"project_id", r.project_id}};
    if (r.body) o["body"] = *r.body;
    else o["body"] = nullptr;
    rows.push_back(std::move(o));
  }
  for (const auto& a : cs.allocs)
    allocs.push_back(boost::json::object{{"kind", alloc_kind_name(a.kind)}, {"scope", a.scope}, {"value", a.value},
                                         {"owner", a.owner}, {"claim", a.claim}});
  return boost::json::serialize(boost::json::object{{"rows", std::move(rows)}, {"allocs", std::move(allocs)}});
}

const boost::json::string* str_field(const boost::json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v ? v->if_string() : nullptr;
}

bool decode_row(const boost::json::value& v, RowChange& r) {
  auto* o = v.if_object();
  if (!o) return false;
  auto *kind = str_field(*o, "kind"), *id = str_field(*o, "id"), *project = str_field(*o, "project_id");
  auto* body = o->if_contains("body");
  if (!kind || !id || !project || !body || !(body->is_null() || body->is_string())) return false;
  r = {std::string(*kind), std::string(*id), std::string(*project), std::nullopt};
  if (body->is_string()) r.body = std::string(body->get_string());
  return true;
}

bool decode_alloc(const boost::json::value& v, AllocChange& a) {
  auto* o = v.if_object();
  if (!o) return false;
  auto *kind = str_field(*o, "kind"), *scope = str_field(*o, "scope"), *val = str_field(*o, "value"),
       *owner = str_field(*o, "owner");
  auto* claim = o->if_contains("claim");
  if (!kind || !scope || !val || !owner || !claim || !claim->is_bool()) return false;
  if (*kind == "ip") a.kind = AllocKind::ip;
  else if (*kind == "mac") a.kind = AllocKind::mac;
  else if (*kind == "segment") a.kind = AllocKind::segment;
  else return false;
  a.scope = std::string(*scope), a.value = std::string(*val), a.owner = std::string(*owner);
  a.claim = claim->get_bool();
  return true;
}

Result<ChangeSet> decode_changes(const std::string& text, int64_t revision) {
  auto bad = [&](const std::string& why) {
    return store_fail(Errc::internal, "table change_log, revision " + std::to_string(revision) + ": " + why);
  };
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec) return bad("not JSON (" + ec.message() + ")");
  auto* o = v.if_object();
  auto* rows = o ? o->if_contains("rows") : nullptr;
  auto* allocs = o ? o->if_contains("allocs") : nullptr;
  if (!rows || !allocs || !rows->is_array() || !allocs->is_array()) return bad("no rows and allocs arrays");
  ChangeSet cs;
  for (const auto& r : rows->get_array())
    if (!decode_row(r, cs.rows.emplace_back())) return bad("a row without kind, id, project_id and body");
  for (const auto& a : allocs->get_array())
    if (!decode_alloc(a, cs.allocs.emplace_back())) return bad("an allocation without kind, scope, value, owner and claim");
  return cs;
}

// --- The follower ----------------------------------------------------------------------

// LISTENs on its own connection and holds the leadership lock there: the lock goes with the
// session, so a server that dies or loses the database stops leading.
class PgFollower final : public Follower {
 public:
  PgFollower(std::string conninfo, std::function<void(int64_t)> changed)
      : conn_(std::move(conninfo)), changed_(std::move(changed)), wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    thread_ = std::thread([this] { run(); });
  }
  ~PgFollower() override {
    stop_ = true;
    uint64_t one = 1;
    if (wake_ >= 0) (void)!::write(wake_, &one, sizeof one);
    thread_.join();
    conn_.drop();
    if (wake_ >= 0) ::close(wake_);
  }
  bool leader() const override { return leader_; }

 private:
  static constexpr auto kCatchUp = 5s;  // changed(0) this often, in case a NOTIFY was missed

  void run() {
    auto last_catch_up = Clock::now();
    while (!stop_) {
      if (!conn_.ok()) leader_ = false;
      bool fresh = false;
      if (conn_.ensure(&fresh, 250ms) && fresh) {
        if (!conn_.command(std::string("LISTEN ") + kChannel)) conn_.drop();
        else changed_(0), last_catch_up = Clock::now();
      }
      if (conn_.ok() && !leader_) try_lead();
      if (conn_.ok()) deliver();
      wait();
      if (Clock::now() - last_catch_up >= kCatchUp) changed_(0), last_catch_up = Clock::now();
    }
    leader_ = false;
  }

  void try_lead() {
    auto r = conn_.query("SELECT pg_try_advisory_lock($1)", {std::to_string(kLeaderLockKey)});
    leader_ = r && PQntuples(r->get()) == 1 && value(*r, 0, 0) == "t";
  }

  // Waits up to a second for the socket (notifications) or the wake-up event.
  void wait() {
    pollfd fds[2] = {{wake_, POLLIN, 0}, {conn_.ok() ? PQsocket(conn_.get()) : -1, POLLIN, 0}};
    if (::poll(fds, 2, conn_.ok() ? 1000 : 50) <= 0 || stop_) return;
    if ((fds[1].revents & (POLLIN | POLLERR | POLLHUP)) && PQconsumeInput(conn_.get()) == 0) {
      conn_.drop();  // the leadership lock went with the session
      leader_ = false;
      return;
    }
    deliver();
  }

  void deliver() {
    while (PGnotify* n = PQnotifies(conn_.get())) {
      std::string payload = n->extra ? n->extra : "";
      PQfreemem(n);
      auto rev = parse_revision(payload.c_str());
      changed_(rev ? *rev : 0);
    }
  }

  PgConn conn_;
  std::function<void(int64_t)> changed_;
  int wake_;
  std::atomic<bool> stop_{false}, leader_{false};
  std::thread thread_;
};

// --- The store -------------------------------------------------------------------------

bool known_kind(const std::string& kind) {
  return std::find(resource_kinds().begin(), resource_kinds().end(), kind) != resource_kinds().end();
}

class PgStore final : public Store {
 public:
  PgStore(std::string conninfo, std::string described)
      : conninfo_(std::move(conninfo)), described_(std::move(described)), conn_(conninfo_) {}

  Status init() {
    NT_TRY(conn_.ensure(nullptr, 60s));  // at start-up: the whole connect_timeout
    return migrate();
  }

  // One snapshot, consistent while other servers write.
  Result<LoadedState> load() override {
    NT_TRY(start("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    auto state = read_state();
    (void)conn_.command(state ? "COMMIT" : "ROLLBACK");
    return state;
  }

  Result<int64_t> begin() override {
    NT_TRY(start("BEGIN"));
    pending_ = -1;
    in_transaction_ = true;
    // The row lock on 'revision' is the cluster-wide write lock, held until commit/rollback.
    auto revision = revision_row(" FOR UPDATE");
    if (!revision) rollback();
    return revision;
  }

  // Inside begin()'s transaction or on its own (a catch-up without the write lock: commits
  // are made one at a time under it, so the log read is always a prefix of the history).
  Result<std::vector<Committed>> changes_since(int64_t revision, size_t limit) override {
    if (!in_transaction_) NT_TRY(conn_.ensure());  // never reconnect under a transaction
    auto capped = std::min<size_t>(limit, static_cast<size_t>(INT64_MAX));
    NT_ASSIGN(auto r, conn_.query("SELECT revision, changes FROM change_log WHERE revision > $1 ORDER BY revision LIMIT $2",
                                  {std::to_string(revision), std::to_string(capped)}));
    std::vector<Committed> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      NT_ASSIGN(int64_t rev, parse_revision(PQgetvalue(r.get(), i, 0), "table change_log"));
      NT_ASSIGN(auto changes, decode_changes(value(r, i, 1), rev));
      out.push_back({rev, std::move(changes)});
    }
    return out;
  }

  // One round trip per request: the savepoint, the statements and the change log row go
  // as one script of escaped literals (a failing statement skips the rest; the savepoint
  // is then rolled back alone).
  Status apply(const ChangeSet& cs, int64_t revision) override {
    auto script = request_script(cs, revision);
    if (!script) return nt::unexpected(script.error());
    auto result = conn_.command(*script);
    if (!result) {
      (void)conn_.command("ROLLBACK TO SAVEPOINT req; RELEASE SAVEPOINT req");
      return result;
    }
    pending_ = std::max(pending_, revision);
    return {};
  }

  // The group's revision, its notification (delivered by the database at COMMIT, never
  // before) and the COMMIT in one round trip.
  Status commit() override {
    std::string script;
    if (pending_ >= 0) {
      auto rev = std::to_string(pending_);
      script = "UPDATE meta SET value='" + rev + "' WHERE key='revision'; SELECT pg_notify('" + std::string(kChannel) +
               "', '" + rev + "'); ";
      // The change log keeps the last kChangeLogKept revisions (a server further behind
      // than that cannot replay and says so); pruned every kPruneEvery revisions.
      if (pending_ / kPruneEvery != pruned_at_ / kPruneEvery) {
        script += "DELETE FROM change_log WHERE revision <= " + std::to_string(pending_ - kChangeLogKept) + "; ";
        pruned_at_ = pending_;
      }
    }
    pending_ = -1;
    in_transaction_ = false;
    auto r = conn_.query(script + "COMMIT");
    if (!r) {
      (void)conn_.command("ROLLBACK");
      return nt::unexpected(r.error());
    }
    if (std::string(PQcmdStatus(r->get())) != "COMMIT")
      return store_fail(Errc::internal, "database rolled the transaction back", PQcmdStatus(r->get()));
    return {};
  }

  void rollback() override {
    pending_ = -1;
    in_transaction_ = false;
    (void)conn_.command("ROLLBACK");
  }

  std::unique_ptr<Follower> follow(std::function<void(int64_t)> changed) override {
    return std::make_unique<PgFollower>(conninfo_, std::move(changed));
  }

  // Called from the server's sweeper thread: a connection of their own.
  Status publish_beats(const std::vector<Beat>& beats) override {
    std::lock_guard lock(beats_mu_);
    NT_TRY(beats_conn().ensure(nullptr, 500ms));
    auto sorted = beats;  // one order for every server: no deadlock between two publishers
    std::sort(sorted.begin(), sorted.end(), [](const Beat& a, const Beat& b) { return a.host < b.host; });
    NT_TRY(beats_->command("BEGIN"));
    for (const auto& b : sorted) {
      auto r = beats_->command(
          "INSERT INTO heartbeats (host, last_ms, applied) VALUES ($1, $2, $3) ON CONFLICT (host) DO UPDATE SET "
          "last_ms = GREATEST(heartbeats.last_ms, EXCLUDED.last_ms), applied = GREATEST(heartbeats.applied, EXCLUDED.applied)",
          {b.host, std::to_string(b.last_ms), std::to_string(b.applied)});
      if (!r) return (void)beats_->command("ROLLBACK"), r;
    }
    return beats_->command("COMMIT");
  }

  Result<std::vector<Beat>> beats() override {
    std::lock_guard lock(beats_mu_);
    NT_TRY(beats_conn().ensure(nullptr, 500ms));
    NT_ASSIGN(auto r, beats_->query("SELECT host, last_ms, applied FROM heartbeats ORDER BY host"));
    std::vector<Beat> out;
    for (int i = 0; i < PQntuples(r.get()); ++i)
      out.push_back({value(r, i, 0), std::stoll(value(r, i, 1)), std::stoll(value(r, i, 2))});
    return out;
  }

  std::string describe() const override { return described_; }

  Status quarantine(const std::string& kind, const std::string& id, const std::string& reason) override {
    if (!known_kind(kind)) return store_fail(Errc::internal, "no table " + kind);
    return in_transaction([&]() -> Status {
      NT_TRY(conn_.command("INSERT INTO quarantine (kind, id, body, reason) SELECT $1::text, id, convert_to(body, 'UTF8'), "
                           "$3::text FROM " + kind + " WHERE id=$2",
                           {kind, id, reason}));
      NT_TRY(conn_.command("DELETE FROM " + kind + " WHERE id=$1", {id}));
      for (const char* t : {"DELETE FROM ip_allocations WHERE port_id=$1", "DELETE FROM mac_allocations WHERE port_id=$1",
                            "DELETE FROM segment_allocations WHERE network_id=$1"})
        NT_TRY(conn_.command(t, {id}));
      return {};
    });
  }

  Status replace_allocations(const std::vector<AllocChange>& allocs) override {
    return in_transaction([&]() -> Status {
      NT_TRY(conn_.command("DELETE FROM ip_allocations; DELETE FROM mac_allocations; DELETE FROM segment_allocations"));
      for (const auto& a : allocs) NT_TRY(apply_alloc(a));
      return {};
    });
  }

 private:
  // Opens a transaction, (re)connecting as needed.
  Status start(const char* sql) {
    bool fresh = false;
    NT_TRY(conn_.ensure(&fresh));
    auto began = conn_.command(sql);
    if (!began && !fresh && !conn_.ok()) {
      // The connection died while idle (a database restart): nothing is lost by a new one.
      conn_.retry_now();
      NT_TRY(conn_.ensure());
      began = conn_.command(sql);
    }
    return began;
  }

  PgConn& beats_conn() {
    if (!beats_) beats_ = std::make_unique<PgConn>(conninfo_);
    return *beats_;
  }

  // Under the write lock (begin()), as every write is.
  template <class Fn>
  Status in_transaction(Fn&& fn) {
    NT_TRY(begin());
    auto r = fn();
    if (!r) return rollback(), r;
    return commit();
  }

  Result<int64_t> revision_row(const char* suffix) {
    NT_ASSIGN(auto r, conn_.query(std::string("SELECT value FROM meta WHERE key='revision'") + suffix));
    if (PQntuples(r.get()) != 1) return store_fail(Errc::internal, "table meta has no revision row");
    return parse_revision(PQgetvalue(r.get(), 0, 0));
  }

  Result<LoadedState> read_state() {
    LoadedState state;
    for (const auto& kind : resource_kinds()) {
      auto& rows = state.rows[kind];
      NT_ASSIGN(auto r, conn_.query("SELECT id, body FROM " + kind + " ORDER BY id"));
      for (int i = 0; i < PQntuples(r.get()); ++i) rows.push_back({value(r, i, 0), value(r, i, 1)});
    }
    static const std::pair<AllocKind, const char*> allocs[] = {
        {AllocKind::ip, "SELECT subnet_id, ip_address, port_id FROM ip_allocations"},
        {AllocKind::mac, "SELECT network_id, mac_address, port_id FROM mac_allocations"},
        {AllocKind::segment, "SELECT type_physnet, segmentation_id, network_id FROM segment_allocations"}};
    for (const auto& [kind, sql] : allocs) {
      NT_ASSIGN(auto r, conn_.query(sql));
      for (int i = 0; i < PQntuples(r.get()); ++i)
        state.allocations.push_back({kind, value(r, i, 0), value(r, i, 1), value(r, i, 2), true});
    }
    NT_ASSIGN(state.revision, revision_row(""));
    return state;
  }

  Status apply_alloc(const AllocChange& a) {
    static const char* inserts[] = {"INSERT INTO ip_allocations (subnet_id, ip_address, port_id) VALUES ($1, $2, $3)",
                                    "INSERT INTO mac_allocations (network_id, mac_address, port_id) VALUES ($1, $2, $3)",
                                    "INSERT INTO segment_allocations (type_physnet, segmentation_id, network_id) "
                                    "VALUES ($1, $2, $3)"};
    static const char* deletes[] = {"DELETE FROM ip_allocations WHERE subnet_id=$1 AND ip_address=$2",
                                    "DELETE FROM mac_allocations WHERE network_id=$1 AND mac_address=$2",
                                    "DELETE FROM segment_allocations WHERE type_physnet=$1 AND segmentation_id=$2"};
    int k = static_cast<int>(a.kind);
    if (a.claim) return conn_.command(inserts[k], {a.scope, a.value, a.owner});
    return conn_.command(deletes[k], {a.scope, a.value});
  }

  // A value as an SQL literal, escaped by libpq for this connection's settings.
  Result<std::string> literal(const std::string& v) {
    char* q = PQescapeLiteral(conn_.get(), v.data(), v.size());
    if (!q) return unavailable("cannot escape a value: " + std::string(PQerrorMessage(conn_.get())));
    std::string out(q);
    PQfreemem(q);
    return out;
  }

  Result<std::string> alloc_statement(const AllocChange& a) {
    static const char* inserts[] = {"INSERT INTO ip_allocations (subnet_id, ip_address, port_id) VALUES (",
                                    "INSERT INTO mac_allocations (network_id, mac_address, port_id) VALUES (",
                                    "INSERT INTO segment_allocations (type_physnet, segmentation_id, network_id) VALUES ("};
    static const char* deletes[][2] = {{"DELETE FROM ip_allocations WHERE subnet_id=", " AND ip_address="},
                                       {"DELETE FROM mac_allocations WHERE network_id=", " AND mac_address="},
                                       {"DELETE FROM segment_allocations WHERE type_physnet=", " AND segmentation_id="}};
    int k = static_cast<int>(a.kind);
    NT_ASSIGN(auto scope, literal(a.scope));
    NT_ASSIGN(auto value, literal(a.value));
    if (!a.claim) return std::string(deletes[k][0]) + scope + deletes[k][1] + value + ";\n";
    NT_ASSIGN(auto owner, literal(a.owner));
    return std::string(inserts[k]) + scope + ", " + value + ", " + owner + ");\n";
  }

  Result<std::string> request_script(const ChangeSet& cs, int64_t revision) {
    std::string sql = "SAVEPOINT req;\n";
    // Releases first, so that a request may release and re-claim the same value.
    for (int pass = 0; pass < 2; ++pass)
      for (const auto& a : cs.allocs)
        if (a.claim == (pass == 1)) {
          NT_ASSIGN(auto st, alloc_statement(a));
          sql += st;
        }
    for (const auto& r : cs.rows) {
      if (!known_kind(r.kind)) return store_fail(Errc::internal, "no table " + r.kind);
      NT_ASSIGN(auto id, literal(r.id));
      if (!r.body) {
        sql += "DELETE FROM " + r.kind + " WHERE id=" + id + ";\n";
        continue;
      }
      NT_ASSIGN(auto project, literal(r.project_id));
      NT_ASSIGN(auto body, literal(*r.body));
      sql += "INSERT INTO " + r.kind + " (id, project_id, body) VALUES (" + id + ", " + project + ", " + body +
             ") ON CONFLICT (id) DO UPDATE SET project_id = EXCLUDED.project_id, body = EXCLUDED.body;\n";
    }
    NT_ASSIGN(auto changes, literal(encode_changes(cs)));
    sql += "INSERT INTO change_log (revision, changes) VALUES (" + std::to_string(revision) + ", " + changes + ");\n";
    return sql + "RELEASE SAVEPOINT req";
  }

  // Each step in its own transaction, under an advisory lock: servers starting together
  // against an empty database migrate one after the other.
  Status migrate() {
    for (;;) {
      NT_TRY(conn_.command("BEGIN"));
      auto done = migrate_step();
      if (!done) return (void)conn_.command("ROLLBACK"), nt::unexpected(std::move(done).error());
      NT_TRY(conn_.command("COMMIT"));
      if (*done) return {};
    }
  }

  // Result: whether the schema is now current.
  Result<bool> migrate_step() {
    const auto& steps = pg_migrations();
    NT_TRY(conn_.command("SELECT pg_advisory_xact_lock($1)", {std::to_string(kMigrateLockKey)}));
    NT_ASSIGN(auto exists, conn_.query("SELECT to_regclass('meta') IS NOT NULL"));
    size_t version = 0;
    if (value(exists, 0, 0) == "t") {
      NT_ASSIGN(auto r, conn_.query("SELECT value FROM meta WHERE key='schema_version'"));
      auto parsed = PQntuples(r.get()) == 1 ? parse_revision(PQgetvalue(r.get(), 0, 0)) : Result<int64_t>(-1);
      if (!parsed || *parsed < 0)
        return store_fail(Errc::internal, "database " + described_ + " has a table meta without a schema_version: "
                                          "not a Neutrino database, or a damaged one");
      version = static_cast<size_t>(*parsed);
    }
    if (version > steps.size())
      return store_fail(Errc::internal, "database " + described_ + " has schema version " + std::to_string(version) +
                                            ", newer than this binary knows (" + std::to_string(steps.size()) +
                                            "): run the neutrino-server that wrote it");
    if (version == steps.size()) return true;
    NT_TRY(conn_.command(steps[version]));
    NT_TRY(conn_.command("UPDATE meta SET value=$1 WHERE key='schema_version'", {std::to_string(version + 1)}));
    return version + 1 == steps.size();
  }

  std::string conninfo_, described_;
  PgConn conn_;              // the writer thread's
  int64_t pending_ = -1;     // the latest revision applied in this transaction
  int64_t pruned_at_ = 0;    // the revision of the last commit that pruned the change log
  bool in_transaction_ = false;
  std::mutex beats_mu_;
  std::unique_ptr<PgConn> beats_;
};

// A keyword=value conninfo, shown as a URL without its password.
Result<std::string> describe_conninfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (!opts) {
    std::string msg = err ? err : "out of memory";
    if (err) PQfreemem(err);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return fail(Errc::invalid_argument, Origin::config, "database connection string: " + msg);
  }
  PgTarget t;
  for (auto* o = opts; o->keyword; ++o) {
    if (!o->val || !*o->val) continue;
    std::string k = o->keyword, v = o->val;
    if (k == "host") t.host = v;
    else if (k == "port") t.port = v;
    else if (k == "user") t.user = v;
    else if (k == "dbname") t.dbname = v;
    else if (k == "password") t.password = v;
    else if (k.find("pass") == std::string::npos) t.options.emplace_back(k, v);
  }
  PQconninfoFree(opts);
  return t.describe();
}

}  // namespace

size_t postgres_schema_version() { return pg_migrations().size(); }

Result<std::unique_ptr<Store>> open_postgres_store(const std::string& spec) {
  std::string conninfo, described;
  if (is_postgres_url(spec)) {
    NT_ASSIGN(auto target, parse_postgres_url(spec));
    conninfo = target.conninfo();
    described = target.describe();
  } else {
    NT_ASSIGN(described, describe_conninfo(spec));
    conninfo = spec;
  }
  // Defaults first: the caller's own settings come later and win.
  // Keepalives find a dead peer of an idle connection, tcp_user_timeout one that stopped
  // acknowledging what was sent (a writer never waits on a vanished database for long).
  // The database's side gets keepalives too: a leader whose host vanished without closing
  // its connection loses its session (and the leadership lock) in about 25 s, not hours.
  conninfo = "connect_timeout=2 keepalives=1 keepalives_idle=10 keepalives_interval=5 keepalives_count=3 "
             "tcp_user_timeout=15000 "
             "options='-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3' "
             "application_name=neutrino-server " + conninfo + " client_encoding=UTF8";
  auto store = std::make_unique<PgStore>(conninfo, described);
  if (auto r = store->init(); !r) {
    auto e = r.error();
    e.message = "database " + described + ": " + e.message + (e.detail.empty() ? "" : " (" + e.detail + ")");
    return nt::unexpected(std::move(e));
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace nt
