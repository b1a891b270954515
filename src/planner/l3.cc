// The planner's L3 kinds (ARCHITECTURE §6, DVR). Per router R:
//  - "router": on every host with an instance port on one of R's networks: its interfaces
//    (qr- ports, the same IP and MAC on every host), permanent ARP for every port of its
//    subnets, extra routes, the sg- address each subnet's non-local traffic goes to, and
//    the floating IPs of the host's own ports;
//  - "snat": on R's gateway hosts (scheduling order; the first is active): sg- ports, the
//    qg- port, the external gateway, the internal CIDRs;
//  - "fip" (keyed by external network): on hosts with floating IPs, the host's fg- port
//    and the floating IPs per router.
// A router's sg- and qg- ports are bound, for L2, to its active gateway host.
#include <algorithm>
#include "common/net.h"

#include "planner/planner.h"
#include "planner/port_facts.h"
#include "channel/entries.h"

namespace nt {
namespace json = boost::json;

using planner_detail::is_interface;
using planner_detail::str;

namespace {

bool is_snat(const std::string& o) { return o == owner::kCentralizedSnat; }
bool is_gateway(const std::string& o) { return o == owner::kGateway; }
bool is_fg(const std::string& o) { return o == owner::kFloatingIpAgentGateway; }
bool is_instance(const std::string& o) { return !owner::is_network_service(o); }
bool bound(const json::object& port) {
  auto vif = str(port, "binding:vif_type");
  return !str(port, "binding:host_id").empty() && vif != "binding_failed" && vif != "unbound";
}
std::vector<std::pair<std::string, std::string>> addresses(const json::object& port) {  // (subnet, ip)
  std::vector<std::pair<std::string, std::string>> out;
  if (auto* f = port.if_contains("fixed_ips"); f && f->is_array())
    for (const auto& ip : f->as_array())
      if (ip.is_object()) out.emplace_back(str(ip.as_object(), "subnet_id"), str(ip.as_object(), "ip_address"));
  return out;
}
int prefix_of(const std::string& cidr) {
  auto parsed = Cidr::parse(cidr, false);
  return parsed ? parsed->prefix : 32;
}
void bump(std::map<std::string, std::map<std::string, int>>& index, const std::string& key, const std::string& sub, int delta) {
  auto& inner = index[key];
  if ((inner[sub] += delta) <= 0) inner.erase(sub);
  if (inner.empty()) index.erase(key);
}

}  // namespace

std::optional<json::object> Planner::effective(const std::optional<json::object>& port) const {
  if (!port) return port;
  auto owner = str(*port, "device_owner");
  if (!is_snat(owner) && !is_gateway(owner)) return port;
  json::object p = *port;
  auto g = gateways_.find(str(p, "device_id"));
  bool active = g != gateways_.end() && !g->second.empty();
  p["binding:host_id"] = active ? g->second.front() : "";
  p["binding:vif_type"] = active ? "bridge" : "unbound";
  return p;
}

std::string Planner::external_network(const std::string& router) const {
  auto r = routers_.find(router);
  if (r == routers_.end()) return "";
  const auto* info = r->second.if_contains("external_gateway_info");
  return info && info->is_object() ? str(info->as_object(), "network_id") : "";
}

std::set<std::string> Planner::routers_with_external(const std::string& network) const {
  std::set<std::string> out;
  for (const auto& [id, r] : routers_)
    if (external_network(id) == network) out.insert(id);
  return out;
}

std::set<std::string> Planner::routers_of_port(const json::object& port) const {
  std::set<std::string> out;
  auto owner = str(port, "device_owner");
  if (is_interface(owner) || is_snat(owner) || is_gateway(owner)) out.insert(str(port, "device_id"));
  for (const auto& [subnet, ip] : addresses(port))
    if (auto it = subnet_routers_.find(subnet); it != subnet_routers_.end())
      for (const auto& [r, n] : it->second) out.insert(r);
  if (auto it = network_routers_.find(str(port, "network_id")); it != network_routers_.end())
    for (const auto& [r, n] : it->second) out.insert(r);
  if (auto it = port_fips_.find(str(port, "id")); it != port_fips_.end())
    for (const auto& fip : it->second) out.insert(str(fips_.at(fip), "router_id"));
  if (is_fg(owner)) out.merge(routers_with_external(str(port, "network_id")));
  out.erase("");
  return out;
}

void Planner::index_l3_port(const std::string& id, const json::object& port, bool add) {
  auto owner = str(port, "device_owner"), net = str(port, "network_id"), router = str(port, "device_id");
  int delta = add ? 1 : -1;
  for (const auto& [subnet, ip] : addresses(port)) {
    if (add) subnet_ports_[subnet].insert(id);
    else if (auto it = subnet_ports_.find(subnet); it != subnet_ports_.end() && (it->second.erase(id), it->second.empty()))
      subnet_ports_.erase(it);
    if (is_interface(owner) || is_snat(owner) || is_gateway(owner)) bump(subnet_routers_, subnet, router, delta);
  }
  if (is_interface(owner) || is_snat(owner) || is_gateway(owner)) {
    bump(network_routers_, net, router, delta);  // the network's MTU is in their entries
    if (add) router_ports_[router].insert(id);
    else if (auto it = router_ports_.find(router); it != router_ports_.end() && (it->second.erase(id), it->second.empty()))
      router_ports_.erase(it);
  }
  auto host = str(port, "binding:host_id");
  if (is_fg(owner)) {
    if (add) fg_ports_[{host, net}] = id;
    else if (auto it = fg_ports_.find({host, net}); it != fg_ports_.end() && it->second == id) fg_ports_.erase(it);
  }
  if (is_instance(owner) && bound(port)) bump(compute_hosts_, net, host, delta);
}

void Planner::index_fip(const std::string& id, const json::object& fip, bool add) {
  auto port = str(fip, "port_id"), router = str(fip, "router_id");
  for (auto* index : {&port_fips_, &router_fips_}) {
    const auto& key = index == &port_fips_ ? port : router;
    if (key.empty()) continue;
    if (add) (*index)[key].insert(id);
    else if (auto it = index->find(key); it != index->end() && (it->second.erase(id), it->second.empty())) index->erase(it);
  }
}

std::set<std::string> Planner::l3_hosts(const std::string& router) const {
  auto hosts = dvr_hosts(router);
  if (!external_network(router).empty())
    if (auto g = gateways_.find(router); g != gateways_.end()) hosts.insert(g->second.begin(), g->second.end());
  return hosts;
}

std::set<std::string> Planner::dvr_hosts(const std::string& router) const {
  std::set<std::string> hosts;
  if (!routers_.count(router)) return hosts;
  if (auto ports = router_ports_.find(router); ports != router_ports_.end())
    for (const auto& pid : ports->second) {
      const auto& p = all_ports_.at(pid);
      if (!is_interface(str(p, "device_owner"))) continue;
      if (auto c = compute_hosts_.find(str(p, "network_id")); c != compute_hosts_.end())
        for (const auto& [h, n] : c->second) hosts.insert(h);
    }
  return hosts;
}

namespace {
void merge_keys(std::map<std::string, std::set<ViewKey>>& into, std::map<std::string, std::set<ViewKey>>&& from) {
  for (auto& [h, ks] : from) into[h].merge(ks);
}
}  // namespace

void Planner::unbind_dvr_port(const std::string& port, Keys& keys) {
  auto it = dvr_bound_.find(port);
  if (it == dvr_bound_.end()) return;
  for (const auto& h : it->second) merge_keys(keys, port_change(port + "@" + h, std::nullopt));
  dvr_bound_.erase(it);
}

// Each interface of the router is bound, for L2, on every DVR host of the router (as
// "<port>@<host>"): those hosts get the network, its bridge plugs the qr- tap, and they
// are in its flood lists.
void Planner::sync_dvr_ports(const std::string& router, Keys& keys) {
  auto hosts = dvr_hosts(router);
  auto ports = router_ports_.find(router);
  if (ports == router_ports_.end()) return;
  for (const auto& pid : ports->second) {
    const auto& p = all_ports_.at(pid);
    if (!is_interface(str(p, "device_owner"))) continue;
    auto& have = dvr_bound_[pid];
    for (const auto& h : std::set<std::string>(have))
      if (!hosts.count(h)) merge_keys(keys, port_change(pid + "@" + h, std::nullopt)), have.erase(h);
    for (const auto& h : hosts) {
      if (have.count(h)) continue;  // a changed port was unbound everywhere first (port_with_l3)
      json::object bound = p;
      bound["binding:host_id"] = h;
      bound["binding:vif_type"] = "bridge";
      merge_keys(keys, port_change(pid + "@" + h, bound));
      have.insert(h);
    }
    if (have.empty()) dvr_bound_.erase(pid);
  }
}

// Ports with an address in one of the router's interface subnets.
std::set<std::string> Planner::router_subnet_ports(const std::string& router) const {
  std::set<std::string> out;
  if (auto ports = router_ports_.find(router); ports != router_ports_.end())
    for (const auto& pid : ports->second) {
      const auto& p = all_ports_.at(pid);
      if (!is_interface(str(p, "device_owner"))) continue;
      for (const auto& [subnet, ip] : addresses(p))
        if (auto members = subnet_ports_.find(subnet); members != subnet_ports_.end()) out.insert(members->second.begin(), members->second.end());
    }
  return out;
}

// Every ARP entry of the router on a host: those it should have and those it has.
void Planner::add_arp_keys(Keys& keys, const std::string& host, const std::string& router) const {
  auto& mine = keys[host];
  for (const auto& pid : router_subnet_ports(router)) mine.insert({"arp", view::ArpId{router, pid}.str()});
  if (auto view = views_.find(host); view != views_.end())
    for (auto it = view->second.lower_bound({"arp", router + "|"}); it != view->second.end() && it->first.first == "arp" &&
                                                                      it->first.second.rfind(router + "|", 0) == 0;
         ++it)
      mine.insert(it->first);
}

void Planner::add_router_keys(Keys& keys, const std::set<std::string>& routers, const std::set<std::string>& reshaped) {
  for (const auto& r : routers) sync_dvr_ports(r, keys);
  for (const auto& r : routers) {
    auto now = l3_hosts(r);
    auto ext = external_network(r);
    auto& given = l3_hosts_[r];
    auto& old_ext = l3_external_[r];
    std::set<std::string> all = given;
    all.insert(now.begin(), now.end());
    // ARP entries come and go whole on hosts joining or leaving its DVR hosts (a gateway
    // host may be one too), or with a router reshaped.
    auto dvr = dvr_hosts(r);
    auto& dvr_given = dvr_given_[r];
    for (const auto& h : all)
      if (reshaped.count(r) || dvr_given.count(h) != dvr.count(h)) add_arp_keys(keys, h, r);
    for (const auto& h : dvr_given)
      if (!all.count(h)) add_arp_keys(keys, h, r);
    dvr_given = std::move(dvr);
    if (dvr_given.empty()) dvr_given_.erase(r);
    for (const auto& h : all) {
      auto& mine = keys[h];
      mine.insert({"router", r});
      mine.insert({"snat", r});
      if (!ext.empty()) mine.insert({"fip", ext});
      if (!old_ext.empty() && old_ext != ext) mine.insert({"fip", old_ext});
    }
    given = std::move(now);
    old_ext = ext;
    if (given.empty()) l3_hosts_.erase(r);
    if (ext.empty()) l3_external_.erase(r);
  }
}

// Routers whose interface subnets hold an address of the port (its ARP entries).
std::set<std::string> Planner::arp_routers(const json::object& port) const {
  std::set<std::string> out;
  for (const auto& [subnet, ip] : addresses(port))
    if (auto it = subnet_routers_.find(subnet); it != subnet_routers_.end())
      for (const auto& [r, n] : it->second) out.insert(r);
  return out;
}

Planner::Keys Planner::port_with_l3(const std::string& id, const std::optional<json::object>& obj) {
  std::set<std::string> routers, arp, reshaped;
  Keys keys;
  auto note = [&](const json::object& p) {
    routers.merge(routers_of_port(p));
    arp.merge(arp_routers(p));
    if (is_interface(str(p, "device_owner"))) reshaped.insert(str(p, "device_id"));
  };
  if (auto old = all_ports_.find(id); old != all_ports_.end()) {
    unbind_dvr_port(id, keys);  // bound again by add_router_keys if it stays an interface
    note(old->second);
    index_l3_port(id, old->second, false);
    all_ports_.erase(old);
  }
  if (obj) {
    auto& stored = all_ports_[id] = *obj;
    stored["id"] = id;
    index_l3_port(id, stored, true);
    note(stored);
  }
  merge_keys(keys, port_change(id, effective(obj)));
  std::map<std::string, std::set<std::string>> before;
  for (const auto& r : arp)
    if (auto it = l3_hosts_.find(r); it != l3_hosts_.end()) before[r] = it->second;
  add_router_keys(keys, routers, reshaped);
  for (const auto& r : arp) {
    auto hosts = before[r];
    if (auto it = l3_hosts_.find(r); it != l3_hosts_.end()) hosts.insert(it->second.begin(), it->second.end());
    for (const auto& h : hosts) keys[h].insert({"arp", view::ArpId{r, id}.str()});
  }
  return keys;
}

Planner::Keys Planner::l3_change(const std::string& kind, const std::string& id, const std::optional<json::object>& obj) {
  Keys keys;
  std::set<std::string> routers;
  if (kind == "routers") {
    if (obj) routers_[id] = *obj;
    else routers_.erase(id);
    routers.insert(id);
  } else if (kind == "l3_bindings") {
    gateways_.erase(id);
    if (obj)
      if (auto* hosts = obj->if_contains("hosts"); hosts && hosts->is_array())
        for (const auto& h : hosts->as_array())
          if (h.is_string()) gateways_[id].push_back(std::string(h.get_string()));
    // The router's sg- and qg- ports follow its active gateway host.
    if (auto ports = router_ports_.find(id); ports != router_ports_.end())
      for (const auto& pid : std::set<std::string>(ports->second))
        for (auto& [h, ks] : port_change(pid, effective(all_ports_.at(pid)))) keys[h].insert(ks.begin(), ks.end());
    routers.insert(id);
  } else if (kind == "subnets") {
    auto net = obj ? str(*obj, "network_id") : subnets_.count(id) ? str(subnets_.at(id), "network_id") : "";
    if (obj) subnets_[id] = *obj;
    else subnets_.erase(id);
    if (auto it = subnet_routers_.find(id); it != subnet_routers_.end())
      for (const auto& [r, n] : it->second) routers.insert(r);
    routers.merge(routers_with_external(net));
  } else if (kind == "floatingips") {
    if (auto old = fips_.find(id); old != fips_.end()) {
      routers.insert(str(old->second, "router_id"));
      index_fip(id, old->second, false);
      fips_.erase(old);
    }
    if (obj) {
      fips_[id] = *obj;
      index_fip(id, *obj, true);
      routers.insert(str(*obj, "router_id"));
    }
    routers.erase("");
  }
  add_router_keys(keys, routers, kind == "routers" || kind == "subnets" ? routers : std::set<std::string>{});
  return keys;
}

view::RouterPort Planner::router_port(const std::string& id, const char* prefix) const {
  const auto& p = all_ports_.at(id);
  auto net_id = str(p, "network_id");
  auto net = networks_.find(net_id);
  view::RouterPort out{id, devname::router_port(prefix, id), devname::tap(id), str(p, "mac_address"), net_id,
                       devname::bridge(net_id), net == networks_.end() ? 1500 : jget::num(net->second, "mtu", 1500)};
  auto ips = addresses(p);
  if (!ips.empty()) {
    auto subnet = subnets_.find(ips[0].first);
    auto cidr = subnet == subnets_.end() ? std::string() : str(subnet->second, "cidr");
    out.subnet_id = ips[0].first;
    out.ip = ips[0].second;
    out.cidr = cidr;
    out.prefixlen = prefix_of(cidr);
    if (subnet != subnets_.end()) out.gateway_ip = jget::opt_str(subnet->second, "gateway_ip");
  }
  return out;
}

}  // namespace nt
