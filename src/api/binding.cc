// Port binding (ML2's job in Neutron): a port with binding:host_id is bound when that host
// has a live agent able to serve the network's segment: binding:vif_type "bridge" with the
// bridge name in binding:vif_details. Otherwise binding_failed, with a reason an operator
// can act on in the server log and in binding:vif_details["reason"].
#include <spdlog/spdlog.h>
#include "common/names.h"

#include "api/binding.h"

#include <algorithm>

namespace nt {
namespace json = boost::json;

namespace {

// The reason the host cannot serve the network, or "" when it can.
std::string cannot_serve(const Model& m, const std::string& host, const Obj& net) {
  const Obj* h = m.find("hosts", host);
  if (!h) return "host " + host + " has no registered agent";
  if (!h->at("alive").as_bool()) return "the agent of host " + host + " is not alive";
  auto type = jget::str(net.if_contains("provider:network_type"));
  auto physnet = jget::str(net.if_contains("provider:physical_network"));
  if (const auto* served = h->if_contains("network_types"); served && served->is_array()) {
    const auto& list = served->as_array();
    if (std::find(list.begin(), list.end(), json::value(type)) == list.end()) {
      std::string why;
      if (const auto* reasons = h->if_contains("unsupported_network_types"); reasons && reasons->is_object())
        why = jget::str(reasons->as_object().if_contains(type));
      return "host " + host + " cannot serve " + type + " networks" + (why.empty() ? "" : ": " + why);
    }
  }
  if (type == "flat" || type == "vlan") {
    const auto* mappings = h->at("bridge_mappings").if_object();
    if (!mappings || !mappings->contains(physnet))
      return "host " + host + " has no bridge_mappings entry for physical network " + physnet;
    return "";
  }
  if (type == "vxlan" || type == "geneve") return "";
  return "the agent of host " + host + " cannot serve " + type + " networks";
}

}  // namespace

void bind_port(const Model& m, Obj& port) {
  auto host = jget::str(port.if_contains("binding:host_id"));
  if (host.empty()) {
    port["binding:vif_type"] = "unbound";
    port["binding:vif_details"] = json::object{};
    return;
  }
  auto net_id = jget::str(port.if_contains("network_id"));
  const Obj* net = m.find("networks", net_id);
  auto reason = net ? cannot_serve(m, host, *net) : "network " + net_id + " does not exist";
  if (!reason.empty()) {
    spdlog::warn("binding port {} to host {} failed: {}", jget::str(port.if_contains("id")), host, reason);
    port["binding:vif_type"] = "binding_failed";
    port["binding:vif_details"] = json::object{{"reason", reason}};
    port["status"] = "DOWN";
    return;
  }
  port["binding:vif_type"] = "bridge";
  port["binding:vif_details"] = json::object{{"connectivity", "l2"}, {"port_filter", true},
                                             {"bridge_name", devname::bridge(net_id)}};
}

bool binding_inputs_changed(const Obj& changes) {
  return changes.contains("binding:host_id") || changes.contains("binding:profile") ||
         changes.contains("binding:vnic_type");
}

}  // namespace nt
