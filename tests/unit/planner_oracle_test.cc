// The recompute oracle: after every step of random operation sequences, the incremental
// host views equal a full recompute, and revisions move only with content.
#include <gtest/gtest.h>

#include <random>

#include "planner/planner.h"

namespace nt {
namespace json = boost::json;

namespace {

class World {
 public:
  explicit World(unsigned seed) : rng_(seed) {}

  void step(Planner& p) {
    switch (pick(8)) {
      case 0: return put_network(p);
      case 1: return delete_network(p);
      case 2:
      case 3: return put_port(p, "p" + std::to_string(pick(60)));
      case 4: return move_port(p);
      case 5: return delete_port(p);
      case 6: return put_host(p);
      default: return delete_host(p);
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
  void put_port(Planner& p, const std::string& id) {
    json::object port{{"network_id", network()},
                      {"mac_address", "fa:16:3e:00:00:" + std::to_string(10 + pick(89))},
                      {"fixed_ips", json::array{json::object{{"ip_address", "10.0.0." + std::to_string(pick(250))}}}},
                      {"admin_state_up", pick(5) != 0},
                      {"binding:host_id", pick(6) ? host() : ""}};
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
  Planner bulk_loaded(int64_t revision) const {
    Planner q;
    for (const auto& [id, h] : hosts_) q.load("hosts", id, h);
    for (const auto& [id, n] : networks_) q.load("networks", id, n);
    for (const auto& [id, port] : ports_) q.load("ports", id, port);
    q.rebuild(revision);
    return q;
  }

 private:
  std::map<std::string, json::object> networks_, hosts_;

  std::mt19937 rng_;
  std::map<std::string, json::object> ports_;
};

}  // namespace

TEST(PlannerOracle, IncrementalEqualsRecomputeAfterEveryStep) {
  for (unsigned seed : {1u, 2u, 3u}) {
    Planner planner;
    World world(seed);
    std::map<std::string, HostView> before;
    std::map<std::string, int64_t> revs;
    std::map<std::string, HostView> replayed;  // what an agent applying only the deltas holds
    for (int step = 0; step < 1500; ++step) {
      world.step(planner);
      for (const auto& d : planner.last_deltas()) {
        if (d.obj) replayed[d.host][{d.kind, d.id}] = *d.obj;
        else replayed[d.host].erase({d.kind, d.id});
      }
      auto full = planner.recompute();
      ASSERT_EQ(planner.hosts_with_views(), [&] {
        std::set<std::string> s;
        for (auto& [h, v] : full) s.insert(h);
        return s;
      }()) << "seed " << seed << " step " << step;
      for (const auto& [host, view] : full) ASSERT_EQ(planner.view(host), view) << host << " step " << step;
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
  }
}

TEST(PlannerOracle, BulkLoadEqualsIncremental) {
  for (unsigned seed : {4u, 5u}) {
    Planner planner;
    World world(seed);
    for (int step = 0; step < 1000; ++step) world.step(planner);
    auto bulk = world.bulk_loaded(777);
    EXPECT_EQ(bulk.hosts_with_views(), planner.hosts_with_views());
    for (const auto& host : planner.hosts_with_views()) {
      EXPECT_EQ(bulk.view(host), planner.view(host)) << host;
      EXPECT_EQ(bulk.host_revision(host), 777) << host;
    }
  }
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
  EXPECT_EQ(p.view("cmp1").at({"network", "n1-aaaaaaaaaaaa"}).at("flood").as_array().size(), 0u);
  EXPECT_TRUE(p.view("cmp2").empty());
  p.apply("ports", "pb", port("cmp2", "fa:16:3e:00:00:02"));
  EXPECT_EQ(p.view("cmp1").at({"l2pop", "pb"}).at("vtep"), json::value("192.0.2.2"));
  EXPECT_EQ(p.view("cmp2").at({"network", "n1-aaaaaaaaaaaa"}).at("flood").as_array()[0], json::value("192.0.2.1"));
  EXPECT_EQ(p.view("cmp1").at({"network", "n1-aaaaaaaaaaaa"}).at("bridge"), json::value("brqn1-aaaaaaaa"));
  // Only the hosts of the network were touched by a port change there.
  p.apply("hosts", "cmp3", json::object{{"local_ip", "192.0.2.3"}});
  p.apply("ports", "pb", std::nullopt);
  EXPECT_EQ(p.last_touched(), (std::set<std::string>{"cmp1", "cmp2"}));
  EXPECT_FALSE(p.view("cmp1").count({"l2pop", "pb"}));
  EXPECT_TRUE(p.view("cmp2").empty());
}

}  // namespace nt
