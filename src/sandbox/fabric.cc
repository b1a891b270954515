#include "sandbox/fabric.h"

#include <fcntl.h>
#include <unistd.h>

#include "kernel/netns.h"
#include "kernel/plumbing.h"

namespace nt::sandbox {
namespace {

using kernel::Plumbing;
using kernel::VethSpec;

// A new namespace with loopback up and IPv6 off (keeps the captured underlay quiet).
Status new_namespace(const std::string& ns) {
  NT_TRY(kernel::create_namespace(ns));
  return kernel::run_in_namespace(ns, []() -> Status {
    NT_TRY(kernel::write_sysctl("net/ipv6/conf/all/disable_ipv6", "1"));
    NT_TRY(kernel::write_sysctl("net/ipv6/conf/default/disable_ipv6", "1"));
    NT_ASSIGN(auto p, Plumbing::open());
    return p->link_up("lo");
  });
}

// Runs fn with a Plumbing of namespace ns.
template <class Fn>
Status in(const std::string& ns, Fn&& fn) {
  return kernel::run_in_namespace(ns, [&]() -> Status {
    NT_ASSIGN(auto p, Plumbing::open());
    return fn(*p);
  });
}

// A veth from the fabric's switch to `inner` in ns, both ends up.
Status cable(const std::string& fabric_ns, const std::string& switch_name, const std::string& fabric_end,
             const std::string& ns, const std::string& inner) {
  NT_ASSIGN(int fd, kernel::open_namespace(ns));
  auto made = in(fabric_ns, [&](Plumbing& p) -> Status {
    NT_TRY(p.add_veth(VethSpec{fabric_end, inner, fd, "", 1500}));
    return p.link_up(fabric_end, switch_name);
  });
  ::close(fd);
  return made;
}

}  // namespace

Status build_fabric(const std::string& fabric_ns) {
  NT_TRY(new_namespace(fabric_ns));
  return in(fabric_ns, [](Plumbing& p) -> Status {
    for (const char* sw : {kUnderlaySwitch, kExternalSwitch}) {
      NT_TRY(p.add_bridge(sw, 1500));
      NT_TRY(p.link_up(sw));
    }
    return {};
  });
}

Status build_host(const std::string& fabric_ns, const std::string& host_ns, const std::string& host,
                  const std::string& underlay_cidr) {
  NT_TRY(new_namespace(host_ns));
  NT_TRY(cable(fabric_ns, kUnderlaySwitch, host + "-ul", host_ns, "eth0"));
  NT_TRY(cable(fabric_ns, kExternalSwitch, host + "-ex", host_ns, "ex0"));
  return in(host_ns, [&](Plumbing& p) -> Status {
    NT_TRY(p.link_up("eth0"));
    NT_TRY(p.add_address("eth0", underlay_cidr));
    return p.link_up("ex0");
  });
}

Status build_internet(const std::string& fabric_ns, const std::string& ns, const std::string& cidr) {
  NT_TRY(new_namespace(ns));
  NT_TRY(cable(fabric_ns, kExternalSwitch, "internet-ex", ns, "eth0"));
  return in(ns, [&](Plumbing& p) -> Status {
    NT_TRY(p.link_up("eth0"));
    return p.add_address("eth0", cidr);
  });
}

Status plug_vm(const std::string& host_ns, const std::string& vm_ns, const VmLink& link) {
  NT_TRY(new_namespace(vm_ns));
  NT_ASSIGN(int fd, kernel::open_namespace(vm_ns));
  auto made = in(host_ns, [&](Plumbing& p) -> Status {
    NT_TRY(p.add_veth(VethSpec{link.tap, "eth0", fd, link.mac, link.mtu}));
    return p.link_up(link.tap);
  });
  ::close(fd);
  NT_TRY(made);
  return in(vm_ns, [&](Plumbing& p) -> Status {
    NT_TRY(p.link_up("eth0"));
    if (link.dhcp) return Status{};  // the VM's DHCP client configures eth0
    NT_TRY(p.add_address("eth0", link.cidr));
    if (!link.gateway.empty()) NT_TRY(p.add_route("default", link.gateway));
    return {};
  });
}

}  // namespace nt::sandbox
