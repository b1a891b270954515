#include "core/validate.h"
#include "common/text.h"

#include <algorithm>
#include <set>

#include "common/net.h"
#include "common/uuid.h"

namespace nt::check {
namespace json = boost::json;

namespace {
nt::unexpected<Error> reason(std::string text) { return bad_request(std::move(text)); }
// A value that could not be converted (Neutron's convert_to functions raise InvalidInput:
// "Invalid input for operation: <reason>." rather than naming the attribute).
nt::unexpected<Error> not_convertible(std::string text) { return fail(Errc::invalid_argument, "InvalidInput", std::move(text)); }
std::string lower(std::string s) { return ascii_lower(std::move(s)); }
}  // namespace

Status subnet_text(const Value& item) {
  std::string text = item.is_string() ? std::string(item.get_string()) : show(item);
  auto slash = text.find('/');
  auto c = item.is_string() && text.find_first_of(" \t\n\r") == std::string::npos ? Cidr::parse(text)
                                                                                : Result<Cidr>(bad_request(""));
  if (!c) return bad_request("'" + text + "' is not a valid IP subnet");
  std::string canonical;
  if (slash != std::string::npos)
    if (auto host = IpAddress::parse(text.substr(0, slash))) canonical = host->str() + "/" + std::to_string(c->prefix);
  if (slash == std::string::npos || (c->network.version == 4 && canonical != text))
    return bad_request("'" + text + "' isn't a recognized IP subnet cidr, '" + c->str() + "' is recommended");
  return {};
}

Check subnet_list() {
  return [](const Value& v) -> Result<Value> {
    if (!v.is_array()) return bad_request("'" + show(v) + "' is not a list");
    std::vector<std::string> seen, dups;
    for (const auto& item : v.get_array()) {
      auto key = show(item);
      if (std::find(seen.begin(), seen.end(), key) == seen.end()) seen.push_back(key);
      else if (std::find(dups.begin(), dups.end(), key) == dups.end()) dups.push_back(key);
    }
    if (!dups.empty()) {
      std::string list;
      for (const auto& d : dups) list += (list.empty() ? "" : ", ") + d;
      return bad_request("Duplicate items in the list: '" + list + "'");
    }
    for (const auto& item : v.get_array()) NT_TRY(subnet_text(item));
    return v;
  };
}

Error attribute_error(const std::string& name, const Error& e) {
  if (e.type == "InvalidInput") return invalid_input(e.message).error();
  return bad_request("Invalid input for " + name + ". Reason: " + e.message + ".").error();
}

std::string show(const Value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "None";
  if (v.is_bool()) return v.get_bool() ? "True" : "False";
  return json::serialize(v);
}

Result<bool> to_bool(const Value& v) {
  if (v.is_bool()) return v.get_bool();
  if (v.is_int64() && (v.get_int64() == 0 || v.get_int64() == 1)) return v.get_int64() == 1;
  if (v.is_string()) {
    auto s = lower(std::string(v.get_string()));
    if (s == "true" || s == "1" || s == "t" || s == "yes" || s == "y" || s == "on") return true;
    if (s == "false" || s == "0" || s == "f" || s == "no" || s == "n" || s == "off") return false;
  }
  return not_convertible("'" + show(v) + "' cannot be converted to boolean");
}

Check string(size_t max_len) {
  return [max_len](const Value& v) -> Result<Value> {
    if (!v.is_string()) return reason("'" + show(v) + "' is not a valid string");
    if (v.get_string().size() > max_len)
      return reason("'" + show(v) + "' exceeds maximum length of " + std::to_string(max_len));
    return v;
  };
}
Check name() { return string(255); }
Check nullable_string(size_t max_len) {
  auto s = string(max_len);
  return [s](const Value& v) -> Result<Value> { return v.is_null() ? Result<Value>(v) : s(v); };
}
Check boolean() {
  return [](const Value& v) -> Result<Value> {
    NT_ASSIGN(bool b, to_bool(v));
    return Value(b);
  };
}
Check uuid() {
  return [](const Value& v) -> Result<Value> {
    if (!v.is_string() || !is_uuid(v.get_string())) return reason("'" + show(v) + "' is not a valid UUID");
    return Value(lower(std::string(v.get_string())));
  };
}
Check nullable_uuid() {
  auto u = uuid();
  return [u](const Value& v) -> Result<Value> { return v.is_null() ? Result<Value>(v) : u(v); };
}
Check integer(int64_t min, int64_t max) {
  return [min, max](const Value& v) -> Result<Value> {
    int64_t n = 0;
    if (v.is_int64()) n = v.get_int64();
    else if (v.is_uint64() && v.get_uint64() <= INT64_MAX) n = static_cast<int64_t>(v.get_uint64());
    else if (v.is_string()) {
      auto parsed = parse_int64(std::string_view(v.get_string()));
      if (!parsed) return not_convertible("'" + show(v) + "' is not an integer");
      n = *parsed;
    } else {
      return not_convertible("'" + show(v) + "' is not an integer");
    }
    if (n < min) return reason(min == 0 ? "'" + show(v) + "' should be non-negative"
                                        : "'" + show(v) + "' is too small - must be at least '" + std::to_string(min) + "'");
    if (n > max) return reason("'" + show(v) + "' is too large - must be no larger than '" + std::to_string(max) + "'");
    return Value(n);
  };
}
Check one_of(std::vector<std::string> values, bool nullable) {
  return [values, nullable](const Value& v) -> Result<Value> {
    if (nullable && v.is_null()) return v;
    if (v.is_string())
      for (const auto& x : values)
        if (x == v.get_string()) return v;
    std::string list;
    for (const auto& x : values) list += (list.empty() ? "" : ", ") + ("'" + x + "'");
    return reason("'" + show(v) + "' is not in [" + list + "]");
  };
}
Check ip_address(bool nullable) {
  return [nullable](const Value& v) -> Result<Value> {
    if (nullable && v.is_null()) return v;
    if (!v.is_string()) return reason("'" + show(v) + "' is not a valid IP address");
    auto ip = IpAddress::parse(v.get_string());
    if (!ip) return reason("'" + show(v) + "' is not a valid IP address");
    return Value(ip->str());
  };
}
Check cidr() {
  return [](const Value& v) -> Result<Value> {
    if (!v.is_string()) return reason("'" + show(v) + "' is not a valid IP subnet");
    auto c = Cidr::parse(v.get_string());
    if (!c) return reason("'" + show(v) + "' is not a valid IP subnet");
    return Value(c->str());
  };
}
Check mac_address() {
  return [](const Value& v) -> Result<Value> {
    if (!v.is_string()) return reason("'" + show(v) + "' is not a valid MAC address");
    auto m = Mac::parse(v.get_string());
    if (!m || m->value == 0 || m->value == 0xffffffffffffULL)
      return reason("'" + show(v) + "' is not a valid MAC address");
    return Value(m->str());
  };
}
Check dict(bool nullable) {
  return [nullable](const Value& v) -> Result<Value> {
    if (nullable && v.is_null()) return v;
    if (!v.is_object()) return reason("'" + show(v) + "' is not a dictionary");
    return v;
  };
}
Check list_of(Check item) {
  return [item](const Value& v) -> Result<Value> {
    if (!v.is_array()) return reason("'" + show(v) + "' is not a list");
    json::array out;
    for (const auto& x : v.as_array()) {
      NT_ASSIGN(auto converted, item(x));
      out.push_back(std::move(converted));
    }
    return Value(std::move(out));
  };
}
Check uuid_list() { return list_of(uuid()); }
Check string_list(size_t max_len) { return list_of(string(max_len)); }
Check any() {
  return [](const Value& v) -> Result<Value> { return v; };
}

Check nameservers() {
  return [](const Value& v) -> Result<Value> {
    if (!v.is_array()) return reason("'" + show(v) + "' is not a list");
    std::set<std::string> seen;
    json::array out;
    for (const auto& x : v.as_array()) {
      auto ip = x.is_string() ? IpAddress::parse(x.get_string()) : Result<IpAddress>(bad_request(""));
      if (!ip) return reason("'" + show(x) + "' is not a valid nameserver. '" + show(x) + "' is not a valid IP address");
      if (!seen.insert(ip->str()).second) return reason("Duplicate nameserver '" + show(x) + "'");
      out.push_back(Value(ip->str()));
    }
    return Value(std::move(out));
  };
}

Check host_routes() {
  return [](const Value& v) -> Result<Value> {
    if (!v.is_array()) return reason("'" + show(v) + "' is not a list");
    std::set<std::string> seen;
    json::array out;
    for (const auto& x : v.as_array()) {
      const auto* o = x.if_object();
      const Value* d = o ? o->if_contains("destination") : nullptr;
      const Value* n = o ? o->if_contains("nexthop") : nullptr;
      if (!d || !n || o->size() != 2 || !d->is_string() || !n->is_string())
        return reason("Invalid data format for hostroute: '" + show(x) + "'");
      auto dest = Cidr::parse(d->get_string());
      auto hop = IpAddress::parse(n->get_string());
      if (!dest) return reason("'" + show(*d) + "' is not a valid IP subnet");
      if (!hop) return reason("'" + show(*n) + "' is not a valid IP address");
      auto key = dest->str() + "|" + hop->str();
      if (!seen.insert(key).second) return reason("Duplicate hostroute '" + show(x) + "'");
      out.push_back(json::object{{"destination", dest->str()}, {"nexthop", hop->str()}});
    }
    return Value(std::move(out));
  };
}

}  // namespace nt::check
