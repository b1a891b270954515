// Engine node "secgroups": what each host's firewall must know (issue 14), as four kinds
// of entries:
//  - portsec (by port): every VM port bound to the host (any owner but network:*): its
//    tap, MAC, fixed IPs, port_security_enabled, security groups and allowed address pairs;
//  - secgroup (by group): each group one of the host's ports with port security is in: its
//    stateful flag and its rules (sorted by id);
//  - sgmember (by "<group R>|<address>"): on every host that has a port with port
//    security in a group whose rules name R as remote_group_id: one per address of R's
//    members (every fixed IP and allowed address pair of every port in R with port
//    security, once bound: an unbound port sends nothing), so that a member coming or
//    going is one entry per host;
//  - addrgroup (by address group A): on the same hosts for the groups whose rules name A
//    as remote_address_group_id: A's addresses (CIDRs, sorted).
// Indexes (group -> members, group -> host -> count, group <-> remote groups, group <->
// address groups, group -> rules) make a change cost what it touches, never a walk over
// every port.
#pragma once
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "channel/entries.h"
#include "planner/inputs.h"
#include "planner/node.h"

namespace nt::planner {

class SecGroupNode {
 public:
  explicit SecGroupNode(const Inputs& in) : in_(in) {}
  mutable NodeStats stats;

  // A port changed from `before` to `after` (either may be null); call with the inputs
  // already holding `after`. Marks its portsec entry on its old and new host; the sgmember
  // entries of its addresses in every group it left, joined (or whose addresses it
  // changed) on the hosts that need them; and, where a host got its first or lost its last
  // filtered port in a group, that group's secgroup and the sgmember and addrgroup entries
  // its rules name, on that host.
  Keys port_changed(const PortRow* before, const PortRow* after);
  // A group's own row: its secgroup entries.
  Keys group_changed(const std::string& group);
  // An address group's row (its addresses, or deleted): its addrgroup entries.
  Keys address_group_changed(const std::string& id);
  // A rule changed (either may be null): its group's secgroup entries, and the sgmember
  // entries of its old and new remote group (addrgroup: address group) on its group's
  // hosts when the remote changed.
  Keys rule_changed(const SecurityGroupRuleRow* before, const SecurityGroupRuleRow* after);

  std::optional<boost::json::object> entry(const std::string& host, view::Kind kind, const std::string& id) const;
  // An sgmember entry is the same on every host that has it: its content (null: the
  // address is no member now), and whether `host` has it (the planner builds the content
  // once for the many hosts of a change).
  std::optional<boost::json::object> member_content(const std::string& id) const;
  bool member_needed(const std::string& host, const std::string& id) const;
  // From the inputs alone (not the indexes): the oracle's reference.
  void recompute(const std::string& host, WireView& out) const;
  void build(const std::string& host, SharedView& out) const;
  std::set<std::string> hosts() const;

  // Boot: forget every port (and index the rules of the inputs), then load every port,
  // then prepare() the sgmember entries that build() shares between hosts, finish() after.
  void clear();
  void load(const PortRow& port);
  void prepare();
  void finish() { shared_members_.clear(); }

 private:
  using Counts = std::map<std::string, std::map<std::string, int>>;
  static bool instance(const PortRow& port);
  static bool filtered(const PortRow& port);
  static std::vector<std::string> addresses(const PortRow& port);
  static std::string remote(const SecurityGroupRuleRow& rule);
  static std::string address_group(const SecurityGroupRuleRow& rule);
  void index(const PortRow& port, int delta);
  void index_rule(const SecurityGroupRuleRow& rule, int delta);
  void mark(Keys& keys, const std::string& host, view::Kind kind, const std::string& id) const;
  void mark_referrers(Keys& keys, const Counts& referrers, view::Kind kind, const std::string& id) const;
  // Every sgmember entry of `group` (its addresses in `ips`, default: all of them now) on `host`.
  void mark_members(Keys& keys, const std::string& host, const std::string& group) const;
  void mark_members_everywhere(Keys& keys, const std::string& group, const std::vector<std::string>& ips) const;
  void mark_group_hosts(Keys& keys, const std::string& group, view::Kind kind, const std::string& id) const;
  bool needs(const Counts& referrers, const std::string& host, const std::string& id) const;
  view::PortSecurity describe(const PortRow& port) const;
  std::optional<view::SecurityGroup> group_entry(const std::string& group) const;

  const Inputs& in_;
  std::map<std::string, std::set<std::string>> by_host_;  // host -> its VM ports
  Counts member_ips_;                                     // group -> address -> its ports with port security having it
  Counts group_hosts_;                                    // group -> host -> its filtered ports there
  Counts host_groups_;                                    // host -> group -> the same counts
  std::map<std::string, std::set<std::string>> rules_;    // group -> its rules
  Counts remotes_;                                        // group -> remote groups its rules name (rule counts)
  Counts referrers_;                                      // remote group -> groups whose rules name it
  Counts address_groups_;                                 // group -> address groups its rules name (rule counts)
  Counts address_referrers_;                              // address group -> groups whose rules name it
  // In a rebuild: one object per sgmember entry, for every host (prepare() .. finish()).
  std::map<std::string, std::pair<EntryId, ViewEntry>> shared_members_;
};

}  // namespace nt::planner
