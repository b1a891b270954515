// --check-config for a PostgreSQL database: one connection, two reads, nothing changed.
#include <libpq-fe.h>

#include <memory>

#include "store/postgres_url.h"
#include "store/store.h"

namespace nt {
namespace {

using Conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Res = std::unique_ptr<PGresult, decltype(&PQclear)>;

nt::unexpected<Error> unreachable(const std::string& what, const std::string& why) {
  return fail(Errc::unavailable, Origin::store, what + ": " + why);
}

// The first line of libpq's message (it may span lines).
std::string first_line(const char* message) {
  std::string m = message ? message : "";
  if (auto nl = m.find('\n'); nl != std::string::npos) m.resize(nl);
  return m.empty() ? "unknown error" : m;
}

}  // namespace

Result<std::string> check_postgres_store(const std::string& spec) {
  std::string conninfo = spec, described = spec;
  if (is_postgres_url(spec)) {
    NT_ASSIGN(auto target, parse_postgres_url(spec));
    conninfo = target.conninfo();
    described = target.describe();
  }
  Conn conn(PQconnectdb(("connect_timeout=2 application_name=neutrino-check " + conninfo).c_str()), &PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
    return unreachable(described, "cannot connect: " + first_line(conn ? PQerrorMessage(conn.get()) : "out of memory"));
  std::string version = PQparameterStatus(conn.get(), "server_version") ? PQparameterStatus(conn.get(), "server_version") : "?";
  Res exists(PQexec(conn.get(), "SELECT to_regclass('meta') IS NOT NULL"), &PQclear);
  if (PQresultStatus(exists.get()) != PGRES_TUPLES_OK)
    return unreachable(described, "cannot read the schema: " + first_line(PQerrorMessage(conn.get())));
  std::string head = "PostgreSQL " + version + " at " + described;
  if (std::string(PQgetvalue(exists.get(), 0, 0)) != "t") return head + ": empty database, the schema is created at start";
  Res schema(PQexec(conn.get(), "SELECT value FROM meta WHERE key='schema_version'"), &PQclear);
  if (PQresultStatus(schema.get()) != PGRES_TUPLES_OK || PQntuples(schema.get()) != 1)
    return fail(Errc::internal, Origin::store, described + ": table meta holds no schema_version (not a Neutrino database?)");
  std::string found = PQgetvalue(schema.get(), 0, 0);
  std::string known = std::to_string(postgres_schema_version());
  bool number = !found.empty() && found.size() < 10 && found.find_first_not_of("0123456789") == std::string::npos;
  if (!number || std::stoul(found) > postgres_schema_version())
    return fail(Errc::internal, Origin::store,
                described + " has schema version " + found + ", newer than this binary knows (" + known +
                    "): run the neutrino-server that wrote it");
  return head + ", schema version " + found + (found == known ? "" : " (migrated to " + known + " at start)");
}

}  // namespace nt
