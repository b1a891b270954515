// Who is asking. With Keystone, only what Keystone said about the token counts. In noauth
// mode a request without X-Project-Id is an admin of the configured default project;
// X-Project-Id and X-Roles, when present, are honoured so that tests can act as several
// projects and as non-admins (a project without X-Roles acts as its member).
#pragma once
#include <string>
#include <vector>

#include "auth/keystone.h"
#include "http/message.h"
#include "policy/policy.h"

namespace nt {

struct Ctx {
  std::string project_id;
  bool is_admin = false;
  bool is_service = false;
  bool internal = false;  // the server acting on its own behalf (router ports, FIP ports)
  std::string user_id;
  std::vector<std::string> roles;  // lower case
  bool system_scope = false;
  // Neutron's policy for this request (null: the server acting on its own, not checked).
  std::shared_ptr<const policy::Policy> policy;
  policy::Credentials creds;
};

inline Ctx internal_ctx() { return Ctx{"", true, true, true, "", {"admin"}, false}; }

Ctx context_from(const HttpRequest& req, const std::string& default_project);
Ctx context_from_identity(const auth::Identity& id);
// Attaches the policy in force and the caller's credentials; is_admin becomes Neutron's
// context.is_admin (the policy's context_is_admin rule).
void bind_policy(Ctx& ctx, std::shared_ptr<const policy::Policy> policy);

}  // namespace nt
