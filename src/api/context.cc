#include "api/context.h"

#include <algorithm>

#include "common/config.h"

namespace nt {
namespace {

// Keystone's default implied roles (admin implies member, member implies reader): its
// tokens list them, and noauth's X-Roles get the same.
void add_implied_roles(std::vector<std::string>& roles) {
  auto has = [&](const char* role) { return std::find(roles.begin(), roles.end(), role) != roles.end(); };
  if (has("admin") && !has("member")) roles.push_back("member");
  if (has("member") && !has("reader")) roles.push_back("reader");
}

void derive_flags(Ctx& ctx) {
  auto has = [&](const char* role) { return std::find(ctx.roles.begin(), ctx.roles.end(), role) != ctx.roles.end(); };
  ctx.is_admin = has("admin");
  ctx.is_service = has("service");
}

}  // namespace

Ctx context_from(const HttpRequest& req, const std::string& default_project) {
  Ctx ctx;
  auto project = req.header("x-project-id");
  if (project.empty()) project = req.header("x-tenant-id");
  ctx.user_id = req.header("x-user-id");
  auto roles = req.header("x-roles");
  for (auto& role : split_list(roles)) {
    for (auto& c : role) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ctx.roles.push_back(role);
  }
  if (project.empty()) {
    ctx.project_id = default_project;
    if (roles.empty()) ctx.roles = {"admin", "member", "reader"};
  } else {
    ctx.project_id = project;
    if (roles.empty()) ctx.roles = {"member", "reader"};
  }
  add_implied_roles(ctx.roles);
  derive_flags(ctx);
  return ctx;
}

Ctx context_from_identity(const auth::Identity& id) {
  Ctx ctx;
  ctx.project_id = id.project_id;
  ctx.user_id = id.user_id;
  ctx.roles = id.roles;
  ctx.system_scope = id.system_scope;
  derive_flags(ctx);
  return ctx;
}

void bind_policy(Ctx& ctx, std::shared_ptr<const policy::Policy> p) {
  ctx.creds.user_id = ctx.user_id;
  ctx.creds.project_id = ctx.project_id;
  ctx.creds.roles = ctx.roles;
  if (ctx.system_scope) ctx.creds.system_scope = "all";
  ctx.creds.is_admin = p->is_admin(ctx.creds);
  ctx.is_admin = ctx.creds.is_admin;
  ctx.policy = std::move(p);
}

}  // namespace nt
