// RBAC policies (rbac-policies, rbac-security-groups, rbac-address-scope, rbac-subnetpool,
// rbac-address-group): a project shares a network (access_as_shared, access_as_external), a
// security group, an address scope, a subnet pool or an address group (access_as_shared)
// with one project or with everyone ("*"). A network's `shared` and `router:external` are kept in
// step with its "*" policies, as Neutron keeps them; targeted policies make the object
// visible and usable to their target project only.
#include "api/handlers.h"

#include "common/names.h"
#include "common/text.h"
#include "common/uuid.h"

namespace nt {
namespace json = boost::json;

namespace {

constexpr const char* kShared = "access_as_shared";
constexpr const char* kExternal = "access_as_external";

ResourceDef rbac_def() {
  ResourceDef d{"rbac_policy", "rbac_policies", "rbac-policies", "RbacPolicyNotFound",
                "RBAC policy of type unknown with ID {} not found", identity_attrs()};
  auto& a = d.attrs;
  a.push_back({"object_type", kPost | kFilter | kSort | kRequired, check::string(255), std::nullopt});
  a.push_back({"object_id", kPost | kFilter | kSort | kRequired, check::uuid(), std::nullopt});
  a.push_back({"target_tenant", kPost | kPut | kFilter | kSort | kRequired, check::string(255), std::nullopt});
  a.push_back({"action", kPost | kFilter | kSort | kRequired, check::string(255), std::nullopt});
  return d;
}

nt::unexpected<Error> in_use(const std::string& object_id, const std::string& details) {
  return conflict("RbacPolicyInUse", "RBAC policy on object " + object_id +
                                         " cannot be removed because other objects depend on it.\nDetails: " + details);
}

bool is(const Obj& o, const char* key, const std::string& value) { return jget::str(o.if_contains(key)) == value; }

// The table of each object type RBAC applies to, and how Neutron names the type in errors.
struct ObjectType {
  const char* type;
  const char* table;
  const char* noun;  // "networks" in "Only admins can manipulate policies on networks ..."
};
constexpr ObjectType kObjectTypes[] = {{"network", "networks", "networks"},
                                       {"security_group", "security_groups", "security groups"},
                                       {"address_scope", "address_scopes", "address scopes"},
                                       {"subnetpool", "subnetpools", "subnetpools"},
                                       {"address_group", "address_groups", "address groups"}};

const ObjectType* object_type(const std::string& type) {
  for (const auto& t : kObjectTypes)
    if (type == t.type) return &t;
  return nullptr;
}

// Projects other than `keep` that have ports on the network.
bool others_have_ports(const Model& m, const Obj& net, const std::set<std::string>& keep) {
  auto it = m.ports_by_network.find(jget::str(net.if_contains("id")));
  if (it == m.ports_by_network.end()) return false;
  for (const auto& pid : it->second)
    if (const Obj* p = m.find("ports", pid)) {
      auto project = project_of(*p);
      if (!project.empty() && !keep.count(project)) return true;
    }
  return false;
}

class RbacPolicies final : public Handler {
 public:
  using Handler::Handler;
  const ResourceDef& def() const override { return def_; }
  std::string quota_name() const override { return "rbac_policy"; }

  // Sharing with everyone ("*") is for admins (Neutron's restrict_wildcard rule).
  Status authorize(const Model& m, const std::string& action, const Obj& target, const Obj& request,
                   const Ctx& ctx) const override {
    const Obj& given = action == "update" ? request : target;
    if (!ctx.is_admin && action != "delete" && is(given, "target_tenant", "*"))
      return fail(Errc::forbidden, "PolicyNotAuthorized",
                  action == "create" ? "((((rule:create_rbac_policy and rule:create_rbac_policy:object_type) and "
                                       "rule:create_rbac_policy:object_id) and rule:create_rbac_policy:target_tenant) and "
                                       "rule:create_rbac_policy:action) is disallowed by policy"
                                     : "(rule:update_rbac_policy and rule:update_rbac_policy:target_tenant) is disallowed by policy");
    return Handler::authorize(m, action, target, request, ctx);
  }

  Result<Obj> create(Txn& txn, Obj policy, const Ctx& ctx) override {
    for (const char* k : {"created_at", "updated_at", "revision_number"}) policy.erase(k);
    auto type = lower_trimmed(jget::str(policy.if_contains("object_type")));
    if (!object_type(type))
      return invalid_input("'" + jget::str(policy.if_contains("object_type")) + "' is not a valid RBAC object type");
    policy["object_type"] = type;
    auto action = jget::str(policy.if_contains("action"));
    bool valid = action == kShared || (type == "network" && action == kExternal);
    // Neutron's own wording per type: InvalidActionForType, but the callback's InvalidInput
    // for security groups.
    if (!valid)
      return fail(Errc::invalid_argument, type == "security_group" ? "InvalidInput" : "InvalidActionForType",
                  "Invalid action '" + action + "' for object type '" + type + "'. Valid actions: " +
                      (type == "network" ? "('access_as_shared', 'access_as_external')" : "('access_as_shared',)"));
    NT_ASSIGN(const Obj* object, owned_object(txn.model(), policy, ctx));
    if (const Table* t = txn.model().find_table("rbac_policies"))
      for (const auto& [id, other] : *t)
        if (is(other, "object_id", jget::str(policy.if_contains("object_id"))) && is(other, "action", action) &&
            is(other, "target_tenant", jget::str(policy.if_contains("target_tenant"))))
          return conflict("DuplicateRbacPolicy", "An RBAC policy already exists with those values.");
    txn.put("rbac_policies", policy);
    if (type == "network") sync_network(txn, *object);
    else sync_shared(txn, *object_type(type), jget::str(policy.if_contains("object_id")));
    return policy;
  }

  Result<Obj> update(Txn& txn, const Obj& current, const Obj& changes, const Ctx& ctx) override {
    auto target = jget::str(changes.if_contains("target_tenant"));
    if (changes.contains("target_tenant") && target != jget::str(current.if_contains("target_tenant")))
      NT_TRY(check_losing_access(txn.model(), current));
    NT_ASSIGN(auto next, Handler::update(txn, current, changes, ctx));
    sync_object(txn, current);
    return next;
  }

  Status remove(Txn& txn, const Obj& policy, const Ctx& ctx) override {
    NT_TRY(check_losing_access(txn.model(), policy));
    NT_TRY(Handler::remove(txn, policy, ctx));
    sync_object(txn, policy);
    return {};
  }

 private:
  static std::string lower_trimmed(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
    return ascii_lower(std::move(s));
  }

  // The object the policy shares: it must exist and be the caller's (or the caller admin).
  static Result<const Obj*> owned_object(const Model& m, const Obj& policy, const Ctx& ctx) {
    const auto* t = object_type(jget::str(policy.if_contains("object_type")));
    auto id = jget::str(policy.if_contains("object_id"));
    const Obj* o = m.find(t->table, id);
    if (!o || !(ctx.is_admin || rbac_readable(m, *o, t->table, ctx)))
      return invalid_input(std::string(t->type) + " " + id + " could not be found.");
    if (!ctx.is_admin && project_of(*o) != ctx.project_id)
      return invalid_input(std::string("Only admins can manipulate policies on ") + t->noun + " they do not own");
    return o;
  }

  // The target project losing access must not be using the object (its ports on a shared
  // network, its routers' gateways on an external one, its ports in a shared group).
  static Status check_losing_access(const Model& m, const Obj& policy) {
    auto object_id = jget::str(policy.if_contains("object_id"));
    auto target = jget::str(policy.if_contains("target_tenant"));
    auto action = jget::str(policy.if_contains("action"));
    if (is(policy, "object_type", "address_scope") || is(policy, "object_type", "subnetpool"))
      return check_pool_users(m, policy);
    if (is(policy, "object_type", "address_group")) return check_group_users(m, policy);
    if (is(policy, "object_type", "security_group")) {
      if (const Table* ports = m.find_table("ports"))
        for (const auto& [pid, p] : *ports) {
          if (target != "*" && project_of(p) != target) continue;
          for (const auto& g : p.at("security_groups").as_array())
            if (jget::str(&g) == object_id && project_of(p) != project_of(policy))
              return in_use(object_id, "Security group " + object_id + " is in use by port " + pid + ".");
        }
      return {};
    }
    const Obj* net = m.find("networks", object_id);
    if (!net || target == project_of(*net)) return {};
    // Projects that keep access through the network's other policies of this action.
    std::set<std::string> keep{project_of(*net)};
    bool wildcard_stays = false;
    if (const Table* t = m.find_table("rbac_policies"))
      for (const auto& [id, other] : *t)
        if (id != jget::str(policy.if_contains("id")) && is(other, "object_id", object_id) && is(other, "action", action)) {
          keep.insert(jget::str(other.if_contains("target_tenant")));
          wildcard_stays = wildcard_stays || is(other, "target_tenant", "*");
        }
    if (wildcard_stays) return {};
    if (action == kShared) {
      bool used = target == "*" ? others_have_ports(m, *net, keep) : [&] {
        auto it = m.ports_by_network.find(object_id);
        if (it != m.ports_by_network.end())
          for (const auto& pid : it->second)
            if (const Obj* p = m.find("ports", pid); p && project_of(*p) == target) return true;
        return false;
      }();
      if (used)
        return in_use(object_id, "Unable to reconfigure sharing settings for network " + object_id +
                                     ". Multiple tenants are using it.");
      return {};
    }
    if (const Table* routers = m.find_table("routers"))
      for (const auto& [rid, r] : *routers) {
        const auto* gw = r.at("external_gateway_info").if_object();
        if (!gw || jget::str(gw->if_contains("network_id")) != object_id || keep.count(project_of(r))) continue;
        if (target == "*" || project_of(r) == target)
          return in_use(object_id, "There are routers attached to this network that depend on this policy for access.");
      }
    return {};
  }

  static void sync_object(Txn& txn, const Obj& policy) {
    auto id = jget::str(policy.if_contains("object_id"));
    const auto* t = object_type(jget::str(policy.if_contains("object_type")));
    if (!t) return;
    if (std::string_view(t->type) == "network") {
      if (const Obj* net = txn.model().find("networks", id)) sync_network(txn, *net);
    } else {
      sync_shared(txn, *t, id);
    }
  }

  // An address scope's or pool's `shared` is its "*" policy (security groups show it too).
  static void sync_shared(Txn& txn, const ObjectType& t, const std::string& id) {
    const Obj* o = txn.model().find(t.table, id);
    if (!o || !o->contains("shared")) return;
    bool shared = false;
    if (const Table* rows = txn.model().find_table("rbac_policies"))
      for (const auto& [pid, p] : *rows)
        shared = shared || (is(p, "object_id", id) && is(p, "target_tenant", "*"));
    if (jget::flag(*o, "shared", false) == shared) return;
    Obj next = *o;
    next["shared"] = shared;
    txn.put(t.table, std::move(next));
  }

  // A project losing a pool keeps no subnets from it; losing a scope, no pools in it.
  static Status check_pool_users(const Model& m, const Obj& policy) {
    auto id = jget::str(policy.if_contains("object_id"));
    auto target = jget::str(policy.if_contains("target_tenant"));
    bool pool = is(policy, "object_type", "subnetpool");
    const Obj* owner = m.find(pool ? "subnetpools" : "address_scopes", id);
    const Table* users = m.find_table(pool ? "subnets" : "subnetpools");
    if (!owner || !users) return {};
    for (const auto& [uid, u] : *users)
      if (is(u, pool ? "subnetpool_id" : "address_scope_id", id) && project_of(u) != project_of(*owner) &&
          (target == "*" || project_of(u) == target))
        return in_use(id, std::string(pool ? "Subnets" : "Subnet pools") + " of project " + project_of(u) + " use it.");
    return {};
  }

  // A project losing an address group has no security group rules naming it.
  static Status check_group_users(const Model& m, const Obj& policy) {
    auto id = jget::str(policy.if_contains("object_id"));
    auto target = jget::str(policy.if_contains("target_tenant"));
    const Obj* group = m.find("address_groups", id);
    const Table* rules = m.find_table("security_group_rules");
    if (!group || !rules) return {};
    for (const auto& [rid, r] : *rules)
      if (is(r, "remote_address_group_id", id) && project_of(r) != project_of(*group) &&
          (target == "*" || project_of(r) == target))
        return in_use(id, "Security group rule " + rid + " uses it.");
    return {};
  }

  // `shared` follows the network's "*" access_as_shared policy; router:external is true
  // while any access_as_external policy exists (Neutron makes a network external when one
  // is created and not external when its last one goes).
  static void sync_network(Txn& txn, const Obj& net) {
    auto id = jget::str(net.if_contains("id"));
    bool shared = false, external = false;
    if (const Table* t = txn.model().find_table("rbac_policies"))
      for (const auto& [pid, p] : *t) {
        if (!is(p, "object_id", id)) continue;
        shared = shared || (is(p, "action", kShared) && is(p, "target_tenant", "*"));
        external = external || is(p, "action", kExternal);
      }
    if (jget::flag(net, "shared", false) == shared && jget::flag(net, "router:external", false) == external) return;
    Obj next = net;
    next["shared"] = shared;
    next["router:external"] = external;
    txn.put("networks", std::move(next));
  }

  ResourceDef def_ = rbac_def();
};

}  // namespace

bool rbac_grants(const Model& m, const std::string& object_id, const std::string& action, const std::string& project) {
  const Table* t = m.find_table("rbac_policies");
  if (!t || t->empty()) return false;
  for (const auto& [id, p] : *t)
    if (is(p, "object_id", object_id) && (action.empty() || is(p, "action", action)) &&
        (is(p, "target_tenant", "*") || is(p, "target_tenant", project)))
      return true;
  return false;
}

bool rbac_readable(const Model& m, const Obj& o, const std::string& kind, const Ctx& ctx) {
  if (ctx.is_admin || project_of(o) == ctx.project_id) return true;
  auto id = jget::str(o.if_contains("id"));
  if (kind == "networks") {
    if (jget::flag(o, "shared", false)) return true;
    // External networks are seen through their access_as_external policies ("*" or ours).
    return rbac_grants(m, id, "", ctx.project_id);
  }
  if (jget::flag(o, "shared", false)) return true;
  return rbac_grants(m, id, kShared, ctx.project_id);
}

void sync_shared_policy(Txn& txn, const std::string& object_type, const Obj& o) {
  auto id = jget::str(o.if_contains("id"));
  bool has = false;
  if (const Table* t = txn.model().find_table("rbac_policies"))
    for (const auto& [pid, p] : *t) has = has || (is(p, "object_id", id) && is(p, "target_tenant", "*"));
  if (!jget::flag(o, "shared", false) || has) return;
  Obj p{{"id", new_uuid()}, {"project_id", project_of(o)}, {"tenant_id", project_of(o)}, {"object_type", object_type},
        {"object_id", id}, {"target_tenant", "*"}, {"action", kShared}};
  txn.put("rbac_policies", std::move(p));
}

Status sync_network_policies(Txn& txn, const Obj& before, const Obj& after) {
  auto id = jget::str(after.if_contains("id"));
  auto add = [&](const char* action) {
    Obj p{{"id", new_uuid()}, {"project_id", project_of(after)}, {"tenant_id", project_of(after)},
          {"object_type", "network"}, {"object_id", id}, {"target_tenant", "*"}, {"action", action}};
    txn.put("rbac_policies", std::move(p));
  };
  auto drop = [&](const char* action, bool only_wildcard) {
    std::vector<std::string> gone;
    if (const Table* t = txn.model().find_table("rbac_policies"))
      for (const auto& [pid, p] : *t)
        if (is(p, "object_id", id) && is(p, "action", action) && (!only_wildcard || is(p, "target_tenant", "*")))
          gone.push_back(pid);
    for (const auto& pid : gone) txn.erase("rbac_policies", pid);
  };
  bool was_shared = jget::flag(before, "shared", false), shared = jget::flag(after, "shared", false);
  if (!was_shared && shared) add(kShared);
  if (was_shared && !shared) {
    std::set<std::string> keep{project_of(after)};
    if (const Table* t = txn.model().find_table("rbac_policies"))
      for (const auto& [pid, p] : *t)
        if (is(p, "object_id", id) && is(p, "action", kShared)) keep.insert(jget::str(p.if_contains("target_tenant")));
    keep.erase("*");
    if (others_have_ports(txn.model(), after, keep))
      return conflict("InvalidSharedSetting",
                      "Unable to reconfigure sharing settings for network " + id + ". Multiple tenants are using it.");
    drop(kShared, true);
  }
  bool was_external = jget::flag(before, "router:external", false), external = jget::flag(after, "router:external", false);
  if (!was_external && external) add(kExternal);
  if (was_external && !external) drop(kExternal, false);
  return {};
}

void drop_object_policies(Txn& txn, const std::string& object_id) {
  std::vector<std::string> gone;
  if (const Table* t = txn.model().find_table("rbac_policies"))
    for (const auto& [pid, p] : *t)
      if (is(p, "object_id", object_id)) gone.push_back(pid);
  for (const auto& pid : gone) txn.erase("rbac_policies", pid);
}

std::unique_ptr<Handler> make_rbac_policies(const Settings& s) { return std::make_unique<RbacPolicies>(s); }

Status network_usable_for_create(const Model& m, const Obj& checked, const Ctx& ctx) {
  if (ctx.is_admin) return {};
  std::string net_id = jget::str(checked.if_contains("network_id"));
  const Obj* net = m.find("networks", net_id);
  if (!net || !network_visible(m, *net, ctx)) return not_found("NetworkNotFound", "Network " + net_id + " could not be found.");
  return {};
}

bool shared_with_caller(const Model& m, const Obj& stored, const Ctx& ctx) {
  return !jget::flag(stored, "shared", false) &&
         rbac_grants(m, jget::str(stored.if_contains("id")), "access_as_shared", ctx.project_id);
}

}  // namespace nt
