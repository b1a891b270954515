#include "api/query.h"
#include "common/text.h"

#include <boost/url.hpp>

#include <algorithm>
#include <charconv>
#include <set>

#include "common/clock.h"

namespace nt {
namespace json = boost::json;

namespace {



std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// A filter value that did not convert (a string) against a stored number or boolean: as
// its text, case-insensitively ("True" finds true). Called per row and value: no allocation.
bool value_equal(const json::value& have, const json::value& want) {
  if (have == want) return true;
  if (!want.is_string()) return false;
  std::string_view w = want.get_string();
  if (w.empty()) return have.is_null();
  if (have.is_bool()) return equal_ignoring_case(w, have.get_bool() ? "true" : "false");
  if (have.is_int64()) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, have.get_int64()).ptr;
    return w == std::string_view(digits, static_cast<size_t>(end - digits));
  }
  return false;
}

// value_equal against many values at once: a stored string equals a string value only as
// is, and a stored number its digits (one lookup each); null equals no non-empty string;
// the other values (numbers, booleans, "") are compared as usual. A stored boolean, which
// compares case-insensitively, goes through every value (a boolean filter has few).
bool many_match(const json::value& have, const std::vector<json::value>& wants, const ManyValues& many) {
  auto other = [&] { return std::any_of(many.others.begin(), many.others.end(), [&](const auto& w) { return value_equal(have, w); }); };
  if (have.is_string()) return many.strings.contains(std::string_view(have.get_string())) || other();
  if (have.is_int64()) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, have.get_int64()).ptr;
    return many.strings.contains(std::string_view(digits, static_cast<size_t>(end - digits))) || other();
  }
  if (have.is_null()) return other();
  return std::any_of(wants.begin(), wants.end(), [&](const auto& w) { return value_equal(have, w); });
}

bool filter_match(const json::value* have, const std::vector<json::value>& wants, const std::optional<ManyValues>& many) {
  if (many && !have)
    return std::any_of(many->others.begin(), many->others.end(), [](const auto& w) { return w.is_string(); });  // ""
  if (many) {
    if (!have->is_array()) return many_match(*have, wants, *many);
    const auto& items = have->get_array();
    return std::any_of(items.begin(), items.end(), [&](const auto& e) { return many_match(e, wants, *many); });
  }
  for (const auto& w : wants) {
    if (!have) {
      if (w.is_string() && w.get_string().empty()) return true;
      continue;
    }
    if (have->is_array()) {
      for (const auto& e : have->as_array())
        if (value_equal(e, w)) return true;
    } else if (value_equal(*have, w)) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    auto end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool has_tag(const Obj& o, const std::string& tag) {
  auto* t = o.if_contains("tags");
  if (!t || !t->is_array()) return false;
  for (const auto& x : t->as_array())
    if (x.is_string() && x.get_string() == tag) return true;
  return false;
}

bool has_any_tag(const Obj& o, const StringSet& tags) {
  auto* t = o.if_contains("tags");
  if (!t || !t->is_array()) return false;
  const auto& have = t->get_array();
  return std::any_of(have.begin(), have.end(), [&](const auto& x) { return x.is_string() && tags.contains(std::string_view(x.get_string())); });
}

int type_rank(const json::value& v) {
  if (v.is_null()) return 0;
  if (v.is_bool()) return 1;
  if (v.is_number()) return 2;
  if (v.is_string()) return 3;
  return 4;
}

int compare(const json::value* a, const json::value* b) {
  static const json::value null;
  if (!a) a = &null;
  if (!b) b = &null;
  int ra = type_rank(*a), rb = type_rank(*b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (a->is_bool()) return int(a->get_bool()) - int(b->get_bool());
  if (a->is_number()) {
    double x = a->to_number<double>(), y = b->to_number<double>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a->is_string()) return a->get_string().compare(b->get_string()) < 0 ? -1 : a->get_string() == b->get_string() ? 0 : 1;
  return 0;
}

std::string encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += '%', out += hex[c >> 4], out += hex[c & 15];
  }
  return out;
}

std::string link(const std::string& base, const Params& params, const std::string& marker, bool reverse) {
  std::string q;
  for (const auto& [k, v] : params) {
    if (k == "marker" || k == "page_reverse") continue;
    q += (q.empty() ? "" : "&") + encode(k) + "=" + encode(v);
  }
  if (!marker.empty()) q += (q.empty() ? "" : "&") + std::string("marker=") + marker;
  if (reverse) q += (q.empty() ? "" : "&") + std::string("page_reverse=True");
  return base + (q.empty() ? "" : "?" + q);
}

}  // namespace

Params parse_query_string(const std::string& target, std::string* path) {
  Params out;
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) {
    *path = target.substr(0, target.find('?'));
    return out;
  }
  *path = std::string(parsed->path());
  if (path->find('%') != std::string::npos) *path = parsed->encoded_path().decode();
  for (auto p : parsed->params()) out.emplace_back(std::string(p.key), std::string(p.value));
  return out;
}

Result<ListQuery> parse_list_query(const ResourceDef& def, const Params& params,
                                   const std::vector<std::string>& special_filters, int64_t max_limit) {
  ListQuery q;
  std::vector<std::string> sort_keys, sort_dirs;
  bool has_project = false, has_tenant = false;
  // A value given twice (a field, a filter value, a tag) means what it means once, and is
  // kept once: every row is checked against each kept value, and a query string may hold
  // thousands (found by an adversarial probe: 0.3-1.8 s per request, under the read lock).
  std::set<std::pair<std::string, std::string>> seen;
  auto first_time = [&seen](const std::string& key, const std::string& value) { return seen.emplace(key, value).second; };
  for (const auto& [key, value] : params) {
    if (key == "fields") {
      if (!value.empty() && first_time(key, value)) q.fields.push_back(value);
    } else if (key == "sort_key") {
      sort_keys.push_back(value);
    } else if (key == "sort_dir") {
      sort_dirs.push_back(value);
    } else if (key == "limit") {
      int64_t n = parse_int64(value).value_or(-1);
      if (n < 0)
        return fail(Errc::invalid_argument, "BadRequest",
                    "Bad limit request: Limit must be an integer 0 or greater and not '" + value + "'.");
      q.limit = n;
    } else if (key == "marker") {
      q.marker = value;
    } else if (key == "page_reverse") {
      q.page_reverse = lower(value) == "true";
    } else if ((key == "tags" || key == "tags-any" || key == "not-tags" || key == "not-tags-any") && def.attr("tags")) {
      auto& dst = key == "tags" ? q.tags : key == "tags-any" ? q.tags_any : key == "not-tags" ? q.not_tags : q.not_tags_any;
      for (auto& t : split_commas(value))
        if (first_time(key, t)) dst.push_back(t);
    } else if (key == "changed_since") {
      if (!parse_iso_utc(value))
        return invalid_input("The given timestamp '" + value + "' is not valid, use the format YYYY-MM-DDTHH:MM:SSZ");
      q.changed_since = iso_utc(*parse_iso_utc(value));
    } else if (std::find(special_filters.begin(), special_filters.end(), key) != special_filters.end()) {
      // A boolean attribute's value converts strictly here too (Neutron's convert_to).
      const Attr* a = def.attr(key);
      auto as_bool = a ? a->check(json::value(true)) : Result<json::value>(json::value(nullptr));
      if (as_bool && as_bool->is_bool() && !a->check(json::value(value)))
        return invalid_input("'" + value + "' cannot be converted to boolean");
      if (first_time(key, value)) q.special.emplace_back(key, value);
    } else {
      const Attr* a = def.attr(key);
      if (!a || !(a->flags & kFilter)) return bad_request("['" + key + "'] is invalid attribute for filtering");
      has_project |= key == "project_id";
      has_tenant |= key == "tenant_id";
      auto converted = a->check(json::value(value));
      // Boolean attributes convert their filter values strictly (Neutron's convert_to).
      auto as_bool = a->check(json::value(true));
      if (!converted && as_bool && as_bool->is_bool())
        return invalid_input("'" + value + "' cannot be converted to boolean");
      if (!first_time(key, value)) continue;
      json::value v = converted ? *converted : json::value(value);
      const std::string& name = key;
      auto it = std::find_if(q.filters.begin(), q.filters.end(), [&](auto& f) { return f.first == name; });
      if (it == q.filters.end()) q.filters.push_back({key, {std::move(v)}});
      else it->second.push_back(std::move(v));
    }
  }
  if (has_project && has_tenant)
    return fail(Errc::invalid_argument, "TenantIdProjectIdFilterConflict",
                "Both tenant_id and project_id passed as filters.");
  if (sort_keys.size() != sort_dirs.size()) return bad_request("The number of sort_keys and sort_dirs must be same");
  for (size_t i = 0; i < sort_keys.size(); ++i) {
    const Attr* a = def.attr(sort_keys[i]);
    if (!a || !(a->flags & kSort)) return bad_request("['" + sort_keys[i] + "'] is invalid attribute for sort_keys");
    if (sort_dirs[i] != "asc" && sort_dirs[i] != "desc")
      return bad_request("['" + sort_dirs[i] + "'] is invalid value for sort_dirs, valid value is 'asc' and 'desc'");
    // A key sorted on already decides nothing more (its ties stay ties).
    if (std::none_of(q.sort.begin(), q.sort.end(), [&](const auto& k) { return k.first == sort_keys[i]; }))
      q.sort.emplace_back(sort_keys[i], sort_dirs[i] == "asc");
  }
  if (max_limit > 0 && (q.limit == 0 || q.limit > max_limit)) q.limit = max_limit;
  // Special filters grouped by key, in the order given within a key (special_match_all).
  std::stable_sort(q.special.begin(), q.special.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  q.tags_any_set.insert(q.tags_any.begin(), q.tags_any.end());
  q.not_tags_any_set.insert(q.not_tags_any.begin(), q.not_tags_any.end());
  constexpr size_t kFew = 8;  // below this, comparing each value is as fast as a lookup
  for (const auto& [key, wants] : q.filters) {
    auto& many = q.many.emplace_back();
    if (wants.size() <= kFew) continue;
    many.emplace();
    for (const auto& w : wants)
      if (w.is_string() && !w.get_string().empty()) many->strings.emplace(w.get_string());
      else many->others.push_back(w);
  }
  return q;
}

bool matches(const ListQuery& q, const Obj& obj) {
  static const std::optional<ManyValues> few;
  for (size_t i = 0; i < q.filters.size(); ++i)
    if (!filter_match(obj.if_contains(q.filters[i].first), q.filters[i].second, i < q.many.size() ? q.many[i] : few)) return false;
  for (const auto& t : q.tags)
    if (!has_tag(obj, t)) return false;
  if (!q.tags_any.empty() && !has_any_tag(obj, q.tags_any_set)) return false;
  if (!q.not_tags.empty() && std::all_of(q.not_tags.begin(), q.not_tags.end(), [&](auto& t) { return has_tag(obj, t); }))
    return false;
  if (!q.not_tags_any.empty() && has_any_tag(obj, q.not_tags_any_set)) return false;
  if (q.changed_since && jget::str(obj.if_contains("updated_at")) < *q.changed_since) return false;
  return true;
}

Result<Page> paginate(const ListQuery& q, std::vector<const Obj*> rows, const std::string& base_url,
                      const Params& params, const ResourceDef& def) {
  // Rows come in id order: sorting by id alone is that order or its reverse.
  bool by_id_only = q.sort.size() == 1 && q.sort[0].first == "id";
  if (by_id_only && !q.sort[0].second) std::reverse(rows.begin(), rows.end());
  if (!q.sort.empty() && !by_id_only) {
    std::stable_sort(rows.begin(), rows.end(), [&](const Obj* a, const Obj* b) {
      for (const auto& [key, asc] : q.sort) {
        int c = compare(a->if_contains(key), b->if_contains(key));
        if (c != 0) return asc ? c < 0 : c > 0;
      }
      return jget::str(a->if_contains("id")) < jget::str(b->if_contains("id"));
    });
  }
  Page page;
  // As Neutron: a marker without a limit is ignored.
  if (q.limit == 0) {
    page.rows = std::move(rows);
    return page;
  }
  size_t begin = 0, end = rows.size();
  auto marked = std::find_if(rows.begin(), rows.end(), [&](const Obj* o) { return jget::str(o->if_contains("id")) == q.marker; });
  if (!q.marker.empty() && marked == rows.end()) return not_found(def.not_found, def.missing(q.marker));
  if (!q.marker.empty()) {
    size_t idx = static_cast<size_t>(marked - rows.begin());
    if (q.page_reverse) end = idx;
    else begin = idx + 1;
  }
  size_t limit = q.limit > 0 ? static_cast<size_t>(q.limit) : rows.size();
  if (q.page_reverse) begin = end > limit ? end - limit : 0;
  else end = std::min(rows.size(), begin + limit);
  page.rows.assign(rows.begin() + static_cast<long>(begin), rows.begin() + static_cast<long>(end));
  if (q.limit > 0) {
    size_t n = page.rows.size();
    auto id_at = [&](size_t i) { return jget::str(page.rows[i]->if_contains("id")); };
    if (!(n < limit && !q.page_reverse))
      page.links.push_back(json::object{{"rel", "next"}, {"href", link(base_url, params, n ? id_at(n - 1) : "", false)}});
    if (!(n < limit && q.page_reverse))
      page.links.push_back(json::object{{"rel", "previous"}, {"href", link(base_url, params, n ? id_at(0) : "", true)}});
  }
  return page;
}


}  // namespace nt
