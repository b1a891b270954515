// The sandbox's kernel side: namespaces, switches, host and VM links, all through
// src/kernel (nothing here touches the root namespace's interfaces).
#pragma once
#include <string>

#include "common/error.h"

namespace nt::sandbox {

inline constexpr const char* kUnderlaySwitch = "br-ul";
inline constexpr const char* kExternalSwitch = "br-ex";

// The fabric namespace with both switches up.
Status build_fabric(const std::string& fabric_ns);
// A host namespace: eth0 on the underlay switch with underlay_cidr, ex0 on the external
// switch without an address (the agent bridges it for flat networks).
Status build_host(const std::string& fabric_ns, const std::string& host_ns, const std::string& host,
                  const std::string& underlay_cidr);
// The internet host: eth0 on the external switch with its address.
Status build_internet(const std::string& fabric_ns, const std::string& ns, const std::string& cidr);

struct VmLink {
  std::string tap, mac, cidr, gateway;  // gateway "" = no default route
  int mtu = 1500;
  bool dhcp = true;  // eth0 is configured by DHCP; false: from cidr and gateway, as a config drive would
};
// A VM namespace whose eth0 (MAC, MTU, address, default route) is the peer of `tap` in the
// host namespace; the tap is left up and unplugged, for the agent to plug.
Status plug_vm(const std::string& host_ns, const std::string& vm_ns, const VmLink& link);

}  // namespace nt::sandbox
