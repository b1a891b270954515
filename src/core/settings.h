// Server settings: the schema of server.ini (Neutron option names where the idea is the
// same) and the typed values the domain uses.
#pragma once
#include <string>
#include <vector>

#include "auth/keystone.h"
#include "common/config.h"
#include "common/net.h"

namespace nt {

struct IdRange {
  uint64_t min = 0, max = 0;
};
struct VlanRange {
  std::string physnet;
  std::vector<IdRange> ranges;  // empty = every VLAN id (1-4094), as neutron-lib reads "physnet"
};

// [database] connection / --database: a SQLite file (sqlite:///path, or a bare path on the
// command line) or a PostgreSQL URL (postgresql://, postgresql+psycopg2://, postgres://).
struct DatabaseTarget {
  std::string sqlite_path;  // set for SQLite
  std::string url;          // set for PostgreSQL
};
Result<DatabaseTarget> parse_database_target(const std::string& connection, bool bare_path_is_sqlite);
std::string without_password(const std::string& url);  // "user:***@" for logs and errors

struct Settings {
  std::string bind_host = "127.0.0.1";
  int bind_port = 9696;
  int api_workers = 2;
  int max_connections = 4096;
  std::vector<Cidr> metrics_allowed_cidrs;  // may read /metrics (see docs/operator-guide.md)
  std::string database = "neutrino.db";  // the SQLite file, when database_url is empty
  std::string database_url;              // a PostgreSQL URL ([database] connection), else ""
  Mac base_mac{0xfa163e000000ULL};
  std::string auth_strategy = "noauth";
  std::string noauth_project_id = "fake_project_id";
  auth::KeystoneOptions keystone;  // [keystone_authtoken], when auth_strategy = keystone
  std::string policy_file;          // [oslo_policy] policy_file, resolved against the config's directory
  bool enforce_new_defaults = false;
  bool enforce_scope = false;
  size_t max_request_body_size = 114688;
  int64_t pagination_max_limit = -1;
  bool allow_bulk = true;
  int max_dns_nameservers = 5;
  int max_subnet_host_routes = 20;
  int max_allowed_address_pair = 10;
  int global_physnet_mtu = 1500;
  int geneve_max_header_size = 30;
  std::vector<std::string> type_drivers, tenant_network_types, flat_networks;
  std::vector<IdRange> vni_ranges, gre_ranges, geneve_ranges;
  std::vector<VlanRange> vlan_ranges;
  std::vector<std::pair<std::string, int64_t>> default_quotas;  // resource -> limit
  // L3 and agents.
  bool router_distributed = false;
  bool l3_ha = false;
  bool ha_preempt = false;  // [ha] preempt: the gateway order goes back to priority on recovery
  bool enable_snat_by_default = true;
  int max_l3_agents_per_router = 3;
  int max_routes = 30;
  int agent_down_time = 75;  // seconds
  std::string agent_token;   // shared secret of the agent channel
  std::string unix_socket;   // [agent] unix_socket: where agents in other namespaces connect
  Mac dvr_base_mac{0xfa163f000000ULL};
  // DHCP and metadata (Neutron's names; the DHCP agent's options live here: every host
  // serves DHCP from what the server plans).
  bool dhcp_agent_notification = true;  // false: no network:dhcp ports, no DHCP served
  int64_t dhcp_lease_duration = 86400;  // seconds; -1 = infinite
  std::string dns_domain = "openstacklocal";
  std::vector<std::string> dnsmasq_dns_servers;  // DNS servers for subnets without dns_nameservers
  bool enable_isolated_metadata = true;          // the 169.254.169.254 route for subnets without a router
  bool force_metadata = false;                   // that route for every subnet
  // [metadata]: the built-in metadata backend (Nova's metadata API); off when metadata_port < 0.
  std::string metadata_host;
  int metadata_port = -1;
  std::string metadata_secret;    // metadata_proxy_shared_secret
  std::string metadata_unix_socket;  // [metadata] unix_socket: also served there
  std::string instance_data_dir;  // absolute; <dir>/<instance id>/public_keys and user_data
};

const std::vector<OptionSpec>& server_schema();
// Builds typed settings; range and value errors name file:line and the option.
Result<Settings> settings_from(const Config& config);

}  // namespace nt
