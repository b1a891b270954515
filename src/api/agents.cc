#include "api/agents.h"

#include "common/clock.h"

namespace nt {
namespace json = boost::json;

namespace {

ResourceDef agent_def() {
  ResourceDef d{"agent", "agents", "agents", "AgentNotFound", "Agent {} could not be found.", {}};
  auto& a = d.attrs;
  for (const char* ro : {"id", "agent_type", "binary", "topic", "host", "created_at", "started_at", "heartbeat_timestamp",
                         "alive", "availability_zone"})
    a.push_back({ro, kFilter | kSort, check::any(), std::nullopt});
  a.push_back({"admin_state_up", kPut | kFilter | kSort, check::boolean(), std::nullopt});
  a.push_back({"description", kPut | kFilter, check::nullable_string(255), std::nullopt});
  a.push_back({"configurations", 0, check::any(), std::nullopt});
  a.push_back({"resources_synced", 0, check::any(), std::nullopt});
  a.push_back({"resource_versions", 0, check::any(), std::nullopt});
  a.push_back({"project_id", 0, check::any(), std::nullopt});
  a.push_back({"tenant_id", 0, check::any(), std::nullopt});
  a.push_back({"ha_state", 0, check::any(), std::nullopt});
  return d;
}

std::string agent_time(int64_t ms) {
  auto iso = iso_utc(ms / 1000);  // 2018-04-08T07:32:42Z -> 2018-04-08 07:32:42
  iso[10] = ' ';
  iso.pop_back();
  return iso;
}

int64_t count_routers_on(const Model& m, const std::string& host) {
  int64_t n = 0;
  if (const Table* t = m.find_table("l3_bindings"))
    for (const auto& [id, b] : *t)
      for (const auto& h : b.at("hosts").as_array()) n += jget::str(&h) == host;
  return n;
}

class Agents final : public Handler {
 public:
  Agents(const Settings& s, Liveness& liveness) : Handler(s), liveness_(liveness) {}
  const ResourceDef& def() const override { return def_; }
  std::string quota_name() const override { return ""; }
  bool visible(const Model&, const Obj&, const Ctx& ctx) const override { return ctx.is_admin; }
  bool decorates() const override { return true; }

  Obj decorate(const Model& m, const Obj& agent) const override {
    Obj out = agent;
    auto host = jget::str(agent.if_contains("host"));
    auto last = liveness_.last_ms(host);
    out["heartbeat_timestamp"] = last ? json::value(agent_time(*last)) : agent.at("started_at");
    // The stored liveness (updated by the sweep within a second), which binding and
    // scheduling use too, so that all of them agree.
    const Obj* h = m.find("hosts", host);
    out["alive"] = h && h->at("alive").as_bool();
    auto& conf = out["configurations"].as_object();
    auto type = jget::str(agent.if_contains("agent_type"));
    if (type == "L3 agent") conf["routers"] = count_routers_on(m, host);
    if (type == "Linux bridge agent") {
      int64_t devices = 0;
      if (const Table* t = m.find_table("ports"))
        for (const auto& [pid, p] : *t) devices += jget::str(p.if_contains("binding:host_id")) == host;
      conf["devices"] = devices;
    }
    return out;
  }

  Result<Obj> create(Txn&, Obj, const Ctx&) override {
    return bad_request("Agents cannot be created through the API: an agent registers itself when it starts");
  }

  Result<Obj> update(Txn& txn, const Obj& current, const Obj& changes, const Ctx& ctx) override {
    NT_ASSIGN(Obj next, Handler::update(txn, current, changes, ctx));
    reschedule_gateways(txn, settings_);
    return next;
  }

  Status remove(Txn& txn, const Obj& agent, const Ctx& ctx) override {
    auto host = jget::str(agent.if_contains("host"));
    txn.erase("agents", jget::str(agent.if_contains("id")));
    bool others = false;
    for (const auto& [id, a] : txn.model().table("agents")) others |= jget::str(a.if_contains("host")) == host;
    if (!others) {
      if (const Obj* h = txn.model().find("hosts", host))
        if (auto mac = Mac::parse(jget::str(h->if_contains("dvr_mac")))) txn.release_mac("dvr", *mac);
      txn.erase("hosts", host);
    }
    reschedule_gateways(txn, settings_);
    return {};
  }

 private:
  Liveness& liveness_;
  ResourceDef def_ = agent_def();
};

const Obj* l3_agent_of(const Model& m, const std::string& host) {
  if (const Table* t = m.find_table("agents"))
    for (const auto& [id, a] : *t)
      if (jget::str(a.if_contains("host")) == host && jget::str(a.if_contains("agent_type")) == "L3 agent") return &a;
  return nullptr;
}

}  // namespace

std::unique_ptr<Handler> make_agents(const Settings& s, Liveness& liveness) { return std::make_unique<Agents>(s, liveness); }

Result<json::value> l3_agents_of_router(Handler& agents, Handler& routers, const Model& m, const Ctx& ctx,
                                        const std::string& router_id) {
  NT_TRY(find_visible(routers, m, ctx, router_id));
  if (!ctx.is_admin) return fail(Errc::forbidden, "PolicyNotAuthorized", "(rule:get_l3-agents) is disallowed by policy");
  json::array out;
  if (const Obj* b = m.find("l3_bindings", router_id)) {
    bool active_seen = false;
    for (const auto& h : b->at("hosts").as_array()) {
      auto host = jget::str(&h);
      const Obj* agent = l3_agent_of(m, host);
      if (!agent) continue;
      Obj shown = render(agents.def(), agents.decorate(m, *agent), ctx);
      // The state the host reported; until it reports, the server's expectation by priority.
      auto reported = jget::str(b->at("ha_state").as_object().if_contains(host));
      bool alive = shown.at("alive").as_bool();
      std::string expected = (!active_seen && alive) ? "active" : "standby";
      active_seen |= alive;
      shown["ha_state"] = reported.empty() ? expected : reported;
      out.push_back(std::move(shown));
    }
  }
  return json::object{{"agents", std::move(out)}};
}

Result<json::value> l3_routers_of_agent(Handler& agents, Handler& routers, const Model& m, const Ctx& ctx,
                                        const std::string& agent_id) {
  NT_ASSIGN(const Obj* agent, find_visible(agents, m, ctx, agent_id));
  auto host = jget::str(agent->if_contains("host"));
  json::array out;
  if (const Table* t = m.find_table("l3_bindings"))
    for (const auto& [rid, b] : *t)
      for (const auto& h : b.at("hosts").as_array())
        if (jget::str(&h) == host)
          if (const Obj* r = m.find("routers", rid)) out.push_back(render(routers.def(), *r, ctx));
  return json::object{{"routers", std::move(out)}};
}

}  // namespace nt
