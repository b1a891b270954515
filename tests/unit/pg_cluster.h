// A throwaway PostgreSQL 15 cluster for tests: initdb in a temp directory, a server that
// listens only on a Unix socket in that directory (no TCP, no clash with another cluster),
// databases made on demand, and everything stopped and removed by the destructor. As root,
// the programs run as the `postgres` user (the server refuses root), as
// tests/keystone/nt_keystone.py does it.
#pragma once
#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace nt::test {

class PgCluster {
 public:
  static constexpr const char* kBin = "/usr/lib/postgresql/15/bin";

  PgCluster() { error_ = create(); }
  ~PgCluster() {
    if (dir_.empty()) return;
    if (running_) run(ctl("-m immediate stop"));
    std::filesystem::remove_all(dir_);
  }
  PgCluster(const PgCluster&) = delete;

  // Empty when the cluster is up; else what went wrong (and what to do).
  const std::string& error() const { return error_; }
  const std::string& socket_dir() const { return dir_; }
  std::string conninfo(const std::string& db) const { return "host=" + dir_ + " user=postgres dbname=" + db; }
  std::string url(const std::string& db) const { return "postgresql://postgres@/" + db + "?host=" + dir_; }

  bool start() { return running_ = run(ctl("-w -t 60 -l " + dir_ + "/postgres.log -o \"-k " + dir_ +
                                           " -c listen_addresses= -c fsync=off -c synchronous_commit=off"
                                           " -c full_page_writes=off\" start")) == 0; }
  bool stop(const std::string& mode = "fast") {
    bool ok = run(ctl("-w -m " + mode + " stop")) == 0;
    running_ = !ok;
    return ok;
  }

  // The postmaster's process id (0 if not running), e.g. to freeze it with SIGSTOP.
  pid_t postmaster_pid() const {
    std::ifstream f(dir_ + "/data/postmaster.pid");
    long pid = 0;
    return f >> pid ? static_cast<pid_t>(pid) : 0;
  }

  // A new, empty database ("" on failure).
  std::string create_database() {
    std::string name = "t" + std::to_string(++databases_);
    return exec("postgres", "CREATE DATABASE " + name).empty() ? name : "";
  }
  // Runs SQL as the superuser; "" or the error.
  std::string exec(const std::string& db, const std::string& sql) const {
    PGconn* c = PQconnectdb(conninfo(db).c_str());
    std::string err;
    if (PQstatus(c) != CONNECTION_OK) {
      err = PQerrorMessage(c);
    } else {
      PGresult* r = PQexec(c, sql.c_str());
      auto st = PQresultStatus(r);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) err = PQresultErrorMessage(r);
      PQclear(r);
    }
    PQfinish(c);
    return err;
  }
  // The first column of the first row, or "" (tests' look-ups).
  std::string scalar(const std::string& db, const std::string& sql) const {
    PGconn* c = PQconnectdb(conninfo(db).c_str());
    std::string out;
    if (PQstatus(c) == CONNECTION_OK) {
      PGresult* r = PQexec(c, sql.c_str());
      if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
      PQclear(r);
    }
    PQfinish(c);
    return out;
  }

 private:
  std::string create() {
    std::string initdb = std::string(kBin) + "/initdb";
    if (!std::filesystem::exists(initdb))
      return "PostgreSQL 15 is not installed (no " + initdb + "): run scripts/install-deps";
    char made[] = "/tmp/nt-pg-XXXXXX";
    if (!::mkdtemp(made)) return "mkdtemp failed";
    dir_ = made;
    if (::getuid() == 0) {
      const passwd* pg = ::getpwnam("postgres");
      if (!pg) return "running as root but there is no user postgres: run scripts/install-deps";
      if (::chown(dir_.c_str(), pg->pw_uid, pg->pw_gid) != 0) return "cannot chown " + dir_;
      as_owner_ = "runuser -u postgres -- ";
    }
    // initdb is most of a cluster's start-up: a copy of a cached, pristine one is quick.
    std::string tmpl = "/tmp/nt-pg-template-15-" + std::to_string(::getuid());
    if (std::filesystem::exists(tmpl + "/PG_VERSION") && run("cp -a " + tmpl + " " + dir_ + "/data") == 0 && start())
      return "";
    std::filesystem::remove_all(tmpl);
    std::filesystem::remove_all(dir_ + "/data");
    if (run(initdb + " -D " + dir_ + "/data -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync --no-instructions") != 0)
      return "initdb failed: see " + dir_ + "/commands.log";
    // Published by a rename: a parallel test never sees half a template.
    std::string part = tmpl + ".part" + std::to_string(::getpid());
    if (run("cp -a " + dir_ + "/data " + part) != 0 || ::rename(part.c_str(), tmpl.c_str()) != 0)
      std::filesystem::remove_all(part);
    if (!start()) return "pg_ctl start failed: see " + dir_ + "/postgres.log";
    return "";
  }
  std::string ctl(const std::string& args) const { return std::string(kBin) + "/pg_ctl -D " + dir_ + "/data " + args; }
  int run(const std::string& cmd) const {
    return std::system((as_owner_ + cmd + " >>" + dir_ + "/commands.log 2>&1 </dev/null").c_str());
  }

  std::string dir_, error_, as_owner_;
  bool running_ = false;
  int databases_ = 0;
};

}  // namespace nt::test
