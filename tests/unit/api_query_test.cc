#include <gtest/gtest.h>

#include "api/query.h"

namespace nt {
namespace json = boost::json;

namespace {
ResourceDef def() {
  ResourceDef d{"network", "networks", "networks", "NetworkNotFound", "Network {} could not be found.", standard_attrs()};
  d.attrs.push_back({"admin_state_up", kPost | kPut | kFilter | kSort, check::boolean(), json::value(true)});
  d.attrs.push_back({"shared", kFilter, check::boolean(), std::nullopt});
  return d;
}
Params params(std::initializer_list<std::pair<std::string, std::string>> p) { return Params(p); }
}  // namespace

TEST(Query, ParsesTheQueryString) {
  std::string path;
  auto p = parse_query_string("/v2.0/networks?name=a%20b&fields=id&fields=name", &path);
  EXPECT_EQ(path, "/v2.0/networks");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].second, "a b");
}

TEST(Query, RejectsUnknownFiltersBadLimitsAndSortKeys) {
  auto d = def();
  EXPECT_EQ(parse_list_query(d, params({{"foo", "1"}})).error().message, "['foo'] is invalid attribute for filtering");
  auto bad_limit = parse_list_query(d, params({{"limit", "-1"}})).error();
  EXPECT_EQ(bad_limit.message, "Bad limit request: Limit must be an integer 0 or greater and not '-1'.");
  EXPECT_EQ(bad_limit.type, "BadRequest");  // as Neutron 21
  EXPECT_EQ(parse_list_query(d, params({{"sort_key", "name"}})).error().message,
            "The number of sort_keys and sort_dirs must be same");
  EXPECT_FALSE(parse_list_query(d, params({{"sort_key", "shared"}, {"sort_dir", "asc"}})));
  EXPECT_FALSE(parse_list_query(d, params({{"sort_key", "name"}, {"sort_dir", "up"}})));
  EXPECT_EQ(parse_list_query(d, params({{"project_id", "a"}, {"tenant_id", "a"}})).error().type,
            "TenantIdProjectIdFilterConflict");
}

TEST(Query, FiltersAndRepeatedKeysOr) {
  auto d = def();
  Obj a{{"id", "1"}, {"name", "a"}, {"admin_state_up", true}, {"tags", json::array{"x", "y"}}};
  Obj b{{"id", "2"}, {"name", "b"}, {"admin_state_up", false}, {"tags", json::array{"y"}}};
  auto q = *parse_list_query(d, params({{"name", "a"}, {"name", "b"}, {"admin_state_up", "True"}}));
  EXPECT_TRUE(matches(q, a));
  EXPECT_FALSE(matches(q, b));
  auto t = *parse_list_query(d, params({{"tags", "x,y"}}));
  EXPECT_TRUE(matches(t, a));
  EXPECT_FALSE(matches(t, b));
  auto nt = *parse_list_query(d, params({{"not-tags-any", "x"}}));
  EXPECT_FALSE(matches(nt, a));
  EXPECT_TRUE(matches(nt, b));
}

// A value repeated in a query string is kept once (every row is checked against each kept
// value): thousands of repeats in one URL cost what one costs, and answer the same.
TEST(Query, RepeatedValuesAreKeptOnce) {
  auto d = def();
  Params p;
  for (int i = 0; i < 2000; ++i) {
    p.emplace_back("fields", "name");
    p.emplace_back("name", "a");
    p.emplace_back("not-tags-any", "z,z,x");
    p.emplace_back("sort_key", "name");
    p.emplace_back("sort_dir", i % 2 ? "desc" : "asc");
  }
  p.emplace_back("name", "b");
  p.emplace_back("sort_key", "id");
  p.emplace_back("sort_dir", "desc");
  auto q = *parse_list_query(d, p);
  EXPECT_EQ(q.fields, std::vector<std::string>{"name"});
  ASSERT_EQ(q.filters.size(), 1u);
  EXPECT_EQ(q.filters[0].second.size(), 2u);  // a, b
  EXPECT_EQ(q.not_tags_any, (std::vector<std::string>{"z", "x"}));
  ASSERT_EQ(q.sort.size(), 2u);
  EXPECT_EQ(q.sort[0], (std::pair<std::string, bool>{"name", true}));  // the first direction given
  EXPECT_EQ(q.sort[1], (std::pair<std::string, bool>{"id", false}));
  Obj a{{"id", "1"}, {"name", "a"}, {"tags", json::array{"y"}}};
  Obj x{{"id", "2"}, {"name", "b"}, {"tags", json::array{"x"}}};
  EXPECT_TRUE(matches(q, a));
  EXPECT_FALSE(matches(q, x));
}

// A filter value that is not of the attribute's type still finds a stored number or
// boolean by its text, case-insensitively for booleans.
TEST(Query, UnconvertedValuesMatchStoredNumbersAndBooleansAsText) {
  ResourceDef d{"network", "networks", "networks", "NetworkNotFound", "Network {} could not be found.", standard_attrs()};
  d.attrs.push_back({"mtu", kFilter, check::uuid(), std::nullopt});  // never converts a number: compared as text
  d.attrs.push_back({"flag", kFilter, check::uuid(), std::nullopt});
  Obj n{{"id", "1"}, {"mtu", 1450}, {"flag", true}};
  EXPECT_TRUE(matches(*parse_list_query(d, params({{"mtu", "1450"}})), n));
  EXPECT_FALSE(matches(*parse_list_query(d, params({{"mtu", "1450x"}})), n));
  EXPECT_FALSE(matches(*parse_list_query(d, params({{"mtu", "145"}})), n));
  EXPECT_TRUE(matches(*parse_list_query(d, params({{"flag", "TRUE"}})), n));
  EXPECT_FALSE(matches(*parse_list_query(d, params({{"flag", "false"}})), n));
  Obj negative{{"id", "2"}, {"mtu", -5}};
  EXPECT_TRUE(matches(*parse_list_query(d, params({{"mtu", "-5"}})), negative));
}

// Many values of one filter are looked up, not compared one by one: the answer is the one
// each value alone gives, for stored strings, numbers (as text), booleans, null, a missing
// attribute and a list, with "" among the values or not.
TEST(Query, ManyValuesMatchAsEachValueAlone) {
  ResourceDef d{"network", "networks", "networks", "NetworkNotFound", "Network {} could not be found.", standard_attrs()};
  d.attrs.push_back({"mtu", kFilter, check::uuid(), std::nullopt});
  d.attrs.push_back({"flag", kFilter, check::uuid(), std::nullopt});
  d.attrs.push_back({"list", kFilter, check::uuid(), std::nullopt});
  std::vector<Obj> rows = {{{"id", "1"}, {"name", "n7"}, {"mtu", 1450}, {"flag", true}, {"list", json::array{"q", "n3"}}},
                           {{"id", "2"}, {"name", ""}, {"mtu", -5}, {"flag", false}, {"list", json::array{}}},
                           {{"id", "3"}, {"name", nullptr}, {"mtu", nullptr}, {"flag", nullptr}, {"list", nullptr}},
                           {{"id", "4"}},
                           {{"id", "5"}, {"name", "N7"}, {"mtu", 9000}, {"flag", "TRUE"}, {"list", json::array{"n7"}}}};
  for (bool with_empty : {false, true})
    for (const char* key : {"name", "mtu", "flag", "list"}) {
      Params many;
      for (int i = 0; i < 20; ++i) many.emplace_back(key, "n" + std::to_string(i));
      for (const char* v : {"1450", "-5", "TRUE", "false", "q"}) many.emplace_back(key, v);
      if (with_empty) many.emplace_back(key, "");
      auto q = *parse_list_query(d, many);
      ASSERT_TRUE(q.many.at(0).has_value());
      for (const auto& row : rows) {
        bool alone = false;
        for (const auto& p : many) alone = alone || matches(*parse_list_query(d, Params{p}), row);
        EXPECT_EQ(matches(q, row), alone) << key << " row " << row.at("id") << (with_empty ? " with \"\"" : "");
      }
    }
}

// tags-any and not-tags-any with thousands of tags: a row with any of them, and only such
// a row, is found (or left out).
TEST(Query, ManyTagsAnyAreLookedUp) {
  auto d = def();
  std::string many;
  for (int i = 0; i < 3000; ++i) many += (i ? "," : "") + std::string("t") + std::to_string(i);
  Obj with{{"id", "1"}, {"tags", json::array{"x", "t2999"}}};
  Obj without{{"id", "2"}, {"tags", json::array{"x", "t3000", "T1"}}};
  Obj untagged{{"id", "3"}};
  auto any = *parse_list_query(d, params({{"tags-any", many}}));
  EXPECT_TRUE(matches(any, with));
  EXPECT_FALSE(matches(any, without));
  EXPECT_FALSE(matches(any, untagged));
  auto none = *parse_list_query(d, params({{"not-tags-any", many}}));
  EXPECT_FALSE(matches(none, with));
  EXPECT_TRUE(matches(none, without));
  EXPECT_TRUE(matches(none, untagged));
}

TEST(Query, PagesForwardAndBackWithLinks) {
  auto d = def();
  std::vector<Obj> objs;
  for (int i = 0; i < 5; ++i) objs.push_back(Obj{{"id", std::to_string(i)}, {"name", std::string(1, char('e' - i))}});
  std::vector<const Obj*> rows;
  for (auto& o : objs) rows.push_back(&o);
  auto p = params({{"limit", "2"}, {"marker", "1"}});
  auto page = *paginate(*parse_list_query(d, p), rows, "http://h/v2.0/networks", p, d);
  ASSERT_EQ(page.rows.size(), 2u);
  EXPECT_EQ(page.rows[0]->at("id"), json::value("2"));
  ASSERT_EQ(page.links.size(), 2u);
  EXPECT_EQ(page.links[0].as_object().at("href"), json::value("http://h/v2.0/networks?limit=2&marker=3"));
  EXPECT_EQ(page.links[1].as_object().at("href"), json::value("http://h/v2.0/networks?limit=2&marker=2&page_reverse=True"));
  auto rp = params({{"limit", "2"}, {"marker", "1"}, {"page_reverse", "True"}});
  auto back = *paginate(*parse_list_query(d, rp), rows, "http://h", rp, d);
  ASSERT_EQ(back.rows.size(), 1u);
  EXPECT_EQ(back.rows[0]->at("id"), json::value("0"));
  auto sp = params({{"sort_key", "name"}, {"sort_dir", "asc"}});
  auto sorted = *paginate(*parse_list_query(d, sp), rows, "http://h", sp, d);
  EXPECT_EQ(sorted.rows[0]->at("id"), json::value("4"));
  // As Neutron 21 for networks (checked side by side): a marker that names nothing is
  // 404, and a marker without a limit is ignored.
  auto missing = params({{"limit", "2"}, {"marker", "nope"}});
  EXPECT_EQ(paginate(*parse_list_query(d, missing), rows, "http://h", missing, d).error().type, "NetworkNotFound");
  auto unlimited = params({{"marker", "1"}});
  EXPECT_EQ(paginate(*parse_list_query(d, unlimited), rows, "http://h", unlimited, d)->rows.size(), rows.size());
}

}  // namespace nt

namespace nt {
// A list's rows are rendered straight to text: the same JSON as render() then serialize,
// for admins and others, with and without fields, keys that need escaping included.
TEST(Render, TextIsTheRenderedObjectSerialized) {
  auto d = def();
  d.attrs.push_back({"secret", kPost | kAdminOnly, check::any(), std::nullopt});
  d.attrs.push_back({"password", kPost | kInputOnly, check::any(), std::nullopt});
  d.attrs.push_back({"old", kRetired, check::any(), std::nullopt});
  auto stored = json::parse(R"({"id": "n1", "name": "a \"quoted\"\n name", "secret": 1, "password": "p", "old": 2,
                               "tags": ["x", "\u00e9"], "shared": false, "odd\"key": {"k": [1.5, null]}})").as_object();
  Ctx admin{"p1", true};
  Ctx member{"p1", false};
  for (const Ctx* ctx : {&admin, &member})
    for (const std::vector<std::string>& fields : {std::vector<std::string>{}, {"name", "secret", "odd\"key"}}) {
      std::string text;
      render_text(text, d, stored, *ctx, fields);
      EXPECT_EQ(text, json::serialize(render(d, stored, *ctx, fields)));
      EXPECT_EQ(json::parse(text).as_object().contains("secret"), ctx->is_admin);
    }
  std::string all;
  render_text(all, d, stored, admin);
  EXPECT_FALSE(json::parse(all).as_object().contains("password"));
  EXPECT_FALSE(json::parse(all).as_object().contains("old"));
  EXPECT_TRUE(json::parse(all).as_object().contains("odd\"key"));

  // A decoration's attributes replace the object's own and are filtered the same way.
  json::object added{{"name", "decorated"}, {"secret", 3}, {"details", {{"status", "ACTIVE"}}}};
  for (const Ctx* ctx : {&admin, &member}) {
    json::object merged = stored;
    for (const auto& kv : added) merged[kv.key()] = kv.value();
    std::string text;
    render_text(text, d, stored, *ctx, {}, &added);
    EXPECT_EQ(json::parse(text), json::value(render(d, merged, *ctx))) << text;
  }
}
}  // namespace nt
