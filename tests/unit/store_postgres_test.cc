// The PostgreSQL store against a real throwaway cluster (pg_cluster.h): URL parsing,
// migrations (idempotent, concurrent, a newer schema refused), groups of requests with a
// failing one, the change log, two servers sharing the write lock, LISTEN/NOTIFY, the
// leadership lock, connection loss and recovery, heartbeats.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "pg_cluster.h"
#include "store/postgres_url.h"
#include "store/store.h"

namespace nt {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// --- URLs --------------------------------------------------------------------------------

std::string conninfo_value(const std::string& conninfo, const std::string& key) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (!opts) {
    std::string msg = err ? err : "?";
    PQfreemem(err);
    return "PARSE ERROR: " + msg;
  }
  std::string out;
  for (auto* o = opts; o->keyword; ++o)
    if (o->val && key == o->keyword) out = o->val;
  PQconninfoFree(opts);
  return out;
}

TEST(PgUrl, NeutronSpelling) {
  auto t = parse_postgres_url("postgresql+psycopg2://neutron:secret@db.example:5433/neutron");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->user, "neutron");
  EXPECT_EQ(t->password, "secret");
  EXPECT_EQ(t->host, "db.example");
  EXPECT_EQ(t->port, "5433");
  EXPECT_EQ(t->dbname, "neutron");
  EXPECT_EQ(t->conninfo(), "host='db.example' port='5433' user='neutron' password='secret' dbname='neutron'");
  EXPECT_EQ(t->describe(), "postgresql://neutron:***@db.example:5433/neutron");
  ASSERT_TRUE(parse_postgres_url("postgres://u@h/d"));
  ASSERT_TRUE(parse_postgres_url("postgresql://h/d"));
}

TEST(PgUrl, UnixSocketAndOptions) {
  auto t = parse_postgres_url("postgresql://neutron@/neutron?host=/run/postgresql&sslmode=require&connect_timeout=3");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->host, "/run/postgresql");
  EXPECT_EQ(conninfo_value(t->conninfo(), "host"), "/run/postgresql");
  EXPECT_EQ(conninfo_value(t->conninfo(), "sslmode"), "require");
  EXPECT_EQ(conninfo_value(t->conninfo(), "connect_timeout"), "3");
  EXPECT_EQ(t->describe(), "postgresql://neutron@/neutron?host=/run/postgresql&sslmode=require&connect_timeout=3");
  auto def = parse_postgres_url("postgresql:///neutron");  // libpq's default socket
  ASSERT_TRUE(def) << def.error().message;
  EXPECT_EQ(def->host, "");
  EXPECT_EQ(def->conninfo(), "dbname='neutron'");
}

TEST(PgUrl, PercentEscapesAndAwkwardPasswords) {
  auto t = parse_postgres_url("postgresql://u%40x:p%40ss%3Aw%2Fo%27rd%5C%20@h/d%2Fb");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->user, "u@x");
  EXPECT_EQ(t->password, "p@ss:w/o'rd\\ ");
  EXPECT_EQ(t->dbname, "d/b");
  // libpq reads back exactly what was meant.
  EXPECT_EQ(conninfo_value(t->conninfo(), "password"), "p@ss:w/o'rd\\ ");
  EXPECT_EQ(conninfo_value(t->conninfo(), "user"), "u@x");
  EXPECT_EQ(t->describe(), "postgresql://u%40x:***@h/d%2Fb");
  // A raw '@' or ':' in a password: the last '@' ends the user part.
  auto raw = parse_postgres_url("postgresql://u:p@s:s@h:5432/db");
  ASSERT_TRUE(raw) << raw.error().message;
  EXPECT_EQ(raw->password, "p@s:s");
  EXPECT_EQ(raw->host, "h");
}

TEST(PgUrl, Ipv6) {
  auto t = parse_postgres_url("postgresql://u:p@[::1]:5433/db");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->port, "5433");
  EXPECT_EQ(t->describe(), "postgresql://u:***@[::1]:5433/db");
  auto noport = parse_postgres_url("postgresql://[fd00::5]/db");
  ASSERT_TRUE(noport) << noport.error().message;
  EXPECT_EQ(noport->host, "fd00::5");
}

TEST(PgUrl, ErrorsSayWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"garbage", "'://' is missing"},
      {"mysql://u@h/db", "unsupported scheme 'mysql'"},
      {"postgresql://u@h", "database name is missing"},
      {"postgresql://u@h/", "database name is missing"},
      {"postgresql://u@h:99999/db", "bad port '99999'"},
      {"postgresql://u@h:abc/db", "bad port 'abc'"},
      {"postgresql://u@h:/db", "empty port"},
      {"postgresql://u@h/db?foo=1", "unknown query option 'foo'"},
      {"postgresql://u@h/db?sslmode", "has no value"},
      {"postgresql://u@h/db?sslmode=bogus", "sslmode 'bogus'"},
      {"postgresql://u@h/db?connect_timeout=soon", "connect_timeout 'soon'"},
      {"postgresql://u:p%zz@h/db", "bad percent escape in the password"},
      {"postgresql://u@h/d%4", "bad percent escape in the database name"},
      {"postgresql://u@::1/db", "brackets"},
      {"postgresql://u@[::1/db", "unterminated ["},
      {"postgresql://u@h:5432/db?port=5433", "port is given both"},
      {"postgresql://:p@h/db", "empty user name"},
      {"postgresql://u@h/a/b", "must be percent-encoded"},
  };
  for (const auto& [url, want] : cases) {
    auto t = parse_postgres_url(url);
    ASSERT_FALSE(t) << url;
    EXPECT_EQ(t.error().code, Errc::invalid_argument) << url;
    EXPECT_NE(t.error().message.find(want), std::string::npos) << url << " -> " << t.error().message;
    EXPECT_NE(t.error().message.find("postgresql://user:password@host:port/dbname"), std::string::npos) << url;
  }
  auto secret = parse_postgres_url("postgresql://u:sekrit@h:bad/db");
  ASSERT_FALSE(secret);
  EXPECT_EQ(secret.error().message.find("sekrit"), std::string::npos) << secret.error().message;
}

// --- The store on a real cluster ------------------------------------------------------

class PgStore : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new test::PgCluster(); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(cluster_->error().empty()) << cluster_->error();
    db_ = cluster_->create_database();
    ASSERT_FALSE(db_.empty()) << "CREATE DATABASE failed";
  }
  std::unique_ptr<Store> open() {
    auto s = open_postgres_store(cluster_->url(db_));
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }
  std::string scalar(const std::string& sql) { return cluster_->scalar(db_, sql); }

  static test::PgCluster* cluster_;
  std::string db_;
};
test::PgCluster* PgStore::cluster_ = nullptr;

ChangeSet port(const std::string& id, const std::string& ip) {
  ChangeSet cs;
  cs.rows.push_back({"ports", id, "p", "{\"id\":\"" + id + "\"}"});
  cs.allocs.push_back({AllocKind::ip, "subnet1", ip, id, true});
  return cs;
}

std::string show(const ChangeSet& cs) {
  std::string out;
  for (const auto& r : cs.rows) out += r.kind + "/" + r.id + "/" + r.project_id + "=" + (r.body ? *r.body : "<null>") + ";";
  for (const auto& a : cs.allocs)
    out += std::to_string(static_cast<int>(a.kind)) + ":" + a.scope + ":" + a.value + ":" + a.owner + (a.claim ? "+" : "-") + ";";
  return out;
}

// Waits for `cond` up to `deadline`; answers whether it came true.
template <class Fn>
bool eventually(Fn&& cond, std::chrono::milliseconds deadline = 5000ms) {
  auto end = Clock::now() + deadline;
  while (!cond()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

TEST_F(PgStore, MigratesOnceAndRefusesANewerSchema) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(scalar("SELECT value FROM meta WHERE key='schema_version'"), "1");
  EXPECT_EQ(store->describe(), "postgresql://postgres@/" + db_ + "?host=" + cluster_->socket_dir());
  store.reset();
  ASSERT_TRUE(open());  // idempotent
  EXPECT_EQ(scalar("SELECT value FROM meta WHERE key='schema_version'"), "1");
  auto keyword = open_postgres_store(cluster_->conninfo(db_) + " password='hush'");  // libpq's own form
  ASSERT_TRUE(keyword) << keyword.error().message;
  EXPECT_EQ((*keyword)->describe(), "postgresql://postgres:***@/" + db_ + "?host=" + cluster_->socket_dir());
  ASSERT_EQ(cluster_->exec(db_, "UPDATE meta SET value='99' WHERE key='schema_version'"), "");
  auto newer = open_postgres_store(cluster_->url(db_));
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().message.find("has schema version 99, newer than this binary knows (1)"), std::string::npos)
      << newer.error().message;
}

TEST_F(PgStore, ThreeServersMigrateAnEmptyDatabaseAtOnce) {
  std::atomic<int> opened{0};
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> errors;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&] {
      auto s = open_postgres_store(cluster_->conninfo(db_));
      if (s) {
        ++opened;
      } else {
        std::lock_guard lock(mu);
        errors.push_back(s.error().message);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened, 3) << (errors.empty() ? "" : errors[0]);
  EXPECT_EQ(scalar("SELECT value FROM meta WHERE key='schema_version'"), "1");
}

TEST_F(PgStore, CommittedGroupLoadsAsApplied) {
  auto store = open();
  ASSERT_TRUE(store);
  auto rev = store->begin();
  ASSERT_TRUE(rev) << rev.error().message;
  EXPECT_EQ(*rev, 0);
  ChangeSet one = port("a", "10.0.0.2");
  one.rows.push_back({"networks", "n1", "p", "{\"name\":\"net 'one'\",\"x\":\"\\u00e9\"}"});
  one.allocs.push_back({AllocKind::mac, "n1", "fa:16:3e:00:00:01", "a", true});
  one.allocs.push_back({AllocKind::segment, "vlan/physnet1", "101", "n1", true});
  ASSERT_TRUE(store->apply(one, 1));
  ChangeSet two;
  two.rows.push_back({"networks", "n1", "p", "{\"name\":\"renamed\"}"});
  two.rows.push_back({"ports", "b", "q", "{}"});
  ASSERT_TRUE(store->apply(two, 2));
  ASSERT_TRUE(store->commit());

  auto other = open();
  ASSERT_TRUE(other);
  auto state = other->load();
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->revision, 2);
  ASSERT_EQ(state->rows["ports"].size(), 2u);
  EXPECT_EQ(state->rows["ports"][0].id, "a");
  EXPECT_EQ(state->rows["ports"][0].body, "{\"id\":\"a\"}");
  ASSERT_EQ(state->rows["networks"].size(), 1u);
  EXPECT_EQ(state->rows["networks"][0].body, "{\"name\":\"renamed\"}");
  EXPECT_EQ(state->rows.size(), resource_kinds().size());  // every kind has its table
  ASSERT_EQ(state->allocations.size(), 3u);
  EXPECT_EQ(state->allocations[0].value, "10.0.0.2");
  EXPECT_EQ(state->allocations[1].value, "fa:16:3e:00:00:01");
  EXPECT_EQ(state->allocations[2].scope, "vlan/physnet1");
  EXPECT_EQ(state->allocations[2].owner, "n1");
}

TEST_F(PgStore, AUniqueViolationFailsOneRequestOnly) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->begin());
  ASSERT_TRUE(store->apply(port("a", "10.0.0.1"), 1));
  auto dup = store->apply(port("b", "10.0.0.1"), 2);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::conflict);
  EXPECT_EQ(dup.error().origin, Origin::store);
  EXPECT_NE(dup.error().message.find("database constraint violated (unique: ip_allocations_pkey)"), std::string::npos)
      << dup.error().message;
  EXPECT_NE(dup.error().detail.find("duplicate key"), std::string::npos) << dup.error().detail;
  ASSERT_TRUE(store->apply(port("c", "10.0.0.3"), 2));
  ASSERT_TRUE(store->commit());
  auto state = store->load();
  ASSERT_TRUE(state);
  ASSERT_EQ(state->rows["ports"].size(), 2u);
  EXPECT_EQ(state->rows["ports"][0].id, "a");
  EXPECT_EQ(state->rows["ports"][1].id, "c");
  EXPECT_EQ(state->revision, 2);
  EXPECT_EQ(scalar("SELECT string_agg(revision::text, ',' ORDER BY revision) FROM change_log"), "1,2");
}

TEST_F(PgStore, ChangesSinceReturnsExactlyWhatWasApplied) {
  auto writer = open(), reader = open();
  ASSERT_TRUE(writer && reader);
  ChangeSet one = port("a", "10.0.0.1");
  ChangeSet two;
  two.rows.push_back({"ports", "a", "p", std::nullopt});  // a delete
  two.rows.push_back({"security_groups", "sg", "p", "{\"rules\":[\"x\\\"y\"]}"});
  two.allocs.push_back({AllocKind::ip, "subnet1", "10.0.0.1", "a", false});
  two.allocs.push_back({AllocKind::segment, "vxlan/", "7", "n", true});
  ASSERT_TRUE(writer->begin());
  ASSERT_TRUE(writer->apply(one, 1));
  ASSERT_TRUE(writer->apply(two, 2));
  ASSERT_TRUE(writer->commit());

  auto rev = reader->begin();
  ASSERT_TRUE(rev);
  EXPECT_EQ(*rev, 2);
  auto all = reader->changes_since(0, 100);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].revision, 1);
  EXPECT_EQ(show((*all)[0].changes), show(one));
  EXPECT_EQ((*all)[1].revision, 2);
  EXPECT_EQ(show((*all)[1].changes), show(two));
  auto later = reader->changes_since(1, 1);
  ASSERT_TRUE(later);
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ((*later)[0].revision, 2);
  auto limited = reader->changes_since(0, 1);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 1u);
  reader->rollback();
  auto unlocked = reader->changes_since(1, 10);  // a catch-up outside any transaction
  ASSERT_TRUE(unlocked) << unlocked.error().message;
  ASSERT_EQ(unlocked->size(), 1u);
  EXPECT_EQ(show((*unlocked)[0].changes), show(two));

  ASSERT_EQ(cluster_->exec(db_, "INSERT INTO change_log VALUES (99, '{\"rows\": 5}')"), "");
  ASSERT_TRUE(reader->begin());
  auto bad = reader->changes_since(2, 10);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("revision 99"), std::string::npos) << bad.error().message;
  reader->rollback();
}

TEST_F(PgStore, SecondServerWaitsForTheWriteLock) {
  auto a = open(), b = open();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->begin());
  std::atomic<bool> done{false};
  Result<int64_t> seen = 0;
  std::thread t([&] {
    seen = b->begin();
    done = true;
  });
  // B's backend waits on the row lock (seen in pg_stat_activity), not on anything of ours.
  bool waiting = eventually([&] {
    return scalar("SELECT count(*) FROM pg_stat_activity WHERE datname='" + db_ + "' AND wait_event_type='Lock'") == "1";
  });
  EXPECT_TRUE(waiting);
  EXPECT_FALSE(done);
  ASSERT_TRUE(a->apply(port("a", "10.0.0.1"), 1));
  auto t0 = Clock::now();
  ASSERT_TRUE(a->commit());
  EXPECT_TRUE(eventually([&] { return done.load(); }));
  std::printf("second begin() returned %.1f ms after the first commit\n", ms_since(t0));
  t.join();
  ASSERT_TRUE(seen) << seen.error().message;
  EXPECT_EQ(*seen, 1);
  b->rollback();
}

// Collects what a follower reports.
struct Changes {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int64_t> seen;
  std::function<void(int64_t)> callback() {
    return [this](int64_t rev) {
      std::lock_guard lock(mu);
      seen.push_back(rev);
      cv.notify_all();
    };
  }
  bool wait_for(int64_t rev, std::chrono::milliseconds deadline, size_t from = 0) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, deadline, [&] {
      return std::find(seen.begin() + std::min(from, seen.size()), seen.end(), rev) != seen.end();
    });
  }
  size_t size() {
    std::lock_guard lock(mu);
    return seen.size();
  }
};

TEST_F(PgStore, FollowerHearsAnotherServersCommit) {
  auto a = open(), b = open();
  ASSERT_TRUE(a && b);
  Changes changes;
  auto follower = b->follow(changes.callback());
  ASSERT_TRUE(follower);
  ASSERT_TRUE(changes.wait_for(0, 5000ms)) << "no catch-up call after connecting";  // LISTEN is in place
  ASSERT_TRUE(a->begin());
  ASSERT_TRUE(a->apply(port("a", "10.0.0.1"), 1));
  auto t0 = Clock::now();
  ASSERT_TRUE(a->commit());
  ASSERT_TRUE(changes.wait_for(1, 5000ms)) << "no notification within 5 s";
  std::printf("notification delay (from the start of commit()): %.2f ms\n", ms_since(t0));
  size_t before = changes.size();  // a payload that is no revision: catch up
  ASSERT_EQ(cluster_->exec(db_, "NOTIFY neutrino_changes, 'garbage'"), "");
  EXPECT_TRUE(changes.wait_for(0, 1000ms, before));
  auto t1 = Clock::now();
  follower.reset();
  std::printf("follower stopped in %.2f ms\n", ms_since(t1));
  EXPECT_LT(ms_since(t1), 500);
}

TEST_F(PgStore, OneLeaderAtATime) {
  auto a = open(), b = open();
  ASSERT_TRUE(a && b);
  auto fa = a->follow([](int64_t) {});
  auto fb = b->follow([](int64_t) {});
  ASSERT_TRUE(eventually([&] { return fa->leader() || fb->leader(); })) << "nobody leads";
  EXPECT_NE(fa->leader(), fb->leader());
  auto& survivor = fa->leader() ? fb : fa;
  (fa->leader() ? fa : fb).reset();
  auto t0 = Clock::now();
  ASSERT_TRUE(eventually([&] { return survivor->leader(); })) << "the other follower never took over";
  std::printf("leadership moved in %.1f ms\n", ms_since(t0));
}

TEST_F(PgStore, ConnectionLossIsUnavailableAndRecovers) {
  auto store = open();
  ASSERT_TRUE(store);
  Changes changes;
  auto follower = store->follow(changes.callback());
  ASSERT_TRUE(changes.wait_for(0, 5000ms));
  ASSERT_TRUE(store->begin());
  store->rollback();

  ASSERT_TRUE(cluster_->stop("fast"));
  struct Restart {  // the cluster is shared by the suite: up again whatever happens here
    test::PgCluster* c;
    ~Restart() { c->start(); }
  } restart{cluster_};
  for (int i = 0; i < 3; ++i) {
    auto t0 = Clock::now();
    auto r = store->begin();
    double took = ms_since(t0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::unavailable);
    EXPECT_EQ(r.error().message, "database unavailable") << r.error().detail;
    std::printf("begin() without a database: %s after %.2f ms\n", errc_name(r.error().code).data(), took);
    EXPECT_LT(took, 100);
  }
  auto load = store->load();
  ASSERT_FALSE(load);
  EXPECT_EQ(load.error().code, Errc::unavailable);
  auto beats = store->beats();
  ASSERT_FALSE(beats);
  EXPECT_EQ(beats.error().code, Errc::unavailable);

  size_t before = changes.size();
  ASSERT_TRUE(cluster_->start());
  auto t0 = Clock::now();
  Result<int64_t> r = 0;
  EXPECT_TRUE(eventually([&] { return (r = store->begin()).has_value(); }, 10000ms));
  std::printf("begin() succeeded %.1f ms after the restart\n", ms_since(t0));
  ASSERT_TRUE(r) << r.error().message << " " << r.error().detail;
  ASSERT_TRUE(store->apply(port("a", "10.0.0.1"), 1));
  ASSERT_TRUE(store->commit());
  EXPECT_TRUE(changes.wait_for(0, 10000ms, before)) << "the follower did not catch up after reconnecting";
  // A catch-up outside a transaction reconnects too.
  ASSERT_TRUE(cluster_->stop("fast"));
  auto lost = store->changes_since(0, 10);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, Errc::unavailable);
  ASSERT_TRUE(cluster_->start());
  Result<std::vector<Committed>> log;
  EXPECT_TRUE(eventually([&] { return (log = store->changes_since(0, 10)).has_value(); }, 10000ms));
  ASSERT_TRUE(log) << log.error().detail;
  EXPECT_EQ(log->size(), 1u);
}

// A database that accepts connections and never answers (a frozen postmaster): the writer
// is not held up while the connection attempt goes on, and gets in once it answers.
TEST_F(PgStore, ASilentDatabaseDoesNotBlockTheWriter) {
  auto store = open();
  ASSERT_TRUE(store);
  pid_t postmaster = cluster_->postmaster_pid();
  ASSERT_GT(postmaster, 0);
  ASSERT_EQ(cluster_->exec(db_, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname='" + db_ +
                                    "' AND application_name='neutrino-server'"),
            "");
  ASSERT_EQ(::kill(postmaster, SIGSTOP), 0);
  struct Thaw {
    pid_t pid;
    ~Thaw() { ::kill(pid, SIGCONT); }
  } thaw{postmaster};
  for (int i = 0; i < 3; ++i) {
    auto t0 = Clock::now();
    auto r = store->begin();
    double took = ms_since(t0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::unavailable) << r.error().message;
    std::printf("begin() against a silent database: unavailable after %.1f ms (%s)\n", took, r.error().detail.c_str());
    EXPECT_LT(took, 150);
  }
  ::kill(postmaster, SIGCONT);
  Result<int64_t> r = 0;
  EXPECT_TRUE(eventually([&] { return (r = store->begin()).has_value(); }, 10000ms));
  ASSERT_TRUE(r) << r.error().detail;
  store->rollback();
}

// At start-up the whole connect_timeout is waited for, and then the answer is unavailable.
TEST(PgStoreOpen, ASilentServerTimesOut) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);  // connections complete in the kernel, nobody answers
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  auto t0 = Clock::now();
  auto s = open_postgres_store("postgresql://u:pw@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/db?connect_timeout=1");
  double took = ms_since(t0);
  ::close(fd);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::unavailable);
  EXPECT_NE(s.error().message.find("postgresql://u:***@127.0.0.1:"), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().message.find("pw"), std::string::npos) << s.error().message;
  std::printf("open against a silent server failed after %.0f ms: %s\n", took, s.error().message.c_str());
  EXPECT_GT(took, 900);
  EXPECT_LT(took, 3000);
}

TEST_F(PgStore, BeatsKeepTheLatest) {
  auto a = open(), b = open();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->publish_beats({{"h2", 200, -1}, {"h1", 100, 5}}));
  ASSERT_TRUE(b->publish_beats({{"h1", 50, 7}}));
  auto beats = a->beats();
  ASSERT_TRUE(beats) << beats.error().message;
  ASSERT_EQ(beats->size(), 2u);
  EXPECT_EQ((*beats)[0].host, "h1");
  EXPECT_EQ((*beats)[0].last_ms, 100);
  EXPECT_EQ((*beats)[0].applied, 7);
  EXPECT_EQ((*beats)[1].host, "h2");
  EXPECT_EQ((*beats)[1].last_ms, 200);
  EXPECT_EQ((*beats)[1].applied, -1);
}

TEST_F(PgStore, QuarantineAndRebuiltAllocations) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->begin());
  ASSERT_TRUE(store->apply(port("a", "10.0.0.1"), 1));
  ASSERT_TRUE(store->apply(port("b", "10.0.0.2"), 2));
  ASSERT_TRUE(store->commit());
  ASSERT_TRUE(store->quarantine("ports", "a", "bad body"));
  EXPECT_EQ(scalar("SELECT convert_from(body, 'UTF8') || ' ' || reason FROM quarantine WHERE id='a'"), "{\"id\":\"a\"} bad body");
  auto state = store->load();
  ASSERT_TRUE(state);
  ASSERT_EQ(state->rows["ports"].size(), 1u);
  ASSERT_EQ(state->allocations.size(), 1u);
  EXPECT_EQ(state->allocations[0].owner, "b");
  EXPECT_FALSE(store->quarantine("nonsense; DROP TABLE ports", "a", ""));
  ASSERT_TRUE(store->replace_allocations({{AllocKind::mac, "n", "fa:16:3e:00:00:09", "b", true}}));
  state = store->load();
  ASSERT_TRUE(state);
  ASSERT_EQ(state->allocations.size(), 1u);
  EXPECT_EQ(state->allocations[0].kind, AllocKind::mac);
}

}  // namespace
}  // namespace nt
