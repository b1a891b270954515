#include "core/attr_index.h"

#include <algorithm>
#include <array>

namespace nt {
namespace json = boost::json;

namespace {

struct Covered {
  std::string_view kind;
  std::array<std::string_view, 5> attrs;  // "" = unused
};
// Horizon lists a project's floating IPs by tenant_id; a port's project is not indexed
// (Nova names its device_id too, which narrows far more).
constexpr std::array<Covered, 2> kCovered = {{  // AttrIndex::kKinds, kAttrsPerKind
    {"ports", {"device_id", "device_owner", "network_id", "binding:host_id", ""}},
    {"floatingips", {"port_id", "fixed_ip_address", "router_id", "tenant_id", "project_id"}},
}};

// The filter's values as index keys: only non-empty strings (an empty string also matches
// null or missing attributes, which the index does not list).
std::optional<std::vector<std::string>> string_values(const std::vector<json::value>& wants) {
  std::vector<std::string> out;
  for (const auto& w : wants) {
    if (!w.is_string() || w.get_string().empty()) return std::nullopt;
    out.emplace_back(w.get_string());
  }
  if (out.empty()) return std::nullopt;
  return out;
}

void sort_unique(std::vector<std::string_view>& ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

}  // namespace

bool AttrIndex::covers(std::string_view kind, std::string_view attr) {
  for (const auto& c : kCovered)
    if (c.kind == kind) return !attr.empty() && std::find(c.attrs.begin(), c.attrs.end(), attr) != c.attrs.end();
  return false;
}

// fn(column, value) for each column of `kind` whose attribute `row` holds as a non-null value.
template <class Fn>
void AttrIndex::each_value(const std::string& kind, const Row& row, Fn&& fn) {
  for (size_t k = 0; k < kCovered.size(); ++k) {
    if (kCovered[k].kind != kind) continue;
    for (size_t a = 0; a < kAttrsPerKind; ++a) {
      auto attr = kCovered[k].attrs[a];
      const json::value* v = attr.empty() ? nullptr : row.second.if_contains(attr);
      if (v && !v->is_null()) fn(columns_[k][a], *v);
    }
  }
}

void AttrIndex::add(const std::string& kind, const Row& row) {
  each_value(kind, row, [&](Column& col, const json::value& v) {
    if (v.is_string()) col.by_value[std::string(v.get_string())].insert(&row);
    else col.odd.insert(&row);
  });
}

void AttrIndex::remove(const std::string& kind, const Row& row) {
  each_value(kind, row, [&](Column& col, const json::value& v) {
    if (!v.is_string()) return void(col.odd.erase(&row));
    auto bucket = col.by_value.find(std::string(v.get_string()));
    if (bucket == col.by_value.end()) return;
    bucket->second.erase(&row);
    if (bucket->second.empty()) col.by_value.erase(bucket);
  });
}

const AttrIndex::Column* AttrIndex::column(const std::string& kind, const std::string& attr) const {
  for (size_t k = 0; k < kCovered.size(); ++k) {
    if (kCovered[k].kind != kind || attr.empty()) continue;
    for (size_t a = 0; a < kAttrsPerKind; ++a)
      if (kCovered[k].attrs[a] == attr) return &columns_[k][a];
  }
  return nullptr;
}

std::optional<size_t> AttrIndex::count(const std::string& kind, const std::string& attr,
                                       const std::vector<std::string>& values) const {
  const Column* col = column(kind, attr);
  if (!col) return std::nullopt;
  size_t n = col->odd.size();
  for (const auto& v : values)
    if (auto it = col->by_value.find(v); it != col->by_value.end()) n += it->second.size();
  return n;
}

std::vector<const AttrIndex::Row*> AttrIndex::rows(const std::string& kind, const std::string& attr,
                                                   const std::vector<std::string>& values) const {
  std::vector<const Row*> out;
  const Column* col = column(kind, attr);
  if (!col) return out;
  out.assign(col->odd.begin(), col->odd.end());
  for (const auto& v : values)
    if (auto it = col->by_value.find(v); it != col->by_value.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  if (values.size() > 1 || !col->odd.empty()) {
    std::sort(out.begin(), out.end(), ById{});
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  return out;
}

const AttrIndex::Rows* AttrIndex::bucket(const std::string& kind, const std::string& attr, const std::string& value) const {
  static const Rows none;
  const Column* col = column(kind, attr);
  if (!col || !col->odd.empty()) return nullptr;
  auto it = col->by_value.find(value);
  return it == col->by_value.end() ? &none : &it->second;
}

std::optional<NarrowedRows> narrow(const Table& table, const AttrIndex& index, const std::string& kind,
                                   const EqualityFilters& filters) {
  // The filter naming the fewest rows: counted first, listed once.
  const std::vector<json::value>* best_ids = nullptr;
  std::optional<std::pair<std::string, std::vector<std::string>>> best_attr;
  size_t best = SIZE_MAX;
  for (const auto& [key, wants] : filters) {
    auto values = string_values(wants);
    if (!values) continue;
    auto n = key == "id" ? std::optional<size_t>(values->size()) : index.count(kind, key, *values);
    if (!n || *n >= best) continue;
    best = *n;
    if (key == "id") best_ids = &wants, best_attr.reset();
    else best_ids = nullptr, best_attr.emplace(key, std::move(*values));
  }
  if (best == SIZE_MAX) return std::nullopt;
  NarrowedRows out;
  if (best_attr && best_attr->second.size() == 1)
    if ((out.bucket = index.bucket(kind, best_attr->first, best_attr->second[0]))) return out;
  if (best_attr) {
    for (const auto* row : index.rows(kind, best_attr->first, best_attr->second)) out.rows.push_back(&row->second);
    return out;
  }
  std::vector<std::string_view> ids;
  for (const auto& w : *best_ids) ids.push_back(w.get_string());
  sort_unique(ids);
  for (auto id : ids)
    if (auto it = table.find(std::string(id)); it != table.end()) out.rows.push_back(&it->second);
  return out;
}

std::optional<std::vector<const Obj*>> narrowed_rows(const Table& table, const AttrIndex& index, const std::string& kind,
                                                     const EqualityFilters& filters) {
  auto narrowed = narrow(table, index, kind, filters);
  if (!narrowed) return std::nullopt;
  if (!narrowed->bucket) return std::move(narrowed->rows);
  std::vector<const Obj*> out;
  out.reserve(narrowed->bucket->size());
  for (const auto* row : *narrowed->bucket) out.push_back(&row->second);
  return out;
}

}  // namespace nt
