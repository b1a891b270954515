#include "agent/l3_reconciler.h"
#include "agent/metadata_plan.h"
#include "common/net.h"
#include "common/names.h"

#include <cstdint>

namespace nt::agent {
using kernel::Address;
using kernel::Fdb;
using kernel::Link;
using kernel::Neighbour;
using kernel::Op;
using kernel::Route;
using kernel::Rule;

namespace {

constexpr uint32_t kFipTable = 16;        // Neutron's table for floating IP traffic
constexpr uint32_t kFipRulePriority = 32768;
constexpr uint32_t kSnatRulePriority = 40000;  // after main (32766): only non-local traffic

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The namespace end of a router port's veth (the tap end is made from the host).
Link port_end(const view::RouterPort& port) {
  Link l{port.device, "veth", "", static_cast<int>(port.mtu), true};
  l.mac = port.mac;
  return l;
}
// The host end, made with its peer inside `ns`.
Link tap_end(const view::RouterPort& port, const std::string& ns) {
  Link l{port.tap, "veth", "", static_cast<int>(port.mtu), true};
  l.peer = port.device;
  l.peer_netns = ns;
  l.peer_mac = port.mac;
  return l;
}
std::string address_of(const view::RouterPort& port) {
  return port.ip.value_or("") + "/" + std::to_string(port.prefixlen.value_or(32));
}

bool in_cidr(const std::string& ip, const std::optional<std::string>& cidr) {
  auto address = IpAddress::parse(ip);
  auto net = Cidr::parse(cidr.value_or(""), false);
  return address && net && net->contains(*address);
}

// Per-subnet SNAT tables: from the subnet id, probing past collisions within the router.
std::map<std::string, uint32_t> snat_tables(const std::vector<view::RouterPort>& interfaces) {
  std::map<std::string, uint32_t> out;
  std::set<uint32_t> used;
  std::set<std::string> subnets;
  for (const auto& i : interfaces) subnets.insert(i.subnet_id.value_or(""));
  for (const auto& s : subnets) {
    uint32_t t = 1000 + static_cast<uint32_t>(fnv1a(s) % 60000);
    while (used.count(t)) t = t + 1 < 61000 ? t + 1 : 1000;
    used.insert(t);
    out[s] = t;
  }
  return out;
}


struct Builder {
  const HostView& view;
  const std::string& prefix;
  const LinkLocal& rfp;
  L3Desired out;
  std::string gw_ips, rewrite_out, rewrite_in;

  std::string fip_ns(const std::string& net) { return devname::fip_ns(prefix, net); }

  void router(const std::string& id, const view::Router& r) {
    auto ns = devname::qrouter_ns(prefix, id);
    auto& plan = out.namespaces[ns];
    auto& want = plan.want;
    plan.sysctls["net/ipv4/ip_forward"] = "1";
    auto tables = snat_tables(r.interfaces);
    for (const auto& i : r.interfaces) {
      want.links[i.device] = port_end(i);
      want.addresses.insert(Address{i.device, address_of(i)});
      out.host.links[i.tap] = tap_end(i, ns);
      out.host.fdb.insert(Fdb{i.tap, i.mac, "", true});
      if (i.sg_ip && !i.sg_ip->empty()) {
        uint32_t t = tables[i.subnet_id.value_or("")];
        want.routes.insert(Route{t, "0.0.0.0/0", *i.sg_ip, i.device});
        want.rules.insert(Rule{kSnatRulePriority, i.cidr.value_or(""), t});
      }
      host_bridge_rules(i, r.dvr_mac.value_or(""));
    }
    for (const auto& rt : r.routes)
      for (const auto& i : r.interfaces)
        if (in_cidr(rt.nexthop, i.cidr)) want.routes.insert(Route{254, rt.destination, rt.nexthop, i.device});
    floating_ips(id, r, want);
  }

  void floating_ips(const std::string& id, const view::Router& r, kernel::State& want) {
    auto slot = rfp.find(id);
    if (r.floating_ips.empty() || slot == rfp.end() || r.external_network_id.value_or("").empty()) {
      put_nft_table(want, "ip nt-router", router_nat({}));
      return;
    }
    auto [rfp_ip, fpr_ip] = link_local_pair(slot->second);
    auto rfp_dev = devname::rfp(id), fpr_dev = devname::fpr(id);
    auto fns = fip_ns(*r.external_network_id);
    Link l{rfp_dev, "veth", "", 1500, true};
    l.peer = fpr_dev;
    l.peer_netns = fns;
    want.links[rfp_dev] = l;
    want.addresses.insert(Address{rfp_dev, rfp_ip + "/31"});
    want.routes.insert(Route{kFipTable, "0.0.0.0/0", fpr_ip, rfp_dev});
    for (const auto& f : r.floating_ips) {
      want.addresses.insert(Address{rfp_dev, f.floating_ip + "/32"});
      want.rules.insert(Rule{kFipRulePriority, f.fixed_ip + "/32", kFipTable});
    }
    put_nft_table(want, "ip nt-router", router_nat(r.floating_ips));
    // The fip namespace's side of this router.
    auto& fip = out.namespaces[fns].want;
    fip.links[fpr_dev] = Link{fpr_dev, "veth", "", 1500, true};
    fip.addresses.insert(Address{fpr_dev, fpr_ip + "/31"});
    for (const auto& f : r.floating_ips) fip.routes.insert(Route{254, f.floating_ip + "/32", rfp_ip, fpr_dev});
  }

  static std::string router_nat(const std::vector<view::FloatingIp>& fips) {
    std::string dnat = "    jump metadata\n", snat;
    for (const auto& f : fips) {
      dnat += "    iifname \"rfp-*\" ip daddr " + f.floating_ip + " dnat to " + f.fixed_ip + "\n";
      snat += "    oifname \"rfp-*\" ip saddr " + f.fixed_ip + " snat to " + f.floating_ip + "\n";
    }
    // The metadata service (169.254.169.254:80) is redirected to the proxy (declared first: jumped to).
    return "  chain metadata {\n" + router_metadata_chain() +
           "  }\n  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n" + dnat +
           "  }\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n" + snat + "  }\n" +
           router_metadata_input();
  }

  // Gateway ARP stays local; routed frames leave with this host's DVR MAC.
  void host_bridge_rules(const view::RouterPort& i, const std::string& dvr_mac) {
    gw_ips += (gw_ips.empty() ? "" : ", ") + i.ip.value_or("");
    auto net = view.networks.find(i.network_id);
    if (net == view.networks.end() || net->second.network_type != "vxlan" || dvr_mac.empty()) return;
    auto vx = devname::vxlan(net->second.segmentation_id.value_or(0));
    rewrite_out += "    iifname \"" + i.tap + "\" oifname \"" + vx + "\" ether saddr " + i.mac + " ether saddr set " + dvr_mac + "\n";
    rewrite_in += "    iifname \"" + vx + "\" ether saddr & ff:ff:ff:00:00:00 == fa:16:3f:00:00:00 ether saddr set " + i.mac + "\n";
  }

  void snat(const std::string& id, const view::Snat& sn) {
    auto ns = devname::snat_ns(prefix, id);
    auto& plan = out.namespaces[ns];
    plan.sysctls["net/ipv4/ip_forward"] = "1";
    std::vector<const view::RouterPort*> ports;
    for (const auto& p : sn.sg) ports.push_back(&p);
    if (sn.qg) ports.push_back(&*sn.qg);
    for (const auto* p : ports) {
      plan.want.links[p->device] = port_end(*p);
      out.host.links[p->tap] = tap_end(*p, ns);
      if (sn.active && p->ip && !p->ip->empty()) plan.want.addresses.insert(Address{p->device, address_of(*p)});
    }
    std::string rules;
    const auto& qg = sn.qg;
    if (qg && sn.active && qg->gateway_ip && !qg->gateway_ip->empty())
      plan.want.routes.insert(Route{254, "0.0.0.0/0", *qg->gateway_ip, qg->device});
    if (qg && sn.enable_snat && !sn.internal_cidrs.empty()) {
      std::string cidrs;
      for (const auto& c : sn.internal_cidrs) cidrs += (cidrs.empty() ? "" : ", ") + c;
      rules = "    oifname \"qg-*\" ip saddr { " + cidrs + " } snat to " + qg->ip.value_or("") + "\n";
    }
    std::string forwards;
    if (qg && sn.active)
      for (const auto& pf : sn.port_forwardings) {
        // What goes into an nftables script is checked here, whatever the server sent.
        if (!usable(pf)) continue;
        plan.want.addresses.insert(Address{qg->device, pf.floating_ip + "/32"});
        forwards += port_forward_rules(pf);
      }
    // Nothing outside talks to the gateway's own TCP/UDP ports: a packet of a connection
    // this host has no entry for (it just took over) is dropped, not answered with a reset,
    // so the flow resumes once the inside end's next packet recreates the same translation.
    put_nft_table(plan.want, "ip nt-snat",
              "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n" + forwards +
                  "  }\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n" + rules +
                  "  }\n  chain input {\n    type filter hook input priority filter; policy accept;\n"
                  "    iifname \"qg-*\" meta l4proto { tcp, udp } drop\n  }\n");
  }

  // DNAT from the floating IP's external ports to the internal address: the ports kept when
  // the ranges are the same, one internal port for many external ones, else port by port.
  static bool usable(const view::PortForward& pf) {
    static const std::set<std::string> kWithPorts = {"tcp", "udp", "sctp", "dccp"};
    auto fip = IpAddress::parse(pf.floating_ip), internal = IpAddress::parse(pf.internal_ip);
    auto ports_ok = [](int64_t lo, int64_t hi) { return lo >= 1 && lo <= hi && hi <= 65535; };
    return fip && internal && fip->version == 4 && internal->version == 4 && kWithPorts.count(pf.protocol) &&
           ports_ok(pf.external_min, pf.external_max) && ports_ok(pf.internal_min, pf.internal_max);
  }

  static std::string port_forward_rules(const view::PortForward& pf) {
    auto range = [](int64_t lo, int64_t hi) { return std::to_string(lo) + (hi > lo ? "-" + std::to_string(hi) : ""); };
    auto match = "    iifname \"qg-*\" ip daddr " + pf.floating_ip + " meta l4proto " + pf.protocol + " th dport ";
    if (pf.internal_min == pf.external_min && pf.internal_max == pf.external_max)
      return match + range(pf.external_min, pf.external_max) + " dnat to " + pf.internal_ip + "\n";
    if (pf.internal_min == pf.internal_max)
      return match + range(pf.external_min, pf.external_max) + " dnat to " + pf.internal_ip + ":" +
             std::to_string(pf.internal_min) + "\n";
    std::string out;
    for (int64_t p = pf.external_min; p <= pf.external_max; ++p)
      out += match + std::to_string(p) + " dnat to " + pf.internal_ip + ":" + std::to_string(pf.internal_min + p - pf.external_min) + "\n";
    return out;
  }

  void fip(const std::string& net, const view::Fip& f) {
    auto ns = fip_ns(net);
    auto& plan = out.namespaces[ns];
    plan.sysctls["net/ipv4/ip_forward"] = "1";
    if (!f.fg) {
      out.missing_fip_gateways.insert(net);
      return;
    }
    const auto& fg = *f.fg;
    plan.want.links[fg.device] = port_end(fg);
    out.host.links[fg.tap] = tap_end(fg, ns);
    plan.want.addresses.insert(Address{fg.device, address_of(fg)});
    if (fg.gateway_ip && !fg.gateway_ip->empty()) plan.want.routes.insert(Route{254, "0.0.0.0/0", *fg.gateway_ip, fg.device});
    // Answer ARP for the floating IPs at once (the default delay is up to 0.8 s).
    plan.sysctls["net/ipv4/conf/" + fg.device + "/proxy_arp"] = "1";
    plan.sysctls["net/ipv4/neigh/" + fg.device + "/proxy_delay"] = "0";
  }

  void host_table() {
    if (gw_ips.empty()) return;
    put_nft_table(out.host, "bridge nt-dvr",
              "  set gateway_ips {\n    type ipv4_addr\n    elements = { " + gw_ips + " }\n  }\n"
              "  chain forward {\n    type filter hook forward priority 0; policy accept;\n"
              "    oifname \"vxlan-*\" arp operation request arp daddr ip @gateway_ips drop\n"
              "    oifname \"vxlan-*\" arp operation reply arp saddr ip @gateway_ips drop\n"
              "    iifname \"vxlan-*\" arp operation request arp daddr ip @gateway_ips drop\n" + rewrite_out + "  }\n"
              "  chain prerouting {\n    type filter hook prerouting priority 0; policy accept;\n" + rewrite_in + "  }\n");
  }
};

}  // namespace

std::string table_digest(const std::string& body) { return hex(fnv1a(body)); }

void put_nft_table(kernel::State& want, const std::string& table, const std::string& body) {
  want.nft[table] = table_digest(body);
  want.nft_bodies[table] = body;
}

std::pair<std::string, std::string> link_local_pair(int index) {
  int third = 64 + index / 128, fourth = 2 * (index % 128);
  auto base = "169.254." + std::to_string(third) + ".";
  return {base + std::to_string(fourth), base + std::to_string(fourth + 1)};
}

LinkLocal allocate_link_local(const HostView& view, const LinkLocal& current) {
  LinkLocal out;
  std::set<int> used;
  std::vector<std::string> fresh;
  for (const auto& [id, r] : view.routers) {
    if (r.floating_ips.empty()) continue;
    if (auto it = current.find(id); it != current.end()) out[id] = it->second, used.insert(it->second);
    else fresh.push_back(id);
  }
  int next = 0;
  for (const auto& id : fresh) {
    while (used.count(next)) ++next;
    used.insert(next);
    out[id] = next;
  }
  return out;
}

std::vector<std::string> router_sysctl_keys(const kernel::State& want) {
  std::vector<std::string> keys{"net/ipv4/conf/all/send_redirects", "net/ipv4/conf/default/send_redirects"};
  for (const auto& [dev, link] : want.links) keys.push_back("net/ipv4/conf/" + dev + "/send_redirects");
  return keys;
}

bool l3_namespace(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0) return false;
  auto rest = name.substr(prefix.size());
  return rest.rfind("qrouter-", 0) == 0 || rest.rfind("snat-", 0) == 0 || rest.rfind("fip-", 0) == 0 ||
         rest.rfind("meta-", 0) == 0;
}

L3Desired desired_l3(const HostView& view, const std::string& ns_prefix, const LinkLocal& rfp) {
  Builder b{view, ns_prefix, rfp, {}, {}, {}, {}};
  for (const auto& [id, arp] : view.arp) {
    if (!view.routers.count(arp.router_id)) continue;
    auto& want = b.out.namespaces[devname::qrouter_ns(ns_prefix, arp.router_id)].want;
    // IPv4 only: the router namespaces run with IPv6 off (l3_runner), where the kernel
    // refuses an IPv6 neighbour and the namespace's whole batch would fail with it.
    for (const auto& a : arp.addresses)
      if (a.ip.find(':') == std::string::npos) want.neighbours.insert(Neighbour{a.device, a.ip, arp.mac});
  }
  for (const auto& [id, r] : view.routers) b.router(id, r);
  for (const auto& [id, sn] : view.snat) b.snat(id, sn);
  for (const auto& [net, f] : view.fips) b.fip(net, f);
  b.host_table();
  add_dhcp_and_metadata(view, ns_prefix, b.out);
  for (auto& [name, plan] : b.out.namespaces) {
    plan.want.links["lo"] = Link{"lo", "device", "", 65536, true};
    // No ICMP redirects from a router namespace (as Neutron's): a qrouter forwards SNAT
    // traffic back out of the qr- port it came in on (to the sg- address), and a redirect
    // would send the VM around it. The kernel sends one if all OR the interface says so,
    // so each interface is set too, not only all and default.
    for (const auto& key : router_sysctl_keys(plan.want)) plan.sysctls[key] = "0";
  }
  return std::move(b.out);
}

}  // namespace nt::agent
