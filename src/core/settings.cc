#include "core/settings.h"

#include "store/postgres_url.h"

#include <algorithm>
#include <filesystem>

namespace nt {
namespace {

Result<uint64_t> parse_u64(const std::string& s) {
  if (s.empty() || s.size() > 19) return bad_request(s);
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return bad_request(s);
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

nt::unexpected<Error> bad_value(const Config& c, const std::string& sec, const std::string& name,
                                 const std::string& why) {
  auto where = c.where(sec, name);
  return fail(Errc::invalid_argument, Origin::config,
              (where.empty() ? std::string("defaults") : where) + ": option \"" + name + "\" in [" + sec +
                  "]: " + why);
}

// "1:1000,2000:3000" with ids between lo and hi.
Result<std::vector<IdRange>> parse_ranges(const Config& c, const std::string& sec, const std::string& name,
                                          uint64_t lo, uint64_t hi) {
  std::vector<IdRange> out;
  for (const auto& item : c.list(sec, name)) {
    auto colon = item.find(':');
    auto a = parse_u64(item.substr(0, colon));
    auto b = colon == std::string::npos ? a : parse_u64(item.substr(colon + 1));
    if (!a || !b || colon == std::string::npos)
      return bad_value(c, sec, name, "\"" + item + "\" is not a range like \"1:1000\"");
    if (*a > *b || *a < lo || *b > hi)
      return bad_value(c, sec, name, "range \"" + item + "\" must lie within " + std::to_string(lo) + ":" +
                                         std::to_string(hi) + " with start <= end");
    out.push_back({*a, *b});
  }
  return out;
}

Result<std::vector<VlanRange>> parse_vlan_ranges(const Config& c) {
  std::vector<VlanRange> out;
  for (const auto& item : c.list("ml2_type_vlan", "network_vlan_ranges")) {
    auto colon = item.find(':');
    VlanRange r{item.substr(0, colon), {}};
    if (r.physnet.empty()) return bad_value(c, "ml2_type_vlan", "network_vlan_ranges", "empty physical network");
    if (colon != std::string::npos) {
      auto rest = item.substr(colon + 1);
      auto colon2 = rest.find(':');
      auto a = parse_u64(rest.substr(0, colon2));
      auto b = colon2 == std::string::npos ? a : parse_u64(rest.substr(colon2 + 1));
      if (!a || !b || colon2 == std::string::npos || *a < 1 || *b > 4094 || *a > *b)
        return bad_value(c, "ml2_type_vlan", "network_vlan_ranges",
                         "\"" + item + "\" is not \"physnet\" or \"physnet:min:max\" with 1 <= min <= max <= 4094");
      r.ranges.push_back({*a, *b});
    }
    bool merged = false;
    for (auto& e : out)
      if (e.physnet == r.physnet) e.ranges.insert(e.ranges.end(), r.ranges.begin(), r.ranges.end()), merged = true;
    if (!merged) out.push_back(std::move(r));
  }
  return out;
}

Status keystone_settings(const Config& c, auth::KeystoneOptions& k) {
  const std::string sec = "keystone_authtoken";
  k.auth_url = c.str(sec, "auth_url");
  if (k.auth_url.empty()) return bad_value(c, sec, "auth_url", "is required with auth_strategy = keystone");
  if (k.auth_url.rfind("http://", 0) != 0 && k.auth_url.rfind("https://", 0) != 0)
    return bad_value(c, sec, "auth_url", "\"" + k.auth_url + "\" is not an http:// or https:// URL");
  k.www_authenticate_uri = c.str(sec, "www_authenticate_uri");
  if (k.www_authenticate_uri.empty()) k.www_authenticate_uri = c.str(sec, "auth_uri");
  if (k.www_authenticate_uri.empty()) k.www_authenticate_uri = k.auth_url;
  if (c.str(sec, "auth_type") != "password")
    return bad_value(c, sec, "auth_type", "\"" + c.str(sec, "auth_type") + "\" is not supported; only password");
  k.username = c.str(sec, "username");
  k.password = c.str(sec, "password");
  if (k.username.empty()) return bad_value(c, sec, "username", "is required with auth_strategy = keystone");
  k.project_name = c.str(sec, "project_name");
  k.user_domain_name = c.str(sec, "user_domain_name");
  k.project_domain_name = c.str(sec, "project_domain_name");
  auto cache = c.integer(sec, "token_cache_time");
  k.token_cache_time = std::chrono::seconds(cache < 0 ? 0 : cache);
  k.service_token_roles = c.list(sec, "service_token_roles");
  k.cafile = c.str(sec, "cafile");
  k.insecure = c.boolean(sec, "insecure");
  k.http_timeout = std::chrono::seconds(c.integer(sec, "http_connect_timeout"));
  return {};
}

// [metadata]: listen is "" or host:port (IPv6 in brackets), port 0..65535 (0: any free one).
Status metadata_settings(const Config& c, Settings& s) {
  const std::string sec = "metadata";
  s.metadata_secret = c.str(sec, "metadata_proxy_shared_secret");
  s.instance_data_dir = c.str(sec, "instance_data_dir");
  if (!s.instance_data_dir.empty()) {
    std::error_code ec;
    if (s.instance_data_dir[0] != '/' || !std::filesystem::is_directory(s.instance_data_dir, ec))
      return bad_value(c, sec, "instance_data_dir", "\"" + s.instance_data_dir + "\" is not an absolute path of a directory");
  }
  s.metadata_unix_socket = c.str(sec, "unix_socket");
  auto listen = c.str(sec, "listen");
  if (listen.empty()) {
    if (!s.metadata_unix_socket.empty()) return bad_value(c, sec, "unix_socket", "needs listen (host:port) as well");
    return {};
  }
  auto colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos) host.clear();  // IPv6 without brackets
  auto port = parse_u64(colon == std::string::npos ? std::string() : listen.substr(colon + 1));
  auto ip = IpAddress::parse(host);
  if (!ip || !port || *port > 65535)
    return bad_value(c, sec, "listen", "\"" + listen + "\" is not host:port (an IPv4 address or [IPv6], port 0-65535)");
  s.metadata_host = host;
  s.metadata_port = static_cast<int>(*port);
  return {};
}

}  // namespace

// keystonemiddleware's options; the ones after "accepted" are taken so that a Neutron
// config can be used as it is, and have no effect.
#define KEYSTONE_AUTHTOKEN_OPTIONS                                                                                    \
  {"keystone_authtoken", "www_authenticate_uri", T::string, "", "Keystone URL given to clients in 401 answers"},      \
      {"keystone_authtoken", "auth_uri", T::string, "", "deprecated name of www_authenticate_uri"},                   \
      {"keystone_authtoken", "auth_url", T::string, "", "Keystone URL tokens are validated at"},                      \
      {"keystone_authtoken", "auth_type", T::string, "password", "only password"},                                   \
      {"keystone_authtoken", "username", T::string, "", "the service user"},                                          \
      {"keystone_authtoken", "password", T::string, "", "the service user's password"},                               \
      {"keystone_authtoken", "project_name", T::string, "service", "the service user's project"},                     \
      {"keystone_authtoken", "user_domain_name", T::string, "Default", ""},                                           \
      {"keystone_authtoken", "project_domain_name", T::string, "Default", ""},                                        \
      {"keystone_authtoken", "token_cache_time", T::integer, "300", "seconds a validated token is believed; -1 = ask Keystone every time", -1, 86400}, \
      {"keystone_authtoken", "service_token_roles", T::list, "service", "roles an X-Service-Token must carry"},        \
      {"keystone_authtoken", "service_token_roles_required", T::boolean, "false", "refuse X-Service-Token without those roles"}, \
      {"keystone_authtoken", "cafile", T::string, "", "CA bundle for https to Keystone"},                             \
      {"keystone_authtoken", "insecure", T::boolean, "false", "do not verify Keystone's certificate"},                \
      {"keystone_authtoken", "http_connect_timeout", T::integer, "3", "seconds per call to Keystone", 1, 300},          \
      {"keystone_authtoken", "region_name", T::string, "", "accepted"},                                               \
      {"keystone_authtoken", "memcached_servers", T::list, "", "accepted (the cache is in the server)"},              \
      {"keystone_authtoken", "service_type", T::string, "", "accepted"},                                              \
      {"keystone_authtoken", "interface", T::string, "", "accepted"},                                                 \
      {"keystone_authtoken", "auth_version", T::string, "", "accepted (v3 only)"},                                    \
      {"keystone_authtoken", "http_request_max_retries", T::integer, "3", "accepted", 0, 100},                        \
      {"keystone_authtoken", "include_service_catalog", T::boolean, "true", "accepted"},                              \
      {"keystone_authtoken", "delay_auth_decision", T::boolean, "false", "accepted"},                                 \
      {"keystone_authtoken", "memcache_security_strategy", T::string, "", "accepted"},                                \
      {"keystone_authtoken", "memcache_secret_key", T::string, "", "accepted"},                                       \
      {"keystone_authtoken", "signing_dir", T::string, "", "accepted"},

const std::vector<OptionSpec>& server_schema() {
  using T = OptType;
  static const std::vector<OptionSpec> schema = {
      {"DEFAULT", "bind_host", T::string, "127.0.0.1", "address the API listens on"},
      {"DEFAULT", "bind_port", T::integer, "9696", "port the API listens on", 0, 65535},
      {"DEFAULT", "api_workers", T::integer, "2", "threads serving the API", 1, 256},
      {"DEFAULT", "max_connections", T::integer, "4096", "open client connections at most (also capped by the open-file limit)", 16, 1000000},
      {"DEFAULT", "metrics_allowed_cidrs", T::list, "127.0.0.0/8,::1/128",
       "clients that may read /metrics without a token (the Unix socket always may); 0.0.0.0/0,::/0 = anyone"},
      {"DEFAULT", "base_mac", T::string, "fa:16:3e:00:00:00", "base of generated MAC addresses"},
      {"DEFAULT", "auth_strategy", T::string, "noauth", "keystone (tokens validated with Keystone) or noauth (tests, single-user labs)"},
      {"DEFAULT", "noauth_project_id", T::string, "fake_project_id", "project of requests without X-Project-Id"},
      {"DEFAULT", "max_request_body_size", T::integer, "114688", "bytes; larger bodies get 413", 1024, 1073741824},
      {"DEFAULT", "pagination_max_limit", T::integer, "-1", "-1 = no cap", -1, 1000000000},
      {"DEFAULT", "allow_bulk", T::boolean, "true", "allow bulk create"},
      {"DEFAULT", "max_dns_nameservers", T::integer, "5", "", -1, 10000},
      {"DEFAULT", "max_subnet_host_routes", T::integer, "20", "", -1, 10000},
      {"DEFAULT", "max_allowed_address_pair", T::integer, "10", "", -1, 10000},
      {"DEFAULT", "global_physnet_mtu", T::integer, "1500", "MTU of the underlay", 68, 65535},
      {"DEFAULT", "debug", T::boolean, "false", "log at debug level"},
      {"DEFAULT", "core_plugin", T::string, "ml2", "accepted for compatibility; only ml2"},
      {"DEFAULT", "service_plugins", T::string, "", "accepted for compatibility"},
      {"DEFAULT", "router_distributed", T::boolean, "false", "default of a new router's distributed flag"},
      {"DEFAULT", "l3_ha", T::boolean, "false", "default of a new router's ha flag"},
      {"DEFAULT", "enable_snat_by_default", T::boolean, "true", ""},
      {"DEFAULT", "max_l3_agents_per_router", T::integer, "3", "gateway hosts per router", 1, 1000},
      {"DEFAULT", "max_routes", T::integer, "30", "extra routes per router", -1, 100000},
      {"ha", "preempt", T::boolean, "false", "a recovered higher-priority gateway host takes its routers back (false: it stays standby while the active one works)"},
      {"DEFAULT", "agent_down_time", T::integer, "75", "seconds without heartbeat before an agent is dead", 1, 86400},
      {"DEFAULT", "dvr_base_mac", T::string, "fa:16:3f:00:00:00", "base of per-host DVR MACs"},
      {"DEFAULT", "dhcp_agent_notification", T::boolean, "true", "serve DHCP: networks with a DHCP-enabled subnet get a network:dhcp port"},
      {"DEFAULT", "dhcp_lease_duration", T::integer, "86400", "DHCP lease time in seconds (-1: infinite)", -1, 2147483647},
      {"DEFAULT", "dns_domain", T::string, "openstacklocal", "domain given by DHCP"},
      {"DEFAULT", "dnsmasq_dns_servers", T::list, "", "DNS servers given by DHCP to subnets without dns_nameservers"},
      {"DEFAULT", "enable_isolated_metadata", T::boolean, "true", "route 169.254.169.254 through the DHCP port on subnets without a router"},
      {"DEFAULT", "force_metadata", T::boolean, "false", "route 169.254.169.254 through the DHCP port on every subnet"},
      KEYSTONE_AUTHTOKEN_OPTIONS
      {"oslo_policy", "policy_file", T::string, "policy.yaml", "operator overrides of the default policy (YAML or JSON); relative to the config file's directory"},
      {"oslo_policy", "enforce_new_defaults", T::boolean, "false", "true: only the new default rules (readers read-only); false: a rule also admits what its deprecated form admitted, as Neutron 21 by default"},
      {"oslo_policy", "enforce_scope", T::boolean, "false", "refuse tokens whose scope (system/project) the rule does not name"},
      {"oslo_policy", "policy_default_rule", T::string, "default", "accepted for compatibility"},
      {"oslo_policy", "policy_dirs", T::list, "", "accepted for compatibility; not read"},
      {"agent", "token", T::string, "", "shared token agents present (X-Neutrino-Token); empty = no check"},
      {"agent", "unix_socket", T::string, "", "also serve the API on this Unix socket (unix:// agent URLs)"},
      {"metadata", "listen", T::string, "", "host:port of the built-in metadata backend (Nova's metadata API, e.g. 127.0.0.1:8775; [::1]:8775); empty = off"},
      {"metadata", "metadata_proxy_shared_secret", T::string, "", "key of the proxies' X-Instance-ID-Signature (HMAC-SHA256); empty is an empty key, as Nova"},
      {"metadata", "unix_socket", T::string, "", "also serve the metadata backend on this Unix socket (agents' nova_metadata_host = unix:///path)"},
      {"metadata", "instance_data_dir", T::string, "", "absolute directory with <instance id>/public_keys and <instance id>/user_data"},
      {"database", "connection", T::string, "sqlite:///neutrino.db", "sqlite:///path or postgresql://user:password@host:port/dbname"},
      {"ml2", "type_drivers", T::list, "flat,vlan,vxlan,gre,geneve", ""},
      {"ml2", "tenant_network_types", T::list, "vxlan", ""},
      {"ml2", "mechanism_drivers", T::list, "neutrino", "accepted for compatibility"},
      {"ml2", "extension_drivers", T::list, "port_security", "accepted for compatibility"},
      {"ml2_type_vxlan", "vni_ranges", T::list, "1:1000", ""},
      {"ml2_type_gre", "tunnel_id_ranges", T::list, "1:1000", ""},
      {"ml2_type_geneve", "vni_ranges", T::list, "1:1000", ""},
      {"ml2_type_geneve", "max_header_size", T::integer, "30", "", 0, 1000},
      {"ml2_type_vlan", "network_vlan_ranges", T::list, "", "physnet or physnet:min:max"},
      {"ml2_type_flat", "flat_networks", T::list, "*", "physical networks allowed as flat; * = any"},
      {"quotas", "default_quota", T::integer, "-1", "", -1, INT32_MAX},
      {"quotas", "quota_network", T::integer, "100", "", -1, INT32_MAX},
      {"quotas", "quota_subnet", T::integer, "100", "", -1, INT32_MAX},
      {"quotas", "quota_port", T::integer, "500", "", -1, INT32_MAX},
      {"quotas", "quota_router", T::integer, "10", "", -1, INT32_MAX},
      {"quotas", "quota_floatingip", T::integer, "50", "", -1, INT32_MAX},
      {"quotas", "quota_security_group", T::integer, "10", "", -1, INT32_MAX},
      {"quotas", "quota_security_group_rule", T::integer, "100", "", -1, INT32_MAX},
      {"quotas", "quota_rbac_policy", T::integer, "10", "", -1, INT32_MAX},
      {"quotas", "quota_subnetpool", T::integer, "-1", "", -1, INT32_MAX},
  };
  return schema;
}

// A URL as it may be shown: "scheme://user:***@host/..." (any scheme; a MySQL URL copied
// from neutron.conf carries a password too).
std::string without_password(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto start = scheme + 3;
  auto end = std::min(url.find('/', start), url.find('?', start));  // the authority's end
  auto at = url.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at == std::string::npos || at < start || (end != std::string::npos && at > end)) return url;
  auto colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

Result<DatabaseTarget> parse_database_target(const std::string& conn, bool bare_path_is_sqlite) {
  DatabaseTarget t;
  if (is_postgres_url(conn)) {
    if (auto url = parse_postgres_url(conn); !url) return nt::unexpected(url.error());
    t.url = conn;
    return t;
  }
  if (conn.rfind("sqlite:///", 0) == 0) t.sqlite_path = conn.substr(10);
  else if (bare_path_is_sqlite && conn.find("://") == std::string::npos) t.sqlite_path = conn;
  else
    return fail(Errc::invalid_argument, Origin::config,
                "\"" + without_password(conn) + "\" is neither sqlite:///path nor postgresql://user:password@host:port/dbname");
  if (t.sqlite_path.empty() || t.sqlite_path.back() == '/')
    return fail(Errc::invalid_argument, Origin::config, "\"" + conn + "\" names no database file (sqlite:///path/to/file.db)");
  return t;
}

Result<Settings> settings_from(const Config& c) {
  Settings s;
  s.bind_host = c.str("DEFAULT", "bind_host");
  if (!IpAddress::parse(s.bind_host))
    return bad_value(c, "DEFAULT", "bind_host", "\"" + s.bind_host + "\" is not an IPv4 or IPv6 address");
  s.bind_port = static_cast<int>(c.integer("DEFAULT", "bind_port"));
  if (s.bind_port < 0 || s.bind_port > 65535) return bad_value(c, "DEFAULT", "bind_port", "must be 0..65535");
  s.api_workers = static_cast<int>(c.integer("DEFAULT", "api_workers"));
  s.max_connections = static_cast<int>(c.integer("DEFAULT", "max_connections"));
  for (const auto& text : c.list("DEFAULT", "metrics_allowed_cidrs")) {
    auto cidr = Cidr::parse(text);
    if (!cidr) return bad_value(c, "DEFAULT", "metrics_allowed_cidrs", "\"" + text + "\" is not a CIDR");
    s.metrics_allowed_cidrs.push_back(*cidr);
  }
  auto mac = Mac::parse(c.str("DEFAULT", "base_mac"));
  if (!mac) return bad_value(c, "DEFAULT", "base_mac", "\"" + c.str("DEFAULT", "base_mac") + "\" is not a MAC address");
  s.base_mac = *mac;
  s.auth_strategy = c.str("DEFAULT", "auth_strategy");
  // Neutron's default is keystone: a Neutron config that configures Keystone and leaves
  // auth_strategy out must not run open.
  if (c.where("DEFAULT", "auth_strategy").empty() && !c.str("keystone_authtoken", "auth_url").empty())
    s.auth_strategy = "keystone";
  if (s.auth_strategy != "noauth" && s.auth_strategy != "keystone")
    return bad_value(c, "DEFAULT", "auth_strategy", "\"" + s.auth_strategy + "\" is neither keystone nor noauth");
  if (s.auth_strategy == "keystone") NT_TRY(keystone_settings(c, s.keystone));
  s.policy_file = c.str("oslo_policy", "policy_file");
  s.enforce_new_defaults = c.boolean("oslo_policy", "enforce_new_defaults");
  s.enforce_scope = c.boolean("oslo_policy", "enforce_scope");
  s.noauth_project_id = c.str("DEFAULT", "noauth_project_id");
  s.max_request_body_size = static_cast<size_t>(c.integer("DEFAULT", "max_request_body_size"));
  s.pagination_max_limit = c.integer("DEFAULT", "pagination_max_limit");
  s.allow_bulk = c.boolean("DEFAULT", "allow_bulk");
  s.max_dns_nameservers = static_cast<int>(c.integer("DEFAULT", "max_dns_nameservers"));
  s.max_subnet_host_routes = static_cast<int>(c.integer("DEFAULT", "max_subnet_host_routes"));
  s.max_allowed_address_pair = static_cast<int>(c.integer("DEFAULT", "max_allowed_address_pair"));
  s.global_physnet_mtu = static_cast<int>(c.integer("DEFAULT", "global_physnet_mtu"));
  if (s.global_physnet_mtu < 68) return bad_value(c, "DEFAULT", "global_physnet_mtu", "must be at least 68");
  auto target = parse_database_target(c.str("database", "connection"), false);
  if (!target) return bad_value(c, "database", "connection", target.error().message);
  if (target->url.empty()) s.database = target->sqlite_path;
  s.database_url = target->url;
  static const std::vector<std::string> known_types = {"flat", "vlan", "vxlan", "gre", "geneve"};
  s.type_drivers = c.list("ml2", "type_drivers");
  for (const auto& t : s.type_drivers)
    if (std::find(known_types.begin(), known_types.end(), t) == known_types.end())
      return bad_value(c, "ml2", "type_drivers", "unknown type driver \"" + t + "\" (known: flat, vlan, vxlan, gre, geneve)");
  s.tenant_network_types = c.list("ml2", "tenant_network_types");
  for (const auto& t : s.tenant_network_types)
    if (std::find(s.type_drivers.begin(), s.type_drivers.end(), t) == s.type_drivers.end())
      return bad_value(c, "ml2", "tenant_network_types", "\"" + t + "\" is not in [ml2] type_drivers");
  NT_ASSIGN(s.vni_ranges, parse_ranges(c, "ml2_type_vxlan", "vni_ranges", 1, 16777215));
  NT_ASSIGN(s.gre_ranges, parse_ranges(c, "ml2_type_gre", "tunnel_id_ranges", 1, 4294967295ULL));
  NT_ASSIGN(s.geneve_ranges, parse_ranges(c, "ml2_type_geneve", "vni_ranges", 1, 16777215));
  s.geneve_max_header_size = static_cast<int>(c.integer("ml2_type_geneve", "max_header_size"));
  NT_ASSIGN(s.vlan_ranges, parse_vlan_ranges(c));
  s.flat_networks = c.list("ml2_type_flat", "flat_networks");
  s.router_distributed = c.boolean("DEFAULT", "router_distributed");
  s.l3_ha = c.boolean("DEFAULT", "l3_ha");
  s.ha_preempt = c.boolean("ha", "preempt");
  s.enable_snat_by_default = c.boolean("DEFAULT", "enable_snat_by_default");
  s.max_l3_agents_per_router = static_cast<int>(c.integer("DEFAULT", "max_l3_agents_per_router"));
  if (s.max_l3_agents_per_router < 1)
    return bad_value(c, "DEFAULT", "max_l3_agents_per_router", "must be at least 1");
  s.max_routes = static_cast<int>(c.integer("DEFAULT", "max_routes"));
  s.agent_down_time = static_cast<int>(c.integer("DEFAULT", "agent_down_time"));
  if (s.agent_down_time < 1) return bad_value(c, "DEFAULT", "agent_down_time", "must be at least 1 second");
  auto dvr_mac = Mac::parse(c.str("DEFAULT", "dvr_base_mac"));
  if (!dvr_mac) return bad_value(c, "DEFAULT", "dvr_base_mac", "\"" + c.str("DEFAULT", "dvr_base_mac") + "\" is not a MAC address");
  s.dvr_base_mac = *dvr_mac;
  s.dhcp_agent_notification = c.boolean("DEFAULT", "dhcp_agent_notification");
  s.dhcp_lease_duration = c.integer("DEFAULT", "dhcp_lease_duration");
  if (s.dhcp_lease_duration == 0) return bad_value(c, "DEFAULT", "dhcp_lease_duration", "must be positive or -1 (infinite)");
  s.dns_domain = c.str("DEFAULT", "dns_domain");
  for (const auto& d : c.list("DEFAULT", "dnsmasq_dns_servers")) {
    auto ip = IpAddress::parse(d);
    if (!ip || ip->version != 4) return bad_value(c, "DEFAULT", "dnsmasq_dns_servers", "\"" + d + "\" is not an IPv4 address");
    s.dnsmasq_dns_servers.push_back(d);
  }
  s.enable_isolated_metadata = c.boolean("DEFAULT", "enable_isolated_metadata");
  s.force_metadata = c.boolean("DEFAULT", "force_metadata");
  s.agent_token = c.str("agent", "token");
  s.unix_socket = c.str("agent", "unix_socket");
  NT_TRY(metadata_settings(c, s));
  for (const char* r : {"network", "subnet", "port", "router", "floatingip", "security_group",
                        "security_group_rule", "rbac_policy", "subnetpool"})
    s.default_quotas.emplace_back(r, c.integer("quotas", std::string("quota_") + r));
  return s;
}

}  // namespace nt
