// Small facts about Neutron objects as the planner reads them (internal to src/planner).
#pragma once
#include <boost/json.hpp>
#include "common/json_get.h"
#include "common/names.h"
#include <string>

namespace nt::planner_detail {

using jget::str;

// A router interface: the same IP and MAC on every host of a distributed router.
inline bool is_interface(const std::string& owner) {
  return owner::is_router_interface(owner);
}

// The host a port is bound to; a failed binding binds it nowhere.
inline std::string host_of(const boost::json::object& port) {
  auto vif = str(port, "binding:vif_type");
  return (vif == "binding_failed" || vif == "unbound") ? std::string() : str(port, "binding:host_id");
}

}  // namespace nt::planner_detail
