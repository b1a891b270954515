#include "agent/l3_reconciler.h"
#include "common/net.h"
#include "common/json_get.h"
#include "common/names.h"

#include <cstdint>

namespace nt::agent {
namespace json = boost::json;
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

using jget::arr;
using jget::str;
int num(const json::object& o, const char* key, int fallback = 0) { return static_cast<int>(jget::num(o, key, fallback)); }
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
Link port_end(const json::object& port) {
  Link l{str(port, "device"), "veth", "", num(port, "mtu", 1500), true};
  l.mac = str(port, "mac");
  return l;
}
// The host end, made with its peer inside `ns`.
Link tap_end(const json::object& port, const std::string& ns) {
  Link l{str(port, "tap"), "veth", "", num(port, "mtu", 1500), true};
  l.peer = str(port, "device");
  l.peer_netns = ns;
  l.peer_mac = str(port, "mac");
  return l;
}
std::string address_of(const json::object& port) { return str(port, "ip") + "/" + std::to_string(num(port, "prefixlen", 32)); }

bool in_cidr(const std::string& ip, const std::string& cidr) {
  auto address = IpAddress::parse(ip);
  auto net = Cidr::parse(cidr, false);
  return address && net && net->contains(*address);
}

// Per-subnet SNAT tables: from the subnet id, probing past collisions within the router.
std::map<std::string, uint32_t> snat_tables(const json::array& interfaces) {
  std::map<std::string, uint32_t> out;
  std::set<uint32_t> used;
  std::set<std::string> subnets;
  for (const auto& i : interfaces) subnets.insert(str(i.as_object(), "subnet_id"));
  for (const auto& s : subnets) {
    uint32_t t = 1000 + static_cast<uint32_t>(fnv1a(s) % 60000);
    while (used.count(t)) t = t + 1 < 61000 ? t + 1 : 1000;
    used.insert(t);
    out[s] = t;
  }
  return out;
}

void put_table(kernel::State& want, const std::string& table, const std::string& body) {
  want.nft[table] = hex(fnv1a(body));
  want.nft_bodies[table] = body;
}

struct Builder {
  const HostView& view;
  const std::string& prefix;
  const LinkLocal& rfp;
  L3Desired out;
  std::string gw_ips, rewrite_out, rewrite_in;

  std::string fip_ns(const std::string& net) { return devname::fip_ns(prefix, net); }

  void router(const std::string& id, const json::object& r) {
    auto ns = devname::qrouter_ns(prefix, id);
    auto& plan = out.namespaces[ns];
    auto& want = plan.want;
    plan.sysctls["net/ipv4/ip_forward"] = "1";
    const auto& interfaces = arr(r, "interfaces");
    auto tables = snat_tables(interfaces);
    for (const auto& iv : interfaces) {
      const auto& i = iv.as_object();
      auto dev = str(i, "device");
      want.links[dev] = port_end(i);
      want.addresses.insert(Address{dev, address_of(i)});
      out.host.links[str(i, "tap")] = tap_end(i, ns);
      out.host.fdb.insert(Fdb{str(i, "tap"), str(i, "mac"), "", true});
      if (!str(i, "sg_ip").empty()) {
        uint32_t t = tables[str(i, "subnet_id")];
        want.routes.insert(Route{t, "0.0.0.0/0", str(i, "sg_ip"), dev});
        want.rules.insert(Rule{kSnatRulePriority, str(i, "cidr"), t});
      }
      host_bridge_rules(i, str(r, "dvr_mac"));
    }
    for (const auto& rt : arr(r, "routes")) {
      auto nexthop = str(rt.as_object(), "nexthop");
      for (const auto& iv : interfaces)
        if (in_cidr(nexthop, str(iv.as_object(), "cidr")))
          want.routes.insert(Route{254, str(rt.as_object(), "destination"), nexthop, str(iv.as_object(), "device")});
    }
    floating_ips(id, r, want);
  }

  void floating_ips(const std::string& id, const json::object& r, kernel::State& want) {
    const auto& fips = arr(r, "floating_ips");
    auto slot = rfp.find(id);
    if (fips.empty() || slot == rfp.end() || str(r, "external_network_id").empty()) {
      put_table(want, "ip nt-router", router_nat({}));
      return;
    }
    auto [rfp_ip, fpr_ip] = link_local_pair(slot->second);
    auto rfp_dev = devname::rfp(id), fpr_dev = devname::fpr(id);
    auto fns = fip_ns(str(r, "external_network_id"));
    Link l{rfp_dev, "veth", "", 1500, true};
    l.peer = fpr_dev;
    l.peer_netns = fns;
    want.links[rfp_dev] = l;
    want.addresses.insert(Address{rfp_dev, rfp_ip + "/31"});
    want.routes.insert(Route{kFipTable, "0.0.0.0/0", fpr_ip, rfp_dev});
    for (const auto& f : fips) {
      const auto& o = f.as_object();
      want.addresses.insert(Address{rfp_dev, str(o, "floating_ip") + "/32"});
      want.rules.insert(Rule{kFipRulePriority, str(o, "fixed_ip") + "/32", kFipTable});
    }
    put_table(want, "ip nt-router", router_nat(fips));
    // The fip namespace's side of this router.
    auto& fip = out.namespaces[fns].want;
    fip.links[fpr_dev] = Link{fpr_dev, "veth", "", 1500, true};
    fip.addresses.insert(Address{fpr_dev, fpr_ip + "/31"});
    for (const auto& f : fips) fip.routes.insert(Route{254, str(f.as_object(), "floating_ip") + "/32", rfp_ip, fpr_dev});
  }

  static std::string router_nat(const json::array& fips) {
    std::string dnat, snat;
    for (const auto& f : fips) {
      auto fip = str(f.as_object(), "floating_ip"), fixed = str(f.as_object(), "fixed_ip");
      dnat += "    iifname \"rfp-*\" ip daddr " + fip + " dnat to " + fixed + "\n";
      snat += "    oifname \"rfp-*\" ip saddr " + fixed + " snat to " + fip + "\n";
    }
    return "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n" + dnat +
           "  }\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n" + snat +
           "  }\n  # the metadata service (169.254.169.254:80) is redirected from here\n  chain metadata {\n  }\n";
  }

  // Gateway ARP stays local; routed frames leave with this host's DVR MAC.
  void host_bridge_rules(const json::object& i, const std::string& dvr_mac) {
    gw_ips += (gw_ips.empty() ? "" : ", ") + str(i, "ip");
    auto net = view.find({"network", str(i, "network_id")});
    if (net == view.end() || str(net->second, "network_type") != "vxlan" || dvr_mac.empty()) return;
    auto vx = devname::vxlan(num(net->second, "segmentation_id"));
    rewrite_out += "    iifname \"" + str(i, "tap") + "\" oifname \"" + vx + "\" ether saddr " + str(i, "mac") +
                   " ether saddr set " + dvr_mac + "\n";
    rewrite_in += "    iifname \"" + vx + "\" ether saddr & ff:ff:ff:00:00:00 == fa:16:3f:00:00:00 ether saddr set " +
                  str(i, "mac") + "\n";
  }

  void snat(const std::string& id, const json::object& sn) {
    auto ns = devname::snat_ns(prefix, id);
    auto& plan = out.namespaces[ns];
    plan.sysctls["net/ipv4/ip_forward"] = "1";
    bool active = sn.contains("active") && sn.at("active").as_bool();
    std::vector<const json::object*> ports;
    for (const auto& p : arr(sn, "sg")) ports.push_back(&p.as_object());
    const auto* qg = sn.if_contains("qg") && sn.at("qg").is_object() ? &sn.at("qg").as_object() : nullptr;
    if (qg) ports.push_back(qg);
    for (const auto* p : ports) {
      plan.want.links[str(*p, "device")] = port_end(*p);
      out.host.links[str(*p, "tap")] = tap_end(*p, ns);
      if (active && !str(*p, "ip").empty()) plan.want.addresses.insert(Address{str(*p, "device"), address_of(*p)});
    }
    std::string rules;
    if (qg && active && !str(*qg, "gateway_ip").empty())
      plan.want.routes.insert(Route{254, "0.0.0.0/0", str(*qg, "gateway_ip"), str(*qg, "device")});
    bool enable = !sn.contains("enable_snat") || !sn.at("enable_snat").is_bool() || sn.at("enable_snat").as_bool();
    if (qg && enable && !arr(sn, "internal_cidrs").empty()) {
      std::string cidrs;
      for (const auto& c : arr(sn, "internal_cidrs")) cidrs += (cidrs.empty() ? "" : ", ") + std::string(c.as_string());
      rules = "    oifname \"qg-*\" ip saddr { " + cidrs + " } snat to " + str(*qg, "ip") + "\n";
    }
    put_table(plan.want, "ip nt-snat",
              "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n" + rules + "  }\n");
  }

  void fip(const std::string& net, const json::object& f) {
    auto ns = fip_ns(net);
    auto& plan = out.namespaces[ns];
    plan.sysctls["net/ipv4/ip_forward"] = "1";
    const auto* fg = f.if_contains("fg") && f.at("fg").is_object() ? &f.at("fg").as_object() : nullptr;
    if (!fg) {
      out.missing_fip_gateways.insert(net);
      return;
    }
    auto dev = str(*fg, "device");
    plan.want.links[dev] = port_end(*fg);
    out.host.links[str(*fg, "tap")] = tap_end(*fg, ns);
    plan.want.addresses.insert(Address{dev, address_of(*fg)});
    if (!str(*fg, "gateway_ip").empty()) plan.want.routes.insert(Route{254, "0.0.0.0/0", str(*fg, "gateway_ip"), dev});
    // Answer ARP for the floating IPs at once (the default delay is up to 0.8 s).
    plan.sysctls["net/ipv4/conf/" + dev + "/proxy_arp"] = "1";
    plan.sysctls["net/ipv4/neigh/" + dev + "/proxy_delay"] = "0";
  }

  void host_table() {
    if (gw_ips.empty()) return;
    put_table(out.host, "bridge nt-dvr",
              "  set gateway_ips {\n    type ipv4_addr\n    elements = { " + gw_ips + " }\n  }\n"
              "  chain forward {\n    type filter hook forward priority 0; policy accept;\n"
              "    oifname \"vxlan-*\" arp operation request arp daddr ip @gateway_ips drop\n"
              "    oifname \"vxlan-*\" arp operation reply arp saddr ip @gateway_ips drop\n"
              "    iifname \"vxlan-*\" arp operation request arp daddr ip @gateway_ips drop\n" + rewrite_out + "  }\n"
              "  chain prerouting {\n    type filter hook prerouting priority 0; policy accept;\n" + rewrite_in + "  }\n");
  }
};

}  // namespace

std::pair<std::string, std::string> link_local_pair(int index) {
  int third = 64 + index / 128, fourth = 2 * (index % 128);
  auto base = "169.254." + std::to_string(third) + ".";
  return {base + std::to_string(fourth), base + std::to_string(fourth + 1)};
}

LinkLocal allocate_link_local(const HostView& view, const LinkLocal& current) {
  LinkLocal out;
  std::set<int> used;
  std::vector<std::string> fresh;
  for (const auto& [key, r] : view) {
    if (key.first != "router" || arr(r, "floating_ips").empty()) continue;
    if (auto it = current.find(key.second); it != current.end()) out[key.second] = it->second, used.insert(it->second);
    else fresh.push_back(key.second);
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
  return rest.rfind("qrouter-", 0) == 0 || rest.rfind("snat-", 0) == 0 || rest.rfind("fip-", 0) == 0;
}

L3Desired desired_l3(const HostView& view, const std::string& ns_prefix, const LinkLocal& rfp) {
  Builder b{view, ns_prefix, rfp, {}, {}, {}, {}};
  for (const auto& [key, obj] : view) {
    if (key.first == "arp" && view.count({"router", str(obj, "router_id")})) {
      auto& want = b.out.namespaces[devname::qrouter_ns(ns_prefix, str(obj, "router_id"))].want;
      for (const auto& a : arr(obj, "addresses"))
        want.neighbours.insert(Neighbour{str(a.as_object(), "device"), str(a.as_object(), "ip"), str(obj, "mac")});
    }
    if (key.first == "router") b.router(key.second, obj);
    else if (key.first == "snat") b.snat(key.second, obj);
    else if (key.first == "fip") b.fip(key.second, obj);
  }
  b.host_table();
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
