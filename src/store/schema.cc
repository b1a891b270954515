#include "store/schema.h"

namespace nt {

const std::vector<std::string>& resource_kinds() {
  static const std::vector<std::string> kinds = {
      "networks", "subnets", "ports", "security_groups", "security_group_rules", "quotas",
      "routers", "floatingips", "agents", "hosts", "l3_bindings", "address_scopes", "subnetpools",
      "port_forwardings", "rbac_policies", "address_groups", "auto_allocated_topologies"};
  return kinds;
}

// Each entry migrates the schema from version i to i+1; PRAGMA user_version holds the
// current version. Never edit a released migration: append a new one.
const std::vector<std::string>& migrations() {
  static const std::vector<std::string> steps = {
      R"sql(
      CREATE TABLE networks (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE subnets (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE ports (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE security_groups (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE security_group_rules (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE quotas (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE ip_allocations (subnet_id TEXT NOT NULL, ip_address TEXT NOT NULL,
                                   port_id TEXT NOT NULL, PRIMARY KEY (subnet_id, ip_address));
      CREATE TABLE mac_allocations (network_id TEXT NOT NULL, mac_address TEXT NOT NULL,
                                    port_id TEXT NOT NULL, PRIMARY KEY (network_id, mac_address));
      CREATE TABLE segment_allocations (type_physnet TEXT NOT NULL, segmentation_id TEXT NOT NULL,
                                        network_id TEXT NOT NULL, PRIMARY KEY (type_physnet, segmentation_id));
      CREATE TABLE changes (revision INTEGER NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
                            op TEXT NOT NULL);
      CREATE INDEX changes_by_revision ON changes (revision);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('revision', '0');
      )sql",
      // 2: L3 (routers, floating IPs), agents, hosts (one row per agent host, with its DVR
      // MAC) and the gateway scheduling of routers.
      R"sql(
      CREATE TABLE routers (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE floatingips (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE agents (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE hosts (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE l3_bindings (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      )sql",
      // 3: rows that could not be loaded, set aside by --skip-bad-rows (kept for repair).
      R"sql(
      CREATE TABLE quarantine (kind TEXT NOT NULL, id TEXT NOT NULL, body BLOB, reason TEXT NOT NULL,
                               at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));
      )sql",
      // 4: address scopes and subnet pools (subnet_allocation, address-scope).
      R"sql(
      CREATE TABLE address_scopes (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE subnetpools (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      )sql",
      // 5: port forwardings of floating IPs, and RBAC policies.
      R"sql(
      CREATE TABLE port_forwardings (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE rbac_policies (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      )sql",
      // 6: address groups, and the auto-allocated topology of each project.
      R"sql(
      CREATE TABLE address_groups (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE auto_allocated_topologies (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL);
      )sql",
  };
  return steps;
}

}  // namespace nt
