// Resource definitions as Neutron's RESOURCE_ATTRIBUTE_MAP: per attribute whether it may
// be set on POST or PUT, filtered, sorted, whether it is admin-only, its default and its
// validator. The generic checks of request bodies live here, with Neutron's messages.
#pragma once
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/context.h"
#include "core/model.h"
#include "core/validate.h"

namespace nt {

enum AttrFlag : unsigned {
  kPost = 1,         // allowed on POST
  kPut = 2,          // allowed on PUT
  kFilter = 4,       // valid filter
  kSort = 8,         // valid sort key
  kRequired = 16,    // POST must give it
  kAdminOnly = 32,   // read and written by admins only (stripped for others)
  kAdminWrite = 64,  // anyone reads, only admins write
  kInputOnly = 128,  // accepted on input, never shown
  // Of an extension that is not advertised: unknown on input, never shown (rows stored by
  // an older release may still carry it).
  kRetired = 256,
};

struct Attr {
  std::string name;
  unsigned flags = 0;
  check::Check check;
  std::optional<boost::json::value> default_value;  // nullopt = no default
};

struct ResourceDef {
  std::string singular;    // "network"
  std::string plural;      // "networks": body key, table name
  std::string path;        // "networks" or "security-groups"
  std::string not_found;   // exception type, e.g. "NetworkNotFound"
  std::string not_found_fmt;  // message with {} for the id
  std::vector<Attr> attrs;

  const Attr* find(std::string_view name) const;     // any attribute, retired ones too; nullptr for unknown
  const Attr* attr(const std::string& name) const;  // nullptr for unknown and retired ones
  std::string missing(const std::string& id) const;  // not-found message
};

// id, project_id and tenant_id, as every resource that a project owns has them.
std::vector<Attr> identity_attrs();
// The attributes every standard resource has (description, tags, timestamps, revision,
// project_id/tenant_id, id, name).
std::vector<Attr> standard_attrs(bool with_name = true);

// Splits a POST body into its items: {"network": {...}} or, for bulk, {"networks": [...]}.
Result<std::vector<boost::json::value>> unwrap_create(const ResourceDef& def, const boost::json::value& body,
                                                      bool allow_bulk, bool* bulk);
Result<Obj> unwrap_update(const ResourceDef& def, const boost::json::value& body);
// What a PUT body is checked for before the resource is looked up, as Neutron does (400
// before 404): every key an attribute of the resource, none read-only for everyone.
Status check_update_shape(const ResourceDef& def, const Obj& item);

// Validates a POST item (unknown, forbidden, missing, invalid attributes), converts values
// and fills defaults, including project_id/tenant_id from the caller.
Result<Obj> check_create(const ResourceDef& def, const Obj& item, const Ctx& ctx);
// Validates a PUT body that passed check_update_shape: policy for admin-only attributes,
// then each value converted; only allow_put attributes.
Result<Obj> check_update(const ResourceDef& def, const Obj& item, const Ctx& ctx);

// The object as the caller may see it: admin-only and input-only attributes stripped,
// then only `fields` if given.
Obj render(const ResourceDef& def, const Obj& obj, const Ctx& ctx, const std::vector<std::string>& fields = {});
// The same, appended to `out` as JSON text (a list's rows: no copy of the object), with
// `added`'s attributes in place of the object's own of the same name (after the others).
void render_text(std::string& out, const ResourceDef& def, const Obj& obj, const Ctx& ctx,
                 const std::vector<std::string>& fields = {}, const Obj* added = nullptr);

Result<boost::json::value> parse_json(const std::string& body);

// The item gives `key` as a true value (as Neutron's converter reads booleans).
bool explicitly_true(const Obj& item, const char* key);
// Neutron's refusal of an admin-only attribute on create or update:
// "(rule:<action>_<resource> and rule:<action>_<resource>:<attr>) is disallowed by policy".
Status attribute_policy_refusal(const std::string& resource, const std::string& action, const std::string& attr);

}  // namespace nt
