// Address scopes (address-scope): a project's named IP space of one version that subnet
// pools join. Not a standard-attribute resource in Neutron 21: no description, tags,
// timestamps or revision shown. Shared only by admins, and never unshared; in use while a
// subnet pool the caller can see belongs to it.
#include "api/handlers.h"

namespace nt {
namespace json = boost::json;

namespace {

// ip_version: an integer (Neutron's convert_to_int), then 4 or 6.
check::Check ip_version_check() {
  auto as_int = check::integer(INT64_MIN, INT64_MAX);
  return [as_int](const json::value& v) -> Result<json::value> {
    NT_ASSIGN(auto n, as_int(v));
    if (n.as_int64() != 4 && n.as_int64() != 6) return bad_request(check::show(n) + " is not in valid_values");
    return n;
  };
}

ResourceDef scope_def() {
  ResourceDef d{"address_scope", "address_scopes", "address-scopes", "AddressScopeNotFound",
                "Address scope {} could not be found.", identity_attrs()};
  auto& a = d.attrs;
  a.push_back({"name", kPost | kPut | kFilter | kSort, check::name(), json::value("")});
  a.push_back({"shared", kPost | kPut | kFilter | kSort, check::boolean(), json::value(false)});
  a.push_back({"ip_version", kPost | kFilter | kSort | kRequired, ip_version_check(), std::nullopt});
  // Kept for If-Match and the store, never shown (not a standard-attribute resource).
  for (const char* hidden : {"created_at", "updated_at", "revision_number"})
    a.push_back({hidden, kInputOnly, check::any(), std::nullopt});
  return d;
}

Status policy(const std::string& action, const std::string& attr) {
  return attribute_policy_refusal("address_scope", action, attr);
}

class AddressScopes final : public Handler {
 public:
  using Handler::Handler;
  const ResourceDef& def() const override { return def_; }
  std::string quota_name() const override { return ""; }
  // Rendered (not copied from the stored text), so that the hidden attributes stay hidden.
  bool decorates() const override { return true; }

  // `shared` is true to a project an access_as_shared policy names, as Neutron shows it.
  bool personalizes(const Model& m, const Obj& stored, const Ctx& ctx) const override {
    return shared_with_caller(m, stored, ctx);
  }
  void personalize(const Model&, Obj& shown, const Ctx&) const override { shown["shared"] = true; }

  // Own, shared with everyone, or with the caller's project by RBAC (rbac-address-scope).
  bool visible(const Model& m, const Obj& o, const Ctx& ctx) const override {
    return rbac_readable(m, o, "address_scopes", ctx);
  }

  Status authorize(const Model& m, const std::string& action, const Obj& target, const Obj& request,
                   const Ctx& ctx) const override {
    if (action == "create" && !ctx.is_admin && explicitly_true(target, "shared")) return policy("create", "shared");
    if (action == "update" && !ctx.is_admin && request.contains("shared")) return policy("update", "shared");
    return Handler::authorize(m, action, target, request, ctx);
  }

  Result<Obj> create(Txn& txn, Obj scope, const Ctx&) override {
    txn.put("address_scopes", scope);
    sync_shared_policy(txn, "address_scope", scope);
    return scope;
  }

  Result<Obj> update(Txn& txn, const Obj& current, const Obj& changes, const Ctx& ctx) override {
    auto* shared = changes.if_contains("shared");
    if (current.at("shared").as_bool() && shared && !shared->as_bool())
      return fail(Errc::invalid_argument, "AddressScopeUpdateError",
                  "Unable to update address scope " + jget::str(current.if_contains("id")) +
                      " : Shared address scope can't be unshared.");
    NT_ASSIGN(Obj next, Handler::update(txn, current, changes, ctx));
    sync_shared_policy(txn, "address_scope", next);
    return next;
  }

  // In use while a subnet pool the caller can see is in it (Neutron asks with the
  // caller's context).
  Status remove(Txn& txn, const Obj& scope, const Ctx& ctx) override {
    auto id = jget::str(scope.if_contains("id"));
    Handler& pools = peer("subnetpools");
    if (const Table* t = txn.model().find_table("subnetpools"))
      for (const auto& [pid, pool] : *t)
        if (jget::str(pool.if_contains("address_scope_id")) == id && pools.visible(txn.model(), pool, ctx))
          return conflict("AddressScopeInUse", "Unable to complete operation on address scope " + id +
                                                   ". There are one or more subnet pools in use on the address scope.");
    drop_object_policies(txn, id);
    txn.erase("address_scopes", id);
    return {};
  }

 private:
  ResourceDef def_ = scope_def();
};

}  // namespace

std::unique_ptr<Handler> make_address_scopes(const Settings& s) { return std::make_unique<AddressScopes>(s); }

}  // namespace nt
