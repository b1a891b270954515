// PostgreSQL connection URLs as Neutron's configuration spells them
// (postgresql+psycopg2://user:password@host:port/dbname?host=/run/postgresql), turned into a
// libpq conninfo, and shown in logs without the password.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace nt {

struct PgTarget {
  std::string user, password;
  std::string host;  // a name, an address, or a Unix socket directory; empty = libpq's default socket
  std::string port;  // empty = 5432
  std::string dbname;
  std::vector<std::pair<std::string, std::string>> options;  // sslmode, connect_timeout, ...

  // keyword='value' pairs for PQconnectdb, each value quoted and escaped.
  std::string conninfo() const;
  // The URL for logs, with the password replaced by ***.
  std::string describe() const;
};

// Accepts postgresql://, postgres:// and postgresql+psycopg2:// (or +psycopg) URLs:
// percent-encoded parts, [IPv6] hosts, an empty host (the default Unix socket), and the query
// options host (a Unix socket directory), port, sslmode, sslrootcert, sslcert, sslkey, sslcrl,
// connect_timeout, application_name and target_session_attrs. Anything else is an error
// value saying what is wrong.
Result<PgTarget> parse_postgres_url(const std::string& url);

// Whether `s` looks like a URL (rather than a libpq keyword=value conninfo).
bool is_postgres_url(const std::string& s);

}  // namespace nt
