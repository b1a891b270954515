// Agents as Neutron shows them (GET /v2.0/agents), their L3 listings, and the server side
// of the agent channel: register, status (heartbeat and gateway ha_state) and the
// periodic liveness sweep.
#pragma once
#include "api/l3.h"
#include "core/liveness.h"
#include "core/provisioning.h"
#include "http/message.h"

namespace nt {

std::unique_ptr<Handler> make_agents(const Settings& s, Liveness& liveness);

// GET /v2.0/routers/{id}/l3-agents and GET /v2.0/agents/{id}/l3-routers.
Result<boost::json::value> l3_agents_of_router(Handler& agents, Handler& routers, const Model& m, const Ctx& ctx,
                                               const std::string& router_id);
Result<boost::json::value> l3_routers_of_agent(Handler& agents, Handler& routers, const Model& m, const Ctx& ctx,
                                               const std::string& agent_id);

// What an agent presented: the shared enrolment token (X-Neutrino-Token) and its host's
// own token (X-Neutrino-Host-Token), issued at enrolment.
struct AgentCredentials {
  std::string enrolment_token;
  std::string host_token;
  static AgentCredentials of(const HttpRequest& req);
};

// POST /agent/v1/register. A new host (or one whose agents were deleted) enrols with the
// enrolment token and is answered its own `host_token`, stored only as a hash; an
// enrolled host re-registers with its own token only.
Result<boost::json::value> register_host(Txn& txn, const Settings& s, Liveness& liveness, const std::string& body,
                                         const AgentCredentials& presented);
// /agent/v1/hosts/{host}/...: only the host's own token opens them (a host enrolled before
// per-host tokens existed is let in with the enrolment token until it registers again).
Status check_host_credential(const Model& m, const Settings& s, const std::string& host,
                             const AgentCredentials& presented);
// The enrolment token, when one is configured (compared in constant time).
Status check_enrolment_token(const Settings& s, const AgentCredentials& presented);
// POST /agent/v1/hosts/{host}/status: the parsed report.
struct StatusReport {
  std::string host;
  std::map<std::string, std::string> ha_states;  // router -> active | standby
  std::map<std::string, std::string> port_states;  // port -> up | down (taps plugged on the host)
  std::optional<int64_t> applied;  // the host view revision the agent has fully applied
};
Result<StatusReport> parse_status(const std::string& host, const std::string& body);
// Whether the report changes stored state (a dead host coming back, new ha_state values,
// a port going DOWN). A port reported up goes ACTIVE only once provisioned (below).
bool status_needs_write(const Model& m, const StatusReport& report);
// "Applied everywhere" (core/provisioning.h): the ports the report says are up that are
// bound to its host (bridge), admin up and not ACTIVE yet: port id -> its network.
std::map<std::string, std::string> ports_to_provision(const Model& m, const StatusReport& report);
// Stores the report; `provisioned` ports (every host that must act on them has applied
// them) go ACTIVE if they are still bound where they were, admin up, and not ACTIVE.
Result<boost::json::value> apply_status(Txn& txn, const Settings& s, const StatusReport& report,
                                        const std::vector<Provisioning::Ready>& provisioned = {});
// Stores liveness transitions and reschedules gateways; writes nothing when nothing changed.
Status sweep_liveness(Txn& txn, const Settings& s, const Liveness& liveness);

}  // namespace nt
