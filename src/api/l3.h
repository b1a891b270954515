// What routers, floating IPs and agents share: finding a router's ports, its gateway, the
// floating IPs that depend on it, and the gateway scheduling of routers to hosts.
#pragma once
#include <string>
#include "common/names.h"
#include <vector>

#include "api/resource.h"

namespace nt {

inline constexpr const char* kOwnerInterface = owner::kInterface.data();
inline constexpr const char* kOwnerInterfaceDvr = owner::kInterfaceDistributed.data();
inline constexpr const char* kOwnerGateway = owner::kGateway.data();
inline constexpr const char* kOwnerSnat = owner::kCentralizedSnat.data();
inline constexpr const char* kOwnerFloatingIp = owner::kFloatingIp.data();

bool is_interface_owner(const std::string& owner);
// The router's ports with the given owners (all router owners when empty).
std::vector<const Obj*> router_ports(const Model& m, const std::string& router, const std::vector<std::string>& owners = {});
std::vector<std::string> router_interface_subnets(const Model& m, const std::string& router);
// Floating IPs associated through the router.
std::vector<const Obj*> router_floating_ips(const Model& m, const std::string& router);
// Recomputes which gateway hosts serve each router with a gateway (see core/scheduler.h)
// and stores the result in l3_bindings rows; only changed rows are written.
void reschedule_gateways(Txn& txn, const Settings& s);

std::unique_ptr<Handler> make_routers(const Settings& s);
// Creates or removes a router's sg- ports to match its interfaces and gateway.
Status router_sync_snat(Handler& routers, Txn& txn, const Obj& router);
std::unique_ptr<Handler> make_floating_ips(const Settings& s);
// PUT /v2.0/routers/{id}/add_router_interface and .../remove_router_interface
Result<boost::json::value> router_interface_action(Handler& routers, Txn& txn, const Ctx& ctx, const std::string& id,
                                                   const std::string& action, const std::string& body);

}  // namespace nt
