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
// The router with a gateway on `ext_net` and an interface on `subnet` ("" when none).
std::string router_reaching(const Model& m, const std::string& ext_net, const std::string& subnet);
// Floating IPs associated through the router.
std::vector<const Obj*> router_floating_ips(const Model& m, const std::string& router);
// Recomputes which gateway hosts serve each router with a gateway (see core/scheduler.h)
// and stores the result in l3_bindings rows; only changed rows are written.
void reschedule_gateways(Txn& txn, const Settings& s);

std::unique_ptr<Handler> make_routers(const Settings& s);
// Creates or removes a router's sg- ports to match its interfaces and gateway.
Status router_sync_snat(Handler& routers, Txn& txn, const Obj& router);
std::unique_ptr<Handler> make_floating_ips(const Settings& s);

// Port forwardings (port_forwardings.cc), a sub-resource of floating IPs.
std::unique_ptr<Handler> make_port_forwardings(const Settings& s);
// Removes one; the floating IP loses its router with its last forwarding.
void remove_forwarding(Txn& txn, const std::string& id);
// What a floating IP shows of its forwardings (expose-port-forwarding-in-fip).
boost::json::array forwardings_summary(const Model& m, const std::string& fip_id);
bool fip_has_forwardings(const Model& m, const std::string& fip_id);
// After a port is deleted or its addresses change: its forwardings to addresses it no
// longer has go, as Neutron's.
void remove_forwardings_of_port(Txn& txn, const Obj& port, bool deleted);
// GET and writes of /v2.0/floatingips/{fip}/port_forwardings[/{id}] (`path` from
// "floatingips"); `fips` is the floating IPs' handler.
Result<std::string> port_forwardings_read(Handler& h, Handler& fips, const Model& m, const Ctx& ctx,
                                          const std::vector<std::string>& path, const Params& params,
                                          const std::string& base_url);
Result<boost::json::value> port_forwardings_write(Handler& h, Handler& fips, Txn& txn, const Ctx& ctx,
                                                  const std::string& method, const std::vector<std::string>& path,
                                                  const std::string& body, const std::string& if_match);
// PUT /v2.0/routers/{id}/add_router_interface and .../remove_router_interface
Result<boost::json::value> router_interface_action(Handler& routers, Txn& txn, const Ctx& ctx, const std::string& id,
                                                   const std::string& action, const std::string& body);

}  // namespace nt
