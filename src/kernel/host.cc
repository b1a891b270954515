#include "kernel/host.h"

#include "kernel/netlink_kernel.h"
#include "kernel/netns.h"
#include "kernel/plumbing.h"

namespace nt::kernel {
namespace {

class NetlinkHost final : public Host {
 public:
  explicit NetlinkHost(std::unique_ptr<Kernel> root) : root_(std::move(root)) {}

  Kernel& root() override { return *root_; }

  Result<Kernel*> in_namespace(const std::string& ns) override {
    if (auto it = kernels_.find(ns); it != kernels_.end()) return it->second.get();
    std::unique_ptr<Kernel> k;
    // Opened on a thread inside the namespace: its sockets stay bound to it.
    NT_TRY(run_in_namespace(ns, [&]() -> Status {
      NT_ASSIGN(k, open_netlink_kernel());
      return {};
    }));
    return (kernels_[ns] = std::move(k)).get();
  }

  bool namespace_exists(const std::string& ns) override { return kernel::namespace_exists(ns); }
  std::vector<std::string> namespaces(const std::string& prefix) override { return list_namespaces(prefix); }
  Status create_namespace(const std::string& ns) override { return kernel::create_namespace(ns); }

  Status delete_namespace(const std::string& ns) override {
    kernels_.erase(ns);
    return kernel::delete_namespace(ns);
  }

  Result<SysctlResult> set_sysctls(const std::string& ns, const std::map<std::string, std::string>& values,
                                   bool dry_run) override {
    SysctlResult out;
    NT_TRY(run_in_namespace(ns, [&]() -> Status {
      for (const auto& [key, value] : values) {
        auto now = read_sysctl(key);
        if (now && *now == value) continue;
        if (dry_run) {
          out.changed.push_back(key);
        } else if (auto w = write_sysctl(key, value); !w) {
          out.failed[key] = w.error().message;
        } else {
          out.changed.push_back(key);
        }
      }
      return {};
    }));
    return out;
  }

  Status send_gratuitous_arp(const std::string& ns, const std::string& dev, const std::string& ip,
                             const std::string& mac) override {
    return run_in_namespace(ns, [&] { return kernel::send_gratuitous_arp(dev, ip, mac); });
  }

  Result<size_t> delete_flows(const std::vector<FlowMatch>& matches) override { return kernel::delete_flows(matches); }

 private:
  std::unique_ptr<Kernel> root_;
  std::map<std::string, std::unique_ptr<Kernel>> kernels_;
};

}  // namespace

std::unique_ptr<Host> open_netlink_host(std::unique_ptr<Kernel> root) {
  return std::make_unique<NetlinkHost>(std::move(root));
}

}  // namespace nt::kernel
