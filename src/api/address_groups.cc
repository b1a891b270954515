// Address groups (address-group): a project's named list of CIDRs that security group
// rules name as their remote end (remote_address_group_id, security_groups.cc). As in
// Neutron 21: addresses normalised as netaddr prints a network (host bits dropped),
// duplicates after normalising kept once, edited only by the add_addresses and
// remove_addresses actions (AddressesAlreadyExist, AddressesNotFound), and a group in use
// by any rule cannot be deleted (AddressGroupInUse). Not a standard-attribute resource in
// Neutron 21 (its model names the alias, not the collection): no tags, and timestamps,
// revision and `shared` are kept but shown only in the actions' answers, as Neutron shows
// them there. `shared` follows the group's "*" RBAC policy (rbac-address-group, rbac.cc).
#include <optional>

#include "api/handlers.h"
#include "common/text.h"

namespace nt {
namespace json = boost::json;

namespace {

const char* const kHidden[] = {"shared", "created_at", "updated_at", "revision_number"};

// convert_none_to_empty_list, then type:subnet_list.
check::Check address_list() {
  auto list = check::subnet_list();
  return [list](const json::value& v) -> Result<json::value> {
    return v.is_null() ? json::value(json::array{}) : list(v);
  };
}

ResourceDef group_def() {
  ResourceDef d{"address_group", "address_groups", "address-groups", "AddressGroupNotFound",
                "Address group {} could not be found.", identity_attrs()};
  auto& a = d.attrs;
  a.push_back({"name", kPost | kPut | kFilter | kSort, check::name(), json::value("")});
  a.push_back({"description", kPost | kPut | kFilter | kSort, check::string(1024), json::value("")});
  a.push_back({"addresses", kPost, address_list(), json::value(json::array{})});
  for (const char* hidden : kHidden) a.push_back({hidden, kInputOnly, check::any(), std::nullopt});
  return d;
}

// One IPv4 address as netaddr reads it when it is not in dotted-quad form: 1 to 4 decimal
// parts (leading zeros allowed), the missing ones zero ("10.1" is 10.1.0.0).
std::optional<IpAddress> partial_ipv4(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    auto dot = text.find('.', start);
    parts.push_back(text.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (parts.size() > 4) return std::nullopt;
  u128 value = 0;
  for (size_t i = 0; i < 4; ++i) {
    int64_t octet = 0;
    if (i < parts.size()) {
      auto n = parts[i].size() <= 3 ? parse_int64(parts[i]) : std::nullopt;
      if (!n || *n < 0 || *n > 255 || !std::isdigit(static_cast<unsigned char>(parts[i][0]))) return std::nullopt;
      octet = *n;
    }
    value = (value << 8) | static_cast<u128>(octet);
  }
  return IpAddress{4, value};
}

// A prefix length, or for IPv4 a netmask ("255.255.255.0").
std::optional<int> prefix_of(const std::string& text, int version) {
  int bits = version == 4 ? 32 : 128;
  if (auto n = parse_int64(text); n && !text.empty() && std::isdigit(static_cast<unsigned char>(text[0])))
    return *n >= 0 && *n <= bits ? std::optional<int>(static_cast<int>(*n)) : std::nullopt;
  auto mask = version == 4 ? IpAddress::parse(text) : Result<IpAddress>(bad_request(""));
  if (!mask || mask->version != 4) return std::nullopt;
  int len = 0;
  while (len < 32 && ((mask->value >> (31 - len)) & 1)) ++len;
  u128 expected = len == 0 ? 0 : ((u128{0xffffffffu} << (32 - len)) & u128{0xffffffffu});
  return mask->value == expected ? std::optional<int>(len) : std::nullopt;
}

// netaddr.IPNetwork(text) printed as "%s/%s" % (network, prefixlen), as Neutron
// normalises the addresses of the actions (which are not validated otherwise).
Result<std::string> netaddr_network(const json::value& v) {
  std::string given = v.is_string() ? std::string(v.get_string()) : check::show(v);
  auto bad = [&] { return fail(Errc::invalid_argument, "AddrFormatError", "invalid IPNetwork " + given); };
  if (!v.is_string()) return bad();
  auto text = given;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.erase(0, 1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  auto slash = text.find('/');
  auto host = text.substr(0, slash);
  std::optional<IpAddress> ip;
  if (auto parsed = IpAddress::parse(host)) ip = *parsed;
  else if (host.find(':') == std::string::npos && !host.empty()) ip = partial_ipv4(host);
  if (!ip) return bad();
  int prefix = ip->bits();
  if (slash != std::string::npos) {
    auto p = prefix_of(text.substr(slash + 1), ip->version);
    if (!p) return bad();
    prefix = *p;
  }
  auto c = Cidr::parse(ip->str() + "/" + std::to_string(prefix));
  if (!c) return bad();
  return c->str();
}

// Requested addresses normalised, each once, in the order given.
Result<std::vector<std::string>> normalised(const json::array& given) {
  std::vector<std::string> out;
  for (const auto& item : given) {
    NT_ASSIGN(auto n, netaddr_network(item));
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  }
  return out;
}

std::string py_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", '" : "'") + items[i] + "'";
  return out + "]";
}

class AddressGroups final : public Handler {
 public:
  using Handler::Handler;
  const ResourceDef& def() const override { return def_; }
  std::string quota_name() const override { return ""; }
  // Rendered (not copied from the stored text), so that the hidden attributes stay hidden.
  // Neutron's policy reads `shared` (true to a project an access_as_shared policy names),
  // which address groups do not show.
  bool adds_policy_target() const override { return true; }
  void add_policy_target(const Model& m, Obj& target, const Ctx& ctx) const override {
    target["shared"] = rbac_grants(m, jget::str(target.if_contains("id")), "access_as_shared", ctx.project_id);
  }
  bool decorates() const override { return true; }
  // Own, or shared with the caller's project (or everyone) by RBAC (rbac-address-group).
  bool visible(const Model& m, const Obj& o, const Ctx& ctx) const override {
    return rbac_readable(m, o, "address_groups", ctx);
  }

  Result<Obj> create(Txn& txn, Obj group, const Ctx&) override {
    NT_ASSIGN(auto addresses, normalised(group.at("addresses").as_array()));
    json::array list;
    for (const auto& a : addresses) list.push_back(json::value(a));
    // Neutron adds the addresses after creating the group: one more revision.
    if (!list.empty()) group["revision_number"] = 2;
    group["addresses"] = std::move(list);
    group["shared"] = false;
    txn.put("address_groups", group);
    return group;
  }

  // Neutron looks for rules naming the group in every project (an elevated context), after
  // the caller was found to see the group.
  Status remove(Txn& txn, const Obj& group, const Ctx&) override {
    auto id = jget::str(group.if_contains("id"));
    if (const Table* rules = txn.model().find_table("security_group_rules"))
      for (const auto& [rid, r] : *rules)
        if (const auto* v = r.if_contains("remote_address_group_id"); v && v->is_string() && v->get_string() == id)
          return conflict("AddressGroupInUse",
                          "Address group " + id + " is in use on one or more security group rules.");
    drop_object_policies(txn, id);
    txn.erase("address_groups", id);
    return {};
  }

 private:
  ResourceDef def_ = group_def();
};

// The body's "addresses" as Neutron's plugin iterates it: a list, or the characters of a
// string, or the keys of an object. Anything else Neutron fails with a 500.
Result<json::array> requested(const std::string& body) {
  auto parsed = parse_json(body);
  if (!parsed)
    return fail(Errc::invalid_argument, "MalformedRequestBody", "Malformed request body: Cannot understand JSON.");
  const auto& doc = *parsed;
  const auto* given = doc.is_object() ? doc.get_object().if_contains("addresses") : nullptr;
  if (given && given->is_array()) return given->get_array();
  json::array out;
  if (given && given->is_string())
    for (char c : std::string(given->get_string())) out.push_back(json::value(std::string(1, c)));
  else if (given && given->is_object())
    for (const auto& kv : given->get_object()) out.push_back(json::value(kv.key()));
  else
    return bad_request("Request body contains invalid data");
  return out;
}

// The group as Neutron's AddressGroup object shows it in the actions' answers: every field,
// timestamps, revision and shared included.
json::value action_answer(const Obj& group) {
  Obj out = group;
  return json::object{{"address_group", std::move(out)}};
}

// PUT /v2.0/address-groups/ID/add_addresses and remove_addresses {"addresses": [...]}.
Result<json::value> edit_addresses(Handler& h, Txn& txn, const Ctx& ctx, const std::string& id, bool add,
                                   const std::string& body) {
  NT_ASSIGN(const Obj* found, find_visible(h, txn.model(), ctx, id));
  Obj group = *found;
  // No default rule has these names: Neutron checks them with its "default" rule.
  NT_TRY(enforce_policy(h, txn.model(), ctx, add ? "add_addresses" : "remove_addresses", group));
  NT_TRY(h.authorize(txn.model(), "update", group, {}, ctx));
  NT_ASSIGN(auto given, requested(body));
  NT_ASSIGN(auto addresses, normalised(given));
  json::array have = group.at("addresses").as_array();
  std::vector<std::string> in_group, not_in_group;
  for (const auto& a : addresses)
    (std::find(have.begin(), have.end(), json::value(a)) != have.end() ? in_group : not_in_group).push_back(a);
  if (add && !in_group.empty())
    return fail(Errc::invalid_argument, "AddressesAlreadyExist",
                "Addresses " + py_list(in_group) + " already exist in the address group " + id + ".");
  if (!add && !not_in_group.empty())
    return not_found("AddressesNotFound",
                     "Addresses " + py_list(not_in_group) + " not found in the address group " + id + ".");
  if (addresses.empty()) return action_answer(group);
  if (add)
    for (const auto& a : addresses) have.push_back(json::value(a));
  else
    for (const auto& a : addresses) have.erase(std::find(have.begin(), have.end(), json::value(a)));
  group["addresses"] = std::move(have);
  txn.put("address_groups", group);
  bump_revision(txn, "address_groups", id);
  return action_answer(*txn.model().find("address_groups", id));
}

bool is_action(const std::string& name) { return name == "add_addresses" || name == "remove_addresses"; }

nt::unexpected<Error> not_allowed() {
  return fail(Errc::not_allowed, "HTTPMethodNotAllowed",
              "The server could not comply with the request since it is either malformed or otherwise incorrect.");
}

// Neutron answers fields-limited reads of address groups with tenant_id as well.
Params with_tenant(const Params& params) {
  Params out = params;
  for (const auto& [k, v] : params)
    if (k == "fields" && !v.empty()) {
      out.emplace_back("fields", "tenant_id");
      break;
    }
  return out;
}

}  // namespace

Result<json::value> address_group_write(Handler& h, Txn& txn, const Ctx& ctx, const std::string& method,
                                        const std::vector<std::string>& path, const std::string& body) {
  // If-Match is not applied: the revision is never shown (Neutron 21 ignores it on
  // delete and fails with a 500 on update).
  if (path.size() == 2 && method == "PUT") {
    NT_ASSIGN(auto doc, parse_json(body));
    return update_resource(h, txn, ctx, path[1], doc, "");
  }
  if (path.size() == 2 && method == "DELETE") {
    NT_TRY(delete_resource(h, txn, ctx, path[1], ""));
    return json::value(nullptr);
  }
  if (path.size() != 3 || !is_action(path[2])) return not_found("HTTPNotFound", "The resource could not be found.");
  if (method != "PUT") return not_allowed();
  return edit_addresses(h, txn, ctx, path[1], path[2] == "add_addresses", body);
}

Result<std::string> address_group_read(Handler& h, const Model& m, const Ctx& ctx, const std::vector<std::string>& path,
                                       const Params& params, const std::string& collection_url) {
  if (path.size() == 2) {
    NT_ASSIGN(auto shown, show_resource(h, m, ctx, path[1], with_tenant(params)));
    return json::serialize(shown);
  }
  if (path.size() == 3) {
    if (!is_action(path[2])) return not_found("HTTPNotFound", "The resource could not be found.");
    return not_allowed();
  }
  NT_ASSIGN(auto listed, list_resources(h, m, ctx, params, collection_url));
  auto augmented = with_tenant(params);
  if (augmented.size() == params.size()) return listed;
  // The objects with tenant_id; the links as the request gave its parameters.
  NT_ASSIGN(auto full, list_resources(h, m, ctx, augmented, collection_url));
  auto doc = json::parse(listed);
  doc.as_object()["address_groups"] = json::parse(full).as_object().at("address_groups");
  return json::serialize(doc);
}

bool address_group_visible(const Model& m, const std::string& id, const Ctx& ctx) {
  const Obj* group = m.find("address_groups", id);
  return group && rbac_readable(m, *group, "address_groups", ctx);
}

std::unique_ptr<Handler> make_address_groups(const Settings& s) { return std::make_unique<AddressGroups>(s); }

}  // namespace nt
