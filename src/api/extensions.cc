// Static documents: API versions, the v2.0 resource index, the extensions this server
// implements (and only those), and availability zones.
#include "api/handlers.h"

#include <algorithm>

#include "common/text.h"

namespace nt {
namespace json = boost::json;

namespace {

struct Extension {
  const char* alias;
  const char* name;
  const char* description;
};

const Extension kExtensions[] = {
    {"agent", "agent", "The agent management extension."},
    {"dvr", "Distributed Virtual Router", "Enables configuration of Distributed Virtual Routers."},
    {"ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"},
    {"extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"},
    {"floatingip-pools", "Floating IP Pools Extension", "Provides a floating IP pools API."},
    {"network-ip-availability", "Network IP Availability", "Provides IP availability data for each network and subnet."},
    {"extraroute-atomic", "Atomically add/remove extra routes", "Edit extra routes of a router on server side by atomically adding/removing extra routes"},
    {"fip-port-details", "Floating IP Port Details Extension", "Add port_details attribute to Floating IP resource"},
    {"floating-ip-port-forwarding", "Floating IP Port Forwarding", "Allow port forwarding from floating IP port to an internal port"},
    {"floating-ip-port-forwarding-description", "Floating IP Port Forwarding new attribute description",
     "Add a description field to Port Forwarding rules"},
    {"floating-ip-port-forwarding-port-ranges", "Floating IP Port Forwarding support port ranges", "Add suport to port ranges"},
    {"floating-ip-port-forwarding-detail", "Floating IP port forwarding detail",
     "Allow list floating ip return more port forwarding data, include'id' and 'internal_port_id'"},
    {"expose-port-forwarding-in-fip", "Expose Floating IP port forwardings", "Expose port forwarding fields in floating IP response"},
    {"l3-ha", "HA Router extension", "Adds HA capability to routers."},
    {"l3_agent_scheduler", "L3 Agent Scheduler", "Schedule routers among l3 agents"},
    {"rbac-policies", "RBAC Policies", "Allows creation and modification of policies that control tenant access to resources."},
    {"rbac-address-scope", "Add address_scope type to RBAC", "Add address_scope type to RBAC"},
    {"rbac-subnetpool", "Add subnetpool type to RBAC", "Add subnetpool type to RBAC"},
    {"rbac-address-group", "Add address_group type to RBAC", "Add address_group type to RBAC"},
    {"rbac-security-groups", "Add security_group type to network RBAC",
     "Add security_group type to network RBAC"},
    {"service-type", "Neutron Service Type Management", "API for retrieving service providers for Neutron advanced services"},
    {"router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."},
    {"allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"},
    {"availability_zone", "Availability Zone", "The availability zone extension."},
    {"binding", "Port Binding", "Expose port bindings of a virtual port to external application"},
    {"empty-string-filtering", "Empty String Filtering Extension", "Allow filtering by attributes with empty string value"},
    {"external-net", "Neutron external network", "Adds external network attribute to network resource."},
    {"extra_dhcp_opt", "Neutron Extra DHCP options", "Extra options configuration for DHCP."},
    {"filter-validation", "Filter parameters validation", "Provides validation on filtering parameters."},
    {"ip-substring-filtering", "IP address substring filtering", "Provides IP address substring filtering when listing ports"},
    {"net-mtu", "Network MTU", "Provides MTU attribute for a network resource."},
    {"net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU attribute for a network resource."},
    {"network_availability_zone", "Network Availability Zone", "Availability zone support for network."},
    {"pagination", "Pagination support", "Extension that indicates that pagination is enabled."},
    {"port-security", "Port Security", "Provides port security"},
    {"project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."},
    {"provider", "Provider Network", "Expose mapping of virtual networks to physical networks"},
    {"quotas", "Quota management support", "Expose functions for quotas management per project"},
    {"quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project"},
    {"revision-if-match", "If-Match constraints based on revision_number",
     "Extension indicating that If-Match based on revision_number is supported."},
    {"security-group", "security-group", "The security groups extension."},
    {"sorting", "Sorting support", "Extension that indicates that sorting is enabled."},
    {"standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes"},
    {"standard-attr-revisions", "Resource revision numbers",
     "This extension will display the revision number of neutron resources."},
    {"standard-attr-tag", "Tag support for resources with standard attribute: subnet, trunk, network_segment_range, "
                          "router, network, policy, subnetpool, port, security_group, floatingip",
     "Enables to set tag on resources with standard attribute."},
    {"standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."},
    {"stateful-security-group", "Stateful security group", "Indicates if the security group is stateful or not"},
    {"dns-integration", "DNS Integration", "Provides integration with DNS."},
    {"availability_zone_filter", "Availability Zone Filter Extension", "Add filter parameters to AvailabilityZone resource"},
    {"router_availability_zone", "Router Availability Zone", "Availability zone support for router."},
    {"subnet-service-types", "Subnet service types", "Provides ability to set the subnet service_types field"},
    {"router-admin-state-down-before-update", "Enforce Router's Admin State Down Before Update Extension",
     "Ensure that the admin state of a router is DOWN (admin_state_up=False) before updating the distributed attribute"},
    {"security-groups-normalized-cidr", "Normalized CIDR field for security group rules",
     "Add new field with normalized remote_ip_prefix cidr in SG rule"},
    {"port-security-groups-filtering", "Port filtering on security groups", "Provides security groups filtering when listing ports"},
    {"security-groups-shared-filtering", "Security group filtering on the shared field",
     "Support filtering security groups on the shared field"},
    {"port-mac-address-regenerate", "Neutron Port MAC address regenerate", "Network port MAC address regenerate"},
    {"l3-port-ip-change-not-allowed", "Prevent L3 router ports IP address change extension",
     "Prevent change of IP address for some L3 router ports"},
    {"quota-check-limit", "Quota engine limit check",
     "Support for checking the resource usage before applying a new quota limit"},
    {"address-scope", "Address scope", "Address scopes extension."},
    {"subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from a subnet pool"},
    {"default-subnetpools", "Default Subnetpools", "Provides ability to mark and use a subnetpool as the default."},
    {"subnetpool-prefix-ops", "Subnet Pool Prefix Operations", "Provides support for adjusting the prefix list of subnet pools"},
    {"subnet_onboard", "Subnet Onboard", "Provides support for onboarding subnets into subnet pools"},
    {"multi-provider", "Multi Provider Network", "Expose mapping of virtual networks to multiple physical networks"},
    {"auto-allocated-topology", "Auto Allocated Topology Services", "Auto Allocated Topology Services."},
    {"address-group", "Address group", "Support address group"},
    {"security-groups-remote-address-group", "Remote address group id field for security group rules",
     "Add new field of remote address group id in SG rules"},
};

json::object extension_json(const Extension& e) {
  return {{"alias", e.alias}, {"name", e.name}, {"description", e.description},
          {"updated", "2025-01-01T10:00:00-00:00"}, {"links", json::array{}}};
}

}  // namespace

json::value versions_doc(const std::string& base) {
  return json::object{{"versions", json::array{json::object{
                                       {"id", "v2.0"},
                                       {"status", "CURRENT"},
                                       {"links", json::array{json::object{{"href", base + "/v2.0/"}, {"rel", "self"}}}}}}}};
}

json::value resources_doc(const std::string& base) {
  json::array out;
  for (auto [singular, plural, path] : {std::tuple{"network", "networks", "networks"}, {"subnet", "subnets", "subnets"},
                                        {"port", "ports", "ports"}, {"security_group", "security_groups", "security-groups"},
                                        {"security_group_rule", "security_group_rules", "security-group-rules"},
                                        {"quota", "quotas", "quotas"}, {"router", "routers", "routers"},
                                        {"floatingip", "floatingips", "floatingips"}, {"agent", "agents", "agents"},
                                        {"subnetpool", "subnetpools", "subnetpools"},
                                        {"address_scope", "address_scopes", "address-scopes"}}) {
    out.push_back(json::object{{"name", singular},
                               {"collection", plural},
                               {"links", json::array{json::object{{"href", base + "/v2.0/" + path}, {"rel", "self"}}}}});
  }
  return json::object{{"resources", std::move(out)}};
}

Result<json::value> extensions_doc(const std::string& alias) {
  if (alias.empty()) {
    json::array out;
    for (const auto& e : kExtensions) out.push_back(extension_json(e));
    return json::object{{"extensions", std::move(out)}};
  }
  for (const auto& e : kExtensions)
    if (alias == e.alias) return json::object{{"extension", extension_json(e)}};
  return not_found("HTTPNotFound", "Extension with alias " + alias + " does not exist");
}

// GET /v2.0/service-providers (service-type): the router flavours the L3 service offers
// (each combination of the distributed and ha flags), as Neutron 21 lists its L3 drivers.
// Filters on the three attributes; others are ignored, as Neutron ignores them.
json::value service_providers_doc(const Params& params) {
  json::array out;
  for (const char* name : {"dvrha", "dvr", "ha", "single_node"}) {
    json::object p{{"service_type", "L3_ROUTER_NAT"}, {"name", name}, {"default", false}};
    bool keep = true;
    std::vector<std::string> fields;
    for (const auto& [k, v] : params) {
      if (k == "fields") fields.push_back(v);
      else if (k == "service_type" || k == "name") keep = keep && jget::str(p.if_contains(k)) == v;
      else if (k == "default") keep = keep && ascii_lower(v) == "false";
    }
    if (!keep) continue;
    if (!fields.empty())
      for (const char* k : {"service_type", "name", "default"})
        if (std::find(fields.begin(), fields.end(), k) == fields.end()) p.erase(k);
    out.push_back(std::move(p));
  }
  return json::object{{"service_providers", std::move(out)}};
}

Result<json::value> availability_zones_doc(const Params& params) {
  json::array out;
  for (const char* resource : {"network", "router"}) {
    json::object az{{"name", "nova"}, {"resource", resource}, {"state", "available"}};
    bool keep = true;
    for (const auto& [k, v] : params) {
      if (k == "fields") continue;
      if (k != "name" && k != "resource" && k != "state") return bad_request("['" + k + "'] is invalid attribute for filtering");
      keep = keep && jget::str(az.if_contains(k)) == v;
    }
    if (keep) out.push_back(std::move(az));
  }
  return json::object{{"availability_zones", std::move(out)}};
}

}  // namespace nt
