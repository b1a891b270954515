#include "kernel/fake/fake_kernel.h"

#include <cerrno>

namespace nt::kernel {

Status FakeKernel::apply(const std::vector<Op>& batch) {
  for (const auto& op : batch) {
    if (fail_after_ && *fail_after_ == 0) return nt::unexpected(from_errno(EIO, op.describe() + " (crash)"));
    if (fail_after_) --*fail_after_;
    NT_TRY(apply_one(op));
    ++applied_;
  }
  return {};
}

Status FakeKernel::apply_one(const Op& op) {
  auto& links = state_.links;
  auto missing = [&](const std::string& dev) { return !dev.empty() && !links.count(dev); };
  auto err = [&](int e) { return nt::unexpected(from_errno(e, op.describe())); };
  switch (op.kind) {
    case Op::add_link:
    case Op::set_link: {
      const auto& l = op.link;
      bool exists = links.count(l.name) > 0;
      if (op.kind == Op::add_link && exists) return err(EEXIST);
      if (op.kind == Op::set_link && !exists) return err(ENODEV);
      if (op.kind == Op::add_link && !kinds_.count(l.kind)) return err(EOPNOTSUPP);
      if (op.kind == Op::set_link && links[l.name].kind != l.kind) return err(EINVAL);
      if (missing(l.master)) return err(ENODEV);
      if (op.kind == Op::add_link && l.kind == "vlan" && (l.parent.empty() || missing(l.parent))) return err(ENODEV);
      if (!l.master.empty() && links[l.master].kind != "bridge") return err(EINVAL);
      if (l.mtu < 68 || l.mtu > 65536) return err(EINVAL);  // lo has 65536
      links[l.name] = l;
      return {};
    }
    case Op::del_link: {
      if (!links.erase(op.link.name)) return err(ENODEV);
      // The kernel removes what hangs off a deleted device.
      std::erase_if(state_.fdb, [&](const Fdb& f) { return f.dev == op.link.name; });
      std::erase_if(state_.neighbours, [&](const Neighbour& n) { return n.dev == op.link.name; });
      std::erase_if(state_.addresses, [&](const Address& a) { return a.dev == op.link.name; });
      std::erase_if(state_.routes, [&](const Route& r) { return r.dev == op.link.name; });
      for (auto& [name, l] : links)
        if (l.master == op.link.name) l.master.clear();
      return {};
    }
    case Op::add_fdb:
      if (missing(op.fdb.dev)) return err(ENODEV);
      if (!state_.fdb.insert(op.fdb).second) return err(EEXIST);
      return {};
    case Op::del_fdb:
      if (!state_.fdb.erase(op.fdb)) return err(ENOENT);
      return {};
    case Op::add_neigh:
      if (missing(op.neigh.dev)) return err(ENODEV);
      if (!state_.neighbours.insert(op.neigh).second) return err(EEXIST);
      return {};
    case Op::del_neigh:
      if (!state_.neighbours.erase(op.neigh)) return err(ENOENT);
      return {};
    case Op::add_addr:
      if (missing(op.addr.dev)) return err(ENODEV);
      if (!state_.addresses.insert(op.addr).second) return err(EEXIST);
      return {};
    case Op::del_addr:
      if (!state_.addresses.erase(op.addr)) return err(EADDRNOTAVAIL);
      return {};
    case Op::add_route:
      if (missing(op.route.dev)) return err(ENODEV);
      if (!state_.routes.insert(op.route).second) return err(EEXIST);
      return {};
    case Op::del_route:
      if (!state_.routes.erase(op.route)) return err(ESRCH);
      return {};
    case Op::add_rule:
      state_.rules.insert(op.rule);
      return {};
    case Op::del_rule:
      if (!state_.rules.erase(op.rule)) return err(ENOENT);
      return {};
    case Op::put_nft:
      state_.nft[op.nft_table] = op.nft_digest;
      nft_created_[op.nft_table] = "table " + op.nft_table + " {\n" + op.nft_body + "}\n";
      nft_log.push_back(op);
      return {};
    case Op::del_nft:
      if (!state_.nft.erase(op.nft_table)) return err(ENOENT);
      nft_created_.erase(op.nft_table);
      nft_log.push_back(op);
      return {};
    case Op::edit_nft:  // (the commands are not interpreted: the table's tag stays, as in nftables)
      if (!state_.nft.count(op.nft_table)) return err(ENOENT);
      nft_log.push_back(op);
      return {};
  }
  return {};
}

}  // namespace nt::kernel
