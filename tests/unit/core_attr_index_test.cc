// The model's attribute indexes (core/attr_index.h) and its id lookup: they follow every
// put, erase and rollback, and a list narrowed by them looks at every row a scan would
// match, in id order.
#include <gtest/gtest.h>

#include <random>

#include "core/model.h"

namespace nt {
namespace json = boost::json;

namespace {

Obj port(const std::string& id, json::value device_id, const std::string& network = "net-a",
         const std::string& owner = "compute:nova") {
  return Obj{{"id", id}, {"device_id", std::move(device_id)}, {"network_id", network}, {"device_owner", owner},
             {"project_id", "p"}};
}

std::vector<std::string> ids_of(const std::optional<std::vector<const Obj*>>& rows) {
  std::vector<std::string> out;
  for (const Obj* o : *rows) out.emplace_back(o->at("id").as_string());
  return out;
}

std::optional<std::vector<const Obj*>> narrow(const Model& m, const std::string& kind, const EqualityFilters& f) {
  static const Table empty;
  const Table* t = m.find_table(kind);
  return narrowed_rows(t ? *t : empty, m.attr_index(), kind, f);
}

EqualityFilters device(std::initializer_list<const char*> values) {
  std::vector<json::value> v;
  for (const char* s : values) v.emplace_back(s);
  return {{"device_id", v}};
}

}  // namespace

TEST(AttrIndex, NarrowsToTheRowsHoldingTheValueInIdOrder) {
  Model m;
  Txn txn(m);
  txn.put("ports", port("c", "vm-1"));
  txn.put("ports", port("a", "vm-1"));
  txn.put("ports", port("b", "vm-2"));
  EXPECT_EQ(ids_of(narrow(m, "ports", device({"vm-1"}))), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(ids_of(narrow(m, "ports", device({"vm-2", "vm-1"}))), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(narrow(m, "ports", device({"vm-3"}))->empty());
}

TEST(AttrIndex, LeavesUnnarrowedWhatItCannotAnswerExactly) {
  Model m;
  Txn txn(m);
  txn.put("ports", port("a", "vm-1"));
  EXPECT_FALSE(narrow(m, "ports", device({""})));          // "" also matches null and missing
  EXPECT_FALSE(narrow(m, "ports", device({"vm-1", ""})));  // one such value is enough
  EXPECT_FALSE(narrow(m, "ports", {{"name", {json::value("x")}}}));  // not indexed
  EXPECT_FALSE(narrow(m, "networks", {{"device_id", {json::value("x")}}}));
  EXPECT_FALSE(narrow(m, "ports", {{"device_id", {json::value(true)}}}));  // converted, not a string
  EXPECT_FALSE(narrow(m, "ports", {}));
}

TEST(AttrIndex, KeepsOddValuesAsCandidates) {
  Model m;
  Txn txn(m);
  txn.put("ports", port("a", 7));  // a number: "7" would match it by its text
  txn.put("ports", port("b", nullptr));
  txn.put("ports", port("c", "vm-1"));
  EXPECT_EQ(ids_of(narrow(m, "ports", device({"7"}))), (std::vector<std::string>{"a"}));
  EXPECT_EQ(ids_of(narrow(m, "ports", device({"vm-1"}))), (std::vector<std::string>{"a", "c"}));
}

TEST(AttrIndex, PicksTheMostSelectiveFilterAndIds) {
  Model m;
  Txn txn(m);
  for (int i = 0; i < 10; ++i) txn.put("ports", port("p" + std::to_string(i), json::value("vm-" + std::to_string(i))));
  txn.put("ports", port("q", "vm-x", "net-b", "network:dhcp"));
  EqualityFilters f{{"network_id", {json::value("net-a")}}, {"device_id", {json::value("vm-3")}}};
  EXPECT_EQ(ids_of(narrow(m, "ports", f)), (std::vector<std::string>{"p3"}));
  EqualityFilters dhcp{{"network_id", {json::value("net-a")}}, {"device_owner", {json::value("network:dhcp")}}};
  EXPECT_EQ(ids_of(narrow(m, "ports", dhcp)), (std::vector<std::string>{"q"}));
  EqualityFilters ids{{"id", {json::value("p5"), json::value("nope"), json::value("p1"), json::value("p5")}}};
  EXPECT_EQ(ids_of(narrow(m, "ports", ids)), (std::vector<std::string>{"p1", "p5"}));
  EqualityFilters net_ids{{"id", {json::value("n1")}}};
  EXPECT_TRUE(narrow(m, "networks", net_ids)->empty());  // any table: ids are its keys
}

TEST(AttrIndex, FollowsUpdatesErasesAndRollbacks) {
  Model m;
  {
    Txn txn(m);
    txn.put("ports", port("a", "vm-1"));
    txn.put("floatingips", Obj{{"id", "f"}, {"port_id", "a"}, {"fixed_ip_address", "10.0.0.3"}});
  }
  Txn txn(m);
  txn.put("ports", port("a", "vm-2"));
  txn.put("ports", port("b", "vm-1"));
  txn.erase("floatingips", "f");
  EXPECT_EQ(ids_of(narrow(m, "ports", device({"vm-1"}))), (std::vector<std::string>{"b"}));
  EXPECT_EQ(ids_of(narrow(m, "ports", device({"vm-2"}))), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(narrow(m, "floatingips", {{"port_id", {json::value("a")}}})->empty());
  txn.rollback();
  EXPECT_EQ(ids_of(narrow(m, "ports", device({"vm-1"}))), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(narrow(m, "ports", device({"vm-2"}))->empty());
  EXPECT_EQ(ids_of(narrow(m, "floatingips", {{"fixed_ip_address", {json::value("10.0.0.3")}}})),
            (std::vector<std::string>{"f"}));
}

TEST(AttrIndex, IsRebuiltByLoad) {
  LoadedState state;
  state.rows["ports"] = {{"a", json::serialize(port("a", "vm-1"))}, {"b", json::serialize(port("b", "vm-2"))}};
  Model m;
  ASSERT_TRUE(m.load(state));
  EXPECT_EQ(ids_of(narrow(m, "ports", device({"vm-2"}))), (std::vector<std::string>{"b"}));
  m.clear();
  EXPECT_FALSE(m.find_table("ports"));
}

// Random puts, erases and rollbacks: a narrowed list holds every row whose attribute a
// filter value equals (as a scan finds them), once, in id order.
TEST(AttrIndex, NarrowedListsHoldEveryMatchOfAScan) {
  std::mt19937 rng(18);
  Model m;
  auto value = [&](int range) { return "v" + std::to_string(rng() % range); };
  for (int round = 0; round < 200; ++round) {
    Txn txn(m);
    for (int k = 0; k < 20; ++k) {
      auto id = "p" + std::to_string(rng() % 60);
      if (rng() % 4 == 0) txn.erase("ports", id);
      else txn.put("ports", port(id, json::value(value(15)), value(3), value(5)));
    }
    if (rng() % 3 == 0) txn.rollback();
    const Table& table = *m.find_table("ports");  // find() (a hash of the ids) agrees with the table
    for (int i = 0; i < 60; ++i) {
      auto id = "p" + std::to_string(i);
      auto it = table.find(id);
      ASSERT_EQ(m.find("ports", id), it == table.end() ? nullptr : &it->second) << id;
    }
    for (const char* attr : {"device_id", "network_id", "device_owner"}) {
      std::vector<std::string> wants = {value(15), value(15)};
      auto rows = narrow(m, "ports", {{attr, {json::value(wants[0]), json::value(wants[1])}}});
      ASSERT_TRUE(rows);
      std::vector<std::string> narrowed = ids_of(rows), scanned;
      for (const auto& [id, o] : *m.find_table("ports")) {
        auto have = std::string(o.at(attr).as_string());
        if (have == wants[0] || have == wants[1]) scanned.push_back(id);
      }
      EXPECT_EQ(narrowed, scanned) << attr;
      std::vector<std::string> held;  // Model::holding: one value, exactly
      for (const Obj* o : m.holding("ports", attr, wants[0])) held.emplace_back(o->at("id").as_string());
      std::vector<std::string> scanned_one;
      for (const auto& [id, o] : *m.find_table("ports"))
        if (o.at(attr).as_string() == wants[0]) scanned_one.push_back(id);
      EXPECT_EQ(held, scanned_one) << attr;
    }
  }
}

// One value's rows are used in place only when no odd row must join them.
TEST(AttrIndex, LendsOneValuesRowsOnlyWhenNoOddRowJoinsThem) {
  Model m;
  Txn txn(m);
  txn.put("ports", port("b", "vm-1"));
  txn.put("ports", port("a", "vm-1"));
  auto narrowed = nt::narrow(*m.find_table("ports"), m.attr_index(), "ports", device({"vm-1"}));
  ASSERT_TRUE(narrowed && narrowed->bucket);
  std::vector<std::string> ids;
  for (const auto* row : *narrowed->bucket) ids.push_back(row->first);
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b"}));
  txn.put("ports", port("c", json::value(7)));  // a device_id that is no string: a candidate of every filter
  narrowed = nt::narrow(*m.find_table("ports"), m.attr_index(), "ports", device({"vm-1"}));
  ASSERT_TRUE(narrowed);
  EXPECT_EQ(narrowed->bucket, nullptr);
  EXPECT_EQ(narrowed->rows.size(), 3u);
  EXPECT_TRUE(m.holding("ports", "device_id", "").empty());
  EXPECT_EQ(m.holding("ports", "device_id", "vm-1").size(), 2u);
  EXPECT_EQ(m.holding("ports", "name", "x").size(), 0u);  // not indexed: a scan
}

}  // namespace nt
