#include "api/attributes.h"

#include <algorithm>

#include "common/text.h"

namespace nt {
namespace json = boost::json;

const Attr* ResourceDef::find(std::string_view name) const {
  for (const auto& a : attrs)
    if (a.name == name) return &a;
  return nullptr;
}

const Attr* ResourceDef::attr(const std::string& name) const {
  const Attr* a = find(name);
  return a && !(a->flags & kRetired) ? a : nullptr;
}

std::string ResourceDef::missing(const std::string& id) const {
  auto pos = not_found_fmt.find("{}");
  if (pos == std::string::npos) return not_found_fmt;
  return not_found_fmt.substr(0, pos) + id + not_found_fmt.substr(pos + 2);
}

std::vector<Attr> identity_attrs() {
  return {{"id", kFilter | kSort, check::uuid(), std::nullopt},
          {"project_id", kPost | kFilter | kSort, check::string(255), std::nullopt},
          {"tenant_id", kPost | kFilter | kSort, check::string(255), std::nullopt}};
}

std::vector<Attr> standard_attrs(bool with_name) {
  std::vector<Attr> a = identity_attrs();
  a.insert(a.end(), {
      {"description", kPost | kPut | kFilter, check::string(255), json::value("")},
      {"tags", kPost | kFilter, check::string_list(255), json::value(json::array{})},
      {"created_at", kFilter | kSort, check::any(), std::nullopt},
      {"updated_at", kFilter | kSort, check::any(), std::nullopt},
      {"revision_number", kFilter | kSort, check::any(), std::nullopt},
  });
  if (with_name) a.push_back({"name", kPost | kPut | kFilter | kSort, check::name(), json::value("")});
  return a;
}

Result<json::value> parse_json(const std::string& body) {
  if (body.empty()) return bad_request("Resource body required");
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  auto v = json::parse(body, ec, {}, opts);
  // A number too large for a double parses as infinity: refuse it rather than store it.
  if (ec || !storable_json(v)) return bad_request("Body contains invalid data");
  return v;
}

Result<std::vector<json::value>> unwrap_create(const ResourceDef& def, const json::value& body, bool allow_bulk,
                                               bool* bulk) {
  *bulk = false;
  const auto* o = body.if_object();
  if (!o) return bad_request("Body contains invalid data");
  if (const auto* many = o->if_contains(def.plural)) {
    if (!allow_bulk) return bad_request("Bulk operation not supported");
    if (!many->is_array() || many->as_array().empty()) return bad_request("Resources required");
    std::vector<json::value> items;
    for (const auto& item : many->as_array()) {
      if (!item.is_object()) return bad_request("Body contains invalid data");
      // Each item plain or wrapped ({"network": {...}}): Neutron takes both forms.
      const auto* wrapped = item.get_object().size() == 1 ? item.get_object().if_contains(def.singular) : nullptr;
      if (wrapped && !wrapped->is_object()) return bad_request("Body contains invalid data");
      items.push_back(wrapped ? *wrapped : item);
    }
    *bulk = true;
    return items;
  }
  const auto* one = o->if_contains(def.singular);
  if (!one) return bad_request("Unable to find '" + def.singular + "' in request body");
  if (!one->is_object()) return bad_request("Body contains invalid data");
  return std::vector<json::value>{*one};
}

Result<Obj> unwrap_update(const ResourceDef& def, const json::value& body) {
  const auto* o = body.if_object();
  if (!o) return bad_request("Body contains invalid data");
  const auto* one = o->if_contains(def.singular);
  if (!one) return bad_request("Unable to find '" + def.singular + "' in request body");
  if (!one->is_object()) return bad_request("Body contains invalid data");
  return one->as_object();
}

namespace {

Status check_known(const ResourceDef& def, const Obj& item) {
  std::string unknown;
  bool any = false;  // an empty key is unknown too, though it adds nothing to the list
  for (const auto& kv : item)
    if (!def.attr(std::string(kv.key()))) {
      unknown += (any ? ", " : "") + std::string(kv.key());
      any = true;
    }
  if (any) return bad_request("Unrecognized attribute(s) '" + unknown + "'");
  return {};
}

Status convert_into(const Attr& a, const json::value& v, Obj& out) {
  auto converted = a.check(v);
  if (!converted)
    return nt::unexpected(check::attribute_error(a.name, converted.error()));
  out[a.name] = std::move(*converted);
  return {};
}

Status check_project(const Obj& item, const Ctx& ctx, Obj& out) {
  auto* p = item.if_contains("project_id");
  auto* t = item.if_contains("tenant_id");
  if (p && t && *p != *t) return bad_request("'project_id' and 'tenant_id' do not match");
  std::string project = p ? jget::str(p) : t ? jget::str(t) : ctx.project_id;
  if ((p && !p->is_string()) || (t && !t->is_string()) || (project.empty() && !ctx.internal))
    return bad_request("Invalid input for project_id. Reason: '" + check::show(p ? *p : t ? *t : json::value()) +
                       "' is not a valid string.");
  if (!ctx.is_admin && project != ctx.project_id)
    return bad_request(
        "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin "
        "privileges");
  out["project_id"] = project;
  out["tenant_id"] = project;
  return {};
}

}  // namespace

Result<Obj> check_create(const ResourceDef& def, const Obj& item, const Ctx& ctx) {
  NT_TRY(check_known(def, item));
  Obj out;
  for (const auto& a : def.attrs) {
    if (a.name == "project_id" || a.name == "tenant_id" || (a.flags & kRetired)) continue;
    const auto* v = item.if_contains(a.name);
    if (v && !(a.flags & kPost)) return bad_request("Attribute '" + a.name + "' not allowed in POST");
    if (v && (a.flags & (kAdminOnly | kAdminWrite)) && !ctx.is_admin)
      return fail(Errc::forbidden, "PolicyNotAuthorized",
                  "(rule:create_" + def.singular + ":" + a.name + ") is disallowed by policy");
    if (v) {
      NT_TRY(convert_into(a, *v, out));
    } else if (a.flags & kRequired) {
      return bad_request("Failed to parse request. Required attribute '" + a.name + "' not specified");
    } else if (a.default_value) {
      out[a.name] = *a.default_value;
    }
  }
  NT_TRY(check_project(item, ctx, out));
  return out;
}

Status check_update_shape(const ResourceDef& def, const Obj& item) {
  NT_TRY(check_known(def, item));
  for (const auto& kv : item)
    if (const Attr* a = def.attr(std::string(kv.key())); a && !(a->flags & (kPut | kAdminOnly | kAdminWrite)))
      return bad_request("Cannot update read-only attribute " + a->name);
  return {};
}

Result<Obj> check_update(const ResourceDef& def, const Obj& item, const Ctx& ctx) {
  Obj out;
  for (const auto& kv : item) {
    const Attr* found = def.attr(std::string(kv.key()));
    if (!found) return bad_request("Unrecognized attribute(s) '" + std::string(kv.key()) + "'");
    const Attr& a = *found;
    // Policy is enforced before the attribute map, as in Neutron.
    if ((a.flags & (kAdminOnly | kAdminWrite)) && !ctx.is_admin)
      return fail(Errc::forbidden, "PolicyNotAuthorized",
                  "(rule:update_" + def.singular + ":" + a.name + ") is disallowed by policy");
    if (!(a.flags & kPut)) return bad_request("Cannot update read-only attribute " + a.name);
    NT_TRY(convert_into(a, kv.value(), out));
  }
  return out;
}

bool explicitly_true(const Obj& item, const char* key) {
  const auto* v = item.if_contains(key);
  if (!v) return false;
  auto b = check::to_bool(*v);
  return b && *b;
}

Status attribute_policy_refusal(const std::string& resource, const std::string& action, const std::string& attr) {
  return fail(Errc::forbidden, "PolicyNotAuthorized", "(rule:" + action + "_" + resource + " and rule:" + action + "_" +
                                                          resource + ":" + attr + ") is disallowed by policy");
}

namespace {
// Whether render() keeps the attribute `key` (one scan of the definition per key).
bool rendered(const ResourceDef& def, std::string_view key, const Ctx& ctx, const std::vector<std::string>& fields) {
  if (const Attr* a = def.find(key)) {
    if (a->flags & (kRetired | kInputOnly)) return false;
    if ((a->flags & kAdminOnly) && !ctx.is_admin) return false;
  }
  return fields.empty() || std::find(fields.begin(), fields.end(), key) != fields.end();
}

void append_serialized(std::string& out, json::serializer& sr) {
  char buf[2048];
  while (!sr.done()) out.append(sr.read(buf));
}
}  // namespace

Obj render(const ResourceDef& def, const Obj& obj, const Ctx& ctx, const std::vector<std::string>& fields) {
  Obj out;
  for (const auto& kv : obj)
    if (rendered(def, kv.key(), ctx, fields)) out.emplace(kv.key(), kv.value());
  return out;
}

void render_text(std::string& out, const ResourceDef& def, const Obj& obj, const Ctx& ctx,
                 const std::vector<std::string>& fields, const Obj* added) {
  json::serializer sr;
  bool first = true;
  auto member = [&](const json::key_value_pair& kv) {
    if (!rendered(def, kv.key(), ctx, fields)) return;
    out += first ? "" : ",";
    first = false;
    sr.reset(kv.key());
    append_serialized(out, sr);
    out += ':';
    sr.reset(&kv.value());
    append_serialized(out, sr);
  };
  out += '{';
  for (const auto& kv : obj)
    if (!added || !added->contains(kv.key())) member(kv);
  if (added)
    for (const auto& kv : *added) member(kv);
  out += '}';
}

}  // namespace nt
