// Quotas: per-project limits stored as overrides of the configured defaults; show,
// update, delete (back to defaults), defaults and details (used/limit/reserved).
#include "api/handlers.h"

namespace nt {
namespace json = boost::json;

namespace {

// Quota resource -> the table whose rows it counts ("" = not implemented yet, usage 0).
const std::vector<std::pair<std::string, std::string>> kResources = {
    {"network", "networks"}, {"subnet", "subnets"}, {"port", "ports"}, {"router", "routers"}, {"floatingip", "floatingips"},
    {"security_group", "security_groups"}, {"security_group_rule", "security_group_rules"}, {"rbac_policy", "rbac_policies"},
    {"subnetpool", "subnetpools"}};

json::object limits(const Model& m, const Settings& s, const std::string& project) {
  json::object q;
  for (const auto& [name, table] : kResources) q[name] = quota_limit(m, s, project, name);
  return q;
}

Status may_read(const Ctx& ctx, const std::string& project) {
  if (ctx.is_admin || ctx.project_id == project) return {};
  return fail(Errc::forbidden, "PolicyNotAuthorized", "rule:get_quota is disallowed by policy");
}

Status admin_only(const Ctx& ctx) {
  if (ctx.is_admin) return {};
  return fail(Errc::forbidden, "HTTPForbidden", "Only admin can view or configure quota");
}

}  // namespace

Result<json::value> quotas_read(const Model& m, const Settings& s, const Ctx& ctx, const std::vector<std::string>& path) {
  // path: ["quotas"], ["quotas", P], ["quotas", P, "default"], ["quotas", P, "details"]
  if (path.size() == 1) {
    NT_TRY(admin_only(ctx));
    json::array out;
    if (const Table* t = m.find_table("quotas"))
      for (const auto& [project, row] : *t) {
        auto q = limits(m, s, project);
        q["project_id"] = project;
        q["tenant_id"] = project;
        out.push_back(std::move(q));
      }
    return json::object{{"quotas", std::move(out)}};
  }
  const auto& project = path[1];
  if (project == "tenant") return json::object{{"tenant", json::object{{"tenant_id", ctx.project_id}}}};
  NT_TRY(may_read(ctx, project));
  if (path.size() == 2) return json::object{{"quota", limits(m, s, project)}};
  if (path.size() == 3 && path[2] == "default") {
    json::object q;
    for (const auto& [name, limit] : s.default_quotas) q[name] = limit;
    return json::object{{"quota", std::move(q)}};
  }
  if (path.size() == 3 && path[2] == "details") {
    json::object q;
    for (const auto& [name, table] : kResources)
      q[name] = json::object{{"limit", quota_limit(m, s, project, name)},
                             {"used", table.empty() ? 0 : m.count(table, project)},
                             {"reserved", 0}};
    return json::object{{"quota", std::move(q)}};
  }
  return not_found("HTTPNotFound", "The resource could not be found.");
}

Result<json::value> quotas_write(Txn& txn, const Settings& s, const Ctx& ctx, const std::string& method,
                                 const std::vector<std::string>& path, const std::string& body) {
  if (path.size() != 2) return not_found("HTTPNotFound", "The resource could not be found.");
  NT_TRY(admin_only(ctx));
  const auto& project = path[1];
  if (method == "DELETE") {
    txn.erase("quotas", project);
    return json::value(nullptr);
  }
  NT_ASSIGN(auto doc, parse_json(body));
  auto* q = doc.is_object() ? doc.as_object().if_contains("quota") : nullptr;
  if (!q || !q->is_object()) return bad_request("Unable to find 'quota' in request body");
  Obj row;
  if (const Obj* existing = txn.model().find("quotas", project)) row = *existing;
  row["id"] = project;
  row["project_id"] = project;
  // quota-check-limit: with check_limit, no limit may go below what is used; force (the
  // default here, as in Neutron 21) skips the check. Neutron takes any truthy JSON value as
  // asking for the check (Python's truth: not null, false, 0, "", [] or {}).
  bool check_limit = false;
  if (const auto* v = q->as_object().if_contains("check_limit"))
    check_limit = !(v->is_null() || (v->is_bool() && !v->get_bool()) || (v->is_number() && v->to_number<double>() == 0) ||
                    (v->is_string() && v->get_string().empty()) || (v->is_array() && v->get_array().empty()) ||
                    (v->is_object() && v->get_object().empty()));
  for (const auto& kv : q->as_object()) {
    std::string name(kv.key());
    if (name == "project_id" || name == "tenant_id" || name == "check_limit" || name == "force") continue;
    auto known = std::find_if(kResources.begin(), kResources.end(), [&](auto& r) { return r.first == name; });
    if (known == kResources.end()) return bad_request("Unrecognized attribute(s) '" + name + "'");
    auto limit = check::integer(-1, INT32_MAX)(kv.value());
    if (!limit) return nt::unexpected(check::attribute_error(name, limit.error()));
    row[name] = *limit;
    auto table = known->second;
    int64_t used = table.empty() ? 0 : txn.model().count(table, project);
    if (check_limit && limit->as_int64() >= 0 && used > limit->as_int64())
      return bad_request("Quota limit " + std::to_string(limit->as_int64()) + " for " + name +
                         " must be greater than or equal to already used " + std::to_string(used));
  }
  txn.put("quotas", row);
  return json::object{{"quota", limits(txn.model(), s, project)}};
}

}  // namespace nt
