// The generic REST engine: list/show/create/update/delete for any resource, with what
// every Neutron resource shares (ids, project, timestamps, revision_number and If-Match,
// tags, quotas, bulk create as one transaction, visibility). Each resource supplies a
// Handler with its own rules.
#pragma once
#include <span>
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/attributes.h"
#include "api/query.h"
#include "core/settings.h"

namespace nt {

class Handler {
 public:
  explicit Handler(const Settings& settings) : settings_(settings) {}
  virtual ~Handler() = default;
  virtual const ResourceDef& def() const = 0;
  // "network", "port", ...: the quota resource; "" = not counted.
  virtual std::string quota_name() const { return def().singular; }
  virtual bool visible(const Model& m, const Obj& o, const Ctx& ctx) const;
  // Policy beyond visibility (Neutron's policy.yaml for the resource), after the request is
  // validated. action "create": `target` is the item as sent; "update": `target` is the stored
  // object and `request` the PUT's attributes; "delete": `request` is empty. By default a
  // caller may create, and change or delete only what its project owns (or as admin).
  virtual Status authorize(const Model& m, const std::string& action, const Obj& target, const Obj& request,
                           const Ctx& ctx) const;
  // Stores a new resource; `body` is validated, with id, project and timestamps set.
  virtual Result<Obj> create(Txn& txn, Obj body, const Ctx& ctx) = 0;
  // Applies validated `changes` to `current` and stores the result.
  virtual Result<Obj> update(Txn& txn, const Obj& current, const Obj& changes, const Ctx& ctx);
  virtual Status remove(Txn& txn, const Obj& current, const Ctx& ctx);
  // The object with computed attributes (e.g. a security group's rules).
  virtual Obj decorate(const Model& m, const Obj& stored) const { return stored; }
  virtual bool decorates() const { return false; }  // true when decorate() adds anything
  // False only when decorate(stored) == stored (decorate() never depends on the caller):
  // lists copy or render the others' stored objects as they are.
  virtual bool decorates_row(const Obj&) const { return decorates(); }
  // When decorate() only adds or replaces top-level attributes: those attributes (a list
  // then renders the stored object and these without copying it). nullopt: decorate() does more.
  virtual std::optional<Obj> added_attributes(const Model&, const Obj& /*stored*/) const { return std::nullopt; }
  // Neutron's ownership validation, before quotas and policy (a port or subnet must name a
  // network the caller can see: else 404 NetworkNotFound).
  virtual Status validate_ownership(const Model&, const Obj& /*checked*/, const Ctx&) const { return {}; }
  // The resource as Neutron's policy names it ("port" in create_port) and what its policy
  // target adds to the object (a port forwarding's floating IP as ext_parent).
  virtual std::string policy_resource() const { return def().singular; }
  virtual void add_policy_target(const Model&, Obj&, const Ctx&) const {}
  virtual bool adds_policy_target() const { return false; }
  // What depends on who asks (a network's `shared` for a project it is shared with): the
  // caller's view of a decorated object, and whether it differs from everyone's.
  virtual bool personalizes(const Model&, const Obj&, const Ctx&) const { return false; }
  virtual void personalize(const Model&, Obj&, const Ctx&) const {}
  Obj shown_to(const Model& m, const Obj& stored, const Ctx& ctx) const {
    Obj out = decorate(m, stored);
    if (personalizes(m, stored, ctx)) personalize(m, out, ctx);
    return out;
  }
  // Query keys the resource filters on itself (e.g. ports' fixed_ips).
  virtual std::vector<std::string> special_filters() const { return {}; }
  virtual bool special_match(const Model& m, const Ctx& ctx, const Obj& o, const std::string& key,
                             const std::string& value) const {
    return true;
  }
  // All the special filters of a list at once; by default a key repeated ORs its values and
  // different keys AND (override when keys must match together, e.g. within one segment).
  virtual bool special_match_all(const Model& m, const Ctx& ctx, const Obj& o,
                                 const std::vector<std::pair<std::string, std::string>>& filters) const;
  // The special filters prepared once for a whole list (`filters` outlives the matcher): by
  // default special_match_all per row; override when many values call for a lookup.
  // (An empty matcher: no filtering.) check_special refuses values that cannot be filters.
  using SpecialMatcher = std::function<bool(const Model&, const Ctx&, const Obj&)>;
  virtual Status check_special(const std::vector<std::pair<std::string, std::string>>& filters) const { return {}; }
  virtual SpecialMatcher special_matcher(const std::vector<std::pair<std::string, std::string>>& filters) const {
    return [this, &filters](const Model& m, const Ctx& ctx, const Obj& o) { return special_match_all(m, ctx, o, filters); };
  }
  // Work to do before a list or create for this project (e.g. the default security group).
  virtual bool needs_setup(const Model& m, const Ctx& ctx) const { return false; }
  virtual Status setup(Txn& txn, const Ctx& ctx) { return {}; }
  const Settings& settings() const { return settings_; }
  // Other resources' handlers, for resources that create or remove their ports.
  void link(const std::map<std::string, Handler*>& peers) { peers_ = peers; }
  Handler& peer(const std::string& path) const { return *peers_.at(path); }

 protected:
  const Settings& settings_;
  std::map<std::string, Handler*> peers_;
};

// Creates a resource on the server's own behalf (validation and defaults as for a POST
// by an admin, no quota); `item` may set project_id "" for hidden service resources.
Result<Obj> create_internal(Handler& h, Txn& txn, Obj item);
Status delete_internal(Handler& h, Txn& txn, const std::string& id);
Result<Obj> update_internal(Handler& h, Txn& txn, const std::string& id, const Obj& changes);

// Bumps revision_number and updated_at of a stored resource (child changes do this).
void bump_revision(Txn& txn, const std::string& kind, const std::string& id);
Obj& stamp_new(Obj& o);  // id (unless set), created_at, updated_at, revision_number

int64_t quota_limit(const Model& m, const Settings& s, const std::string& project, const std::string& resource);

// The list response body, serialized (large lists are assembled from stored JSON text).
Result<std::string> list_resources(Handler& h, const Model& m, const Ctx& ctx, const Params& params,
                                   const std::string& base_url);
Result<boost::json::value> show_resource(Handler& h, const Model& m, const Ctx& ctx, const std::string& id,
                                         const Params& params);
Result<boost::json::value> create_resources(Handler& h, Txn& txn, const Ctx& ctx, const boost::json::value& body);
Result<boost::json::value> update_resource(Handler& h, Txn& txn, const Ctx& ctx, const std::string& id,
                                           const boost::json::value& body, const std::string& if_match);
Status delete_resource(Handler& h, Txn& txn, const Ctx& ctx, const std::string& id, const std::string& if_match);
// The stored object if it exists and ctx may see it; else the resource's NotFound error.
Result<const Obj*> find_visible(Handler& h, const Model& m, const Ctx& ctx, const std::string& id);

// Neutron's policy (src/policy) for `action` ("create", "get", "update", "delete", or a
// whole rule name such as "add_router_interface") on `target`; the server's own requests
// pass. enforce_policy gives Neutron's 403; a refused update or delete of an object the
// caller may not even get is 404 instead.
Status enforce_policy(const Handler& h, const Model& m, const Ctx& ctx, const std::string& action, const Obj& target,
                      std::span<const std::string> updated = {});
bool policy_allows(const Handler& h, const Model& m, const Ctx& ctx, const std::string& action, const Obj& target);
// The object without the attributes the policy hides from this caller (get_port:binding:*).
Obj without_hidden(const Handler& h, const Model& m, Obj shown, const Ctx& ctx);
// The same for the rows of one list: rule names computed once, no copy of a row unless the
// policy must see it otherwise than stored.
class RowPolicy {
 public:
  RowPolicy(const Handler& h, const Model& m, const Ctx& ctx);
  bool may_get(const Obj& stored) const;
  bool hides_nothing(const Obj& shown) const;
  Obj without_hidden(Obj shown) const;
  bool may_hide() const { return hides_; }  // false: no row of this list has an attribute hidden

 private:
  const Handler& h_;
  const Model& m_;
  const Ctx& ctx_;
  bool active_;
  std::string get_rule_, resource_;
  bool hides_;  // the policy has attribute rules that may hide something from this caller
};

}  // namespace nt
