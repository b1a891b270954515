// List queries as Neutron parses them: filters (repeated key = OR, different keys = AND,
// values converted as the attribute's type), fields=, sort_key/sort_dir, limit/marker/
// page_reverse with <collection>_links, tag filters and changed_since.
#pragma once
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "api/attributes.h"

namespace nt {

using Params = std::vector<std::pair<std::string, std::string>>;

// A filter with many values (one query string holds up to ~1,500 ids): its non-empty
// strings in a hash set and the rest apart, so that matching a row costs one lookup, not
// one comparison per value (1,150 names over 50,000 ports took 0.35-0.59 s a request).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

struct ManyValues {
  StringSet strings;
  std::vector<boost::json::value> others;  // numbers, booleans, "" (value_equal's cases)
};

struct ListQuery {
  std::vector<std::pair<std::string, std::vector<boost::json::value>>> filters;
  std::vector<std::optional<ManyValues>> many;  // per filter, for those with many values
  std::vector<std::string> fields;
  std::vector<std::pair<std::string, bool>> sort;  // key, ascending
  int64_t limit = 0;                                // 0 = no paging
  std::string marker;
  bool page_reverse = false;
  std::vector<std::string> tags, tags_any, not_tags, not_tags_any;
  // tags-any and not-tags-any as sets: a row's few tags are looked up in them (a query
  // string holds thousands of tags; each compared with each row's took seconds).
  StringSet tags_any_set, not_tags_any_set;
  std::optional<std::string> changed_since;
  // Filters on keys other attributes handle (fixed_ips=ip_address=..): raw values.
  std::vector<std::pair<std::string, std::string>> special;
};

Result<ListQuery> parse_list_query(const ResourceDef& def, const Params& params,
                                   const std::vector<std::string>& special_filters = {},
                                   int64_t max_limit = -1);
bool matches(const ListQuery& q, const Obj& obj);
// Sorts and pages `rows` (already filtered and visible, in id order); returns the page and
// the links.
struct Page {
  std::vector<const Obj*> rows;
  boost::json::array links;
};
Result<Page> paginate(const ListQuery& q, std::vector<const Obj*> rows, const std::string& base_url,
                      const Params& params, const ResourceDef& def);

Params parse_query_string(const std::string& target, std::string* path);

}  // namespace nt
