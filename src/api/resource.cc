#include "api/resource.h"
#include "common/text.h"

#include <cctype>
#include <optional>

#include "common/clock.h"
#include "common/uuid.h"

namespace nt {
namespace json = boost::json;

bool Handler::visible(const Model&, const Obj& o, const Ctx& ctx) const {
  return ctx.is_admin || project_of(o) == ctx.project_id;
}

namespace {
// Visible is not enough to change: shared networks and their subnets are read-only to others.
Status check_owner(const ResourceDef& def, const Obj& o, const Ctx& ctx, const std::string& action) {
  if (ctx.is_admin || project_of(o) == ctx.project_id) return {};
  return fail(Errc::forbidden, "PolicyNotAuthorized",
              "(rule:" + action + "_" + def.singular + ") is disallowed by policy");
}
}  // namespace

// Besides Neutron's policy (enforce_policy, first): only the owner or an admin changes an
// object, also on paths that reach it otherwise than by the generic update and delete.
Status Handler::authorize(const Model&, const std::string& action, const Obj& target, const Obj&,
                          const Ctx& ctx) const {
  if (action == "create") return {};
  return check_owner(def(), target, ctx, action);
}

Result<Obj> Handler::update(Txn& txn, const Obj& current, const Obj& changes, const Ctx&) {
  Obj next = current;
  for (const auto& kv : changes) next[kv.key()] = kv.value();
  txn.put(def().plural, next);
  return next;
}

Status Handler::remove(Txn& txn, const Obj& current, const Ctx&) {
  txn.erase(def().plural, jget::str(current.if_contains("id")));
  return {};
}

void bump_revision(Txn& txn, const std::string& kind, const std::string& id) {
  const Obj* o = txn.model().find(kind, id);
  if (!o || !o->contains("revision_number")) return;  // e.g. agents have no revisions
  Obj next = *o;
  next["revision_number"] = next["revision_number"].to_number<int64_t>() + 1;
  next["updated_at"] = iso_utc(now_seconds());
  txn.put(kind, std::move(next));
}

Obj& stamp_new(Obj& o) {
  if (!o.contains("id")) o["id"] = new_uuid();
  auto now = iso_utc(now_seconds());
  o["created_at"] = now;
  o["updated_at"] = now;
  o["revision_number"] = 1;
  return o;
}

int64_t quota_limit(const Model& m, const Settings& s, const std::string& project, const std::string& resource) {
  if (const Obj* q = m.find("quotas", project))
    if (auto* v = q->if_contains(resource); v && v->is_int64()) return v->get_int64();
  for (const auto& [name, limit] : s.default_quotas)
    if (name == resource) return limit;
  return -1;
}

Result<const Obj*> find_visible(Handler& h, const Model& m, const Ctx& ctx, const std::string& id) {
  const Obj* o = m.find(h.def().plural, id);
  if (!o || !h.visible(m, *o, ctx)) return not_found(h.def().not_found, h.def().missing(id));
  return o;
}

namespace {

// What Neutron's owner and field checks read from other resources.
class ModelParents final : public policy::ParentLookup {
 public:
  explicit ModelParents(const Model& m) : m_(m) {}
  std::optional<json::value> attribute(std::string_view resource, std::string_view id,
                                       std::string_view field) const override {
    static const std::map<std::string_view, const char*> tables = {
        {"network", "networks"}, {"security_group", "security_groups"}, {"floatingip", "floatingips"},
        {"router", "routers"}};
    auto table = tables.find(resource);
    if (table == tables.end()) return std::nullopt;
    const Obj* o = m_.find(table->second, std::string(id));
    const json::value* v = o ? o->if_contains(field) : nullptr;
    if (!v) return std::nullopt;
    return *v;
  }

 private:
  const Model& m_;
};

std::string rule_for(const Handler& h, const std::string& action) {
  for (const char* verb : {"create", "get", "update", "delete"})
    if (action == verb) return action + "_" + h.policy_resource();
  return action;
}

// The object the policy judges: the stored one, or (only when it differs) a copy as the
// caller is shown it (shared with its project) with what the policy reads besides.
const Obj& as_judged(const Handler& h, const Model& m, const Obj& o, const Ctx& ctx, Obj& scratch) {
  bool personal = h.personalizes(m, o, ctx);
  if (!personal && !h.adds_policy_target()) return o;
  scratch = o;
  if (personal) h.personalize(m, scratch, ctx);
  h.add_policy_target(m, scratch, ctx);
  return scratch;
}

}  // namespace

RowPolicy::RowPolicy(const Handler& h, const Model& m, const Ctx& ctx)
    : h_(h), m_(m), ctx_(ctx), active_(ctx.policy && !ctx.internal), get_rule_(rule_for(h, "get")),
      resource_(h.policy_resource()), hides_(active_ && ctx.policy->may_hide_attributes(resource_, ctx.creds)) {}

bool RowPolicy::may_get(const Obj& stored) const {
  if (!active_) return true;
  Obj scratch;
  ModelParents parents(m_);
  const Obj& target = as_judged(h_, m_, stored, ctx_, scratch);
  return ctx_.policy->authorize(policy::Request{get_rule_, target, {}, h_.def().plural}, ctx_.creds, &parents);
}

bool RowPolicy::hides_nothing(const Obj& shown) const {
  if (!hides_) return true;
  ModelParents parents(m_);
  return ctx_.policy->hidden_attributes(resource_, shown, ctx_.creds, &parents).empty();
}

Obj RowPolicy::without_hidden(Obj shown) const {
  if (!hides_) return shown;
  ModelParents parents(m_);
  for (const auto& name : ctx_.policy->hidden_attributes(resource_, shown, ctx_.creds, &parents)) shown.erase(name);
  return shown;
}

Status enforce_policy(const Handler& h, const Model& m, const Ctx& ctx, const std::string& action, const Obj& target,
                      std::span<const std::string> updated) {
  if (!ctx.policy || ctx.internal) return {};
  ModelParents parents(m);
  std::string rule = rule_for(h, action);
  Obj scratch;
  const Obj& full = as_judged(h, m, target, ctx, scratch);
  // An empty PUT or a member action (remove_prefixes, add_router_interface) sets no
  // attribute: Neutron then reads only the attributes without defaults, so no attribute
  // rule applies (a name no rule has says "none").
  static const std::string kNone[] = {"-"};
  if (updated.empty() && rule != rule_for(h, "create")) updated = kNone;
  policy::Request request{rule, full, updated, h.def().plural};
  auto verdict = ctx.policy->enforce(request, ctx.creds, &parents);
  if (verdict || action == "create" || action == "get") return verdict;
  // Neutron hides what the caller may not see: a refused update or delete of an object it
  // cannot get is "not found".
  std::string get_rule = rule_for(h, "get");
  policy::Request get{get_rule, full, {}, h.def().plural};
  if (!ctx.policy->authorize(get, ctx.creds, &parents))
    return not_found("HTTPNotFound", "The resource could not be found.");
  return verdict;
}

bool policy_allows(const Handler& h, const Model& m, const Ctx& ctx, const std::string& action, const Obj& target) {
  if (action == "get") return RowPolicy(h, m, ctx).may_get(target);
  if (!ctx.policy || ctx.internal) return true;
  ModelParents parents(m);
  std::string rule = rule_for(h, action);
  Obj scratch;
  const Obj& full = as_judged(h, m, target, ctx, scratch);
  return ctx.policy->authorize(policy::Request{rule, full, {}, h.def().plural}, ctx.creds, &parents);
}

Obj without_hidden(const Handler& h, const Model& m, Obj shown, const Ctx& ctx) {
  return RowPolicy(h, m, ctx).without_hidden(std::move(shown));
}


// Repeating a special key ORs its values; different keys AND, as for plain filters.
// `filters` come grouped by key (parse_list_query): each group needs one value that matches.
bool Handler::special_match_all(const Model& m, const Ctx& ctx, const Obj& o,
                                const std::vector<std::pair<std::string, std::string>>& filters) const {
  for (size_t i = 0; i < filters.size();) {
    const auto& key = filters[i].first;
    bool ok = false;
    for (; i < filters.size() && filters[i].first == key; ++i) ok = ok || special_match(m, ctx, o, key, filters[i].second);
    if (!ok) return false;
  }
  return true;
}

namespace {

// A page in id order (no other sort key) of the candidates [first, last) (ascending ids;
// `obj` gives a candidate's object, `seek(id)` the first candidate not below id): only the marker's row and the `limit` kept rows after it
// in the page's order (before it with page_reverse) are looked at. The rows returned
// (ascending ids) page exactly as all the kept rows would; nullopt when this does not apply
// (the marker is not among the kept rows: paginate says so).
template <class It, class ObjOf, class Seek, class Keeps>
std::optional<std::vector<const Obj*>> page_by_id(It first, It last, ObjOf obj, Seek seek, const ListQuery& q,
                                                 Keeps keeps) {
  bool by_id = q.sort.empty() || (q.sort.size() == 1 && q.sort[0].first == "id");
  if (q.limit <= 0 || !by_id) return std::nullopt;
  bool descending = !q.sort.empty() && !q.sort[0].second;
  bool up = descending == q.page_reverse;  // the walk goes to higher ids
  std::vector<const Obj*> page;            // in the walk's order
  It at = up ? first : last;               // the next row up, or one past the next row down
  if (!q.marker.empty()) {
    at = seek(q.marker);
    if (at == last || jget::str(obj(*at)->if_contains("id")) != q.marker || !keeps(*obj(*at))) return std::nullopt;
    page.push_back(obj(*at));
    if (up) ++at;
  }
  size_t want = static_cast<size_t>(q.limit) + page.size();
  while (page.size() < want && (up ? at != last : at != first)) {
    const Obj* o = up ? obj(*at++) : obj(*--at);
    if (keeps(*o)) page.push_back(o);
  }
  if (!up) std::reverse(page.begin(), page.end());
  return page;
}

// One row of a list as the caller sees it. Whole objects the caller may see entirely are
// copied from their stored text; the others are rendered without copying the object where
// the policy hides nothing (a floating IP and the attributes its decoration adds).
void append_row(std::string& out, const Handler& h, const Model& m, const Ctx& ctx, const RowPolicy& policy,
                const Obj& o, const std::vector<std::string>& fields) {
  const auto& def = h.def();
  bool whole = ctx.is_admin && fields.empty();
  bool personal = h.personalizes(m, o, ctx);
  if (!personal && !h.decorates_row(o) && (!policy.may_hide() || (whole && policy.hides_nothing(o)))) {
    const std::string* text = whole ? m.text(def.plural, jget::str(o.if_contains("id"))) : nullptr;
    return text ? void(out += *text) : render_text(out, def, o, ctx, fields);
  }
  if (!personal && !policy.may_hide())
    if (auto added = h.added_attributes(m, o)) return render_text(out, def, o, ctx, fields, &*added);
  render_text(out, def, policy.without_hidden(h.shown_to(m, o, ctx)), ctx, fields);
}

}  // namespace

Result<std::string> list_resources(Handler& h, const Model& m, const Ctx& ctx, const Params& params,
                                   const std::string& base_url) {
  const auto& def = h.def();
  NT_ASSIGN(auto q, parse_list_query(def, params, h.special_filters(), h.settings().pagination_max_limit));
  std::vector<const Obj*> rows;
  RowPolicy policy(h, m, ctx);
  NT_TRY(h.check_special(q.special));
  auto special = q.special.empty() ? Handler::SpecialMatcher() : h.special_matcher(q.special);
  auto keeps = [&](const Obj& stored) {
    return h.visible(m, stored, ctx) && matches(q, stored) && policy.may_get(stored) && (!special || special(m, ctx, stored));
  };
  if (const Table* table = m.find_table(def.plural)) {
    // An indexed filter (a port's device_id, ...) names the few rows to look at, in the
    // same id order as the table: the answer is the scan's.
    if (auto narrowed = narrow(*table, m.attr_index(), def.plural, q.filters)) {
      auto take = [&](const auto& candidates, auto obj, auto seek) {
        if (auto page = page_by_id(candidates.begin(), candidates.end(), obj, seek, q, keeps))
          return void(rows = std::move(*page));
        for (const auto& c : candidates)
          if (keeps(*obj(c))) rows.push_back(obj(c));
      };
      if (const auto* bucket = narrowed->bucket) {
        take(*bucket, [](const AttrIndex::Row* row) { return &row->second; },
             [&](const std::string& id) { return bucket->lower_bound(std::string_view(id)); });
      } else {
        const auto& list = narrowed->rows;
        take(list, [](const Obj* o) { return o; }, [&](const std::string& id) {
          return std::lower_bound(list.begin(), list.end(), id,
                                  [](const Obj* o, const std::string& v) { return jget::str(o->if_contains("id")) < v; });
        });
      }
    } else {
      for (const auto& [id, stored] : *table)
        if (keeps(stored)) rows.push_back(&stored);
    }
  }
  NT_ASSIGN(auto page, paginate(q, std::move(rows), base_url, params, def));
  std::string out = "{\"" + def.plural + "\": [";
  for (size_t i = 0; i < page.rows.size(); ++i) {
    if (i) out += ", ";
    append_row(out, h, m, ctx, policy, *page.rows[i], q.fields);
  }
  out += "]";
  if (q.limit > 0 || !q.marker.empty()) out += ", \"" + def.plural + "_links\": " + json::serialize(page.links);
  out += "}";
  return out;
}

Result<json::value> show_resource(Handler& h, const Model& m, const Ctx& ctx, const std::string& id,
                                  const Params& params) {
  NT_ASSIGN(const Obj* o, find_visible(h, m, ctx, id));
  Obj shown = h.shown_to(m, *o, ctx);
  if (!policy_allows(h, m, ctx, "get", shown)) return not_found(h.def().not_found, h.def().missing(id));
  std::vector<std::string> fields;
  for (const auto& [k, v] : params)
    if (k == "fields" && !v.empty()) fields.push_back(v);
  return json::object{{h.def().singular, render(h.def(), without_hidden(h, m, std::move(shown), ctx), ctx, fields)}};
}

namespace {
// A create's policy target: the converted values the request gave and the project, as
// Neutron's (attributes left to their defaults are not "explicitly set").
Obj given_only(const Obj& checked, const Obj& item) {
  Obj target;
  for (const auto& kv : checked)
    if (item.contains(kv.key()) || kv.key() == "project_id" || kv.key() == "tenant_id") target.emplace(kv.key(), kv.value());
  return target;
}
}  // namespace

Result<json::value> create_resources(Handler& h, Txn& txn, const Ctx& ctx, const json::value& body) {
  const auto& def = h.def();
  bool bulk = false;
  NT_ASSIGN(auto items, unwrap_create(def, body, h.settings().allow_bulk, &bulk));
  if (h.needs_setup(txn.model(), ctx)) NT_TRY(h.setup(txn, ctx));
  json::array created;
  for (const auto& item : items) {
    NT_ASSIGN(Obj checked, check_create(def, item.as_object(), ctx));
    NT_TRY(h.validate_ownership(txn.model(), checked, ctx));
    auto project = project_of(checked);
    auto quota = h.quota_name();
    if (!quota.empty()) {
      int64_t limit = quota_limit(txn.model(), h.settings(), project, quota);
      if (limit >= 0 && txn.model().count(def.plural, project) + 1 > limit)
        return conflict("OverQuota", "Quota exceeded for resources: ['" + quota + "'].");
    }
    NT_TRY(h.authorize(txn.model(), "create", item.as_object(), {}, ctx));
    NT_TRY(enforce_policy(h, txn.model(), ctx, "create", given_only(checked, item.as_object())));
    NT_ASSIGN(Obj stored, h.create(txn, std::move(stamp_new(checked)), ctx));
    created.push_back(render(def, without_hidden(h, txn.model(), h.shown_to(txn.model(), stored, ctx), ctx), ctx));
  }
  if (bulk) return json::object{{def.plural, std::move(created)}};
  return json::object{{def.singular, std::move(created[0])}};
}

namespace {
// If-Match as Neutron reads it: entity tags separated by commas, each maybe quoted (as
// webob parses them); only those of the form revision_number=<int> constrain, others
// are ignored.
Status check_if_match(const Obj& current, const std::string& if_match) {
  const std::string prefix = "revision_number=";
  auto bad = [](const std::string& why) { return fail(Errc::invalid_argument, "BadRequest", "Bad if-match request: " + why); };
  std::optional<int64_t> want;
  size_t start = 0;
  while (start <= if_match.size()) {
    auto comma = if_match.find(',', start);
    auto tag = if_match.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? if_match.size() + 1 : comma + 1;
    while (!tag.empty() && std::isspace(static_cast<unsigned char>(tag.front()))) tag.erase(0, 1);
    while (!tag.empty() && std::isspace(static_cast<unsigned char>(tag.back()))) tag.pop_back();
    if (tag.rfind("W/", 0) == 0) tag.erase(0, 2);
    if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') tag = tag.substr(1, tag.size() - 2);
    if (tag.rfind(prefix, 0) != 0) continue;
    if (want) return bad("Multiple revision_number etags are not supported.");
    auto parsed = parse_int64(std::string_view(tag).substr(prefix.size()));
    if (!parsed) return bad("Revision number etag must be in the format of revision_number=<int>.");
    want = *parsed;
  }
  if (!want) return {};
  int64_t have = current.at("revision_number").to_number<int64_t>();
  if (have != *want)
    return fail(Errc::precondition_failed, "RevisionNumberConstraintFailed",
                "Constrained to " + std::to_string(*want) + ", but current revision is " + std::to_string(have));
  return {};
}
}  // namespace

Result<json::value> update_resource(Handler& h, Txn& txn, const Ctx& ctx, const std::string& id, const json::value& body,
                                    const std::string& if_match) {
  const auto& def = h.def();
  // As Neutron: the body's shape and attribute names are checked before the resource is
  // looked up (400 before 404), its values before policy is enforced (400 before 403).
  NT_ASSIGN(Obj item, unwrap_update(def, body));
  NT_TRY(check_update_shape(def, item));
  NT_ASSIGN(const Obj* found, find_visible(h, txn.model(), ctx, id));
  Obj current = *found;
  NT_ASSIGN(Obj changes, check_update(def, item, ctx));
  {
    Obj merged = current;
    std::vector<std::string> updated;
    for (const auto& kv : changes) merged[kv.key()] = kv.value(), updated.emplace_back(kv.key());
    NT_TRY(enforce_policy(h, txn.model(), ctx, "update", merged, updated));
  }
  NT_TRY(h.authorize(txn.model(), "update", current, changes, ctx));
  NT_TRY(check_if_match(current, if_match));
  NT_ASSIGN(Obj next, h.update(txn, current, changes, ctx));
  if (next != current) {
    bump_revision(txn, def.plural, id);
    next = *txn.model().find(def.plural, id);
  }
  return json::object{{def.singular, render(def, without_hidden(h, txn.model(), h.shown_to(txn.model(), next, ctx), ctx), ctx)}};
}

Status delete_resource(Handler& h, Txn& txn, const Ctx& ctx, const std::string& id, const std::string& if_match) {
  NT_ASSIGN(const Obj* found, find_visible(h, txn.model(), ctx, id));
  Obj current = *found;
  NT_TRY(enforce_policy(h, txn.model(), ctx, "delete", current));
  NT_TRY(h.authorize(txn.model(), "delete", current, {}, ctx));
  NT_TRY(check_if_match(current, if_match));
  return h.remove(txn, current, ctx);
}

}  // namespace nt

namespace nt {

Result<Obj> create_internal(Handler& h, Txn& txn, Obj item) {
  Ctx ctx = internal_ctx();
  std::string project = jget::str(item.if_contains("project_id"));
  item.erase("project_id");
  NT_ASSIGN(Obj checked, check_create(h.def(), item, ctx));
  checked["project_id"] = project;
  checked["tenant_id"] = project;
  return h.create(txn, std::move(stamp_new(checked)), ctx);
}

Status delete_internal(Handler& h, Txn& txn, const std::string& id) {
  const Obj* o = txn.model().find(h.def().plural, id);
  if (!o) return {};
  Obj current = *o;
  return h.remove(txn, current, internal_ctx());
}

Result<Obj> update_internal(Handler& h, Txn& txn, const std::string& id, const Obj& changes) {
  const Obj* o = txn.model().find(h.def().plural, id);
  if (!o) return not_found(h.def().not_found, h.def().missing(id));
  Obj current = *o;
  NT_ASSIGN(Obj next, h.update(txn, current, changes, internal_ctx()));
  if (next != current) bump_revision(txn, h.def().plural, id);
  return *txn.model().find(h.def().plural, id);
}

}  // namespace nt
