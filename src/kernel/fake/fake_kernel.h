// An in-memory kernel for unit tests with the real kernel's errno behaviour: EEXIST for a
// duplicate link or entry, ENODEV for a missing device, EINVAL for a master that is not a
// bridge, EOPNOTSUPP for a link kind this "kernel" was built without (like this machine's
// kernel lacks vlan and geneve), ENOENT for deleting a missing entry. It counts applied
// operations and can fail after N of them (a crash mid-batch).
#pragma once
#include <optional>

#include "kernel/kernel.h"

namespace nt::kernel {

class FakeKernel final : public Kernel {
 public:
  explicit FakeKernel(std::set<std::string> kinds = {"bridge", "vxlan", "veth", "tap", "dummy"})
      : kinds_(std::move(kinds)) {}
  Result<State> read() override { return state_; }
  Status apply(const std::vector<Op>& batch) override;

  State& state() { return state_; }
  size_t applied() const { return applied_; }
  void fail_after(size_t n) { fail_after_ = n; }
  // A table as created (put_nft's body; edits are not interpreted), for an agent that restarts.
  Result<std::string> list_nft(const std::string& table) override {
    auto it = nft_created_.find(table);
    return it == nft_created_.end() ? std::string() : it->second;
  }
  std::vector<Op> nft_log;  // every nftables operation applied, in order

 private:
  Status apply_one(const Op& op);
  State state_;
  std::set<std::string> kinds_;
  std::map<std::string, std::string> nft_created_;
  size_t applied_ = 0;
  std::optional<size_t> fail_after_;
};

}  // namespace nt::kernel
