// A host in memory for unit tests: a FakeKernel per namespace, the root one included.
// A veth made with its peer in another namespace shows its peer end there, as the kernel
// does. Sysctls are a map per namespace (a key under an interface that is not there
// fails, as /proc/sys does); gratuitous ARPs are recorded.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernel/fake/fake_kernel.h"
#include "kernel/host.h"

namespace nt::kernel {

class FakeHost final : public Host {
 public:
  FakeHost();
  ~FakeHost() override;
  Kernel& root() override;
  Result<Kernel*> in_namespace(const std::string& ns) override;
  bool namespace_exists(const std::string& ns) override { return namespaces_.count(ns) > 0; }
  std::vector<std::string> namespaces(const std::string& prefix) override;
  Status create_namespace(const std::string& ns) override;
  Status delete_namespace(const std::string& ns) override;
  Result<SysctlResult> set_sysctls(const std::string& ns, const std::map<std::string, std::string>& values,
                                   bool dry_run) override;
  Status send_gratuitous_arp(const std::string& ns, const std::string& dev, const std::string& ip,
                             const std::string& mac) override;
  Result<size_t> delete_flows(const std::vector<FlowMatch>& matches) override;
  std::vector<FlowMatch> cut;  // every match delete_flows was given, in order

  FakeKernel& kernel(const std::string& ns);  // "" = root
  std::map<std::string, std::string>& sysctls(const std::string& ns) { return sysctls_[ns]; }
  struct Announcement {
    std::string ns, dev, ip, mac;
  };
  const std::vector<Announcement>& announcements() const { return announcements_; }

 private:
  class Plumbed;  // a namespace's kernel that puts veth peers where they belong
  std::map<std::string, std::unique_ptr<Plumbed>> namespaces_;
  std::unique_ptr<Plumbed> root_;
  std::map<std::string, std::map<std::string, std::string>> sysctls_;
  std::vector<Announcement> announcements_;
};

}  // namespace nt::kernel
