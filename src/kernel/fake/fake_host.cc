#include "kernel/fake/fake_host.h"

#include <cerrno>
#include <cstring>

namespace nt::kernel {

namespace {
Error fake_errno(int e, const std::string& what) {
  return kernel::from_errno(e, what);
}
}  // namespace

class FakeHost::Plumbed final : public Kernel {
 public:
  Plumbed(FakeHost& host, std::string ns) : host_(host), ns_(std::move(ns)) {}
  Result<State> read() override { return kernel_.read(); }
  Result<std::string> list_nft(const std::string& table) override { return kernel_.list_nft(table); }
  Status apply(const std::vector<Op>& batch) override {
    NT_TRY(kernel_.apply(batch));
    for (const auto& op : batch)
      if (op.kind == Op::add_link && op.link.kind == "veth" && !op.link.peer.empty()) plug_peer(op.link);
    return {};
  }
  FakeKernel& fake() { return kernel_; }

 private:
  // The other end appears in its namespace (or here), down, without a master.
  void plug_peer(const Link& l) {
    const auto& where = l.peer_netns.empty() ? ns_ : l.peer_netns;
    if (!host_.namespace_exists(where) && !where.empty()) return;
    auto& links = host_.kernel(where).state().links;
    Link peer{l.peer, "veth", "", l.mtu, false};
    peer.mac = l.peer_mac;
    links[l.peer] = peer;
  }
  FakeHost& host_;
  std::string ns_;
  FakeKernel kernel_{{"bridge", "vxlan", "veth", "tap", "dummy", "device"}};
};

FakeHost::FakeHost() : root_(std::make_unique<Plumbed>(*this, "")) {}
FakeHost::~FakeHost() = default;

Kernel& FakeHost::root() { return *root_; }

FakeKernel& FakeHost::kernel(const std::string& ns) {
  return ns.empty() ? root_->fake() : namespaces_.at(ns)->fake();
}

Result<Kernel*> FakeHost::in_namespace(const std::string& ns) {
  auto it = namespaces_.find(ns);
  if (it == namespaces_.end()) return nt::unexpected(fake_errno(ENOENT, "namespace " + ns));
  return it->second.get();
}

std::vector<std::string> FakeHost::namespaces(const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& [name, k] : namespaces_)
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  return out;
}

Status FakeHost::create_namespace(const std::string& ns) {
  if (namespaces_.count(ns)) return nt::unexpected(fake_errno(EEXIST, "namespace " + ns));
  auto k = std::make_unique<Plumbed>(*this, ns);
  k->fake().state().links["lo"] = Link{"lo", "device", "", 65536, false};
  namespaces_[ns] = std::move(k);
  return {};
}

Status FakeHost::delete_namespace(const std::string& ns) {
  if (!namespaces_.erase(ns)) return nt::unexpected(fake_errno(ENOENT, "namespace " + ns));
  sysctls_.erase(ns);
  return {};
}

// net/ipv4/conf/<dev>/... exists only while <dev> does (all and default always).
Result<SysctlResult> FakeHost::set_sysctls(const std::string& ns, const std::map<std::string, std::string>& values,
                                           bool dry_run) {
  if (!ns.empty() && !namespaces_.count(ns)) return nt::unexpected(fake_errno(ENOENT, "namespace " + ns));
  SysctlResult out;
  auto& mine = sysctls_[ns];
  const auto& links = kernel(ns).state().links;
  for (const auto& [key, value] : values) {
    if (mine.count(key) && mine[key] == value) continue;
    for (const char* prefix : {"net/ipv4/conf/", "net/ipv4/neigh/", "net/ipv6/conf/"}) {
      if (key.rfind(prefix, 0) != 0) continue;
      auto dev = key.substr(std::string(prefix).size());
      dev = dev.substr(0, dev.find('/'));
      if (dev != "all" && dev != "default" && !links.count(dev)) out.failed[key] = std::strerror(ENOENT);
    }
    if (out.failed.count(key)) continue;
    out.changed.push_back(key);
    if (!dry_run) mine[key] = value;
  }
  return out;
}

Status FakeHost::send_gratuitous_arp(const std::string& ns, const std::string& dev, const std::string& ip,
                                     const std::string& mac) {
  announcements_.push_back({ns, dev, ip, mac});
  return {};
}

Result<size_t> FakeHost::delete_flows(const std::vector<FlowMatch>& matches) {
  cut.insert(cut.end(), matches.begin(), matches.end());
  return matches.size();
}

}  // namespace nt::kernel
