// The recompute oracle: after every step of random operation sequences, the incremental
// host views equal a full recompute, and revisions move only with content.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <utility>

#include "planner/planner.h"

// SharedText's blocks are this binary's only allocations with an alignment (shared_text.h
// asks operator new for one): counted here, to see that every block a boot makes is freed
// with its planner, also those no view holds.
namespace {
std::atomic<long> aligned_live{0};
void* aligned_new(std::size_t size, std::align_val_t align) {
  auto a = static_cast<std::size_t>(align);
  void* p = std::aligned_alloc(a, (std::max<std::size_t>(size, 1) + a - 1) / a * a);
  if (!p) throw std::bad_alloc();
  aligned_live.fetch_add(1, std::memory_order_relaxed);
  return p;
}
void aligned_delete(void* p) noexcept {
  if (!p) return;
  aligned_live.fetch_sub(1, std::memory_order_relaxed);
  std::free(p);
}
}  // namespace
void* operator new(std::size_t size, std::align_val_t align) { return aligned_new(size, align); }
void* operator new[](std::size_t size, std::align_val_t align) { return aligned_new(size, align); }
void operator delete(void* p, std::align_val_t) noexcept { aligned_delete(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { aligned_delete(p); }
void operator delete[](void* p, std::align_val_t) noexcept { aligned_delete(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { aligned_delete(p); }

namespace nt {
namespace json = boost::json;

namespace {

// A view as text, one entry per line: readable when an assertion fails.
std::string text(const WireView& view) {
  std::string out;
  for (const auto& [key, obj] : view) out += key.first + " " + key.second + " " + json::serialize(obj) + "\n";
  return out;
}

class World {
 public:
  explicit World(unsigned seed) : rng_(seed) {}

  void step(Planner& p) {
    switch (pick(19)) {
      case 0: return put_network(p);
      case 1: return delete_network(p);
      case 2:
      case 3: return put_port(p, "p" + std::to_string(pick(60)));
      case 4: return move_port(p);
      case 5: return delete_port(p);
      case 6: return put_host(p);
      case 7: return delete_host(p);
      case 8: return put_subnet(p);
      case 9: return put_router(p);
      case 10: return put_router_port(p);
      case 11: return put_fip(p);
      case 12: return put_binding(p);
      case 13: return put_group(p);
      case 14:
      case 15: return put_rule(p);
      case 16: return edit_port_security(p);
      case 17: return put_address_group(p);
      default: return delete_l3(p);
    }
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::string host() { return "host" + std::to_string(pick(25)); }
  std::string network() { return "net" + std::to_string(pick(8)) + "-0000-0000"; }

  void put_network(Planner& p) {
    auto id = network();
    networks_[id] = json::object{{"provider:network_type", pick(4) ? "vxlan" : "flat"},
                                 {"provider:physical_network", nullptr},
                                 {"provider:segmentation_id", pick(1000)}, {"mtu", pick(2) ? 1450 : 1500}};
    p.apply("networks", id, networks_[id]);
  }
  void delete_network(Planner& p) {
    auto id = network();
    networks_.erase(id);
    p.apply("networks", id, std::nullopt);
  }
  // L3: subnets, routers (gateway on network 0 or none), their interface, sg- and gateway
  // ports, fg- ports, floating IPs, gateway scheduling; and deleting any of them.
  std::string router() { return "router" + std::to_string(pick(4)) + "-0000"; }
  void put_subnet(Planner& p) {
    auto n = pick(8);
    bool second = pick(4) == 0;  // a second subnet on the network (DHCP: on-link routes)
    auto id = "sub" + std::to_string(n) + (second ? "x" : "");
    auto base = "10." + std::to_string(n) + (second ? ".1" : ".0");
    json::array routes, dns;
    if (pick(2)) routes.push_back(json::object{{"destination", "198.51.100.0/24"}, {"nexthop", base + ".9"}});
    if (pick(2)) dns.push_back(json::value("192.0.2." + std::to_string(pick(3) + 1)));
    subnets_[id] = json::object{{"network_id", "net" + std::to_string(n) + "-0000-0000"},
                                {"cidr", base + ".0/24"}, {"ip_version", 4}, {"enable_dhcp", pick(4) != 0},
                                {"host_routes", routes}, {"dns_nameservers", dns},
                                {"gateway_ip", pick(5) ? json::value(base + ".1") : json::value(nullptr)}};
    p.apply("subnets", id, subnets_[id]);
  }
  void put_router(Planner& p) {
    auto id = router();
    json::value gw = nullptr;
    if (pick(3)) gw = json::object{{"network_id", "net0-0000-0000"}, {"enable_snat", pick(4) != 0}};
    routers_[id] = json::object{{"external_gateway_info", gw},
                                {"routes", json::array{json::object{{"destination", "192.0.2.0/24"}, {"nexthop", "10.1.0.9"}}}}};
    p.apply("routers", id, routers_[id]);
  }
  void put_router_port(Planner& p) {
    static const char* owners[] = {"network:router_interface_distributed", "network:router_centralized_snat",
                                   "network:router_gateway", "network:floatingip_agent_gateway", "network:dhcp"};
    auto kind = pick(5);
    auto id = "rp" + std::to_string(pick(30));
    auto n = kind == 2 || kind == 3 ? 0 : pick(8);
    json::object port{{"network_id", "net" + std::to_string(n) + "-0000-0000"},
                      {"mac_address", "fa:16:3e:00:01:" + std::to_string(10 + pick(89))},
                      {"fixed_ips", json::array{json::object{{"subnet_id", "sub" + std::to_string(n)},
                                                             {"ip_address", "10." + std::to_string(n) + ".0." + std::to_string(pick(3) ? 2 + pick(200) : 1)}}}},
                      {"admin_state_up", true}, {"device_owner", owners[kind]}, {"device_id", router()},
                      {"binding:host_id", kind == 3 ? host() : ""}, {"binding:vif_type", kind == 3 ? "bridge" : "unbound"}};
    if (pick(6) == 0) port["security_groups"] = groups();
    l3_ports_[id] = port;
    p.apply("ports", id, port);
  }
  void put_fip(Planner& p) {
    auto id = "fip" + std::to_string(pick(10));
    bool associated = pick(4) != 0;
    fips_[id] = json::object{{"floating_network_id", "net0-0000-0000"}, {"floating_ip_address", "10.0.0." + std::to_string(100 + pick(50))},
                             {"port_id", associated ? json::value("p" + std::to_string(pick(60))) : json::value(nullptr)},
                             {"fixed_ip_address", associated ? json::value("10.0.0." + std::to_string(pick(250))) : json::value(nullptr)},
                             {"router_id", associated ? json::value(router()) : json::value(nullptr)}};
    p.apply("floatingips", id, fips_[id]);
  }
  void put_binding(Planner& p) {
    auto id = router();
    json::array hosts;
    for (int i = pick(3); i > 0; --i) hosts.push_back(json::value(host()));
    bindings_[id] = json::object{{"hosts", hosts}};
    p.apply("l3_bindings", id, bindings_[id]);
  }
  void delete_l3(Planner& p) {
    switch (pick(5)) {
      case 0: { auto id = "sub" + std::to_string(pick(8)) + (pick(4) ? "" : "x"); subnets_.erase(id); return p.apply("subnets", id, std::nullopt); }
      case 1: { auto id = router(); routers_.erase(id); return p.apply("routers", id, std::nullopt); }
      case 2: { auto id = "rp" + std::to_string(pick(30)); l3_ports_.erase(id); return p.apply("ports", id, std::nullopt); }
      case 3: { auto id = "fip" + std::to_string(pick(10)); fips_.erase(id); return p.apply("floatingips", id, std::nullopt); }
      default: { auto id = router(); bindings_.erase(id); return p.apply("l3_bindings", id, std::nullopt); }
    }
  }

  // Security groups: four groups, rules naming others (or themselves) as remote groups or
  // one of three address groups, ports joining them, port security toggled, allowed
  // address pairs; address groups edited or deleted (even while named: the entry goes).
  std::string group() { return "sg" + std::to_string(pick(4)); }
  json::array groups() {
    json::array out;
    for (int i = pick(3); i > 0; --i) out.push_back(json::value(group()));
    return out;
  }
  void put_group(Planner& p) {
    auto id = group();
    if (pick(5) == 0) {
      groups_.erase(id);
      return p.apply("security_groups", id, std::nullopt);
    }
    groups_[id] = json::object{{"name", id}, {"stateful", pick(4) != 0}};
    p.apply("security_groups", id, groups_[id]);
  }
  void put_rule(Planner& p) {
    auto id = "rule" + std::to_string(pick(16));
    if (pick(4) == 0) {
      rules_.erase(id);
      return p.apply("security_group_rules", id, std::nullopt);
    }
    bool tcp = pick(2);
    auto remote = pick(4);
    rules_[id] = json::object{{"security_group_id", group()}, {"direction", pick(2) ? "ingress" : "egress"},
                              {"ethertype", pick(4) ? "IPv4" : "IPv6"},
                              {"protocol", tcp ? json::value("tcp") : (pick(2) ? json::value("icmp") : json::value(nullptr))},
                              {"port_range_min", tcp ? json::value(22) : json::value(nullptr)},
                              {"port_range_max", tcp ? json::value(22 + pick(2)) : json::value(nullptr)},
                              {"remote_ip_prefix", remote == 1 ? json::value("0.0.0.0/0") : json::value(nullptr)},
                              {"remote_group_id", remote == 0 ? json::value(group()) : json::value(nullptr)},
                              {"remote_address_group_id", remote == 3 ? json::value(address_group()) : json::value(nullptr)}};
    p.apply("security_group_rules", id, rules_[id]);
  }
  std::string address_group() { return "ag" + std::to_string(pick(3)); }
  void put_address_group(Planner& p) {
    auto id = address_group();
    if (pick(5) == 0) {
      address_groups_.erase(id);
      return p.apply("address_groups", id, std::nullopt);
    }
    static const char* const kCidrs[] = {"198.51.100.7/32", "10.9.0.0/16", "2001:db8::/64", "203.0.113.0/24"};
    json::array addresses;
    for (int i = pick(4); i > 0; --i) addresses.push_back(json::value(kCidrs[pick(4)]));
    address_groups_[id] = json::object{{"name", id}, {"addresses", addresses}};
    p.apply("address_groups", id, address_groups_[id]);
  }
  json::array pairs(int n) {
    json::array out;
    if (pick(4) == 0) {
      json::object pair{{"ip_address", "10." + std::to_string(n) + ".0." + std::to_string(pick(250)) + (pick(3) ? "" : "/30")}};
      if (pick(2)) pair["mac_address"] = "fa:16:3e:00:02:" + std::to_string(10 + pick(89));
      out.push_back(pair);
    }
    return out;
  }
  void edit_port_security(Planner& p) {
    if (ports_.empty()) return;
    auto it = std::next(ports_.begin(), pick(static_cast<int>(ports_.size())));
    auto& port = it->second;
    switch (pick(4)) {
      case 0: port["port_security_enabled"] = !jget_flag(port, "port_security_enabled"); break;
      case 1: port["security_groups"] = groups(); break;
      case 2: port["allowed_address_pairs"] = pairs(pick(8)); break;
      default:  // a second fixed IP (v6)
        port["fixed_ips"].as_array().push_back(json::object{{"subnet_id", "sub6"}, {"ip_address", "fd00::" + std::to_string(pick(50))}});
    }
    p.apply("ports", it->first, port);
  }
  static bool jget_flag(const json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    return !v || !v->is_bool() || v->get_bool();
  }

  void put_port(Planner& p, const std::string& id) {
    auto n = pick(8);
    json::object port{{"network_id", "net" + std::to_string(n) + "-0000-0000"},
                      {"mac_address", "fa:16:3e:00:00:" + std::to_string(10 + pick(89))},
                      {"device_owner", pick(6) ? "compute:nova" : ""},
                      {"fixed_ips", json::array{json::object{{"subnet_id", "sub" + std::to_string(n)},
                                                             {"ip_address", "10." + std::to_string(n) + ".0." + std::to_string(pick(250))}}}},
                      {"admin_state_up", pick(5) != 0},
                      {"binding:host_id", pick(6) ? host() : ""},
                      {"project_id", "proj" + std::to_string(pick(3))}, {"device_id", "vm" + std::to_string(pick(40))},
                      {"dns_name", pick(3) ? "" : "vm" + std::to_string(pick(9))}};
    if (pick(4) == 0)
      port["extra_dhcp_opts"] = json::array{json::object{{"opt_name", "tftp-server"}, {"opt_value", "192.0.2.7"}, {"ip_version", 4}}};
    if (pick(4)) port["security_groups"] = groups();
    if (pick(5) == 0) port["port_security_enabled"] = false;
    port["allowed_address_pairs"] = pairs(n);
    ports_[id] = port;
    p.apply("ports", id, port);
  }
  void move_port(Planner& p) {
    if (ports_.empty()) return;
    auto it = std::next(ports_.begin(), pick(static_cast<int>(ports_.size())));
    it->second["binding:host_id"] = host();
    p.apply("ports", it->first, it->second);
  }
  void delete_port(Planner& p) {
    auto id = "p" + std::to_string(pick(60));
    ports_.erase(id);
    p.apply("ports", id, std::nullopt);
  }
  void put_host(Planner& p) {
    auto id = host();
    hosts_[id] = json::object{{"local_ip", "192.0.2." + std::to_string(1 + pick(40))}};
    p.apply("hosts", id, hosts_[id]);
  }
  void delete_host(Planner& p) {
    if (pick(3) != 0) return;
    auto id = host();
    hosts_.erase(id);
    p.apply("hosts", id, std::nullopt);
  }

 public:
  // A planner started from the final inputs in bulk (the server's boot).
  std::unique_ptr<Planner> bulk_loaded(int64_t revision) const {
    auto planner = std::make_unique<Planner>();
    auto& q = *planner;
    for (const auto& [id, h] : hosts_) q.load("hosts", id, h);
    for (const auto& [id, n] : networks_) q.load("networks", id, n);
    for (const auto& [id, sn] : subnets_) q.load("subnets", id, sn);
    for (const auto& [id, r] : routers_) q.load("routers", id, r);
    for (const auto& [id, f] : fips_) q.load("floatingips", id, f);
    for (const auto& [id, b] : bindings_) q.load("l3_bindings", id, b);
    for (const auto& [id, g] : groups_) q.load("security_groups", id, g);
    for (const auto& [id, r] : rules_) q.load("security_group_rules", id, r);
    for (const auto& [id, a] : address_groups_) q.load("address_groups", id, a);
    for (const auto& [id, port] : ports_) q.load("ports", id, port);
    for (const auto& [id, port] : l3_ports_) q.load("ports", id, port);
    q.rebuild(revision);
    return planner;
  }

 private:
  std::map<std::string, json::object> networks_, hosts_, subnets_, routers_, fips_, bindings_, l3_ports_;
  std::map<std::string, json::object> groups_, rules_, address_groups_;

  std::mt19937 rng_;
  std::map<std::string, json::object> ports_;
};

}  // namespace

TEST(PlannerOracle, IncrementalEqualsRecomputeAfterEveryStep) {
  for (unsigned seed : {1u, 2u, 3u}) {
    Planner planner;
    World world(seed);
    std::map<std::string, WireView> before;
    std::map<std::string, int64_t> revs;
    std::map<std::string, WireView> replayed;  // what an agent applying only the deltas holds
    bool addrgroups = false;                     // the worlds reached address group entries
    for (int step = 0; step < 1500; ++step) {
      world.step(planner);
      for (const auto& d : planner.last_deltas()) {
        addrgroups = addrgroups || (d.kind == "addrgroup" && d.obj);
        if (d.obj) replayed[d.host][{d.kind, std::string(d.id.str())}] = d.obj.object();
        else replayed[d.host].erase({d.kind, std::string(d.id.str())});
      }
      auto full = planner.recompute();
      ASSERT_EQ(planner.hosts_with_views(), [&] {
        std::set<std::string> s;
        for (auto& [h, v] : full) s.insert(h);
        return s;
      }()) << "seed " << seed << " step " << step;
      for (const auto& [host, view] : full) ASSERT_EQ(text(planner.view(host)), text(view)) << host << " step " << step;
      for (const auto& [host, view] : replayed) ASSERT_EQ(view, planner.view(host)) << "deltas of " << host;
      // A revision moves exactly when the host's view changed.
      for (int i = 0; i < 25; ++i) {
        auto h = "host" + std::to_string(i);
        bool changed = before[h] != planner.view(h);
        EXPECT_EQ(planner.host_revision(h) != revs[h], changed) << h << " step " << step;
        before[h] = planner.view(h);
        revs[h] = planner.host_revision(h);
      }
    }
    // The oracle covered every node: each handled changes, built entries incrementally and
    // computed hosts from scratch.
    for (const auto& [node, s] : planner.stats()) {
      EXPECT_GT(s.changes, 0u) << node;
      EXPECT_GT(s.keys, 0u) << node;
      EXPECT_GT(s.entries, 0u) << node;
      EXPECT_GT(s.recomputes, 0u) << node;
    }
    EXPECT_EQ(planner.stats().size(), 6u);
    EXPECT_TRUE(addrgroups) << "seed " << seed;
  }
}

// The boot counts the references of the entries many views share in bulk (reserved, then
// adopted, then settled): after it, the count of each shared id and entry is exactly the
// number of view items holding it (none leaked, none missing, which would free an entry
// views still hold). L2's and DVR's shared kinds; the other kinds may be held elsewhere too.
void expect_counts_are_handles(const Planner& planner) {
  std::map<const void*, std::pair<uint32_t, uint32_t>> held;  // block -> (handles seen, its count)
  auto see = [&](const SharedText& text) {
    auto& [seen, count] = held[text.block()];
    ++seen, count = text.use_count();
  };
  size_t shared = 0;
  for (const auto& host : planner.hosts_with_views())
    for (auto it = planner.shared_view(host).begin(); it != planner.shared_view(host).end(); ++it) {
      auto kind = it.item().kind();
      using view::Kind;
      if (kind != Kind::network && kind != Kind::flood && kind != Kind::l2pop && kind != Kind::arp) continue;
      see(it.item().id), see(it.item().entry);
      ++shared;
    }
  EXPECT_GT(shared, 100u);
  size_t many = 0;
  for (const auto& [block, seen_count] : held) {
    EXPECT_EQ(seen_count.first, seen_count.second);
    many += seen_count.first > 1;
  }
  EXPECT_GT(many, 10u);  // entries that several views share
}

TEST(PlannerOracle, BulkLoadEqualsIncremental) {
  for (unsigned seed : {4u, 5u}) {
    Planner planner;
    World world(seed);
    for (int step = 0; step < 1000; ++step) world.step(planner);
    auto bulk = world.bulk_loaded(777);
    EXPECT_EQ(bulk->hosts_with_views(), planner.hosts_with_views());
    for (const auto& host : planner.hosts_with_views()) {
      EXPECT_EQ(bulk->view(host), planner.view(host)) << host;
      EXPECT_EQ(bulk->host_revision(host), 777) << host;
    }
    // Rebuilt once more from the same inputs: the same views (no node keeps the first
    // rebuild's bindings as a reason to skip them).
    bulk->rebuild(778);
    EXPECT_EQ(bulk->hosts_with_views(), planner.hosts_with_views());
    for (const auto& host : planner.hosts_with_views()) EXPECT_EQ(bulk->view(host), planner.view(host)) << host;
    expect_counts_are_handles(*bulk);
  }
}

// Every block a boot makes is freed with its planner: also the shared entries no view
// took (a flood entry of a host alone on its network, the l2pop entries of a network whose
// ports are all on one host), which the count check above cannot see.
TEST(PlannerOracle, ABootLeavesNoEntryBehind) {
  long before = aligned_live.load();
  for (unsigned seed : {4u, 5u, 6u}) {
    Planner planner;
    World world(seed);
    for (int step = 0; step < 1000; ++step) world.step(planner);
    auto bulk = world.bulk_loaded(777);
    bulk->rebuild(778);
    EXPECT_GT(aligned_live.load(), before + 100);  // (the counter sees the views' blocks)
  }
  EXPECT_EQ(aligned_live.load(), before);
  // Made to have them: h1 alone on netA (its flood entry and its port's l2pop entry go to
  // no view), and a router whose gateway host is given it but takes no router entry or ARP
  // entries there (no instance port of its networks on gw).
  {
    Planner p;
    for (int h = 1; h <= 3; ++h)
      p.load("hosts", h == 3 ? "gw" : "h" + std::to_string(h), json::object{{"local_ip", "198.51.100." + std::to_string(h)}});
    for (const char* n : {"netA", "netB"})
      p.load("networks", n, json::object{{"provider:network_type", "vxlan"}, {"provider:physical_network", nullptr},
                                         {"provider:segmentation_id", n[3] == 'A' ? 101 : 102}, {"mtu", 1450}});
    p.load("networks", "ext", json::object{{"provider:network_type", "flat"}, {"provider:physical_network", "physnet1"},
                                           {"provider:segmentation_id", nullptr}, {"mtu", 1500}});
    p.load("subnets", "subB", json::object{{"network_id", "netB"}, {"cidr", "10.2.0.0/24"}, {"gateway_ip", "10.2.0.1"}});
    auto port = [](const char* net, const char* mac, const char* subnet, const char* ip, const char* owner, const char* device,
                   const char* host) {
      json::object out{{"network_id", net}, {"mac_address", mac}, {"admin_state_up", true}, {"device_owner", owner},
                       {"device_id", device}, {"fixed_ips", json::array{json::object{{"subnet_id", subnet}, {"ip_address", ip}}}}};
      if (*host) out["binding:host_id"] = host, out["binding:vif_type"] = "bridge";
      return out;
    };
    p.load("ports", "pA1", port("netA", "fa:16:3e:00:00:01", "subA", "10.1.0.5", "compute:nova", "vm1", "h1"));
    p.load("ports", "pB1", port("netB", "fa:16:3e:00:00:02", "subB", "10.2.0.5", "compute:nova", "vm2", "h2"));
    p.load("ports", "pB2", port("netB", "fa:16:3e:00:00:03", "subB", "10.2.0.6", "compute:nova", "vm3", "h1"));
    p.load("ports", "rif", port("netB", "fa:16:3e:00:00:04", "subB", "10.2.0.1", "network:router_interface_distributed", "r1", ""));
    p.load("routers", "r1", json::object{{"external_gateway_info", json::object{{"network_id", "ext"}, {"enable_snat", true}}}, {"routes", json::array{}}});
    p.load("l3_bindings", "r1", json::object{{"hosts", json::array{"gw"}}});
    p.rebuild(1);
    EXPECT_TRUE(p.view("h1").count({"flood", "netB|h2"}));
    EXPECT_FALSE(p.view("h1").count({"flood", "netA|h1"}));
  }
  EXPECT_EQ(aligned_live.load(), before);
}

// Views of many chunks (~1,000 items per host), built by the boot's rebuild and then
// changed in batches a router interface makes (hosts joining networks, ARP entries for
// every port): the incremental views still equal a recompute after every step, and an
// agent replaying the deltas holds the same.
TEST(PlannerOracle, ChangesOnABulkLoadedCloudOfManyChunksEqualRecompute) {
  std::mt19937 rng(17);
  auto net = [](int n) { return "net" + std::to_string(n) + "-0000-4000-8000-000000000000"; };
  auto port = [&](int i, int host, int n) {
    char mac[18];
    std::snprintf(mac, sizeof mac, "fa:16:3e:00:%02x:%02x", (i >> 8) & 0xff, i & 0xff);
    return json::object{{"network_id", net(n)}, {"mac_address", mac}, {"admin_state_up", true},
                        {"fixed_ips", json::array{json::object{{"subnet_id", "sub" + std::to_string(n)},
                                                               {"ip_address", "10." + std::to_string(n) + "." + std::to_string(i / 250) + "." +
                                                                                  std::to_string(1 + i % 250)}}}},
                        {"binding:vif_type", "bridge"}, {"binding:host_id", "cmp" + std::to_string(host)}};
  };
  auto interface = [&](int n) {
    return json::object{{"network_id", net(n)}, {"mac_address", "fa:16:3e:ff:00:" + std::to_string(10 + n)}, {"admin_state_up", true},
                        {"device_owner", "network:router_interface_distributed"}, {"device_id", "router1"},
                        {"fixed_ips", json::array{json::object{{"subnet_id", "sub" + std::to_string(n)}, {"ip_address", "10." + std::to_string(n) + ".255.254"}}}}};
  };
  auto bulk = std::make_unique<Planner>();
  auto& p = *bulk;
  for (int h = 0; h < 8; ++h) p.load("hosts", "cmp" + std::to_string(h), json::object{{"local_ip", "198.51.100." + std::to_string(10 + h)}});
  for (int n = 0; n < 4; ++n) {
    p.load("networks", net(n), json::object{{"provider:network_type", "vxlan"}, {"provider:physical_network", nullptr},
                                            {"provider:segmentation_id", 100 + n}, {"mtu", 1450}});
    p.load("subnets", "sub" + std::to_string(n), json::object{{"network_id", net(n)}, {"cidr", "10." + std::to_string(n) + ".0.0/16"}, {"gateway_ip", nullptr}});
  }
  p.load("routers", "router1", json::object{{"routes", json::array{}}});
  int next = 0;
  std::map<std::string, bool> ports;  // id -> bound
  for (; next < 900; ++next) p.load("ports", "port" + std::to_string(next), port(next, next % 6, next % 3)), ports["port" + std::to_string(next)] = true;
  p.load("ports", "rif0", interface(0));
  p.load("ports", "rif1", interface(1));
  p.rebuild(1);
  expect_counts_are_handles(p);
  std::map<std::string, WireView> replayed;
  for (const auto& h : p.hosts_with_views()) replayed[h] = p.view(h);
  size_t most = 0;
  for (const auto& h : p.hosts_with_views()) most = std::max(most, p.shared_view(h).size());
  EXPECT_GT(most, 1000u);  // several chunks a view
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  for (int step = 0; step < 120; ++step) {
    int64_t rev = 2 + step;
    switch (pick(6)) {
      case 0:  // the router on network 2 or 3, or off it: hosts join and leave, ARP entries come and go
      case 1: {
        auto id = "rif" + std::to_string(2 + pick(2));
        if (pick(2)) p.apply("ports", id, interface(id == "rif2" ? 2 : 3), rev);
        else p.apply("ports", id, std::nullopt, rev);
        break;
      }
      case 2:  // a new port, maybe on a host or a network new to it
        p.apply("ports", "port" + std::to_string(next), port(next, pick(8), pick(4)), rev), ports["port" + std::to_string(next++)] = true;
        break;
      case 3: {  // a port moves
        auto it = std::next(ports.begin(), pick(static_cast<int>(ports.size())));
        int i = std::stoi(it->first.substr(4));
        p.apply("ports", it->first, port(i, pick(8), i % 3), rev);
        break;
      }
      default: {  // ports go, sometimes many at once from one host (it leaves networks)
        for (int k = 0, n = pick(4) == 0 ? 60 : 1; k < n && !ports.empty(); ++k) {
          auto it = std::next(ports.begin(), pick(static_cast<int>(ports.size())));
          p.apply("ports", it->first, std::nullopt, rev);
          for (const auto& d : p.last_deltas()) {
            if (d.obj) replayed[d.host][{d.kind, std::string(d.id.str())}] = d.obj.object();
            else replayed[d.host].erase({d.kind, std::string(d.id.str())});
          }
          ports.erase(it);
        }
        break;  // (the last one's deltas are replayed again below: the same puts and erases)
      }
    }
    for (const auto& d : p.last_deltas()) {
      if (d.obj) replayed[d.host][{d.kind, std::string(d.id.str())}] = d.obj.object();
      else replayed[d.host].erase({d.kind, std::string(d.id.str())});
    }
    auto full = p.recompute();
    for (const auto& [host, view] : full) ASSERT_EQ(text(p.view(host)), text(view)) << host << " step " << step;
    for (const auto& [host, view] : replayed) ASSERT_EQ(text(view), text(p.view(host))) << "deltas of " << host << " step " << step;
  }
}

// A host joining a network that spans 100 hosts: each host already there gets O(1) — the
// newcomer's flood entry and its port's l2pop entry, never everyone's list again — and the
// newcomer gets one flood entry per host (what it must learn).
TEST(Planner, AHostJoiningABigNetworkCostsEachOtherHostTwoSmallEntries) {
  Planner p;
  p.apply("networks", "n1-aaaaaaaaaaaa", json::object{{"provider:network_type", "vxlan"}, {"provider:physical_network", nullptr},
                                                      {"provider:segmentation_id", 123}, {"mtu", 1450}});
  auto join = [&](int i) {
    auto host = "cmp" + std::to_string(i);
    p.apply("hosts", host, json::object{{"local_ip", "198.51." + std::to_string(i / 250) + "." + std::to_string(i % 250)}});
    char mac[18];
    std::snprintf(mac, sizeof mac, "fa:16:3e:00:%02x:%02x", i >> 8, i & 0xff);
    p.apply("ports", "port" + std::to_string(i),
            json::object{{"network_id", "n1-aaaaaaaaaaaa"}, {"mac_address", mac}, {"admin_state_up", true},
                         {"fixed_ips", json::array{json::object{{"ip_address", "10.0.0." + std::to_string(i)}}}},
                         {"binding:host_id", host}});
  };
  for (int i = 1; i <= 100; ++i) join(i);
  join(101);
  std::map<std::string, std::vector<std::string>> got;
  size_t bytes_to_others = 0;
  for (const auto& d : p.last_deltas()) {
    got[d.host].push_back(d.kind);
    if (d.host != "cmp101" && d.obj) bytes_to_others += d.obj.str().size();
  }
  EXPECT_EQ(got.size(), 101u);
  for (int i = 1; i <= 100; ++i) {
    auto kinds = got["cmp" + std::to_string(i)];
    std::sort(kinds.begin(), kinds.end());
    EXPECT_EQ(kinds, (std::vector<std::string>{"flood", "l2pop"})) << i;
  }
  EXPECT_LT(bytes_to_others / 100, 300u) << "bytes per receiving host";
  size_t floods = std::count(got["cmp101"].begin(), got["cmp101"].end(), "flood");
  EXPECT_EQ(floods, 100u);
}

TEST(Planner, L2popAndFloodListFollowPorts) {
  Planner p;
  p.apply("hosts", "cmp1", json::object{{"local_ip", "192.0.2.1"}});
  p.apply("hosts", "cmp2", json::object{{"local_ip", "192.0.2.2"}});
  p.apply("networks", "n1-aaaaaaaaaaaa", json::object{{"provider:network_type", "vxlan"}, {"provider:physical_network", nullptr},
                                                      {"provider:segmentation_id", 123}, {"mtu", 1450}});
  auto port = [](const char* host, const char* mac) {
    return json::object{{"network_id", "n1-aaaaaaaaaaaa"}, {"mac_address", mac}, {"admin_state_up", true},
                        {"fixed_ips", json::array{json::object{{"ip_address", "10.0.0.5"}}}}, {"binding:host_id", host}};
  };
  p.apply("ports", "pa", port("cmp1", "fa:16:3e:00:00:01"));
  EXPECT_TRUE(p.view("cmp1").count({"network", "n1-aaaaaaaaaaaa"}));
  EXPECT_FALSE(p.view("cmp1").count({"flood", "n1-aaaaaaaaaaaa|cmp2"}));
  EXPECT_TRUE(p.view("cmp2").empty());
  p.apply("ports", "pb", port("cmp2", "fa:16:3e:00:00:02"));
  EXPECT_EQ(p.view("cmp1").at({"l2pop", "pb"}).at("vtep"), json::value("192.0.2.2"));
  EXPECT_EQ(p.view("cmp2").at({"flood", "n1-aaaaaaaaaaaa|cmp1"}).at("vtep"), json::value("192.0.2.1"));
  EXPECT_EQ(p.view("cmp1").at({"flood", "n1-aaaaaaaaaaaa|cmp2"}).at("vtep"), json::value("192.0.2.2"));
  EXPECT_EQ(p.view("cmp1").at({"network", "n1-aaaaaaaaaaaa"}).at("bridge"), json::value("brqn1-aaaaaaaa"));
  // Only the hosts of the network were touched by a port change there.
  p.apply("hosts", "cmp3", json::object{{"local_ip", "192.0.2.3"}});
  p.apply("ports", "pb", std::nullopt);
  EXPECT_EQ(p.last_touched(), (std::set<std::string>{"cmp1", "cmp2"}));
  EXPECT_FALSE(p.view("cmp1").count({"l2pop", "pb"}));
  EXPECT_TRUE(p.view("cmp2").empty());
}

}  // namespace nt

namespace nt {
namespace {
namespace json = boost::json;

json::object port_on(const std::string& net, const std::string& subnet, const std::string& ip, const std::string& mac,
                     const std::string& owner, const std::string& device, const std::string& host) {
  return json::object{{"network_id", net}, {"mac_address", mac}, {"admin_state_up", true}, {"device_owner", owner},
                      {"device_id", device}, {"binding:host_id", host},
                      {"binding:vif_type", host.empty() ? "unbound" : "bridge"},
                      {"fixed_ips", json::array{json::object{{"subnet_id", subnet}, {"ip_address", ip}}}}};
}

// Seed 002's picture: two subnets on one distributed router, VMs on two hosts, a gateway
// host, a floating IP.
TEST(PlannerL3, DvrSnatAndFloatingIpEntries) {
  Planner p;
  for (auto [h, ip] : {std::pair{"cmp1", "192.0.2.1"}, {"cmp2", "192.0.2.2"}, {"gw1", "192.0.2.9"}})
    p.apply("hosts", h, json::object{{"local_ip", ip}, {"dvr_mac", std::string("fa:16:3f:00:00:0") + ip[8]}});
  auto vx = [](int seg) {
    return json::object{{"provider:network_type", "vxlan"}, {"provider:physical_network", nullptr}, {"provider:segmentation_id", seg}, {"mtu", 1450}};
  };
  p.apply("networks", "neta-000000000", vx(10));
  p.apply("networks", "netb-000000000", vx(11));
  p.apply("networks", "pub-0000000000", json::object{{"provider:network_type", "flat"}, {"provider:physical_network", "physnet1"},
                                                     {"provider:segmentation_id", nullptr}, {"mtu", 1500}});
  p.apply("subnets", "sa", json::object{{"network_id", "neta-000000000"}, {"cidr", "192.168.10.0/24"}, {"gateway_ip", "192.168.10.1"}});
  p.apply("subnets", "sb", json::object{{"network_id", "netb-000000000"}, {"cidr", "10.10.10.0/24"}, {"gateway_ip", "10.10.10.1"}});
  p.apply("subnets", "sp", json::object{{"network_id", "pub-0000000000"}, {"cidr", "203.0.113.0/24"}, {"gateway_ip", "203.0.113.1"}});
  p.apply("routers", "r1", json::object{{"external_gateway_info", json::object{{"network_id", "pub-0000000000"}, {"enable_snat", true}}},
                                        {"routes", json::array{}}});
  p.apply("ports", "qra", port_on("neta-000000000", "sa", "192.168.10.1", "fa:16:3e:00:0a:01", "network:router_interface_distributed", "r1", ""));
  p.apply("ports", "qrb", port_on("netb-000000000", "sb", "10.10.10.1", "fa:16:3e:00:0b:01", "network:router_interface_distributed", "r1", ""));
  p.apply("ports", "sga", port_on("neta-000000000", "sa", "192.168.10.3", "fa:16:3e:00:0a:03", "network:router_centralized_snat", "r1", ""));
  p.apply("ports", "qg1", port_on("pub-0000000000", "sp", "203.0.113.10", "fa:16:3e:00:ee:10", "network:router_gateway", "r1", ""));
  p.apply("ports", "vma", port_on("neta-000000000", "sa", "192.168.10.5", "fa:16:3e:00:0a:05", "compute:nova", "i1", "cmp1"));
  p.apply("ports", "vmb", port_on("netb-000000000", "sb", "10.10.10.5", "fa:16:3e:00:0b:05", "compute:nova", "i2", "cmp2"));

  // A DVR instance on both computes, none on the gateway host yet (not scheduled).
  auto r = p.view("cmp1").at({"router", "r1"});
  EXPECT_EQ(r.at("interfaces").as_array().size(), 2u);
  EXPECT_TRUE(p.view("cmp2").count({"router", "r1"}));
  EXPECT_FALSE(p.view("gw1").count({"router", "r1"}));
  EXPECT_EQ(r.at("dvr_mac"), json::value("fa:16:3f:00:00:01"));
  // Every interface is plugged on every DVR host (both networks on cmp1, which has a VM
  // on one of them), and never an l2pop entry (the same MAC on every host).
  EXPECT_TRUE(p.view("cmp1").count({"network", "netb-000000000"}));
  EXPECT_EQ(p.view("cmp1").at({"port", "qrb@cmp1"}).at("device"), json::value("tapqrb@cmp1"));
  EXPECT_FALSE(p.view("cmp2").count({"l2pop", "qra@cmp1"}));
  EXPECT_TRUE(p.view("cmp2").count({"l2pop", "vma"}));
  // Permanent ARP in the router, one entry per port of its subnets.
  auto arp = p.view("cmp1").at({"arp", "r1|vmb"});
  EXPECT_EQ(arp.at("mac"), json::value("fa:16:3e:00:0b:05"));
  EXPECT_EQ(arp.at("addresses").as_array()[0].at("device"), json::value("qr-qrb"));
  EXPECT_FALSE(p.view("cmp1").count({"arp", "r1|qra"}));  // not the router's own interfaces

  // Scheduled on gw1: the snat role, and the sg-/qg- ports bound there for L2.
  p.apply("l3_bindings", "r1", json::object{{"hosts", json::array{"gw1"}}});
  auto snat = p.view("gw1").at({"snat", "r1"});
  EXPECT_EQ(snat.at("active"), json::value(true));
  EXPECT_EQ(snat.at("qg").at("ip"), json::value("203.0.113.10"));
  EXPECT_EQ(snat.at("qg").at("gateway_ip"), json::value("203.0.113.1"));
  EXPECT_EQ(snat.at("internal_cidrs").as_array().size(), 2u);
  EXPECT_EQ(p.view("cmp1").at({"l2pop", "sga"}).at("vtep"), json::value("192.0.2.9"));
  EXPECT_EQ(p.view("cmp1").at({"router", "r1"}).at("interfaces").as_array()[0].at("sg_ip"), json::value("192.168.10.3"));
  EXPECT_TRUE(p.view("gw1").count({"network", "pub-0000000000"}));

  // A floating IP for vma: on cmp1's router and fip entries, with its fg- port once it exists.
  p.apply("floatingips", "f1", json::object{{"floating_ip_address", "203.0.113.50"}, {"fixed_ip_address", "192.168.10.5"},
                                            {"port_id", "vma"}, {"router_id", "r1"}, {"floating_network_id", "pub-0000000000"}});
  EXPECT_EQ(p.view("cmp1").at({"router", "r1"}).at("floating_ips").as_array().size(), 1u);
  EXPECT_TRUE(p.view("cmp1").at({"fip", "pub-0000000000"}).at("fg").is_null());
  EXPECT_FALSE(p.view("cmp2").count({"fip", "pub-0000000000"}));
  p.apply("ports", "fg1", port_on("pub-0000000000", "sp", "203.0.113.20", "fa:16:3e:00:ee:20", "network:floatingip_agent_gateway", "cmp1", "cmp1"));
  EXPECT_EQ(p.view("cmp1").at({"fip", "pub-0000000000"}).at("fg").at("device"), json::value("fg-fg1"));

  // The last port on cmp2 goes: so does its DVR instance.
  p.apply("ports", "vmb", std::nullopt);
  EXPECT_FALSE(p.view("cmp2").count({"router", "r1"}));
}

}  // namespace
}  // namespace nt

namespace nt {
namespace {

// What a host's DHCP server is told about its VM port, as Neutron's dnsmasq would answer:
// the DHCP port's address and MAC, the options, the metadata route through the DHCP port
// while the subnet is isolated and through the gateway once a router holds it.
TEST(PlannerDhcp, EntriesFollowSubnetDhcpPortAndRouter) {
  Planner p;
  p.set_dhcp_settings({true, 3600, "example.org", {"192.0.2.53"}, true, false});
  p.apply("hosts", "cmp1", json::object{{"local_ip", "192.0.2.1"}});
  p.apply("networks", "n1-aaaaaaaaaaaa", json::object{{"provider:network_type", "vxlan"}, {"provider:segmentation_id", 7}, {"mtu", 1450}});
  json::object subnet{{"network_id", "n1-aaaaaaaaaaaa"}, {"cidr", "10.0.0.0/24"}, {"gateway_ip", "10.0.0.1"}, {"ip_version", 4},
                      {"enable_dhcp", true}, {"dns_nameservers", json::array{}},
                      {"host_routes", json::array{json::object{{"destination", "198.51.100.0/24"}, {"nexthop", "10.0.0.9"}}}}};
  p.apply("subnets", "s1", subnet);
  auto vm = port_on("n1-aaaaaaaaaaaa", "s1", "10.0.0.5", "fa:16:3e:00:00:05", "compute:nova", "vm-1", "cmp1");
  vm["project_id"] = "proj";
  p.apply("ports", "vmport-00001", vm);
  const ViewKey k{"dhcp", "vmport-00001"};
  auto d = p.view("cmp1").at(k);
  EXPECT_EQ(d.at("ip"), json::value("10.0.0.5"));
  EXPECT_TRUE(d.at("server_ip").is_null());  // no DHCP port yet: nothing served
  EXPECT_EQ(d.at("hostname"), json::value("host-10-0-0-5"));
  EXPECT_EQ(d.at("device"), json::value("tapvmport-0000"));
  EXPECT_EQ(d.at("device_id"), json::value("vm-1"));
  EXPECT_EQ(d.at("project_id"), json::value("proj"));
  EXPECT_EQ(d.at("dns"), (json::array{"192.0.2.53"}));
  p.apply("ports", "dhcpport-0001", port_on("n1-aaaaaaaaaaaa", "s1", "10.0.0.2", "fa:16:3e:00:00:02", "network:dhcp", "dhcp-x", ""));
  d = p.view("cmp1").at(k);
  EXPECT_EQ(d.at("server_ip"), json::value("10.0.0.2"));
  EXPECT_EQ(d.at("server_mac"), json::value("fa:16:3e:00:00:02"));
  EXPECT_EQ(d.at("lease"), json::value(3600));
  EXPECT_EQ(d.at("mtu"), json::value(1450));
  auto routes = json::serialize(d.at("routes"));
  EXPECT_NE(routes.find("198.51.100.0/24"), std::string::npos) << routes;
  EXPECT_NE(routes.find("\"169.254.169.254/32\",\"nexthop\":\"10.0.0.2\""), std::string::npos) << routes;
  // A router interface on the gateway address: routed, the metadata route goes to the gateway.
  p.apply("ports", "rif-00000001", port_on("n1-aaaaaaaaaaaa", "s1", "10.0.0.1", "fa:16:3e:00:00:01",
                                           "network:router_interface_distributed", "r1", ""));
  routes = json::serialize(p.view("cmp1").at(k).at("routes"));
  EXPECT_NE(routes.find("\"169.254.169.254/32\",\"nexthop\":\"10.0.0.1\""), std::string::npos) << routes;
  // dns_nameservers 0.0.0.0: no DNS option at all (Neutron's way to suppress it).
  subnet["dns_nameservers"] = json::array{"0.0.0.0"};
  p.apply("subnets", "s1", subnet);
  EXPECT_TRUE(p.view("cmp1").at(k).at("dns").as_array().empty());
  // Routed without isolated metadata: the route still goes to the gateway (as Neutron's).
  p.set_dhcp_settings({true, 3600, "example.org", {}, false, false});
  p.apply("subnets", "s1", subnet);
  routes = json::serialize(p.view("cmp1").at(k).at("routes"));
  EXPECT_NE(routes.find("\"nexthop\":\"10.0.0.1\""), std::string::npos) << routes;
  // enable_dhcp false: the entry stays (metadata identity) but nothing is served.
  subnet["enable_dhcp"] = false;
  p.apply("subnets", "s1", subnet);
  EXPECT_TRUE(p.view("cmp1").at(k).at("server_ip").is_null());
  // The port leaves the host: its entry goes.
  vm["binding:host_id"] = "";
  p.apply("ports", "vmport-00001", vm);
  EXPECT_FALSE(p.view("cmp1").count(k));
  EXPECT_EQ(p.recompute().count("cmp1"), 0u);
}

}  // namespace
}  // namespace nt

namespace nt {
namespace {

// The addresses of remote group `group` on a host: its sgmember entries ("<group>|<ip>").
json::array members_of(const nt::WireView& v, const std::string& group) {
  json::array out;
  for (const auto& [key, obj] : v)
    if (key.first == "sgmember" && key.second.rfind(group + "|", 0) == 0) out.push_back(obj.at("ip"));
  return out;
}

// issue 14's picture: web and db VMs on two hosts, the db group lets web in by
// remote_group_id; the db host learns web's members, and a third web VM joins them.

TEST(PlannerSecGroups, RemoteGroupMembersFollowPorts) {
  Planner p;
  for (auto [h, ip] : {std::pair{"cmp1", "192.0.2.1"}, {"cmp2", "192.0.2.2"}, {"cmp3", "192.0.2.3"}})
    p.apply("hosts", h, json::object{{"local_ip", ip}});
  p.apply("networks", "n1-aaaaaaaaaaaa", json::object{{"provider:network_type", "vxlan"}, {"provider:segmentation_id", 7}, {"mtu", 1450}});
  p.apply("security_groups", "web", json::object{{"stateful", true}});
  p.apply("security_groups", "db", json::object{{"stateful", false}});
  p.apply("security_group_rules", "r-db-5432",
          json::object{{"security_group_id", "db"}, {"direction", "ingress"}, {"ethertype", "IPv4"}, {"protocol", "tcp"},
                       {"port_range_min", 5432}, {"port_range_max", 5432}, {"remote_ip_prefix", nullptr},
                       {"remote_group_id", "web"}, {"remote_address_group_id", nullptr}});
  p.apply("security_group_rules", "r-web-egress",
          json::object{{"security_group_id", "web"}, {"direction", "egress"}, {"ethertype", "IPv4"}, {"protocol", nullptr},
                       {"port_range_min", nullptr}, {"port_range_max", nullptr}, {"remote_ip_prefix", nullptr},
                       {"remote_group_id", nullptr}, {"remote_address_group_id", nullptr}});
  auto vm = [](const char* ip, const char* mac, const char* host, const char* group) {
    auto port = port_on("n1-aaaaaaaaaaaa", "s1", ip, mac, "compute:nova", "vm", host);
    port["security_groups"] = json::array{group};
    port["port_security_enabled"] = true;
    return port;
  };
  auto web1 = vm("10.0.0.5", "fa:16:3e:00:00:05", "cmp1", "web");
  web1["allowed_address_pairs"] = json::array{json::object{{"ip_address", "10.0.0.100"}}};
  p.apply("ports", "web1-0000000", web1);
  auto db1 = vm("10.0.0.6", "fa:16:3e:00:00:06", "cmp2", "db");
  p.apply("ports", "db1-00000000", db1);

  auto v1 = p.view("cmp1"), v2 = p.view("cmp2");
  auto ps = v1.at({"portsec", "web1-0000000"});
  EXPECT_EQ(ps.at("device"), json::value("tapweb1-000000"));
  EXPECT_EQ(ps.at("security_groups"), (json::array{"web"}));
  EXPECT_EQ(ps.at("allowed_address_pairs").as_array()[0].at("mac_address"), json::value(nullptr));
  EXPECT_TRUE(v1.count({"secgroup", "web"}));
  EXPECT_TRUE(members_of(v1, "web").empty());  // web's rules name no group
  auto db = v2.at({"secgroup", "db"});
  EXPECT_EQ(db.at("stateful"), json::value(false));
  EXPECT_EQ(db.at("rules").as_array()[0].at("remote_group_id"), json::value("web"));
  EXPECT_EQ(db.at("rules").as_array()[0].at("port_range_min"), json::value(5432));
  EXPECT_EQ(members_of(v2, "web"), (json::array{"10.0.0.100", "10.0.0.5"}));
  EXPECT_FALSE(v2.count({"secgroup", "web"}));

  // A third web VM on another host joins: the db host's members change, nothing else there.
  p.apply("ports", "web2-0000000", vm("10.0.0.7", "fa:16:3e:00:00:07", "cmp3", "web"));
  EXPECT_EQ(members_of(p.view("cmp2"), "web"), (json::array{"10.0.0.100", "10.0.0.5", "10.0.0.7"}));
  EXPECT_TRUE(p.view("cmp3").count({"secgroup", "web"}));
  std::set<std::pair<std::string, std::string>> on_db_host;
  for (const auto& d : p.last_deltas())
    if (d.host == "cmp2" && (d.kind == "portsec" || d.kind == "secgroup" || d.kind == "sgmember")) on_db_host.emplace(d.kind, d.id.str());
  // One entry for the new address, not the group's whole list again.
  EXPECT_EQ(on_db_host, (std::set<std::pair<std::string, std::string>>{{"sgmember", "web|10.0.0.7"}}));

  // Port security off on the db VM: its portsec stays (saying so), its groups go.
  db1["port_security_enabled"] = false;
  db1["security_groups"] = json::array{};
  p.apply("ports", "db1-00000000", db1);
  v2 = p.view("cmp2");
  EXPECT_EQ(v2.at({"portsec", "db1-00000000"}).at("port_security_enabled"), json::value(false));
  EXPECT_FALSE(v2.count({"secgroup", "db"}));
  EXPECT_TRUE(members_of(v2, "web").empty());
  // A web VM with port security off is no member any more.
  auto web2 = vm("10.0.0.7", "fa:16:3e:00:00:07", "cmp3", "web");
  web2["port_security_enabled"] = false;
  p.apply("ports", "web2-0000000", web2);
  EXPECT_FALSE(p.view("cmp3").count({"secgroup", "web"}));
  db1["port_security_enabled"] = true;
  db1["security_groups"] = json::array{"db"};
  p.apply("ports", "db1-00000000", db1);
  EXPECT_EQ(members_of(p.view("cmp2"), "web"), (json::array{"10.0.0.100", "10.0.0.5"}));
  // The rule no longer names web: the members go from the db host.
  p.apply("security_group_rules", "r-db-5432",
          json::object{{"security_group_id", "db"}, {"direction", "ingress"}, {"ethertype", "IPv4"}, {"protocol", "tcp"},
                       {"port_range_min", 5432}, {"port_range_max", 5432}, {"remote_ip_prefix", "10.0.0.0/24"},
                       {"remote_group_id", nullptr}, {"remote_address_group_id", nullptr}});
  EXPECT_TRUE(members_of(p.view("cmp2"), "web").empty());
  EXPECT_EQ(p.view("cmp2").at({"secgroup", "db"}).at("rules").as_array()[0].at("remote_ip_prefix"), json::value("10.0.0.0/24"));
  for (const auto& [host, v] : p.recompute()) EXPECT_EQ(v, p.view(host)) << host;
}

// Nova boots a VM in two steps: the port is created (unbound), then bound. The create
// changes no host's view (an unbound port sends nothing, so it is no remote group member
// yet); the bind brings its address to the group's hosts in the bind's revision.
TEST(PlannerSecGroups, AnUnboundPortIsNoMemberYet) {
  Planner p;
  for (auto [h, ip] : {std::pair{"cmp1", "192.0.2.1"}, {"cmp2", "192.0.2.2"}}) p.apply("hosts", h, json::object{{"local_ip", ip}});
  p.apply("networks", "n1-aaaaaaaaaaaa", json::object{{"provider:network_type", "vxlan"}, {"provider:segmentation_id", 7}, {"mtu", 1450}});
  p.apply("security_groups", "default", json::object{{"stateful", true}});
  p.apply("security_group_rules", "r-default-in",
          json::object{{"security_group_id", "default"}, {"direction", "ingress"}, {"ethertype", "IPv4"}, {"protocol", nullptr},
                       {"port_range_min", nullptr}, {"port_range_max", nullptr}, {"remote_ip_prefix", nullptr},
                       {"remote_group_id", "default"}, {"remote_address_group_id", nullptr}});
  auto vm = [](const char* ip, const char* mac, const char* host) {
    auto port = port_on("n1-aaaaaaaaaaaa", "s1", ip, mac, "compute:nova", "vm", host);
    port["security_groups"] = json::array{"default"};
    port["port_security_enabled"] = true;
    return port;
  };
  p.apply("ports", "vm1-00000000", vm("10.0.0.5", "fa:16:3e:00:00:05", "cmp1"), 10);
  p.apply("ports", "vm2-00000000", vm("10.0.0.6", "fa:16:3e:00:00:06", "cmp2"), 11);
  EXPECT_EQ(members_of(p.view("cmp1"), "default"), (json::array{"10.0.0.5", "10.0.0.6"}));

  auto created = vm("10.0.0.7", "fa:16:3e:00:00:07", "");
  created["binding:vif_type"] = "unbound";
  p.apply("ports", "vm3-00000000", created, 12);
  EXPECT_TRUE(p.last_deltas().empty());
  EXPECT_EQ(p.host_revision("cmp1"), 11);
  EXPECT_EQ(members_of(p.view("cmp2"), "default"), (json::array{"10.0.0.5", "10.0.0.6"}));

  p.apply("ports", "vm3-00000000", vm("10.0.0.7", "fa:16:3e:00:00:07", "cmp1"), 13);
  for (const auto* host : {"cmp1", "cmp2"}) {
    EXPECT_EQ(members_of(p.view(host), "default"), (json::array{"10.0.0.5", "10.0.0.6", "10.0.0.7"})) << host;
    EXPECT_EQ(p.host_revision(host), 13) << host;
  }
  // A failed binding binds it nowhere: no member again.
  auto failed = vm("10.0.0.7", "fa:16:3e:00:00:07", "cmp1");
  failed["binding:vif_type"] = "binding_failed";
  p.apply("ports", "vm3-00000000", failed, 14);
  EXPECT_EQ(members_of(p.view("cmp2"), "default"), (json::array{"10.0.0.5", "10.0.0.6"}));
  for (const auto& [host, v] : p.recompute()) EXPECT_EQ(v, p.view(host)) << host;
}

// A rule naming an address group: its addresses reach the hosts of the rule's group's
// filtered ports, follow the group's edits, and go when the rule names it no more.
TEST(PlannerSecGroups, AddressGroupsFollowRulesAndEdits) {
  Planner p;
  p.apply("hosts", "cmp1", json::object{{"local_ip", "192.0.2.1"}});
  p.apply("networks", "n1-aaaaaaaaaaaa", json::object{{"provider:network_type", "vxlan"}, {"provider:segmentation_id", 7}, {"mtu", 1450}});
  p.apply("security_groups", "web", json::object{{"stateful", true}});
  p.apply("address_groups", "ag1", json::object{{"addresses", json::array{"203.0.113.1/32", "198.51.100.0/24"}}});
  auto port = port_on("n1-aaaaaaaaaaaa", "s1", "10.0.0.5", "fa:16:3e:00:00:05", "compute:nova", "vm", "cmp1");
  port["security_groups"] = json::array{"web"};
  p.apply("ports", "web1-0000000", port);
  const ViewKey k{"addrgroup", "ag1"};
  EXPECT_FALSE(p.view("cmp1").count(k));  // no rule names it yet
  json::object rule{{"security_group_id", "web"}, {"direction", "ingress"}, {"ethertype", "IPv4"}, {"protocol", "tcp"},
                    {"port_range_min", 5000}, {"port_range_max", 5000}, {"remote_ip_prefix", nullptr},
                    {"remote_group_id", nullptr}, {"remote_address_group_id", "ag1"}};
  p.apply("security_group_rules", "r-5000", rule);
  EXPECT_EQ(p.view("cmp1").at(k).at("addresses"), (json::array{"198.51.100.0/24", "203.0.113.1/32"}));
  p.apply("address_groups", "ag1", json::object{{"addresses", json::array{"198.51.100.0/24"}}});
  EXPECT_EQ(p.view("cmp1").at(k).at("addresses"), (json::array{"198.51.100.0/24"}));
  std::set<std::string> kinds;
  for (const auto& d : p.last_deltas()) kinds.insert(d.kind + " " + std::string(d.id.str()));
  EXPECT_EQ(kinds, (std::set<std::string>{"addrgroup ag1"}));
  for (const auto& [host, v] : p.recompute()) EXPECT_EQ(v, p.view(host)) << host;
  rule["remote_address_group_id"] = nullptr;
  p.apply("security_group_rules", "r-5000", rule);
  EXPECT_FALSE(p.view("cmp1").count(k));
  for (const auto& [host, v] : p.recompute()) EXPECT_EQ(v, p.view(host)) << host;
}

}  // namespace
}  // namespace nt
