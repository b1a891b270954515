#include "api/context.h"

#include <algorithm>

#include "common/config.h"

namespace nt {
namespace {

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

}  // namespace nt
