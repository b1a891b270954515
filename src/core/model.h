// The logical model in memory: every resource as a JSON object, by kind and id, plus the
// allocation indexes (IPs per subnet, MACs per network, segment ids) that IPAM and the
// type drivers consult. The Store is the truth on disk; the Model is rebuilt from it at
// start. All changes go through a Txn, which records how to undo them (a failed request
// leaves nothing behind) and the ChangeSet the store must persist.
#pragma once
#include <boost/json.hpp>
#include "common/json_get.h"
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/error.h"
#include "common/net.h"

#include "core/attr_index.h"
#include "store/store.h"

namespace nt {


struct U128Hash {
  size_t operator()(u128 v) const noexcept {
    return std::hash<uint64_t>{}(static_cast<uint64_t>(v) ^ static_cast<uint64_t>(v >> 64) * 31);
  }
};

// The first free addresses of a subnet's pools, so that an allocation does not scan the
// used ones: `free` holds free addresses below `next` (some may have been taken since; the
// allocator drops those when it meets them), `next` is where the pools were not looked at
// yet, `pools` fingerprints the pools the window was made for.
struct IpWindow {
  uint64_t pools = 0;
  bool started = false;
  std::vector<u128> free;
  u128 next = 0;
};

struct BadRow {
  std::string kind, id, reason;
};

class Model {
 public:
  // Read-only: rows change only through a Txn, which keeps the indexes (by_id_ holds views
  // of the table's keys).
  const Table& table(const std::string& kind) { return tables_[kind]; }
  const Table* find_table(const std::string& kind) const {
    auto it = tables_.find(kind);
    return it == tables_.end() ? nullptr : &it->second;
  }
  const Obj* find(const std::string& kind, const std::string& id) const;
  // The objects of `kind` whose `attr` is the string `value` (none for ""), in id order:
  // looked up in the attribute index where it covers (kind, attr), else found by a scan.
  std::vector<const Obj*> holding(const std::string& kind, const std::string& attr, const std::string& value) const;
  // The object's JSON text as last stored (lists of whole objects are served from it).
  const std::string* text(const std::string& kind, const std::string& id) const;
  // Rebuilds objects and indexes. A row that is not a JSON object of valid UTF-8 and finite
  // numbers fails the load, naming its table and id; with `skipped`, it is left out and
  // listed there instead.
  Status load(const LoadedState& state, std::vector<BadRow>* skipped = nullptr);
  void clear();

  bool ip_used(const std::string& subnet, u128 ip) const;
  bool mac_used(const std::string& network, uint64_t mac) const;
  bool segment_used(const std::string& type_physnet, uint64_t id) const;
  const std::unordered_set<u128, U128Hash>* ips_of(const std::string& subnet) const;
  // The allocator's window of a subnet (ipam.cc): kept by the writer, told of freed
  // addresses here.
  IpWindow& ip_window(const std::string& subnet) const { return ip_windows_[subnet]; }

  int64_t revision = 0;
  // Resources per (kind, project), for quotas.
  int64_t count(const std::string& kind, const std::string& project) const;
  // Which objects hold which value of the attributes lists filter on most (attr_index.h).
  const AttrIndex& attr_index() const { return attr_index_; }
  // Ports per network and subnets per network, kept by Txn for fast in-use checks.
  std::unordered_map<std::string, std::set<std::string>> ports_by_network;

 private:
  friend class Txn;
  void index_allocations();
  std::map<std::string, Table> tables_;
  std::unordered_map<std::string, std::unordered_map<std::string, std::string>> texts_;  // kind -> id -> JSON
  std::unordered_map<std::string, std::unordered_set<u128, U128Hash>> ips_;
  mutable std::unordered_map<std::string, IpWindow> ip_windows_;
  void ip_freed(const std::string& subnet, u128 freed);
  std::unordered_map<std::string, std::unordered_set<uint64_t>> macs_;
  std::unordered_map<std::string, std::unordered_set<uint64_t>> segments_;
  std::unordered_map<std::string, int64_t> counts_;
  AttrIndex attr_index_;
  // id -> object of each table, for find(): a hash lookup rather than a walk down a map of
  // 100,000 ports (keys are views of the table's own node keys).
  std::unordered_map<std::string, std::unordered_map<std::string_view, const Obj*>> by_id_;
  void row_added(const std::string& kind, const Table::value_type& row) { by_id_[kind][row.first] = &row.second; }
  void count_row(const std::string& kind, const Obj& o, int64_t delta);
  void index_port(const Obj& port, bool add);
};

// The IPs, MACs and segment ids the resources hold, as the allocation tables should list
// them (owner: port, host or network id).
std::vector<AllocChange> derived_allocations(const Model& m);

class Txn {
 public:
  explicit Txn(Model& model) : model_(model) {}
  Model& model() { return model_; }
  const Model& model() const { return model_; }

  void put(const std::string& kind, Obj obj);     // insert or replace by obj["id"]
  void erase(const std::string& kind, const std::string& id);

  // Claims fail with a conflict when already taken; the caller maps them to Neutron errors.
  bool claim_ip(const std::string& subnet, const IpAddress& ip, const std::string& port);
  void release_ip(const std::string& subnet, const IpAddress& ip);
  bool claim_mac(const std::string& network, const Mac& mac, const std::string& port);
  void release_mac(const std::string& network, const Mac& mac);
  bool claim_segment(const std::string& type_physnet, uint64_t id, const std::string& network);
  void release_segment(const std::string& type_physnet, uint64_t id);

  const ChangeSet& changes() const { return changes_; }
  void rollback();  // undoes every change, newest first

  // Replays a request another server committed (a shared store's change log): its rows and
  // allocations, exactly as recorded. A row that is not a storable JSON object, or an
  // allocation value that does not parse, fails the replay (the caller rolls back and
  // reloads).
  Status replay(const ChangeSet& committed);

 private:
  Model& model_;
  ChangeSet changes_;
  std::vector<std::function<void()>> undo_;
};

std::string project_of(const Obj& o);

}  // namespace nt
