// A whole host as the agent sees it: its own namespace's kernel, the network namespaces
// (each with its own Kernel), sysctls per namespace ("": its own), gratuitous ARP and
// conntrack entries. The netlink implementation works on this machine; a fake
// (kernel/fake/fake_host.h) plays the same host in memory for unit tests of the agent's
// L3 passes.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernel/conntrack.h"
#include "kernel/kernel.h"

namespace nt::kernel {

// What a set_sysctls call did: keys written (or that would be, in a dry run) and keys that
// could not be written (an interface not there yet), with the reason.
struct SysctlResult {
  std::vector<std::string> changed;
  std::map<std::string, std::string> failed;
};

class Host {
 public:
  virtual ~Host() = default;
  virtual Kernel& root() = 0;
  // The namespace's kernel, opened once and kept (nullptr with the error if it cannot be).
  virtual Result<Kernel*> in_namespace(const std::string& ns) = 0;
  virtual bool namespace_exists(const std::string& ns) = 0;
  virtual std::vector<std::string> namespaces(const std::string& prefix) = 0;
  virtual Status create_namespace(const std::string& ns) = 0;
  virtual Status delete_namespace(const std::string& ns) = 0;
  // Sets each key that differs (all of them in one visit of the namespace).
  virtual Result<SysctlResult> set_sysctls(const std::string& ns, const std::map<std::string, std::string>& values,
                                           bool dry_run) = 0;
  virtual Status send_gratuitous_arp(const std::string& ns, const std::string& dev, const std::string& ip,
                                     const std::string& mac) = 0;
  // Deletes the conntrack entries of the agent's own namespace that match; how many went.
  virtual Result<size_t> delete_flows(const std::vector<FlowMatch>& matches) = 0;
};

// The real host: `root` is the agent's own namespace's kernel.
std::unique_ptr<Host> open_netlink_host(std::unique_ptr<Kernel> root);

}  // namespace nt::kernel
