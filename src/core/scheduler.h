// Gateway scheduling: which gateway hosts serve each router, in priority order (the first
// live one is active). The rules, applied router by router in id order:
//  - hosts that are no longer eligible (dead past agent_down_time, disabled, deleted) leave
//    the list; the others keep their order, so the next in priority takes over;
//  - a router with fewer than `max` hosts gets more eligible hosts: the first position goes
//    to the host with the fewest active roles, later positions to the host with the fewest
//    roles (ties by name), which spreads active roles evenly over gateway hosts.
// Pure: no I/O, unit-tested.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace nt {

using Schedule = std::map<std::string, std::vector<std::string>>;  // router -> hosts by priority

Schedule schedule_gateways(const std::vector<std::string>& routers, const Schedule& current,
                           const std::vector<std::string>& eligible_hosts, int max_hosts);

}  // namespace nt
