#include "agent/metadata_plan.h"

#include <set>

#include "common/names.h"
#include "common/net.h"

#include <algorithm>

namespace nt::agent {
using kernel::Address;
using kernel::Fdb;
using kernel::Link;
using kernel::Neighbour;

namespace {

constexpr const char* kMetadataIp = "169.254.169.254";

std::string joined(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// The DHCP port of a network as the host builds it.
struct MetaPort {
  std::string network, port, mac;
  std::string uplink;  // the network's tunnel device (vxlan-<vni>); "" for flat/VLAN
  int64_t mtu = 1500;
  std::set<std::string> addresses;                 // ip/prefix on each subnet
  std::set<std::pair<std::string, std::string>> vms;  // (ip, mac) of the local VMs
};

std::map<std::string, MetaPort> meta_ports(const HostView& view) {
  std::map<std::string, MetaPort> out;
  for (const auto& [id, d] : view.dhcp) {
    if (!d.server_ip || !d.server_mac || !d.server_port || !usable_dhcp_entry(id, d)) continue;
    auto net = view.networks.find(d.network_id);
    if (net == view.networks.end()) continue;
    auto& m = out[d.network_id];
    m.network = d.network_id, m.port = *d.server_port, m.mac = *d.server_mac, m.mtu = net->second.mtu;
    if (net->second.network_type == "vxlan") m.uplink = devname::vxlan(net->second.segmentation_id.value_or(0));
    m.addresses.insert(*d.server_ip + "/" + std::to_string(d.prefixlen));
    m.vms.insert({d.ip, d.mac});
  }
  return out;
}

// Uplinks are every bridge port that is not a tap (vxlan-*, a physical interface or VLAN):
// what a host's DHCP serves stays between its taps.
std::string host_table(const HostView& view, const std::map<std::string, MetaPort>& metas) {
  // A DHCP MAC is unique in its network only: on a tunnel it is matched with the network's
  // own device; a flat/VLAN uplink is not known here, so there any uplink.
  std::set<std::string> macs, tunnel_macs, served, arp, sources;
  for (const auto& [net, m] : metas)
    if (m.uplink.empty()) macs.insert(m.mac);
    else tunnel_macs.insert("\"" + m.uplink + "\" . " + m.mac);
  for (const auto& [id, d] : view.dhcp) {
    if (!usable_dhcp_entry(id, d)) continue;
    auto tap = "\"" + d.device + "\"";
    for (const auto& a : d.addresses) sources.insert(tap + " . " + a);
    if (!d.server_ip || !metas.count(d.network_id)) continue;
    served.insert(tap);
    arp.insert(tap + " . " + *d.server_ip);
  }
  auto set = [](const char* name, const char* type, const std::set<std::string>& items) {
    return std::string("  set ") + name + " {\n    type " + type + "\n" +
           (items.empty() ? "" : "    elements = { " + joined(items) + " }\n") + "  }\n";
  };
  return set("dhcp_macs", "ether_addr", macs) + set("tunnel_dhcp_macs", "ifname . ether_addr", tunnel_macs) +
         set("served_taps", "ifname", served) +
         set("dhcp_arp", "ifname . ipv4_addr", arp) + set("metadata_sources", "ifname . ipv4_addr", sources) +
         "  chain forward {\n    type filter hook forward priority 0; policy accept;\n"
         "    iifname @served_taps oifname != \"tap*\" udp dport 67 drop\n"
         "    oifname @served_taps iifname != \"tap*\" udp dport 68 drop\n"
         "    oifname != \"tap*\" ether saddr @dhcp_macs drop\n"
         "    iifname != \"tap*\" ether saddr @dhcp_macs drop\n"
         "    oifname . ether saddr @tunnel_dhcp_macs drop\n"
         "    iifname . ether saddr @tunnel_dhcp_macs drop\n"
         "    oifname != \"tap*\" arp operation request iifname . arp daddr ip @dhcp_arp drop\n"
         "    iifname != \"tap*\" ip daddr 169.254.169.254 drop\n"
         "    iifname \"tap*\" ip daddr 169.254.169.254 iifname . ip saddr != @metadata_sources drop\n"
         "  }\n";
}

}  // namespace

std::string router_metadata_chain() {
  return "    iifname \"qr-*\" ip daddr 169.254.169.254 tcp dport 80 redirect to :" + std::to_string(kRouterMetadataPort) + "\n";
}

bool usable_dhcp_entry(const std::string& id, const view::Dhcp& d) {
  auto v4 = [](const std::string& ip) {
    auto a = IpAddress::parse(ip);
    return a && a->version == 4;
  };
  auto name_safe = [](const std::string& s) { return devname::plain(s); };
  bool ok = d.device == devname::tap(id) && name_safe(id) && name_safe(d.network_id) && Mac::parse(d.mac) && v4(d.ip) &&
            d.prefixlen >= 1 && d.prefixlen <= 32 &&
            std::all_of(d.addresses.begin(), d.addresses.end(), v4);
  if (ok && d.server_ip)
    ok = v4(*d.server_ip) && d.server_mac && Mac::parse(*d.server_mac) && d.server_port && name_safe(*d.server_port);
  return ok;
}

std::string router_metadata_input() {
  auto port = std::to_string(kRouterMetadataPort);
  return "  chain input {\n    type filter hook input priority filter; policy accept;\n    tcp dport " + port +
         " ct status dnat accept\n    tcp dport " + port + " drop\n  }\n";
}

void add_dhcp_and_metadata(const HostView& view, const std::string& prefix, L3Desired& out) {
  auto metas = meta_ports(view);
  for (const auto& [net, m] : metas) {
    auto ns = devname::meta_ns(prefix, net);
    auto& plan = out.namespaces[ns];
    auto dev = devname::meta_port(m.port);
    Link end{dev, "veth", "", static_cast<int>(m.mtu), true};
    end.mac = m.mac;
    plan.want.links[dev] = end;
    for (const auto& a : m.addresses) plan.want.addresses.insert(Address{dev, a});
    plan.want.addresses.insert(Address{dev, std::string(kMetadataIp) + "/32"});
    for (const auto& [ip, mac] : m.vms) plan.want.neighbours.insert(Neighbour{dev, ip, mac});
    auto tap = devname::tap(m.port);
    Link host_end{tap, "veth", "", static_cast<int>(m.mtu), true};
    host_end.peer = dev, host_end.peer_netns = ns, host_end.peer_mac = m.mac;
    out.host.links[tap] = host_end;
    out.host.fdb.insert(Fdb{tap, m.mac, "", true});
  }
  if (view.dhcp.empty()) return;
  put_nft_table(out.host, "bridge nt-dhcp", host_table(view, metas));
}

MetadataPlan metadata_plan(const HostView& view, const std::string& prefix) {
  MetadataPlan plan;
  for (const auto& [net, m] : meta_ports(view))
    plan.listeners.push_back({devname::meta_ns(prefix, net), kMetadataIp, 80, {{"*", net}}});
  for (const auto& [id, r] : view.routers) {
    metadata::ListenerSpec spec{devname::qrouter_ns(prefix, id), "0.0.0.0", kRouterMetadataPort, {}};
    for (const auto& i : r.interfaces)
      if (i.ip && i.device.rfind("qr-", 0) == 0) spec.networks[*i.ip] = i.network_id;
    if (!spec.networks.empty()) plan.listeners.push_back(std::move(spec));
  }
  for (const auto& [id, d] : view.dhcp)
    if (usable_dhcp_entry(id, d))
      for (const auto& a : d.addresses) plan.identities[{d.network_id, a}] = {id, d.device_id, d.project_id};
  return plan;
}

}  // namespace nt::agent
