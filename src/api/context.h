// Who is asking. In noauth mode a request without X-Project-Id is an admin of the
// configured default project; X-Project-Id and X-Roles, when present, are honoured so
// that tests can act as several projects and as non-admins.
#pragma once
#include <string>

#include "http/message.h"

namespace nt {

struct Ctx {
  std::string project_id;
  bool is_admin = false;
  bool is_service = false;
  bool internal = false;  // the server acting on its own behalf (router ports, FIP ports)
};

inline Ctx internal_ctx() { return Ctx{"", true, true, true}; }

Ctx context_from(const HttpRequest& req, const std::string& default_project);

}  // namespace nt
