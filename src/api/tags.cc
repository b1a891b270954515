// The tags sub-resource of every standard resource (standard-attr-tag).
#include "api/handlers.h"
#include "common/clock.h"

namespace nt {
namespace json = boost::json;

namespace {

Status check_tag(const std::string& tag) {
  if (tag.empty() || tag.size() > 255 || tag.find(',') != std::string::npos)
    return bad_request("Invalid input for tags. Reason: '" + tag + "' is not a valid tag.");
  return {};
}

bool has(const json::array& tags, const std::string& tag) {
  for (const auto& t : tags)
    if (jget::str(&t) == tag) return true;
  return false;
}

}  // namespace

Result<json::value> tags_read(Handler& h, const Model& m, const Ctx& ctx, const std::string& id, const std::string& tag) {
  NT_ASSIGN(const Obj* o, find_visible(h, m, ctx, id));
  const auto& tags = o->at("tags").as_array();
  if (tag.empty()) return json::object{{"tags", tags}};
  if (!has(tags, tag)) return not_found("TagNotFound", "Tag " + tag + " could not be found for " + h.def().singular + " " + id + ".");
  return json::value(nullptr);
}

Result<json::value> tags_write(Handler& h, Txn& txn, const Ctx& ctx, const std::string& method, const std::string& id,
                               const std::string& tag, const std::string& body) {
  NT_ASSIGN(const Obj* found, find_visible(h, txn.model(), ctx, id));
  Obj o = *found;
  json::array tags = o.at("tags").as_array();
  if (method == "PUT" && tag.empty()) {
    NT_ASSIGN(auto doc, parse_json(body));
    auto* list = doc.is_object() ? doc.as_object().if_contains("tags") : nullptr;
    if (!list || !list->is_array()) return bad_request("Invalid tags body");
    if (list->as_array().size() > 50) return bad_request("Invalid input for tags. Reason: too many tags (at most 50).");
    json::array next;
    for (const auto& t : list->as_array()) {
      if (!t.is_string()) return bad_request("Invalid input for tags. Reason: '" + check::show(t) + "' is not a valid string.");
      NT_TRY(check_tag(std::string(t.get_string())));
      if (!has(next, std::string(t.get_string()))) next.push_back(t);
    }
    tags = std::move(next);
  } else if (method == "PUT") {
    NT_TRY(check_tag(tag));
    if (!has(tags, tag)) {
      if (tags.size() >= 50) return bad_request("Invalid input for tags. Reason: too many tags (at most 50).");
      tags.push_back(json::value(tag));
    }
  } else if (method == "DELETE" && tag.empty()) {
    tags.clear();
  } else if (method == "DELETE") {
    if (!has(tags, tag)) return not_found("TagNotFound", "Tag " + tag + " could not be found for " + h.def().singular + " " + id + ".");
    for (auto it = tags.begin(); it != tags.end();) it = jget::str(&*it) == tag ? tags.erase(it) : it + 1;
  } else {
    return fail(Errc::not_allowed, "HTTPMethodNotAllowed", "Method not allowed");
  }
  if (tags != o.at("tags").as_array()) {
    o["tags"] = tags;
    txn.put(h.def().plural, std::move(o));
    bump_revision(txn, h.def().plural, id);
  }
  return json::object{{"tags", std::move(tags)}};
}

}  // namespace nt
