#include "policy/neutron_tables.h"

#include <map>
#include <string>

#include <boost/json.hpp>

namespace nt::policy {
namespace {

constexpr DefaultRule kDefaultRules[] = {
#include "policy/neutron_defaults.inc"
};

struct ConvertedAttribute {
  std::string_view collection;
  std::string_view attribute;
  Conversion conversion;
};

constexpr ConvertedAttribute kConvertedAttributes[] = {
#define NT_POLICY_CONVERTED_ATTRIBUTE(collection, attribute, conversion) \
  {collection, attribute, Conversion::conversion},
#include "policy/neutron_attributes.inc"
#undef NT_POLICY_CONVERTED_ATTRIBUTE
};

struct EnforcedAttributeRow {
  std::string_view collection;
  std::string_view attribute;
  std::string_view default_json;  // empty: none
  std::string_view sub_attributes;  // comma-separated
};

constexpr EnforcedAttributeRow kEnforcedAttributes[] = {
#define NT_POLICY_ENFORCED_ATTRIBUTE(collection, attribute, default_json, sub_attributes) \
  {collection, attribute, default_json, sub_attributes},
#include "policy/neutron_attributes.inc"
#undef NT_POLICY_ENFORCED_ATTRIBUTE
};

std::vector<std::string_view> split_commas(std::string_view text) {
  std::vector<std::string_view> parts;
  while (!text.empty()) {
    size_t comma = text.find(',');
    parts.push_back(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return parts;
}

using EnforcedByCollection = std::map<std::string_view, std::vector<EnforcedAttribute>, std::less<>>;

EnforcedByCollection build_enforced() {
  EnforcedByCollection by_collection;
  for (const auto& row : kEnforcedAttributes) {
    EnforcedAttribute attr;
    attr.name = row.attribute;
    attr.has_default = !row.default_json.empty();
    if (attr.has_default) attr.default_value = boost::json::parse(row.default_json);
    attr.sub_attributes = split_commas(row.sub_attributes);
    by_collection[row.collection].push_back(std::move(attr));
  }
  return by_collection;
}

}  // namespace

std::span<const DefaultRule> neutron_default_rules() { return kDefaultRules; }

Conversion field_conversion(std::string_view collection, std::string_view attribute) {
  for (const auto& row : kConvertedAttributes)
    if (row.collection == collection && row.attribute == attribute) return row.conversion;
  return Conversion::none;
}

std::span<const EnforcedAttribute> enforced_attributes(std::string_view collection) {
  static const EnforcedByCollection by_collection = build_enforced();
  auto it = by_collection.find(collection);
  if (it == by_collection.end()) return {};
  return it->second;
}

}  // namespace nt::policy
