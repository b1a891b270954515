#include "agent/l2_reconciler.h"
#include "common/names.h"
#include "common/net.h"

#include <compare>

namespace nt::agent {
using kernel::Fdb;
using kernel::Link;
using kernel::Neighbour;
using kernel::Op;

namespace {

constexpr const char* kFloodMac = "00:00:00:00:00:00";
const Cidr kLinkLocal = *Cidr::parse("fe80::/64");

// The tunnel or VLAN device of a network ("" for flat: the mapped interface is used).
std::string segment_device(const view::Network& net, const L2Settings& s) {
  auto id = net.segmentation_id.value_or(0);
  if (net.network_type == "vxlan") return devname::vxlan(id);
  if (net.network_type == "geneve") return devname::geneve(id);
  if (net.network_type == "vlan") {
    auto it = s.bridge_mappings.find(net.physical_network.value_or(""));
    return it == s.bridge_mappings.end() ? "" : devname::vlan(it->second, id);
  }
  return "";
}

bool tunnelled(const view::Network& net) { return net.network_type == "vxlan" || net.network_type == "geneve"; }

// `answer_arp`: the VXLAN device answers ARP from the host's table (`proxy`, the ARP
// suppression of L2 population) unless a port elsewhere on the network may use addresses
// the table cannot know (an allowed address pair's VIP that moves between ports with a
// gratuitous ARP, keepalived-style): then ARP crosses the tunnels like any broadcast.
void add_network(kernel::State& want, const kernel::State& actual, const view::Network& net, const L2Settings& s,
                 bool answer_arp) {
  int mtu = static_cast<int>(net.mtu);
  const auto& type = net.network_type;
  want.links[net.bridge] = Link{net.bridge, "bridge", "", mtu, true};
  auto dev = segment_device(net, s);
  auto mapped = s.bridge_mappings.find(net.physical_network.value_or(""));
  if (type == "vxlan" || type == "geneve") {
    Link l{dev, type, net.bridge, mtu, true};
    l.vni = static_cast<uint32_t>(net.segmentation_id.value_or(0));
    l.local_ip = s.local_ip;
    l.learning = false;
    // Off stays off: a device is not remade (its entries flushed, traffic lost) only to
    // answer ARP again once the last such port is gone.
    auto existing = actual.links.find(dev);
    l.proxy = type == "vxlan" && answer_arp && (existing == actual.links.end() || existing->second.proxy);
    l.port_learning = false;
    want.links[dev] = l;
  } else if (type == "vlan" && !dev.empty()) {
    Link l{dev, "vlan", net.bridge, mtu, true};
    l.vni = static_cast<uint32_t>(net.segmentation_id.value_or(0));
    l.parent = mapped->second;
    want.links[dev] = l;
  } else if (type == "flat" && mapped != s.bridge_mappings.end()) {
    if (auto phys = actual.links.find(mapped->second); phys != actual.links.end()) {
      Link l = phys->second;  // not ours: only enslaved and brought up
      l.master = net.bridge;
      l.up = true;
      want.links[l.name] = l;
    }
  }
}

// The management VNI's device: BFD frames to a peer go to its 02:bf: MAC, which the FDB
// sends to its VTEP. The MAC is compared (link_differs), so a changed VTEP renames it.
void add_bfd_device(kernel::State& want, const L2Settings& s) {
  auto mac = devname::bfd_mac(s.local_ip);
  if (!s.bfd_vni || mac.empty()) return;
  std::string dev(devname::kBfdDevice);
  Link l{dev, "vxlan", "", 1500, true};
  l.vni = s.bfd_vni;
  l.local_ip = s.local_ip;
  l.learning = false;
  l.mac = mac;
  want.links[dev] = l;
  for (const auto& peer : s.bfd_peers)
    if (auto peer_mac = devname::bfd_mac(peer); !peer_mac.empty()) want.fdb.insert(Fdb{dev, peer_mac, peer});
}

bool immutable_differs(const Link& a, const Link& b) {
  return a.kind != b.kind || a.vni != b.vni || a.parent != b.parent || a.local_ip != b.local_ip ||
         a.learning != b.learning || a.proxy != b.proxy;
}

// The agent's own links: brq*, vxlan-*, geneve-*, and VLAN subinterfaces on its bridges.
bool owned(const Link& l) { return owned_link(l.name) || (l.kind == "vlan" && devname::is_bridge(l.master)); }

}  // namespace

bool owned_link(const std::string& name) {
  return devname::is_bridge(name) || name.rfind(devname::kVxlanPrefix, 0) == 0 || name.rfind(devname::kGenevePrefix, 0) == 0 ||
         name == devname::kBfdDevice;
}

kernel::State desired_l2(const HostView& view, const kernel::State& actual, const L2Settings& s,
                         const std::set<std::string>& withheld) {
  kernel::State want;
  std::map<std::string_view, const view::Network*> networks;
  // A port that may use other addresses, remote (its l2pop entry says so) or here (its
  // portsec entry): every host of the network, the holder's included, lets ARP cross.
  std::set<std::string_view> arp_crosses;
  for (const auto& [id, remote] : view.l2pop)
    if (remote.other_addresses) arp_crosses.insert(remote.network_id);
  for (const auto& [id, local] : view.portsec)
    if (!local.port_security_enabled || !local.allowed_address_pairs.empty()) arp_crosses.insert(local.network_id);
  for (const auto& [id, net] : view.networks)
    if (!s.unsupported_types.count(net.network_type))
      networks[id] = &net, add_network(want, actual, net, s, !arp_crosses.count(id));
  // Broadcasts go to every other host's VTEP on the network (hosts sharing one: one entry).
  for (const auto& [id, f] : view.flood)
    if (auto net = networks.find(f.network_id); net != networks.end() && tunnelled(*net->second))
      want.fdb.insert(Fdb{segment_device(*net->second, s), kFloodMac, f.vtep});
  // A tap on its network's bridge. Taps appear when Nova plugs them; an absent tap is not
  // an error, just not yet.
  auto plug = [&](const std::string& network, const std::string& device) {
    auto net = networks.find(network);
    auto tap = actual.links.find(device);
    if (net == networks.end() || tap == actual.links.end()) return;
    Link l = tap->second;
    l.master = net->second->bridge;
    l.mtu = static_cast<int>(net->second->mtu);
    l.up = true;
    want.links[l.name] = l;
  };
  for (const auto& [id, port] : view.ports)
    if (!withheld.count(id)) plug(port.network_id, port.device);
  // The host ends of the DHCP ports' veths (their namespaces are the L3 side's).
  for (const auto& [id, d] : view.dhcp)
    if (d.server_port) plug(d.network_id, devname::tap(*d.server_port));
  add_bfd_device(want, s);
  for (const auto& [id, remote] : view.l2pop) {
    auto net = networks.find(remote.network_id);
    if (net == networks.end() || net->second->network_type != "vxlan") continue;
    auto dev = segment_device(*net->second, s);
    want.fdb.insert(Fdb{dev, remote.mac_address, remote.vtep});
    want.fdb.insert(Fdb{dev, remote.mac_address, ""});
    // IPv6 entries only where the device has IPv6: the host has it and the network's MTU
    // allows it (below 1280 the kernel keeps no IPv6 state for the device and refuses them,
    // which would fail the rest of the batch).
    bool ipv6 = s.ipv6 && net->second->mtu >= 1280;
    for (const auto& ip : remote.fixed_ips)
      if (ipv6 || ip.find(':') == std::string::npos) want.neighbours.insert(Neighbour{dev, ip, remote.mac_address});
    // The link-local address IPv6 gives the port from its MAC: with the device answering
    // neighbour solicitations itself (proxy), a VM's fe80:: neighbour elsewhere needs one.
    if (auto mac = Mac::parse(remote.mac_address); ipv6 && mac)
      want.neighbours.insert(Neighbour{dev, eui64_address(kLinkLocal, *mac).str(), remote.mac_address});
  }
  return want;
}

namespace {

// Walks two sorted sets once: drop(x) for what only `actual` has, keep(x, present) for
// everything `want` has (present: actual has it too). Linear, where lookups per entry
// would cost a search each at 10,000s of FDB entries.
template <class T, class Drop, class Keep>
void walk_diff(const std::set<T>& actual, const std::set<T>& want, Drop&& drop, Keep&& keep) {
  auto a = actual.begin();
  auto w = want.begin();
  while (a != actual.end() || w != want.end()) {
    auto order = a == actual.end() ? std::strong_ordering::greater
                 : w == want.end() ? std::strong_ordering::less
                                   : *a <=> *w;
    if (order < 0) drop(*a++);
    else if (order > 0) keep(*w++, false);
    else keep(*w++, true), ++a;
  }
}

// Memo of a per-device answer: entries come sorted by device, so it is asked in runs.
template <class Fn>
auto per_device(Fn&& fn) {
  return [fn, last = std::string(), answer = false](const std::string& dev) mutable {
    if (dev != last || last.empty()) last = dev, answer = fn(dev);
    return answer;
  };
}

}  // namespace

std::vector<Op> plan_l2(const HostView& view, const kernel::State& actual, const L2Settings& s,
                        const std::set<std::string>& withheld) {
  auto want = desired_l2(view, actual, s, withheld);
  std::vector<Op> removals, links, entries;
  auto stays = [&](const std::string& dev) {
    auto w = want.links.find(dev);
    auto a = actual.links.find(dev);
    return w != want.links.end() && a != actual.links.end() && !immutable_differs(w->second, a->second);
  };
  // 1. Entries on our devices that are no longer wanted (entries on removed devices go with
  //    them); 4. entries to add (all of them on a recreated device).
  std::vector<Op> fdb_adds, neigh_adds;
  auto drop_fdb = per_device([&](const std::string& d) { return owned_link(d) && stays(d); });
  auto keep_fdb = per_device(stays);
  walk_diff(actual.fdb, want.fdb, [&](const Fdb& f) { if (drop_fdb(f.dev)) removals.push_back(Op{Op::del_fdb, {}, f, {}}); },
            [&](const Fdb& f, bool present) { if (!present || !keep_fdb(f.dev)) fdb_adds.push_back(Op{Op::add_fdb, {}, f, {}}); });
  auto drop_neigh = per_device([&](const std::string& d) { return owned_link(d) && stays(d); });
  auto keep_neigh = per_device(stays);
  walk_diff(actual.neighbours, want.neighbours,
            [&](const Neighbour& n) { if (drop_neigh(n.dev)) removals.push_back(Op{Op::del_neigh, {}, {}, n}); },
            [&](const Neighbour& n, bool present) { if (!present || !keep_neigh(n.dev)) neigh_adds.push_back(Op{Op::add_neigh, {}, {}, n}); });
  // 2. Our links no longer wanted, or to be recreated: tunnels before bridges.
  for (int pass = 0; pass < 2; ++pass)
    for (const auto& [name, l] : actual.links) {
      bool bridge = l.kind == "bridge";
      if (!owned(l) || bridge != (pass == 1)) continue;
      auto w = want.links.find(name);
      if (w == want.links.end() || immutable_differs(w->second, l)) removals.push_back(Op{Op::del_link, l, {}, {}});
    }
  // 3. Links to add or change: bridges first, then their ports.
  for (int pass = 0; pass < 2; ++pass)
    for (const auto& [name, l] : want.links) {
      if ((l.kind == "bridge") != (pass == 0)) continue;
      auto a = actual.links.find(name);
      if (a == actual.links.end() || immutable_differs(l, a->second)) links.push_back(Op{Op::add_link, l, {}, {}});
      else if (kernel::link_differs(l, a->second)) links.push_back(Op{Op::set_link, l, {}, {}});
    }
  removals.insert(removals.end(), links.begin(), links.end());
  removals.insert(removals.end(), fdb_adds.begin(), fdb_adds.end());
  removals.insert(removals.end(), neigh_adds.begin(), neigh_adds.end());
  return removals;
}

}  // namespace nt::agent
