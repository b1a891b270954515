#include "store/postgres_url.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace nt {
namespace {

constexpr const char* kForm = "the form is postgresql://user:password@host:port/dbname";

nt::unexpected<Error> url_error(const std::string& what) {
  return fail(Errc::invalid_argument, Origin::config, "database URL: " + what + " (" + kForm + ")");
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX escapes; `what` names the part in the error.
Result<std::string> decode(const std::string& s, const std::string& what) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1, lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) return url_error("bad percent escape in the " + what + " (a % must be followed by two hex digits)");
    char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') return url_error("the " + what + " contains %00");
    out += c;
    i += 2;
  }
  return out;
}

// Encodes what would be read back as syntax (for describe()).
std::string encode(const std::string& s) {
  static const std::string plain = "-._~!$&'()*+,;=";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || plain.find(static_cast<char>(c)) != std::string::npos) {
      out += static_cast<char>(c);
    } else {
      static const char* digits = "0123456789ABCDEF";
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

Status check_port(const std::string& port) {
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) < 1 || std::stoi(port) > 65535)
    return url_error("bad port '" + port + "' (a number from 1 to 65535)");
  return {};
}

// host[:port], [v6][:port]; an empty string means the default Unix socket.
Status parse_hostport(const std::string& hp, PgTarget& t) {
  std::string host = hp, port;
  if (!hp.empty() && hp[0] == '[') {
    auto close = hp.find(']');
    if (close == std::string::npos) return url_error("unterminated [ in the host");
    host = hp.substr(1, close - 1);
    std::string rest = hp.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return url_error("unexpected text after ] in the host");
    if (!rest.empty()) port = rest.substr(1);
    if (host.empty()) return url_error("empty [] host");
  } else if (auto colon = hp.find(':'); colon != std::string::npos) {
    if (hp.find(':', colon + 1) != std::string::npos) return url_error("an IPv6 host must be written in brackets, [::1]");
    host = hp.substr(0, colon);
    port = hp.substr(colon + 1);
  }
  if (hp.find(':') != std::string::npos && hp.back() != ']' && port.empty()) return url_error("empty port after ':'");
  if (!port.empty()) NT_TRY(check_port(port));
  NT_ASSIGN(t.host, decode(host, "host"));
  t.port = port;
  return {};
}

Status check_option(const std::string& key, const std::string& value) {
  static const std::array<const char*, 6> sslmodes = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
  if (key == "sslmode" && std::find(sslmodes.begin(), sslmodes.end(), value) == sslmodes.end())
    return url_error("sslmode '" + value + "' is not one of disable, allow, prefer, require, verify-ca, verify-full");
  if (key == "connect_timeout" &&
      (value.empty() || value.size() > 6 || value.find_first_not_of("0123456789") != std::string::npos))
    return url_error("connect_timeout '" + value + "' is not a number of seconds");
  return {};
}

Status parse_query(const std::string& query, PgTarget& t) {
  static const std::array<const char*, 10> known = {"host", "port", "sslmode", "sslrootcert", "sslcert", "sslkey",
                                                    "sslcrl", "connect_timeout", "application_name",
                                                    "target_session_attrs"};
  size_t start = 0;
  while (start <= query.size()) {
    auto amp = query.find('&', start);
    std::string item = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    start = amp == std::string::npos ? query.size() + 1 : amp + 1;
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string::npos) return url_error("query option '" + item + "' has no value (name=value)");
    NT_ASSIGN(std::string key, decode(item.substr(0, eq), "option name"));
    NT_ASSIGN(std::string value, decode(item.substr(eq + 1), "option " + key));
    if (std::find(known.begin(), known.end(), key) == known.end())
      return url_error("unknown query option '" + key + "' (known: host, port, sslmode, sslrootcert, sslcert, sslkey, "
                       "sslcrl, connect_timeout, application_name, target_session_attrs)");
    NT_TRY(check_option(key, value));
    if (key == "host" || key == "port") {
      std::string& field = key == "host" ? t.host : t.port;
      if (!field.empty()) return url_error(key + " is given both in the URL and as ?" + key + "=");
      if (key == "port") NT_TRY(check_port(value));
      field = value;
      continue;
    }
    t.options.emplace_back(key, value);
  }
  return {};
}

// Backslash-escapes ' and \ inside single quotes, as libpq's conninfo parser reads them.
std::string quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

bool is_postgres_url(const std::string& s) {
  return s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0 || s.rfind("postgresql+", 0) == 0;
}

Result<PgTarget> parse_postgres_url(const std::string& url) {
  auto sep = url.find("://");
  if (sep == std::string::npos) return url_error("'://' is missing");
  std::string scheme = url.substr(0, sep);
  if (scheme != "postgresql" && scheme != "postgres" && scheme != "postgresql+psycopg2" && scheme != "postgresql+psycopg")
    return url_error("unsupported scheme '" + scheme + "' (postgresql, postgres or postgresql+psycopg2)");
  std::string rest = url.substr(sep + 3), query;
  if (auto q = rest.find('?'); q != std::string::npos) query = rest.substr(q + 1), rest.resize(q);
  if (rest.find('#') != std::string::npos) return url_error("a '#' must be percent-encoded (%23)");
  auto slash = rest.find('/');
  if (slash == std::string::npos) return url_error("the database name is missing");
  std::string authority = rest.substr(0, slash), path = rest.substr(slash + 1);
  PgTarget t;
  // The last '@' ends the user part: a password with a raw '@' still parses.
  if (auto at = authority.rfind('@'); at != std::string::npos) {
    std::string userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    NT_ASSIGN(t.user, decode(userinfo.substr(0, colon), "user name"));
    if (colon != std::string::npos) {
      NT_ASSIGN(t.password, decode(userinfo.substr(colon + 1), "password"));
    }
    if (t.user.empty()) return url_error("empty user name before '@'");
  }
  NT_TRY(parse_hostport(authority, t));
  if (path.empty()) return url_error("the database name is missing");
  if (path.find('/') != std::string::npos) return url_error("'/' in the database name must be percent-encoded (%2F)");
  NT_ASSIGN(t.dbname, decode(path, "database name"));
  NT_TRY(parse_query(query, t));
  return t;
}

std::string PgTarget::conninfo() const {
  std::string out;
  auto add = [&](const std::string& k, const std::string& v) {
    if (!v.empty()) out += (out.empty() ? "" : " ") + k + "=" + quote(v);
  };
  add("host", host);
  add("port", port);
  add("user", user);
  add("password", password);
  add("dbname", dbname);
  for (const auto& [k, v] : options) add(k, v);
  return out;
}

std::string PgTarget::describe() const {
  std::string out = "postgresql://";
  if (!user.empty()) out += encode(user) + (password.empty() ? "" : ":***") + "@";
  bool socket_dir = !host.empty() && host[0] == '/';
  if (!socket_dir) out += host.find(':') != std::string::npos ? "[" + host + "]" : encode(host);
  if (!port.empty()) out += ":" + port;
  out += "/" + encode(dbname);
  std::string query = socket_dir ? "host=" + host : "";
  for (const auto& [k, v] : options) query += (query.empty() ? "" : "&") + k + "=" + encode(v);
  return query.empty() ? out : out + "?" + query;
}

}  // namespace nt
