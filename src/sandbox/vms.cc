// Sandbox VMs: a port created through the API and bound to the host (what Nova asks of
// Neutron), then a namespace whose eth0 is the VM's NIC and the host's tap, plugged the way
// os-vif plugs one for a linux bridge: the tap appears and the agent's VIF watcher puts it
// on the network's bridge.
#include <unistd.h>
#include "common/names.h"

#include <chrono>
#include <cstring>
#include <iostream>
#include <regex>
#include <thread>

#include "common/json_get.h"
#include "common/uuid.h"
#include "kernel/netns.h"
#include "sandbox/fabric.h"
#include "sandbox/sandbox.h"
#include "sandbox/state.h"
#include "sandbox/vm_boot.h"

namespace nt::sandbox {
namespace json = boost::json;

namespace {


// "ip-address=A", "subnet=S", "subnet=S,ip-address=A" as a Neutron fixed_ips entry.
Result<json::object> fixed_ip(const Options& o, const std::string& spec) {
  json::object entry;
  std::stringstream parts(spec);
  for (std::string kv; std::getline(parts, kv, ',');) {
    auto eq = kv.find('=');
    auto key = kv.substr(0, eq), value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (key == "ip-address" && !value.empty()) entry["ip_address"] = value;
    else if (key == "subnet" && !value.empty()) {
      NT_ASSIGN(auto subnet, find_resource(o, "subnets", value));
      entry["subnet_id"] = subnet.at("id");
    } else {
      return fail(Errc::invalid_argument, Origin::sandbox, "--fixed-ip '" + spec + "': use subnet=S,ip-address=A");
    }
  }
  return entry;
}

Result<json::object> create_port(const Options& o, const VmRequest& vm, const json::object& net, const std::string& instance) {
  json::object port{{"network_id", net.at("id")},
                    {"name", vm.name},
                    {"device_owner", "compute:nova"},
                    {"device_id", instance},
                    {"binding:host_id", vm.host}};
  if (!vm.fixed_ips.empty()) {
    json::array ips;
    for (const auto& spec : vm.fixed_ips) {
      NT_ASSIGN(auto ip, fixed_ip(o, spec));
      ips.push_back(ip);
    }
    port["fixed_ips"] = ips;
  }
  NT_ASSIGN(auto made, api(o, "POST", "/v2.0/ports", json::object{{"port", port}}));
  return made.as_object().at("port").as_object();
}

// eth0's address, prefix and gateway from the port's first fixed IP and its subnet.
Result<VmLink> vm_link(const Options& o, const json::object& port, int mtu) {
  const auto& ips = jget::arr(port, "fixed_ips");
  if (ips.empty() || !ips[0].is_object())
    return fail(Errc::invalid_argument, Origin::sandbox, "the port got no IP address (a network without subnets?)");
  const auto& first = ips[0].get_object();
  NT_ASSIGN(auto subnet, api(o, "GET", "/v2.0/subnets/" + jget::str(first, "subnet_id")));
  const auto& sn = subnet.as_object().at("subnet").as_object();
  auto cidr = jget::str(sn, "cidr");
  auto id = jget::str(port, "id");
  return VmLink{devname::tap(id), jget::str(port, "mac_address"),
                jget::str(first, "ip_address") + cidr.substr(cidr.find('/')), jget::str(sn, "gateway_ip"), mtu,
                jget::flag(sn, "enable_dhcp", true) && jget::num(sn, "ip_version", 4) == 4};
}

// Nova waits for the port to turn ACTIVE (vif-plugged) before it reports the VM running.
std::string wait_active(const Options& o, const std::string& port_id) {
  std::string status;
  for (int i = 0; i < 200; ++i) {
    auto port = api(o, "GET", "/v2.0/ports/" + port_id);
    if (!port) return "unknown";
    const auto& p = port->at("port").as_object();
    status = jget::str(p, "status");
    if (status == "ACTIVE" || jget::str(p, "binding:vif_type") == "binding_failed") return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return status;
}

Status check_vm_name(const std::string& name) {
  static const std::regex pattern("[a-z0-9][a-z0-9-]{0,11}");
  if (!std::regex_match(name, pattern))
    return fail(Errc::invalid_argument, Origin::sandbox, "VM names are 1-12 of a-z, 0-9 and '-', not '" + name + "'");
  return {};
}

Status boot(const Options& o, const std::string& name, const std::string& instance);

}  // namespace

Status vm_create(const Options& o, const VmRequest& vm) {
  NT_TRY(check_vm_name(vm.name));
  NT_ASSIGN(auto s, load_state(o));
  for (const auto& v : s.vms)
    if (v.name == vm.name) return fail(Errc::conflict, Origin::sandbox, "VM " + vm.name + " exists");
  if (!s.host(vm.host)) return fail(Errc::not_found, Origin::sandbox, "no sandbox host " + vm.host);
  NT_ASSIGN(auto net, find_resource(o, "networks", vm.network));
  auto instance = new_uuid();  // what Nova would name the instance: the port's device_id
  if (!vm.key_file.empty() || !vm.user_data_file.empty())
    NT_TRY(provide_instance_data(o, instance, vm.key_file, vm.user_data_file));
  NT_ASSIGN(auto port, create_port(o, vm, net, instance));
  auto port_id = jget::str(port, "id");
  auto link = vm_link(o, port, static_cast<int>(jget::num(net, "mtu", 1500)));
  Status plugged = link ? plug_vm(host_ns(o, vm.host), vm_ns(o, vm.name), *link) : nt::unexpected(link.error());
  if (!plugged) {
    (void)api(o, "DELETE", "/v2.0/ports/" + port_id);
    if (kernel::namespace_exists(vm_ns(o, vm.name))) (void)kernel::delete_namespace(vm_ns(o, vm.name));
    return plugged;
  }
  s.vms.push_back({vm.name, vm.host, port_id, jget::str(net, "id"), link->cidr.substr(0, link->cidr.find('/')), 0});
  NT_TRY(save_state(o, s));
  auto status = wait_active(o, port_id);
  // ACTIVE says the tap is plugged here; the other hosts' entries for the VM come with
  // convergence.
  if (status == "ACTIVE") NT_TRY(wait_converged(o, std::chrono::seconds(20)));
  std::cout << "vm " << vm.name << " on " << vm.host << ": " << link->cidr << " mac " << link->mac << " port " << port_id
            << " " << status << " (namespace " << vm_ns(o, vm.name) << ", tap " << link->tap << ")\n";
  if (status != "ACTIVE")
    return fail(Errc::unavailable, Origin::sandbox, "port " + port_id + " is " + status +
                                                       " (see `openstack port show " + port_id + " -c binding_vif_details`)");
  if (!link->dhcp) return {};
  return boot(o, vm.name, instance);
}

namespace {
// The VM boots as a cloud image: DHCP, then its metadata (a VM without metadata still runs,
// as with cloud-init: that is reported, not failed).
Status boot(const Options& o, const std::string& name, const std::string& instance) {
  NT_ASSIGN(int pid, start_dhcp_client(o, name));
  NT_ASSIGN(auto s, load_state(o));
  for (auto& v : s.vms)
    if (v.name == name) v.dhcp_pid = pid;
  NT_TRY(save_state(o, s));
  NT_ASSIGN(auto ip, wait_for_lease(o, name, std::chrono::seconds(10)));
  std::cout << "vm " << name << ": DHCP lease " << ip << "\n";
  auto uuid = fetch_metadata(o, name, std::chrono::seconds(5));
  if (!uuid) std::cerr << "vm " << name << ": " << uuid.error().message << "\n";
  else std::cout << "vm " << name << ": metadata uuid " << *uuid << (*uuid == instance ? "" : " (NOT its own)") << "\n";
  return {};
}
}  // namespace

Status wait_converged(const Options& o, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::string behind;
  while (true) {
    NT_ASSIGN(auto answer, api(o, "GET", "/agent/v1/convergence"));
    if (!answer.is_object()) return fail(Errc::internal, Origin::sandbox, "the convergence report is not an object");
    const auto& c = answer.get_object();
    if (jget::flag(c, "converged", false)) return {};
    behind.clear();
    for (const auto& h : jget::arr(c, "hosts")) {
      if (!h.is_object() || jget::flag(h.get_object(), "converged", false)) continue;
      const auto& host = h.get_object();
      behind += (behind.empty() ? "" : ", ") + jget::str(host, "host") + " (view " +
                std::to_string(jget::num(host, "view_revision", -1)) + ", applied " +
                (host.contains("applied_revision") ? json::serialize(host.at("applied_revision")) : "null") + ")";
    }
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fail(Errc::unavailable, Origin::sandbox, "not every host applied its view: " + behind + " (see the hosts' logs)");
}

Status vm_delete(const Options& o, const std::string& name) {
  NT_ASSIGN(auto s, load_state(o));
  auto it = std::find_if(s.vms.begin(), s.vms.end(), [&](const auto& v) { return v.name == name; });
  if (it == s.vms.end()) return fail(Errc::not_found, Origin::sandbox, "no VM " + name);
  stop_process(it->dhcp_pid, "busybox");
  auto gone = api(o, "DELETE", "/v2.0/ports/" + it->port_id);
  if (!gone && gone.error().message.find("404") == std::string::npos && gone.error().message.find("could not be found") == std::string::npos)
    return nt::unexpected(gone.error());
  if (kernel::namespace_exists(vm_ns(o, name))) NT_TRY(kernel::delete_namespace(vm_ns(o, name)));
  s.vms.erase(it);
  return save_state(o, s);
}

Status exec_in_vm(const Options& o, const std::string& vm, const std::vector<std::string>& argv) {
  NT_ASSIGN(auto s, load_state(o));
  if (std::none_of(s.vms.begin(), s.vms.end(), [&](const auto& v) { return v.name == vm; }))
    return fail(Errc::not_found, Origin::sandbox, "no VM " + vm + " (see `neutrino sandbox status`)");
  NT_TRY(kernel::enter_namespace(vm_ns(o, vm)));
  return exec_argv(argv);
}

}  // namespace nt::sandbox
