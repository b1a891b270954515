// The resource handlers and the helpers resources share.
#pragma once
#include <memory>

#include "api/resource.h"

namespace nt {

std::unique_ptr<Handler> make_networks(const Settings& s);
std::unique_ptr<Handler> make_subnets(const Settings& s);
std::unique_ptr<Handler> make_ports(const Settings& s);
std::unique_ptr<Handler> make_security_groups(const Settings& s);
std::unique_ptr<Handler> make_security_group_rules(const Settings& s);
std::unique_ptr<Handler> make_address_scopes(const Settings& s);
std::unique_ptr<Handler> make_subnetpools(const Settings& s);
std::unique_ptr<Handler> make_address_groups(const Settings& s);

// Address groups (address_groups.cc): PUT and DELETE of /v2.0/address-groups/ID and its
// actions add_addresses and remove_addresses (path = {"address-groups", ID[, action]});
// its reads; whether ctx may name the group in a security group rule.
Result<boost::json::value> address_group_write(Handler& h, Txn& txn, const Ctx& ctx, const std::string& method,
                                               const std::vector<std::string>& path, const std::string& body);
Result<std::string> address_group_read(Handler& h, const Model& m, const Ctx& ctx, const std::vector<std::string>& path,
                                       const Params& params, const std::string& collection_url);
bool address_group_visible(const Model& m, const std::string& id, const Ctx& ctx);

// Subnet pools (subnetpools.cc, subnetpool_subnets.cc). For a new subnet: the pool it
// names (or the default one), with its cidr (and gateway) allocated from it when it gives
// none; nullptr without a pool. Then the one-pool/one-scope-per-network rule, and the
// network's ipv4/ipv6_address_scope kept up to date when its subnets change.
Result<const Obj*> subnet_pool_request(const Handler& pools, Txn& txn, Obj& sub, const Ctx& ctx);
Status check_subnet_pool_affinity(const Model& m, const Obj& net, const Obj& sub);
void refresh_network_scopes(Txn& txn, const std::string& network_id);
// POST /v2.0/subnetpools (no bulk), PUT /v2.0/subnetpools/ID and its actions
// (add_prefixes, remove_prefixes, onboard_network_subnets).
Result<boost::json::value> subnetpool_write(Handler& h, Txn& txn, const Ctx& ctx, const std::string& method,
                                            const std::vector<std::string>& path, const std::string& body,
                                            const std::string& if_match);

// The network's network:dhcp port (dhcp_port.cc), device_id dhcp_port_device_id(network):
// made, given or relieved of an address on each IPv4 DHCP-enabled subnet, or deleted when
// none is left, after a change of the network's subnets; nothing with
// dhcp_agent_notification off. `ports` is the ports handler.
Status sync_dhcp_port(Handler& ports, Txn& txn, const std::string& network_id);
std::string dhcp_port_device_id(const std::string& network_id);

// The project's "default" security group, created with its 4 rules if missing.
bool has_default_sg(const Model& m, const std::string& project);
Result<std::string> ensure_default_sg(Txn& txn, const std::string& project);
std::string default_sg_id(const Model& m, const std::string& project);

// Networks a caller may see: own, shared (to everyone or by RBAC to its project), or
// external (to everyone or by RBAC); any as admin.
bool network_visible(const Model& m, const Obj& net, const Ctx& ctx);
// Neutron's ownership validation of a port or subnet being created: its network must be
// one the caller can see (admins: any), else 404 NetworkNotFound.
Status network_usable_for_create(const Model& m, const Obj& checked, const Ctx& ctx);
// A network, subnet pool or address scope shared with the caller's project by an
// access_as_shared policy naming it (the stored `shared` is the "*" policy's).
bool shared_with_caller(const Model& m, const Obj& stored, const Ctx& ctx);

// auto-allocated-topology (auto_allocated.cc): GET (also ?fields=dry-run) and DELETE of
// /v2.0/auto-allocated-topology/{project} (`path` from "auto-allocated-topology"); GET
// builds the topology, so it runs as a write. `networks` is the networks handler.
Result<boost::json::value> auto_allocated_topology(Handler& networks, Txn& txn, const Ctx& ctx, const std::string& method,
                                                   const std::vector<std::string>& path, const Params& params);
// A deleted network takes its project's topology record with it.
void forget_auto_allocated_network(Txn& txn, const std::string& network_id);

// RBAC policies (rbac.cc).
std::unique_ptr<Handler> make_rbac_policies(const Settings& s);
// A policy on `object_id` with `action` ("" = any) for `project` or everyone.
bool rbac_grants(const Model& m, const std::string& object_id, const std::string& action, const std::string& project);
// The object ("networks" or "security_groups") is the caller's, shared with it, or the caller admin.
bool rbac_readable(const Model& m, const Obj& o, const std::string& kind, const Ctx& ctx);
// Keeps a network's "*" policies in step with its shared and router:external attributes.
Status sync_network_policies(Txn& txn, const Obj& before, const Obj& after);
void drop_object_policies(Txn& txn, const std::string& object_id);
// A shared address scope or pool gets its "*" access_as_shared policy, as Neutron's.
void sync_shared_policy(Txn& txn, const std::string& object_type, const Obj& o);
// Tags sub-resource: GET/PUT/DELETE /v2.0/{coll}/{id}/tags[/{tag}].
Result<boost::json::value> tags_read(Handler& h, const Model& m, const Ctx& ctx, const std::string& id,
                                     const std::string& tag);
Result<boost::json::value> tags_write(Handler& h, Txn& txn, const Ctx& ctx, const std::string& method,
                                      const std::string& id, const std::string& tag, const std::string& body);

// Quotas.
Result<boost::json::value> quotas_read(const Model& m, const Settings& s, const Ctx& ctx,
                                       const std::vector<std::string>& path);
Result<boost::json::value> quotas_write(Txn& txn, const Settings& s, const Ctx& ctx, const std::string& method,
                                        const std::vector<std::string>& path, const std::string& body);

// Static documents: versions, the resource index, extensions, availability zones.
boost::json::value versions_doc(const std::string& base);
boost::json::value resources_doc(const std::string& base);
Result<boost::json::value> extensions_doc(const std::string& alias);
Result<boost::json::value> availability_zones_doc(const Params& params);
boost::json::value service_providers_doc(const Params& params);
// GET /v2.0/floatingip_pools and /v2.0/network-ip-availabilities[/ID] (ip_availability.cc).
Result<boost::json::value> floatingip_pools_doc(const Model& m, const Ctx& ctx);
Result<boost::json::value> ip_availability_doc(const Model& m, const Ctx& ctx, const std::string& network_id);

}  // namespace nt
