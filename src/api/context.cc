#include "api/context.h"

#include "common/config.h"

namespace nt {

Ctx context_from(const HttpRequest& req, const std::string& default_project) {
  Ctx ctx;
  auto project = req.header("x-project-id");
  if (project.empty()) project = req.header("x-tenant-id");
  if (project.empty()) {
    ctx.project_id = default_project;
    ctx.is_admin = true;
  } else {
    ctx.project_id = project;
  }
  auto roles = req.header("x-roles");
  if (!roles.empty() || !project.empty()) {
    ctx.is_admin = false;
    for (auto& role : split_list(roles)) {
      if (role == "admin") ctx.is_admin = true;
      if (role == "service") ctx.is_service = true;
    }
  }
  return ctx;
}

}  // namespace nt
