// The tags sub-resource of every standard resource (standard-attr-tag).
#include "api/handlers.h"

#include <algorithm>
#include <optional>
#include "common/clock.h"

namespace nt {
namespace json = boost::json;

namespace {

Status check_tag(const std::string& tag) {
  if (tag.empty() || tag.size() > 255 || tag.find(',') != std::string::npos)
    return bad_request("Invalid input for tags. Reason: '" + tag + "' is not a valid tag.");
  return {};
}

// Tags in Neutron's order (as text).
void sort_tags(json::array& tags) {
  std::sort(tags.begin(), tags.end(), [](const json::value& a, const json::value& b) { return jget::str(&a) < jget::str(&b); });
}

bool has(const json::array& tags, const std::string& tag) {
  for (const auto& t : tags)
    if (jget::str(&t) == tag) return true;
  return false;
}

// The tagged resource, or Neutron's TagResourceNotFound.
Result<const Obj*> tagged(Handler& h, const Model& m, const Ctx& ctx, const std::string& id) {
  auto found = find_visible(h, m, ctx, id);
  if (!found && found.error().code == Errc::not_found) {
    auto plural = h.def().plural;
    std::replace(plural.begin(), plural.end(), '-', '_');
    return not_found("TagResourceNotFound", "Resource " + plural + " " + id + " could not be found.");
  }
  return found;
}

}  // namespace

Result<json::value> tags_read(Handler& h, const Model& m, const Ctx& ctx, const std::string& id, const std::string& tag) {
  NT_ASSIGN(const Obj* o, tagged(h, m, ctx, id));
  const auto& tags = o->at("tags").as_array();
  if (tag.empty()) {  // listed sorted, as Neutron lists them
    json::array sorted = tags;
    sort_tags(sorted);
    return json::object{{"tags", std::move(sorted)}};
  }
  if (!has(tags, tag)) return not_found("TagNotFound", "Tag " + tag + " could not be found for " + h.def().singular + " " + id + ".");
  return json::value(nullptr);
}

Result<json::value> tags_write(Handler& h, Txn& txn, const Ctx& ctx, const std::string& method, const std::string& id,
                               const std::string& tag, const std::string& body) {
  // A new tag list is validated before the resource is looked up, as Neutron does.
  std::optional<json::array> replacement;
  if (method == "PUT" && tag.empty()) {
    NT_ASSIGN(auto doc, parse_json(body));
    auto* list = doc.is_object() ? doc.as_object().if_contains("tags") : nullptr;
    if (!list) return bad_request("Invalid tags body");
    if (!list->is_array()) return invalid_input("'" + check::show(*list) + "' is not a list");
    if (list->as_array().size() > 50) return bad_request("Invalid input for tags. Reason: too many tags (at most 50).");
    json::array next;
    for (const auto& t : list->as_array()) {
      if (!t.is_string()) return bad_request("Invalid input for tags. Reason: '" + check::show(t) + "' is not a valid string.");
      NT_TRY(check_tag(std::string(t.get_string())));
      if (has(next, std::string(t.get_string())))
        return invalid_input("Duplicate items in the list: '" + std::string(t.get_string()) + "'");
      next.push_back(t);
    }
    replacement = std::move(next);
  }
  NT_ASSIGN(const Obj* found, tagged(h, txn.model(), ctx, id));
  Obj o = *found;
  json::array tags = o.at("tags").as_array();
  if (replacement) {
    tags = std::move(*replacement);
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
  // Stored (and shown in the resource) sorted, as Neutron keeps them; a PUT of the whole
  // list is answered in the order given, as Neutron answers it.
  json::array answer = tags;
  sort_tags(tags);
  if (tags != o.at("tags").as_array()) {
    o["tags"] = tags;
    txn.put(h.def().plural, std::move(o));
    bump_revision(txn, h.def().plural, id);
  }
  return json::object{{"tags", std::move(answer)}};
}

}  // namespace nt
