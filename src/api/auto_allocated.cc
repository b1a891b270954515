// auto-allocated-topology ("get me a network"), as Neutron 21's auto_allocate service
// plugin: GET /v2.0/auto-allocated-topology/{project} returns the project's network,
// building it on first use (a network, a subnet from each default subnet pool, a router
// with the default external network as gateway and an interface on each subnet);
// ?fields=dry-run only checks that it could be built; DELETE tears it down. Everything is
// made through the networks, subnets and routers handlers, so their rules apply; a
// failure undoes the whole request (the writer's savepoint), as Neutron's clean-up does.
// The `auto_allocated_topologies` rows are keyed by project: {id, project_id, network_id,
// router_id}.
#include "api/handlers.h"

#include <algorithm>

#include "api/l3.h"

namespace nt {
namespace json = boost::json;

namespace {

constexpr const char* kTable = "auto_allocated_topologies";

Result<json::value> failure(const std::string& reason) {
  return conflict("AutoAllocationFailure", "Deployment error: " + reason + ".");
}

Result<json::value> unrecognized_field() {
  return fail(Errc::invalid_argument, "BadRequest", "Bad auto_allocate request: Unrecognized field.");
}

// The project the topology is for: "None" (a client that gave none) is the caller's own.
Result<std::string> topology_project(const Ctx& ctx, const std::string& given) {
  std::string project = given == "None" ? ctx.project_id : given;
  if (!ctx.is_admin && project != ctx.project_id) return fail(Errc::forbidden, "NotAuthorized", "Not authorized.");
  return project;
}

// The default external network (the first, should there be several).
std::string default_external_network(const Model& m) {
  if (const Table* nets = m.find_table("networks"))
    for (const auto& [id, net] : *nets)
      if (explicitly_true(net, "is_default") && explicitly_true(net, "router:external")) return id;
  return "";
}

// The default subnet pools the caller may use, IPv4 first.
std::vector<const Obj*> default_pools(const Handler& pools, const Model& m, const Ctx& ctx) {
  std::vector<const Obj*> out;
  for (int version : {4, 6})
    if (const Table* t = m.find_table("subnetpools"))
      for (const auto& [id, pool] : *t)
        if (explicitly_true(pool, "is_default") && jget::num(pool, "ip_version", 0) == version &&
            pools.visible(m, pool, ctx)) {
          out.push_back(&pool);
          break;
        }
  return out;
}

// What Neutron turns into AutoAllocationFailure (bad requests, missing things, a pool
// that cannot allocate); other errors reach the caller as they are.
bool unmet_requirement(const Error& e) {
  return e.code == Errc::invalid_argument || e.code == Errc::not_found || e.type.ends_with("AllocationError");
}

// The network and its subnets (Neutron's _provision_tenant_private_network).
Result<std::string> provision_network(Handler& networks, Txn& txn, const Ctx& ctx, const std::string& project) {
  Ctx owner{project, false, false, false};
  if (networks.needs_setup(txn.model(), owner)) NT_TRY(networks.setup(txn, owner));  // the default security group
  NT_ASSIGN(Obj net, create_internal(networks, txn, Obj{{"name", "auto_allocated_network"}, {"admin_state_up", true},
                                                         {"shared", false}, {"project_id", project}}));
  auto net_id = jget::str(net.if_contains("id"));
  auto pools = default_pools(networks.peer("subnetpools"), txn.model(), ctx);
  if (pools.empty()) return nt::unexpected(failure("Unable to provide tenant private network").error());
  for (const Obj* pool : pools) {
    auto version = jget::num(*pool, "ip_version", 4);
    Obj item{{"name", "auto_allocated_subnet_v" + std::to_string(version)}, {"network_id", net_id},
             {"ip_version", version}, {"subnetpool_id", pool->at("id")}, {"project_id", project}};
    auto sub = create_internal(networks.peer("subnets"), txn, std::move(item));
    if (!sub && unmet_requirement(sub.error())) return nt::unexpected(failure("Unable to provide tenant private network").error());
    if (!sub) return nt::unexpected(sub.error());
  }
  return net_id;
}

// The router, its gateway and its interfaces (Neutron's _provision_external_connectivity).
Result<std::string> provision_router(Handler& routers, Txn& txn, const std::string& project, const std::string& ext,
                                     const std::string& net_id) {
  auto router = create_internal(routers, txn, Obj{{"name", "auto_allocated_router"}, {"admin_state_up", true},
                                                  {"external_gateway_info", Obj{{"network_id", ext}}},
                                                  {"project_id", project}});
  if (!router && router.error().code == Errc::invalid_argument)
    return nt::unexpected(failure("Unable to provide external connectivity").error());
  if (!router) return nt::unexpected(router.error());
  auto router_id = jget::str(router->if_contains("id"));
  for (const auto& sid : txn.model().find("networks", net_id)->at("subnets").as_array()) {
    auto body = json::serialize(json::object{{"subnet_id", sid}});
    auto added = router_interface_action(routers, txn, internal_ctx(), router_id, "add_router_interface", body);
    if (!added && added.error().code == Errc::invalid_argument)
      return nt::unexpected(failure("Unable to provide external connectivity").error());
    if (!added) return nt::unexpected(added.error());
  }
  return router_id;
}

json::value answer(const std::string& network_id, const std::string& project) {
  return json::object{{"auto_allocated_topology",
                       json::object{{"id", network_id}, {"tenant_id", project}, {"project_id", project}}}};
}

Result<json::value> get_topology(Handler& networks, Txn& txn, const Ctx& ctx, const std::string& project,
                                 const std::vector<std::string>& fields) {
  const Model& m = txn.model();
  bool dry_run = std::find(fields.begin(), fields.end(), "dry-run") != fields.end();
  if (dry_run) {
    if (default_external_network(m).empty()) return failure("No default router:external network");
    if (default_pools(networks.peer("subnetpools"), m, ctx).empty()) return failure("No default subnetpools defined");
    return json::object{{"auto_allocated_topology", json::object{{"id", "dry-run=pass"}, {"tenant_id", project}}}};
  }
  if (!fields.empty()) return unrecognized_field();
  if (const Obj* topology = m.find(kTable, project)) return answer(jget::str(topology->if_contains("network_id")), project);
  auto ext = default_external_network(m);
  if (ext.empty()) return failure("No default router:external network");
  NT_ASSIGN(auto net_id, provision_network(networks, txn, ctx, project));
  NT_ASSIGN(auto router_id, provision_router(networks.peer("routers"), txn, project, ext, net_id));
  txn.put(kTable, Obj{{"id", project}, {"project_id", project}, {"network_id", net_id}, {"router_id", router_id}});
  return answer(net_id, project);
}

// Neutron's _cleanup: the router's interfaces on the network's subnets, the router, then
// the network (which fails while other ports are on it); what is already gone is skipped.
Status delete_topology(Handler& networks, Txn& txn, const std::string& project) {
  const Obj* topology = txn.model().find(kTable, project);
  if (!topology) return {};
  auto net_id = jget::str(topology->if_contains("network_id"));
  auto router_id = jget::str(topology->if_contains("router_id"));
  Handler& routers = networks.peer("routers");
  const Obj* net = txn.model().find("networks", net_id);
  if (!router_id.empty() && txn.model().find("routers", router_id)) {
    json::array subnets = net ? net->at("subnets").as_array() : json::array{};
    for (const auto& sid : subnets) {
      auto body = json::serialize(json::object{{"subnet_id", sid}});
      auto removed = router_interface_action(routers, txn, internal_ctx(), router_id, "remove_router_interface", body);
      if (!removed && removed.error().code != Errc::not_found) return nt::unexpected(removed.error());
    }
    NT_TRY(delete_internal(routers, txn, router_id));
  }
  NT_TRY(delete_internal(networks, txn, net_id));
  if (txn.model().find(kTable, project)) txn.erase(kTable, project);
  return {};
}

}  // namespace

// A network's deletion takes its project's topology record with it (Neutron's cascade).
void forget_auto_allocated_network(Txn& txn, const std::string& network_id) {
  const Table* t = txn.model().find_table(kTable);
  if (!t) return;
  std::vector<std::string> gone;
  for (const auto& [project, row] : *t)
    if (jget::str(row.if_contains("network_id")) == network_id) gone.push_back(project);
  for (const auto& project : gone) txn.erase(kTable, project);
}

Result<json::value> auto_allocated_topology(Handler& networks, Txn& txn, const Ctx& ctx, const std::string& method,
                                            const std::vector<std::string>& path, const Params& params) {
  if (path.size() == 1 && method == "POST") return bad_request("Attribute 'tenant_id' not allowed in POST");
  // Neutron 21 answers a list with a 500 (its plugin has none).
  if (path.size() != 2) return not_found("HTTPNotFound", "The resource could not be found.");
  if (method == "PUT") return unrecognized_field();
  NT_ASSIGN(auto project, topology_project(ctx, path[1]));
  if (method == "DELETE") {
    NT_TRY(delete_topology(networks, txn, project));
    return json::value(nullptr);
  }
  std::vector<std::string> fields;
  for (const auto& [k, v] : params)
    if (k == "fields" && !v.empty()) fields.push_back(v);
  return get_topology(networks, txn, ctx, project, fields);
}

}  // namespace nt
