// Engine node "l2": the network, port and l2pop entries. Its input is the set of port
// bindings as L2 sees them: instance ports where they are bound, a router's sg- and qg-
// ports on its active gateway host (the snat node says where), and each router interface
// once per DVR host of the router (the dvr node binds those, as "<port>@<host>").
//  - network: on every host with a binding on it;
//  - flood: per network and other host on it, that host's VTEP ("<network>|<host>");
//  - port: a binding on the host (its tap);
//  - l2pop: every other binding on the host's networks, behind its host's VTEP (never a
//    router interface: that MAC is on every host of the router).
// A router's sg-/qg- port is also bound, as a port entry, on its standby gateway hosts
// (warm for gateway HA); its l2pop entry names every gateway host's VTEP as a candidate.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "planner/inputs.h"
#include "planner/node.h"

namespace nt::planner {

class L2Node {
 public:
  explicit L2Node(const Inputs& in) : in_(in) {}

  // A binding came, changed or went (nullopt, or a port bound nowhere): marks the keys it
  // may change in `keys`.
  void bind(const std::string& id, const std::optional<PortRow>& port, Keys& keys);
  // After the inputs took the network's or the host's change.
  Keys network_changed(const std::string& network);
  Keys host_changed(const std::string& host);

  std::optional<boost::json::object> entry(const std::string& host, view::Kind kind, const std::string& id) const;
  // A network, flood or l2pop entry in two parts, so that a refresh builds it once for all
  // the hosts it marked: its content, the same on every host that has it (none: no host
  // has it), and which hosts have it (has()): those on `network` but `except`.
  struct Common {
    std::optional<boost::json::object> content;
    std::string network, except;
  };
  static bool common_kind(view::Kind kind) { return kind == view::Kind::network || kind == view::Kind::flood || kind == view::Kind::l2pop; }
  Common common(view::Kind kind, const std::string& id) const;
  bool has(const std::string& host, const Common& c) const { return host != c.except && host_on_network(host, c.network); }
  // The same for one host's many marks in a refresh: its networks looked up once (at the
  // first question: most hosts of a change are asked none), and the last network asked
  // about remembered (the marks come sorted, by network for floods).
  class HostNetworks {
   public:
    bool has(const Common& c);

   private:
    friend class L2Node;
    const L2Node* node_ = nullptr;
    const std::string* host_ = nullptr;
    const std::map<std::string, int>* networks_ = nullptr;
    std::string last_;
    bool found_ = false, asked_ = false, last_on_ = false;
  };
  HostNetworks networks_of(const std::string& host) const;
  // Every entry of the host, from scratch.
  void recompute(const std::string& host, WireView& out) const;

  // Bulk (the server's boot): bind without computing keys, then prepare() the shared
  // l2pop and flood entries once; build() may then run on many threads.
  void clear();  // forgets every binding
  void load(const std::string& id, const PortRow& port);
  void load(const std::string& id, PortRow&& port);  // a row made for L2 (no second copy)
  void prepare();
  void build(const std::string& host, SharedView& out) const;
  void finish();

  std::set<std::string> hosts() const;  // with a binding
  bool host_on_network(const std::string& host, const std::string& network) const;
  // The hosts with a binding on the network: they have its l2pop entries ("applied everywhere").
  std::set<std::string> network_hosts(const std::string& network) const { return hosts_of_network(network); }
  mutable NodeStats stats;  // counted on the engine's (single) thread only

 private:
  std::set<std::string> hosts_of_network(const std::string& network) const;
  void index(const std::string& id, const PortRow& port, int delta);
  size_t add_network_keys(Keys& keys, const std::string& host, const std::string& network,
                        const std::vector<const std::string*>& others) const;
  boost::json::object network_json(const NetworkRow& net) const;
  Common flood_common(const std::string& id) const;
  Common l2pop_common(const std::string& id) const;
  boost::json::object l2pop_json(const PortRow& p, const HostRow& host) const;
  std::optional<boost::json::object> port_entry(const std::string& host, const std::string& id, const PortRow& p) const;

  const Inputs& in_;
  std::map<std::string, PortRow> bound_;                              // binding id -> the port as bound
  std::map<std::string, std::set<std::string>> l2pop_ports_;          // network -> bindings on it with l2pop entries
  std::map<std::string, std::set<std::string>> interfaces_;           // network -> router interface bindings on it
  // host -> bindings there, each with its row in bound_ (a map's nodes stay where they are)
  std::map<std::string, std::map<std::string, const PortRow*>> ports_by_host_;
  std::map<std::string, std::map<std::string, int>> host_networks_;   // host -> network -> bindings
  std::map<std::string, std::map<std::string, int>> network_hosts_;   // network -> host -> bindings
  std::set<std::string> known_networks_;                              // networks that exist, as last seen
  // Bulk only: the entries that are the same on every host that has them, built once.
  // Their references are counted in bulk (SharedText::add_refs): prepare() reserves one per
  // host of the network, build() adopts them, finish() gives back those not taken (a host
  // skips the entries of its own VTEP and ports, and counts that here).
  struct Shared {
    const std::string* host;  // l2pop: where the port is bound; flood: whose VTEP it is
    EntryId id;
    ViewEntry entry;
    uint32_t order = 0;  // l2pop: the port's place in id order
    mutable std::atomic<uint32_t> skipped{0};
    Shared(const std::string* h, EntryId i, ViewEntry e, uint32_t o = 0) : host(h), id(std::move(i)), entry(std::move(e)), order(o) {}
    Shared(Shared&& o) noexcept : host(o.host), id(std::move(o.id)), entry(std::move(o.entry)), order(o.order), skipped(o.skipped.load()) {}
  };
  struct SharedOfNetwork {
    std::optional<Shared> network;
    std::vector<Shared> l2pop, flood;  // l2pop by port id, flood by host
    uint32_t reserved = 0;                    // references reserved for each entry
    mutable std::atomic<uint32_t> visits{0};  // hosts that built the network's entries
    template <class F>
    void each(F f) const {  // every entry of the network
      if (network) f(*network);
      for (const auto& item : flood) f(item);
      for (const auto& item : l2pop) f(item);
    }
  };
  void reserve_refs();
  void settle_refs();
  std::map<std::string, SharedOfNetwork> shared_;
  std::unordered_map<std::string_view, const SharedOfNetwork*> shared_by_name_;  // the same, hashed
  // Bulk only: router interface bindings' port entries, one per interface (the same on
  // each of its hosts), by the binding's row.
  std::unordered_map<const PortRow*, ViewEntry> interface_ports_;
};

}  // namespace nt::planner
