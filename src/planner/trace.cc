// `neutrino trace`, computed: see trace.h. The hops follow what the agents build from the
// same host views (docs/architecture.md, "Data-plane constructs"), and each hop that is a
// kernel entry carries the check the agent can answer for --live.
#include "planner/trace.h"

#include <algorithm>

#include "common/names.h"
#include "common/net.h"
#include "planner/planner.h"

namespace nt::planner {
namespace {

using view::ProbeCheck;

constexpr const char* kMetadataIp = "169.254.169.254";

std::optional<Cidr> cidr_of(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  auto c = Cidr::parse(*text);
  return c ? std::optional<Cidr>(*c) : std::nullopt;
}

bool in_cidr(const std::string& ip, const std::optional<std::string>& cidr) {
  auto a = IpAddress::parse(ip);
  auto c = cidr_of(cidr);
  return a && c && c->contains(*a);
}

std::string first_ipv4(const PortRow& p) {
  for (const auto& f : p.fixed_ips)
    if (f.ip_address.find(':') == std::string::npos) return f.ip_address;
  return "";
}

// The state the trace is computed from: inputs, decoded views (per host, on demand).
class Tracer {
 public:
  Tracer(const Planner& p, const TraceQuery& q) : planner_(p), in_(p.inputs()), q_(q) {}
  Result<Trace> run();

 private:
  const view::HostView& view_of(const std::string& host);
  std::string host_of_vtep(const std::string& vtep) const;
  const PortRow* port_with_ip(const std::string& ip, const std::string& network = "") const;
  void hop(std::optional<std::string> host, std::string what, std::string detail, std::optional<std::string> ns = {},
           std::optional<std::string> device = {}, std::map<std::string, std::string> attrs = {},
           std::optional<ProbeCheck> check = {}) {
    t_.hops.push_back(TraceHop{std::move(host), std::move(what), std::move(detail), std::move(ns), std::move(device),
                               std::move(attrs), std::move(check), std::nullopt});
  }
  bool egress_allowed(const std::string& host, const PortRow& port, const std::string& remote);
  bool ingress_allowed(const std::string& host, const PortRow& port, const std::string& remote);
  bool security(const std::string& host, const PortRow& port, const std::string& direction, const std::string& remote);
  bool rule_matches(const view::HostView& v, const view::SecurityGroupRule& r, const std::string& direction,
                    const std::string& remote) const;
  void local_or_tunnel(const std::string& host, const std::string& network_id, const PortRow& dst, const std::string& ip,
                       const std::string& source_ip);
  void deliver(const PortRow& dst, const std::string& source_ip);
  void routed(const std::string& host, const std::string& router_id, const view::Router& r, const view::RouterPort& out);
  void external(const std::string& host, const std::string& router_id, const view::Router& r, const view::RouterPort& in);
  void via_fip(const std::string& host, const std::string& router_id, const view::Router& r, const view::FloatingIp& f);
  void via_snat(const std::string& host, const std::string& router_id, const view::RouterPort& in);
  void snat_on_gateway(const std::string& gw_host, const std::string& router_id, const view::RouterPort& in);
  void inbound();
  bool extra_route(const std::string& host, const std::string& router_id, const view::Router& r);
  void route_from(const std::string& host, const PortRow& port);
  bool intercepted(const std::string& host, const PortRow& port);

  const Planner& planner_;
  const Inputs& in_;
  const TraceQuery& q_;
  Trace t_;
  std::map<std::string, view::HostView> views_;
  std::string src_ip_;
};

const view::HostView& Tracer::view_of(const std::string& host) {
  auto it = views_.find(host);
  if (it != views_.end()) return it->second;
  view::HostView v;
  for (const auto& [key, obj] : planner_.view(host)) (void)view::put(v, key.first, key.second, obj);
  return views_.emplace(host, std::move(v)).first->second;
}

std::string Tracer::host_of_vtep(const std::string& vtep) const {
  for (const auto& [id, h] : in_.hosts)
    if (h.local_ip == vtep) return id;
  return "";
}

const PortRow* Tracer::port_with_ip(const std::string& ip, const std::string& network) const {
  const PortRow* found = nullptr;
  for (const auto& [id, p] : in_.ports)
    for (const auto& f : p.fixed_ips)
      if (f.ip_address == ip && (network.empty() || p.network_id == network)) {
        // A VM's port before a router's (the sg- and qr- ports share no address with VMs).
        if (!found || owner::is_network_service(found->device_owner)) found = &p;
      }
  return found;
}

}  // namespace

namespace {

// Neutron's protocol names and numbers for the three the trace speaks.
bool protocol_matches(const std::optional<std::string>& rule, const std::string& asked) {
  if (!rule || rule->empty() || *rule == "any") return true;
  if (asked == "any") return false;
  static const std::map<std::string, std::string> numbers = {{"tcp", "6"}, {"udp", "17"}, {"icmp", "1"}};
  return *rule == asked || (numbers.count(asked) && *rule == numbers.at(asked));
}

std::string rule_text(const view::SecurityGroupRule& r) {
  std::string s = r.direction + " " + r.ethertype + " " + r.protocol.value_or("any");
  if (r.port_range_min) s += " " + std::to_string(*r.port_range_min);
  if (r.port_range_max && r.port_range_max != r.port_range_min) s += "-" + std::to_string(*r.port_range_max);
  if (r.remote_ip_prefix) s += " " + *r.remote_ip_prefix;
  if (r.remote_group_id) s += " group " + r.remote_group_id->substr(0, 8);
  if (r.remote_address_group_id) s += " address-group " + r.remote_address_group_id->substr(0, 8);
  return s + " (rule " + r.id.substr(0, 8) + ")";
}

}  // namespace

bool Tracer::rule_matches(const view::HostView& v, const view::SecurityGroupRule& r, const std::string& direction,
                          const std::string& remote) const {
  if (r.direction != direction || r.ethertype != "IPv4" || !protocol_matches(r.protocol, q_.protocol)) return false;
  bool ported = q_.protocol == "tcp" || q_.protocol == "udp";
  if (ported && r.port_range_min) {
    if (!q_.dst_port) return false;
    if (*q_.dst_port < *r.port_range_min || *q_.dst_port > r.port_range_max.value_or(*r.port_range_min)) return false;
  }
  if (q_.protocol == "icmp" && r.port_range_min && *r.port_range_min != 8) return false;  // echo request
  auto ip = IpAddress::parse(remote);
  if (r.remote_ip_prefix) {
    auto c = Cidr::parse(*r.remote_ip_prefix);
    if (!ip || !c || !c->contains(*ip)) return false;
  }
  auto member_of = [&](const auto& cidrs) {  // (a group's ips, an address group's cidrs)
    return ip && std::any_of(cidrs.begin(), cidrs.end(), [&](const std::string& c) {
             auto parsed = Cidr::parse(c);
             return parsed && parsed->contains(*ip);
           });
  };
  if (r.remote_group_id) {
    auto m = v.sgmembers.find(*r.remote_group_id);
    if (m == v.sgmembers.end() || !member_of(m->second.ips)) return false;
  }
  if (r.remote_address_group_id) {
    auto a = v.addrgroups.find(*r.remote_address_group_id);
    if (a == v.addrgroups.end() || !member_of(a->second.addresses)) return false;
  }
  return true;
}

// The port's security groups as its host enforces them: the first rule that matches, or
// the default drop (then the trace ends there).
bool Tracer::security(const std::string& host, const PortRow& port, const std::string& direction,
                      const std::string& remote) {
  const auto& v = view_of(host);
  auto ps = v.portsec.find(port.id);
  std::map<std::string, std::string> attrs{{"direction", direction}};
  if (ps == v.portsec.end()) {
    hop(host, "secgroup", direction + ": not filtered (no portsec entry for the port on " + host + ")", {},
        devname::tap(port.id), attrs);
    return true;
  }
  if (!ps->second.port_security_enabled) {
    attrs["rule"] = "port_security_enabled=false";
    hop(host, "secgroup", direction + ": port security off, not filtered", {}, ps->second.device, attrs);
    return true;
  }
  for (const auto& g : ps->second.security_groups) {
    auto sg = v.secgroups.find(g);
    if (sg == v.secgroups.end()) continue;
    for (const auto& r : sg->second.rules)
      if (rule_matches(v, r, direction, remote)) {
        attrs["rule"] = r.id, attrs["group"] = g, attrs["verdict"] = "allow";
        hop(host, "secgroup", direction + " allowed by group " + g.substr(0, 8) + ": " + rule_text(r), {},
            ps->second.device, attrs);
        return true;
      }
  }
  attrs["rule"] = "default drop", attrs["verdict"] = "drop";
  hop(host, "secgroup", direction + ": no rule of the port's groups matches: default drop", {}, ps->second.device, attrs);
  t_.result = "dropped: " + direction + " security group default drop on " + host;
  return false;
}

bool Tracer::egress_allowed(const std::string& host, const PortRow& port, const std::string& remote) {
  return security(host, port, "egress", remote);
}
bool Tracer::ingress_allowed(const std::string& host, const PortRow& port, const std::string& remote) {
  return security(host, port, "ingress", remote);
}

// DHCP and metadata never leave the source host: the agent answers them.
bool Tracer::intercepted(const std::string& host, const PortRow& port) {
  bool dhcp = q_.protocol == "udp" && q_.dst_port == 67;
  bool metadata = q_.to == kMetadataIp && (q_.protocol == "tcp" || q_.protocol == "any") && q_.dst_port.value_or(80) == 80;
  if (!dhcp && !metadata) return false;
  const auto& v = view_of(host);
  if (dhcp) {
    auto d = v.dhcp.find(port.id);
    bool served = d != v.dhcp.end() && d->second.server_ip;
    hop(host, "dhcp",
        served ? "DHCP answered on the tap by the agent of " + host + " (server " + *d->second.server_ip + ", gives " +
                     d->second.ip + ")"
               : "DHCP is not served to this port (no DHCP-enabled subnet or no DHCP port)",
        {}, devname::tap(port.id), served ? std::map<std::string, std::string>{{"address", d->second.ip}} : std::map<std::string, std::string>{});
    t_.result = served ? "intercepted" : "dropped: DHCP not served";
    return true;
  }
  std::string router;
  for (const auto& [id, r] : v.routers)
    for (const auto& i : r.interfaces)
      if (i.network_id == port.network_id && in_cidr(src_ip_, i.cidr)) router = id;
  if (!router.empty())
    hop(host, "metadata", "169.254.169.254:80 redirected in the qrouter to the agent's metadata proxy (9697)",
        devname::qrouter_ns("", router));
  else
    hop(host, "metadata", "169.254.169.254:80 answered by the agent's metadata proxy in " +
                              devname::meta_ns("", port.network_id) + " (isolated subnet)",
        devname::meta_ns("", port.network_id));
  t_.result = "intercepted";
  return true;
}

}  // namespace nt::planner

namespace nt::planner {
namespace {

std::string joined(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

ProbeCheck check(std::string kind, std::string ns, std::string dev) {
  ProbeCheck c;
  c.kind = std::move(kind), c.ns = std::move(ns), c.dev = std::move(dev);
  return c;
}

}  // namespace

void Tracer::deliver(const PortRow& dst, const std::string& source_ip) {
  auto host = dst.bound_host();
  if (!owner::is_network_service(dst.device_owner) && !ingress_allowed(host, dst, source_ip)) return;
  hop(host, "deliver", devname::tap(dst.id) + ": port " + dst.id.substr(0, 8) + " " + q_.to +
                           (dst.device_id.empty() ? "" : " (device " + dst.device_id.substr(0, 8) + ")"),
      {}, devname::tap(dst.id), {{"port", dst.id}, {"host", host}});
  t_.result = "delivered";
}

// On `host`, a frame for dst (ip) on network_id: the local bridge, or the network's VXLAN
// device with the l2pop FDB entry and neighbour that lead to the destination's VTEP.
void Tracer::local_or_tunnel(const std::string& host, const std::string& network_id, const PortRow& dst,
                             const std::string& ip, const std::string& source_ip) {
  const auto& v = view_of(host);
  auto net = v.networks.find(network_id);
  auto bridge = net != v.networks.end() ? net->second.bridge : devname::bridge(network_id);
  auto dst_host = dst.bound_host();
  if (dst_host.empty()) {
    hop(host, "bridge", bridge + ": the port holding " + ip + " (" + dst.id.substr(0, 8) + ") is bound to no host", {},
        bridge, {{"port", dst.id}});
    t_.result = "unreachable: the destination port " + dst.id + " is not bound";
    return;
  }
  if (dst_host == host) {
    hop(host, "bridge", bridge + ": same host, to " + devname::tap(dst.id), {}, bridge, {{"network_id", network_id}});
    return deliver(dst, source_ip);
  }
  if (net == v.networks.end() || net->second.network_type != "vxlan") {
    auto type = net != v.networks.end() ? net->second.network_type : std::string("unknown");
    hop(host, "bridge", bridge + ": " + type + " segment, out of the uplink to " + dst_host, {}, bridge,
        {{"network_type", type}, {"remote_host", dst_host}});
    return deliver(dst, source_ip);
  }
  auto vni = net->second.segmentation_id.value_or(0);
  auto dev = devname::vxlan(vni);
  auto l2 = v.l2pop.find(dst.id);
  if (l2 == v.l2pop.end()) {
    hop(host, "vxlan", dev + ": no l2pop entry for " + dst.mac_address + " (port " + dst.id.substr(0, 8) + ") on " + host,
        {}, dev, {{"vni", std::to_string(vni)}});
    t_.result = "dropped: " + host + " has no l2pop entry for the destination port";
    return;
  }
  auto remote = host_of_vtep(l2->second.vtep);
  auto fdb = check("fdb", "", dev);
  fdb.mac = l2->second.mac_address, fdb.dst = l2->second.vtep;
  hop(host, "vxlan", bridge + " -> " + dev + ": VNI " + std::to_string(vni) + " to VTEP " + l2->second.vtep + " (" +
                         remote + "), fdb " + fdb.mac + " dst " + fdb.dst,
      {}, dev, {{"vni", std::to_string(vni)}, {"remote_vtep", l2->second.vtep}, {"remote_host", remote}, {"mac", fdb.mac}},
      fdb);
  auto neigh = check("neigh", "", dev);
  neigh.ip = ip, neigh.mac = l2->second.mac_address;
  hop(host, "arp", "permanent neighbour " + ip + " lladdr " + neigh.mac + " dev " + dev + " (ARP answered locally)", {},
      dev, {{"ip", ip}, {"mac", neigh.mac}}, neigh);
  hop(dst_host, "bridge", dev + " -> " + bridge + " -> " + devname::tap(dst.id), {}, bridge, {{"network_id", network_id}});
  deliver(dst, source_ip);
}

// Routed east-west in the source host's qrouter: the connected subnet of the destination.
void Tracer::routed(const std::string& host, const std::string& router_id, const view::Router&,
                    const view::RouterPort& out) {
  auto ns = devname::qrouter_ns("", router_id);
  const auto& v = view_of(host);
  if (out.ip && q_.to == *out.ip) {
    hop(host, "deliver", "router interface " + q_.to + " (" + out.device + ") answers", ns, out.device);
    t_.result = "delivered";
    return;
  }
  auto addr = check("addr", ns, out.device);
  addr.ip = out.ip.value_or("") + "/" + std::to_string(out.prefixlen.value_or(32));
  hop(host, "route", q_.to + " via connected subnet " + out.cidr.value_or("") + " dev " + out.device + " (" + addr.ip +
                         "), then " + out.tap + " on " + out.bridge,
      ns, out.device, {{"route", out.cidr.value_or("")}, {"subnet_id", out.subnet_id.value_or("")}}, addr);
  const PortRow* dst = port_with_ip(q_.to, out.network_id);
  if (!dst) {
    t_.result = "unreachable: no port has " + q_.to + " on network " + out.network_id;
    return;
  }
  auto arp = v.arp.find(router_id + "|" + dst->id);
  if (arp != v.arp.end()) {
    auto neigh = check("neigh", ns, out.device);
    neigh.ip = q_.to, neigh.mac = arp->second.mac;
    hop(host, "arp", "permanent neighbour " + q_.to + " lladdr " + neigh.mac + " dev " + out.device, ns, out.device,
        {{"ip", q_.to}, {"mac", neigh.mac}}, neigh);
  } else {
    hop(host, "arp", "no permanent neighbour for " + q_.to + " in the qrouter (the router ARPs)", ns, out.device);
  }
  local_or_tunnel(host, out.network_id, *dst, q_.to, src_ip_);
}

// The router's extra routes (longest prefix first): to a next hop on one of its subnets.
bool Tracer::extra_route(const std::string& host, const std::string& router_id, const view::Router& r) {
  const view::Route* best = nullptr;
  int best_len = -1;
  for (const auto& rt : r.routes) {
    auto c = Cidr::parse(rt.destination);
    auto to = IpAddress::parse(q_.to);
    if (c && to && c->contains(*to) && c->prefix > best_len) best = &rt, best_len = c->prefix;
  }
  if (!best) return false;
  for (const auto& out : r.interfaces) {
    if (!in_cidr(best->nexthop, out.cidr)) continue;
    auto ns = devname::qrouter_ns("", router_id);
    auto route = check("route", ns, out.device);
    route.dst = best->destination, route.via = best->nexthop, route.table = 254;
    hop(host, "route", q_.to + " by extra route " + best->destination + " via " + best->nexthop + " dev " + out.device, ns,
        out.device, {{"route", best->destination}, {"nexthop", best->nexthop}}, route);
    const PortRow* next = port_with_ip(best->nexthop, out.network_id);
    if (!next) {
      t_.result = "unreachable: no port has the next hop " + best->nexthop;
      return true;
    }
    local_or_tunnel(host, out.network_id, *next, best->nexthop, src_ip_);
    if (t_.result == "delivered") t_.hops.back().detail += " (the next hop for " + q_.to + ", which routes on)";
    return true;
  }
  return false;
}

void Tracer::external(const std::string& host, const std::string& router_id, const view::Router& r,
                      const view::RouterPort& in) {
  if (!r.external_network_id) {
    hop(host, "route", "no route to " + q_.to + ": router " + router_id.substr(0, 8) + " has no external gateway",
        devname::qrouter_ns("", router_id));
    t_.result = "unreachable: router " + router_id + " has no external gateway";
    return;
  }
  for (const auto& f : r.floating_ips)
    if (f.fixed_ip == src_ip_) return via_fip(host, router_id, r, f);
  via_snat(host, router_id, in);
}

void Tracer::via_fip(const std::string& host, const std::string& router_id, const view::Router& r,
                     const view::FloatingIp& f) {
  auto ns = devname::qrouter_ns("", router_id);
  auto ext = *r.external_network_id;
  auto rfp = devname::rfp(router_id), fpr = devname::fpr(router_id);
  auto rule = check("rule", ns, "");
  rule.ip = f.fixed_ip + "/32", rule.table = 16;
  hop(host, "route", "from " + f.fixed_ip + " rule to table 16: default via " + fpr + " dev " + rfp, ns, rfp,
      {{"table", "16"}}, rule);
  auto nat = check("nft", ns, rfp);
  nat.dst = "ip nt-router", nat.text = "ip saddr " + f.fixed_ip + " snat to " + f.floating_ip;
  hop(host, "nat", "SNAT " + f.fixed_ip + " to floating IP " + f.floating_ip + " (ip nt-router postrouting)", ns, rfp,
      {{"address", f.floating_ip}, {"floating_ip", f.floating_ip}, {"fixed_ip", f.fixed_ip}}, nat);
  const auto& v = view_of(host);
  auto fe = v.fips.find(ext);
  std::string fg = fe != v.fips.end() && fe->second.fg ? fe->second.fg->device : "";
  std::string fg_ip = fe != v.fips.end() && fe->second.fg ? fe->second.fg->ip.value_or("") : "";
  auto fns = devname::fip_ns("", ext);
  auto route = check("route", fns, fpr);
  route.dst = f.floating_ip + "/32", route.table = 254;
  hop(host, "fip", rfp + " -> " + fpr + " into " + fns + ", out of " + (fg.empty() ? "(no fg- port yet)" : fg) +
                       (fg_ip.empty() ? "" : " (" + fg_ip + ")") + ", proxy ARP for " + f.floating_ip,
      fns, fg, {{"external_network", ext}, {"fg_device", fg}, {"fg_ip", fg_ip}, {"floating_ip", f.floating_ip}}, route);
  hop(std::nullopt, "external", "on external network " + ext.substr(0, 8) + " from " + f.floating_ip + " to " + q_.to, {},
      {}, {{"source", f.floating_ip}, {"external_network", ext}});
  t_.result = "forwarded";
}

// Centralised SNAT: the subnet's sg- address on the router's active gateway host.
void Tracer::via_snat(const std::string& host, const std::string& router_id, const view::RouterPort& in) {
  auto ns = devname::qrouter_ns("", router_id);
  if (!in.sg_ip || in.sg_ip->empty()) {
    hop(host, "route", "no SNAT for " + in.cidr.value_or("") + ": the router has SNAT off and the port no floating IP", ns);
    t_.result = "dropped: router " + router_id + " does not SNAT and the port has no floating IP";
    return;
  }
  auto route = check("route", ns, in.device);
  route.dst = "0.0.0.0/0", route.via = *in.sg_ip, route.table = 0;
  hop(host, "route", "from " + in.cidr.value_or("") + " rule to the subnet's table: default via " + *in.sg_ip + " dev " +
                         in.device + " (the SNAT port)",
      ns, in.device, {{"nexthop", *in.sg_ip}}, route);
  const auto& v = view_of(host);
  std::string gw_host;
  for (const auto& [id, l] : v.l2pop)
    if (l.network_id == in.network_id && std::count(l.fixed_ips.begin(), l.fixed_ips.end(), *in.sg_ip)) {
      auto net = v.networks.find(in.network_id);
      auto vni = net != v.networks.end() ? net->second.segmentation_id.value_or(0) : 0;
      auto dev = devname::vxlan(vni);
      gw_host = host_of_vtep(l.vtep);
      auto fdb = check("fdb", "", dev);
      fdb.mac = l.mac_address, fdb.dst = l.vtep;
      hop(host, "vxlan", in.bridge + " -> " + dev + ": VNI " + std::to_string(vni) + " to gateway VTEP " + l.vtep + " (" +
                             gw_host + "), fdb " + l.mac_address + " dst " + l.vtep,
          {}, dev, {{"vni", std::to_string(vni)}, {"remote_vtep", l.vtep}, {"remote_host", gw_host}, {"mac", l.mac_address}},
          fdb);
    }
  if (gw_host.empty() && view_of(host).snat.count(router_id)) {
    gw_host = host;
    hop(host, "bridge", in.bridge + ": the router's sg- port is on this host (a gateway host)", {}, in.bridge);
  }
  if (gw_host.empty()) {
    t_.result = "dropped: " + host + " has no l2pop entry for the router's SNAT port " + *in.sg_ip;
    return;
  }
  snat_on_gateway(gw_host, router_id, in);
}

// On the gateway host: its role for the router and the snat namespace's translation.
void Tracer::snat_on_gateway(const std::string& gw_host, const std::string& router_id, const view::RouterPort& in) {
  auto b = in_.bindings.find(router_id);
  std::vector<std::string> order = b != in_.bindings.end() ? b->second.hosts : std::vector<std::string>{};
  std::string active = order.empty() ? "" : order.front();
  const auto& gv = view_of(gw_host);
  auto sn = gv.snat.find(router_id);
  std::string role = gw_host == active ? "active" : "standby";
  hop(gw_host, "gateway", "gateway host " + gw_host + ", " + role + " (gateways in order: " + joined(order) + ")", {}, {},
      {{"role", role}, {"active_host", active}, {"gateways", joined(order, ",")}});
  auto sns = devname::snat_ns("", router_id);
  if (sn == gv.snat.end() || !sn->second.qg) {
    hop(gw_host, "snat", sns + ": no snat entry with a qg- port on " + gw_host, sns);
    t_.result = "dropped: no SNAT namespace for router " + router_id + " on " + gw_host;
    return;
  }
  const auto& qg = *sn->second.qg;
  std::string sg_dev;
  for (const auto& p : sn->second.sg)
    if (p.ip == in.sg_ip) sg_dev = p.device;
  auto qg_ip = qg.ip.value_or("");
  auto addr = check("addr", sns, qg.device);
  addr.ip = qg_ip + "/" + std::to_string(qg.prefixlen.value_or(32));
  hop(gw_host, "snat", sns + ": in on " + sg_dev + " (" + *in.sg_ip + "), out of " + qg.device + " (" + qg_ip + ")", sns,
      qg.device, {{"sg_device", sg_dev}, {"qg_device", qg.device}, {"address", qg_ip}}, addr);
  auto nat = check("nft", sns, qg.device);
  nat.dst = "ip nt-snat", nat.text = "snat to " + qg_ip;
  hop(gw_host, "nat", "SNAT " + joined(sn->second.internal_cidrs) + " to " + qg_ip + " (ip nt-snat postrouting)", sns,
      qg.device, {{"address", qg_ip}}, nat);
  hop(std::nullopt, "external", "on external network " + qg.network_id.substr(0, 8) + " via " +
                                    qg.gateway_ip.value_or("?") + " from " + qg_ip + " to " + q_.to,
      {}, {}, {{"source", qg_ip}, {"external_network", qg.network_id}});
  t_.result = "forwarded";
}

// From an external address to a floating IP: the fip namespace of the port's host answers
// ARP for it, the qrouter translates it to the fixed IP.
void Tracer::inbound() {
  const FipRow* fip = nullptr;
  for (const auto& [id, f] : in_.fips)
    if (f.floating_ip_address == q_.to) fip = &f;
  if (!fip || fip->port_id.empty()) {
    hop(std::nullopt, "external", q_.to + " is no floating IP associated with a port");
    t_.result = "unreachable: " + q_.to + " is not an associated floating IP";
    return;
  }
  hop(std::nullopt, "external", "from " + *q_.from + " on the external network to floating IP " + q_.to, {}, {},
      {{"source", *q_.from}});
  auto found = in_.ports.find(fip->port_id);
  if (fip->port_id != q_.port_id || found == in_.ports.end()) {
    t_.result = "unreachable: floating IP " + q_.to + " is associated with port " + fip->port_id + ", not " + q_.port_id;
    return;
  }
  const auto& port = found->second;
  auto host = port.bound_host();
  if (host.empty()) {
    t_.result = "unbound: the floating IP's port " + port.id + " is bound to no host";
    return;
  }
  const auto& v = view_of(host);
  auto r = v.routers.find(fip->router_id);
  if (r == v.routers.end() || !r->second.external_network_id) {
    t_.result = "unreachable: " + host + " has no router entry for " + fip->router_id;
    return;
  }
  auto ext = *r->second.external_network_id;
  auto fe = v.fips.find(ext);
  std::string fg = fe != v.fips.end() && fe->second.fg ? fe->second.fg->device : "";
  auto fns = devname::fip_ns("", ext), ns = devname::qrouter_ns("", fip->router_id);
  auto rfp = devname::rfp(fip->router_id), fpr = devname::fpr(fip->router_id);
  auto route = check("route", fns, fpr);
  route.dst = q_.to + "/32", route.table = 254;
  hop(host, "fip", (fg.empty() ? std::string("(no fg- port yet)") : fg) + " answers ARP for " + q_.to + " in " + fns +
                       "; route " + q_.to + "/32 dev " + fpr,
      fns, fg, {{"external_network", ext}, {"fg_device", fg}, {"floating_ip", q_.to}}, route);
  auto fixed = fip->fixed_ip_address;
  auto nat = check("nft", ns, rfp);
  nat.dst = "ip nt-router", nat.text = "ip daddr " + q_.to + " dnat to " + fixed;
  hop(host, "nat", fpr + " -> " + rfp + " into " + ns + ": DNAT " + q_.to + " to " + fixed + " (ip nt-router prerouting)",
      ns, rfp, {{"address", fixed}, {"floating_ip", q_.to}, {"fixed_ip", fixed}}, nat);
  for (const auto& i : r->second.interfaces)
    if (in_cidr(fixed, i.cidr)) {
      auto addr = check("addr", ns, i.device);
      addr.ip = i.ip.value_or("") + "/" + std::to_string(i.prefixlen.value_or(32));
      hop(host, "route", fixed + " via connected subnet " + i.cidr.value_or("") + " dev " + i.device + ", then " + i.tap +
                             " on " + i.bridge,
          ns, i.device, {{"route", i.cidr.value_or("")}}, addr);
      hop(host, "bridge", i.bridge + ": same host, to " + devname::tap(port.id), {}, i.bridge);
      src_ip_ = *q_.from;
      return deliver(port, *q_.from);
    }
  t_.result = "unreachable: router " + fip->router_id + " has no interface for " + fixed;
}

// From the source port's tap: its security groups, its network, then the same network,
// a routed subnet of its router, or out through the router's gateway.
void Tracer::route_from(const std::string& host, const PortRow& port) {
  const auto& v = view_of(host);
  auto tap = devname::tap(port.id);
  hop(host, "port", "port " + port.id.substr(0, 8) + " " + src_ip_ + " " + port.mac_address + " on " + tap +
                        (v.ports.count(port.id) ? "" : " (no port entry on " + host + " yet)"),
      {}, tap, {{"ip", src_ip_}, {"mac", port.mac_address}, {"network_id", port.network_id}});
  if (intercepted(host, port)) return;
  if (q_.to == src_ip_) {
    t_.result = "delivered";
    return;
  }
  if (!egress_allowed(host, port, q_.to)) return;
  auto net = v.networks.find(port.network_id);
  auto bridge = net != v.networks.end() ? net->second.bridge : devname::bridge(port.network_id);
  std::map<std::string, std::string> attrs{{"network_id", port.network_id}};
  if (net != v.networks.end()) {
    attrs["network_type"] = net->second.network_type;
    if (net->second.segmentation_id) attrs["segmentation_id"] = std::to_string(*net->second.segmentation_id);
  }
  hop(host, "bridge", tap + " on " + bridge, {}, bridge, attrs);
  if (const PortRow* dst = port_with_ip(q_.to, port.network_id); dst && !owner::is_router_interface(dst->device_owner))
    return local_or_tunnel(host, port.network_id, *dst, q_.to, src_ip_);
  for (const auto& [rid, r] : v.routers)
    for (const auto& in : r.interfaces) {
      if (in.network_id != port.network_id || !in_cidr(src_ip_, in.cidr)) continue;
      if (in_cidr(q_.to, in.cidr) && q_.to != in.ip) {
        hop(host, "bridge", "no port of network " + port.network_id.substr(0, 8) + " has " + q_.to +
                                ": nothing answers ARP for it", {}, bridge);
        t_.result = "unreachable: no port has " + q_.to + " on network " + port.network_id;
        return;
      }
      auto ns = devname::qrouter_ns("", rid);
      hop(host, "qrouter", bridge + " -> " + in.tap + " -> " + in.device + " (gateway " + in.ip.value_or("") + ") in " + ns,
          ns, in.device, {{"router_id", rid}, {"gateway_ip", in.ip.value_or("")}});
      for (const auto& out : r.interfaces)
        if (in_cidr(q_.to, out.cidr)) return routed(host, rid, r, out);
      if (extra_route(host, rid, r)) return;
      return external(host, rid, r, in);
    }
  t_.result = "unreachable: no port has " + q_.to + " on network " + port.network_id + " and no router serves " + src_ip_;
}

Result<Trace> Tracer::run() {
  auto it = in_.ports.find(q_.port_id);
  if (it == in_.ports.end()) return not_found("PortNotFound", "Port " + q_.port_id + " could not be found.");
  const auto& port = it->second;
  src_ip_ = first_ipv4(port);
  t_.from = TraceFrom{port.id, "", port.mac_address, port.network_id, std::nullopt, std::nullopt, q_.from};
  if (!src_ip_.empty()) t_.from.ip = src_ip_;
  auto host = port.bound_host();
  if (!host.empty()) t_.from.host = host;
  t_.to = q_.to, t_.protocol = q_.protocol, t_.dst_port = q_.dst_port;
  if (q_.from) {
    inbound();
    return std::move(t_);
  }
  if (host.empty()) {
    bool failed = port.vif_type == "binding_failed";
    auto why = failed ? "binding failed on host " + (port.host_id.empty() ? std::string("(none)") : port.host_id) +
                            " (binding:vif_type binding_failed): no host builds this port"
                      : std::string("the port is bound to no host (binding:host_id empty)");
    hop(port.host_id.empty() ? std::nullopt : std::optional<std::string>(port.host_id), "binding", why, {}, {},
        {{"vif_type", port.vif_type}, {"host_id", port.host_id}});
    t_.result = "unbound: " + why;
    return std::move(t_);
  }
  route_from(host, port);
  return std::move(t_);
}

Result<Trace> trace(const Planner& planner, const TraceQuery& query) {
  auto to = IpAddress::parse(query.to);
  if (!to || to->version != 4) return bad_request("'" + query.to + "' is not an IPv4 address.");
  if (query.from) {
    auto from = IpAddress::parse(*query.from);
    if (!from || from->version != 4) return bad_request("'" + *query.from + "' is not an IPv4 address.");
  }
  Tracer t(planner, query);
  return t.run();
}

}  // namespace nt::planner
