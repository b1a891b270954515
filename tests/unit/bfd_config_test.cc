// neutrino-bfd's config line: every field checked, garbage refused with the field named.
#include <gtest/gtest.h>

#include "bfd/daemon.h"

namespace nt::bfd {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

json::object good() {
  return json::parse(R"({"op":"config","local":"10.0.0.1","min_tx_ms":100,"min_rx_ms":200,"detect_mult":3,
                         "peers":["10.0.0.3","10.0.0.2"]})")
      .as_object();
}

TEST(BfdConfig, ParsesAndSortsPeers) {
  auto c = parse_config(good());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->local, 0x0a000001u);
  EXPECT_EQ(c->timers, (Timers{100ms, 200ms, 3}));
  EXPECT_EQ(c->peers, (std::vector<uint32_t>{0x0a000002, 0x0a000003}));
  auto empty = good();
  empty["peers"] = json::array();
  EXPECT_TRUE(parse_config(empty));
}

TEST(BfdConfig, RefusesEveryBadField) {
  std::vector<std::pair<std::string, json::value>> bad = {
      {"local", 1},           {"local", "10.0.0"},   {"local", "0.0.0.0"},   {"local", "127.0.0.1"},
      {"local", "224.0.0.1"}, {"local", nullptr},    {"min_tx_ms", "100"},   {"min_tx_ms", 100.5},
      {"min_tx_ms", 9},       {"min_tx_ms", 60001},  {"min_rx_ms", -1},      {"min_rx_ms", uint64_t(-1)},
      {"detect_mult", 0},     {"detect_mult", 256},  {"detect_mult", true},  {"peers", "10.0.0.2"},
      {"peers", {1}},         {"peers", {"10.0.0.1"}}, {"peers", {"10.0.0.2", "10.0.0.2"}}, {"surplus", 1},
  };
  for (const auto& [key, value] : bad) {
    auto o = good();
    o[key] = value;
    auto c = parse_config(o);
    ASSERT_FALSE(c) << key << "=" << json::serialize(value);
    EXPECT_NE(c.error().message.find(key), std::string::npos) << c.error().message;
  }
  for (auto key : {"local", "min_tx_ms", "min_rx_ms", "detect_mult", "peers"}) {
    auto o = good();
    o.erase(key);
    auto c = parse_config(o);
    ASSERT_FALSE(c) << "without " << key;
    EXPECT_NE(c.error().message.find(key), std::string::npos) << c.error().message;
  }
}

TEST(BfdConfig, AtMost4096Peers) {
  auto o = good();
  json::array peers;
  for (uint32_t i = 1; i <= kMaxPeers; ++i) peers.emplace_back(ipv4_text(0x0b000000 + i));
  o["peers"] = peers;
  EXPECT_TRUE(parse_config(o));
  peers.emplace_back("12.0.0.1");
  o["peers"] = peers;
  auto c = parse_config(o);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("at most 4096"), std::string::npos) << c.error().message;
}

}  // namespace
}  // namespace nt::bfd
