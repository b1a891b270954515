// neutrino-load --scenario mix (load_mix.h). The requests are those Nova's
// nova/network/neutron.py and Horizon's openstack_dashboard/api/neutron.py send:
//   Nova: ports of an instance (device_id, with tenant_id or fields=), networks by id and
//   shared, floating IPs by fixed address and port, subnets by id, the DHCP ports of a
//   network, the project's security groups (fields=id,name), a port shown with fields=,
//   port create (device_id, device_owner, binding:host_id), bind (binding:host_id), delete.
//   Horizon: network pages (limit=21, sort_key=id, sort_dir=desc) of the project, shared
//   and external networks, the ports and floating IPs of a page of 20 instances, the
//   project's floating IPs, one floating IP, a network's ports paged with a marker.
// Project-scoped requests act as a member of the project (X-Project-Id), Nova's admin ones
// as admin, as each client does.
#include "load_mix.h"

#include <functional>
#include <optional>
#include <random>

namespace load {
namespace {

using Rng = std::mt19937_64;

std::string random_hex(Rng& rng, bool dashes) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) {
    if (dashes && (i == 8 || i == 12 || i == 16 || i == 20)) s += '-';
    s += hex[rng() & 15];
  }
  return s;
}

template <class T>
const T& pick(const std::vector<T>& v, Rng& rng) {
  return v[rng() % v.size()];
}

struct Vm {
  std::string device_id, port_id, network_id, subnet_id, ip;
  size_t project = 0;
};
struct Project {
  std::string id, router;
  std::vector<std::string> networks, subnets;
};
struct FloatingIp {
  std::string id, port_id, fixed_ip;
  size_t project = 0;
};

struct Fixture {
  std::vector<Project> projects;
  std::vector<Vm> vms;  // vm i belongs to project i % projects
  std::vector<FloatingIp> fips;
  std::string external_network;
  std::vector<std::string> shared_networks;
  std::vector<std::string> hosts;
};

// The ports the mix created, which its binds and deletes use.
class PortPool {
 public:
  void add(std::string id) {
    std::lock_guard g(mu_);
    ids_.push_back(std::move(id));
  }
  std::optional<std::string> any(Rng& rng) {
    std::lock_guard g(mu_);
    if (ids_.empty()) return std::nullopt;
    return ids_[rng() % ids_.size()];
  }
  std::optional<std::string> take(Rng& rng) {
    std::lock_guard g(mu_);
    if (ids_.empty()) return std::nullopt;
    auto at = rng() % ids_.size();
    std::string id = std::move(ids_[at]);
    ids_[at] = std::move(ids_.back());
    ids_.pop_back();
    return id;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> ids_;
};

// A setup request as admin: the parsed answer, or nullopt after saying what went wrong.
std::optional<json::value> setup_call(Client& c, http::verb verb, const std::string& path, const json::value& body,
                                      int want) {
  std::string raw;
  int status = c.call(verb, path, json::serialize(body), nullptr, &raw);
  if (status != want) {
    std::fprintf(stderr, "%s %s: HTTP %d %s\n", std::string(http::to_string(verb)).c_str(), path.c_str(), status,
                 raw.substr(0, 300).c_str());
    return std::nullopt;
  }
  return raw.empty() ? json::value() : json::parse(raw);
}

std::string str(const json::value& v, const char* key) { return std::string(v.at(key).as_string()); }

// A network (and its subnet) created by admin for `project` ("" = admin's own).
std::optional<std::pair<std::string, std::string>> create_network(Client& c, json::object net, const std::string& cidr,
                                                                    const std::string& project) {
  if (!project.empty()) net["project_id"] = project;
  auto made = setup_call(c, http::verb::post, "/v2.0/networks", json::object{{"network", net}}, 201);
  if (!made) return std::nullopt;
  auto net_id = str(made->at("network"), "id");
  json::object subnet{{"network_id", net_id}, {"ip_version", 4}, {"cidr", cidr}, {"enable_dhcp", false}};
  if (!project.empty()) subnet["project_id"] = project;
  auto sub = setup_call(c, http::verb::post, "/v2.0/subnets", json::object{{"subnet", subnet}}, 201);
  if (!sub) return std::nullopt;
  return std::pair{net_id, str(sub->at("subnet"), "id")};
}

bool lift_quotas(Client& c, const std::string& project) {
  json::object unlimited;
  for (const char* r : {"network", "subnet", "port", "router", "floatingip", "security_group", "security_group_rule"})
    unlimited[r] = -1;
  return setup_call(c, http::verb::put, "/v2.0/quotas/" + project, json::object{{"quota", unlimited}}, 200).has_value();
}

bool create_project(Client& c, Fixture& fx, size_t index, Rng& rng) {
  Project p{random_hex(rng, false), "", {}, {}};
  if (!lift_quotas(c, p.id)) return false;
  for (size_t k = 0; k < 2; ++k) {
    auto cidr = "10." + std::to_string(2 * index + k) + ".0.0/16";
    auto made = create_network(c, json::object{{"name", "mix-net-" + std::to_string(index) + "-" + std::to_string(k)}}, cidr, p.id);
    if (!made) return false;
    p.networks.push_back(made->first);
    p.subnets.push_back(made->second);
  }
  json::object router{{"name", "mix-router-" + std::to_string(index)}, {"project_id", p.id},
                      {"external_gateway_info", json::object{{"network_id", fx.external_network}}}};
  auto r = setup_call(c, http::verb::post, "/v2.0/routers", json::object{{"router", router}}, 201);
  if (!r) return false;
  p.router = str(r->at("router"), "id");
  for (const auto& subnet : p.subnets)
    if (!setup_call(c, http::verb::put, "/v2.0/routers/" + p.router + "/add_router_interface",
                    json::object{{"subnet_id", subnet}}, 200))
      return false;
  fx.projects.push_back(std::move(p));
  return true;
}

bool create_topology(const Options& o, const MixOptions& m, Fixture& fx) {
  Client c(o);
  Rng rng(18);
  auto ext = create_network(c, json::object{{"name", "mix-external"}, {"router:external", true}}, "100.64.0.0/12", "");
  if (!ext) return false;
  fx.external_network = ext->first;
  for (int k = 0; k < 2; ++k) {
    auto shared = create_network(c, json::object{{"name", "mix-shared-" + std::to_string(k)}, {"shared", true}},
                                 "10.250." + std::to_string(k) + ".0/24", "");
    if (!shared) return false;
    fx.shared_networks.push_back(shared->first);
  }
  for (size_t p = 0; p < static_cast<size_t>(m.projects); ++p)
    if (!create_project(c, fx, p, rng)) return false;
  for (int h = 0; h < m.hosts; ++h) fx.hosts.push_back("compute-" + std::to_string(h));
  return true;
}

// One bulk POST of ports [first, first + n) (200 stay under the default 112 KiB body limit): VM i's port on its project's network i/P % 2.
bool post_port_batch(Client& c, Fixture& fx, size_t first, size_t n) {
  json::array items;
  Rng rng(first);
  size_t projects = fx.projects.size();
  for (size_t i = first; i < first + n; ++i) {
    auto& vm = fx.vms[i];
    const auto& p = fx.projects[i % projects];
    size_t k = (i / projects) % 2;
    vm = Vm{random_hex(rng, true), "", p.networks[k], p.subnets[k], "", i % projects};
    items.push_back(json::object{{"name", "vm-" + std::to_string(i)}, {"network_id", vm.network_id},
                                 {"project_id", p.id}, {"device_id", vm.device_id}, {"device_owner", "compute:nova"},
                                 {"binding:host_id", fx.hosts[i % fx.hosts.size()]}});
  }
  auto made = setup_call(c, http::verb::post, "/v2.0/ports", json::object{{"ports", std::move(items)}}, 201);
  if (!made) return false;
  const auto& ports = made->at("ports").as_array();
  for (size_t j = 0; j < ports.size() && j < n; ++j) {
    auto& vm = fx.vms[first + j];
    vm.port_id = str(ports[j], "id");
    vm.ip = str(ports[j].at("fixed_ips").as_array().at(0), "ip_address");
  }
  return ports.size() == n;
}

// One bulk POST of floating IPs [first, first + n), on the ports of VMs [first, first + n).
bool post_fip_batch(Client& c, Fixture& fx, size_t first, size_t n) {
  json::array items;
  for (size_t j = first; j < first + n; ++j) {
    const auto& vm = fx.vms[j];
    fx.fips[j] = FloatingIp{"", vm.port_id, vm.ip, vm.project};
    items.push_back(json::object{{"floating_network_id", fx.external_network}, {"port_id", vm.port_id},
                                 {"project_id", fx.projects[vm.project].id}});
  }
  auto made = setup_call(c, http::verb::post, "/v2.0/floatingips", json::object{{"floatingips", std::move(items)}}, 201);
  if (!made) return false;
  const auto& fips = made->at("floatingips").as_array();
  for (size_t j = 0; j < fips.size() && j < n; ++j) fx.fips[first + j].id = str(fips[j], "id");
  return fips.size() == n;
}

// Runs `batch(client, first, n)` over [begin, end) in batches of `size` on `conc` workers.
template <class Batch>
bool run_batches(const Options& o, const std::string& name, size_t begin, size_t end, size_t size, int conc, Batch batch) {
  int batches = static_cast<int>((end - begin + size - 1) / size);
  auto stats = run(o, name, batches, conc, [&](Client& c, int b) {
    size_t first = begin + static_cast<size_t>(b) * size;
    return batch(c, first, std::min(size, end - first));
  });
  return stats.errors == 0;
}

// The floating IPs go to the first VMs' ports (2% by default, every project), created
// before the other ports: the preload measures no association against 100k ports.
bool preload(const Options& o, const MixOptions& m, Fixture& fx) {
  if (!create_topology(o, m, fx)) return false;
  fx.vms.resize(static_cast<size_t>(m.preload_ports));
  fx.fips.resize(static_cast<size_t>(std::min(m.floating_ips, m.preload_ports)));
  auto ports = [&](Client& c, size_t first, size_t n) { return post_port_batch(c, fx, first, n); };
  auto fips = [&](Client& c, size_t first, size_t n) { return post_fip_batch(c, fx, first, n); };
  return run_batches(o, "preload ports/200", 0, fx.fips.size(), 200, 4, ports) &&
         run_batches(o, "preload fips/100", 0, fx.fips.size(), 100, 2, fips) &&
         run_batches(o, "preload ports/200", fx.fips.size(), fx.vms.size(), 200, 4, ports);
}

enum class Outcome { ok, failed, skipped };

struct MixOp {
  std::string name;
  int weight;
  std::function<Outcome(Client&, Rng&)> run;
};

// A GET that must answer 200 and, when `expect` is given, contain it.
Outcome get(Client& c, const std::string& path, const std::string& expect = "") {
  std::string raw;
  if (c.call(http::verb::get, path, "", nullptr, &raw) != 200) return Outcome::failed;
  return expect.empty() || raw.find(expect) != std::string::npos ? Outcome::ok : Outcome::failed;
}

// 20 VMs of one project in a row, as a Horizon instances page shows them.
std::vector<const Vm*> instance_page(const Fixture& fx, Rng& rng) {
  size_t projects = fx.projects.size(), p = rng() % projects, per_project = fx.vms.size() / projects;
  size_t start = per_project > 20 ? rng() % (per_project - 20) : 0;
  std::vector<const Vm*> page;
  for (size_t k = start; k < start + 20 && p + k * projects < fx.vms.size(); ++k) page.push_back(&fx.vms[p + k * projects]);
  return page;
}

std::string repeated(const std::string& key, const std::vector<const Vm*>& vms, std::string Vm::*field) {
  std::string q;
  for (const Vm* vm : vms) q += (q.empty() ? "" : "&") + key + "=" + vm->*field;
  return q;
}

std::vector<MixOp> nova_reads(const Fixture& fx) {
  auto vm_of = [&fx](Client& c, Rng& rng, bool admin) -> const Vm& {
    const Vm& vm = pick(fx.vms, rng);
    c.act_as(admin ? "" : fx.projects[vm.project].id);
    return vm;
  };
  return {
      {"nova ports?device_id", 14, [&fx, vm_of](Client& c, Rng& rng) {
         const Vm& vm = vm_of(c, rng, false);
         return get(c, "/v2.0/ports?tenant_id=" + fx.projects[vm.project].id + "&device_id=" + vm.device_id, vm.port_id);
       }},
      {"nova ports?device_id&fields", 6, [vm_of](Client& c, Rng& rng) {
         const Vm& vm = vm_of(c, rng, true);
         return get(c, "/v2.0/ports?device_id=" + vm.device_id + "&fields=id&fields=binding:profile", vm.port_id);
       }},
      {"nova networks?id", 6, [&fx, vm_of](Client& c, Rng& rng) {
         const auto& nets = fx.projects[vm_of(c, rng, false).project].networks;
         return get(c, "/v2.0/networks?id=" + nets[0] + "&id=" + nets[1], nets[1]);
       }},
      {"nova networks?shared", 4, [&fx, vm_of](Client& c, Rng& rng) {
         vm_of(c, rng, false);
         return get(c, "/v2.0/networks?shared=True", fx.shared_networks[0]);
       }},
      {"nova fips?fixed_ip&port", 8, [&fx](Client& c, Rng& rng) {
         const auto& fip = pick(fx.fips, rng);
         c.act_as(fx.projects[fip.project].id);
         return get(c, "/v2.0/floatingips?fixed_ip_address=" + fip.fixed_ip + "&port_id=" + fip.port_id, fip.id);
       }},
      {"nova subnets?id", 6, [vm_of](Client& c, Rng& rng) {
         const Vm& vm = vm_of(c, rng, false);
         return get(c, "/v2.0/subnets?id=" + vm.subnet_id, vm.subnet_id);
       }},
      {"nova ports?dhcp", 5, [vm_of](Client& c, Rng& rng) {
         return get(c, "/v2.0/ports?network_id=" + vm_of(c, rng, false).network_id + "&device_owner=network:dhcp");
       }},
      {"nova sgs?fields", 3, [&fx, vm_of](Client& c, Rng& rng) {
         const Vm& vm = vm_of(c, rng, false);
         return get(c, "/v2.0/security-groups?tenant_id=" + fx.projects[vm.project].id + "&fields=id&fields=name", "default");
       }},
      {"nova port show?fields", 4, [vm_of](Client& c, Rng& rng) {
         const Vm& vm = vm_of(c, rng, true);
         return get(c, "/v2.0/ports/" + vm.port_id + "?fields=binding:vnic_type&fields=network_id&fields=binding:profile",
                    vm.network_id);
       }},
  };
}

std::vector<MixOp> nova_writes(const Fixture& fx, PortPool& pool) {
  return {
      {"nova port create", 5, [&fx, &pool](Client& c, Rng& rng) {
         const auto& p = pick(fx.projects, rng);
         json::object port{{"network_id", pick(p.networks, rng)}, {"project_id", p.id}, {"device_id", random_hex(rng, true)},
                           {"device_owner", "compute:nova"}, {"binding:host_id", pick(fx.hosts, rng)}};
         c.act_as("");
         json::value out;
         if (c.call(http::verb::post, "/v2.0/ports", json::serialize(json::object{{"port", port}}), &out) != 201)
           return Outcome::failed;
         pool.add(str(out.at("port"), "id"));
         return Outcome::ok;
       }},
      {"nova port bind", 5, [&fx, &pool](Client& c, Rng& rng) {
         auto id = pool.any(rng);
         if (!id) return Outcome::skipped;
         c.act_as("");
         json::object binding{{"binding:host_id", pick(fx.hosts, rng)}, {"binding:profile", json::object{}}};
         auto body = json::serialize(json::object{{"port", binding}});
         int status = c.call(http::verb::put, "/v2.0/ports/" + *id, body, nullptr, nullptr);
         return status == 200 || status == 404 ? Outcome::ok : Outcome::failed;  // 404: deleted meanwhile
       }},
      {"nova port delete", 4, [&pool](Client& c, Rng& rng) {
         auto id = pool.take(rng);
         if (!id) return Outcome::skipped;
         c.act_as("");
         return c.call(http::verb::delete_, "/v2.0/ports/" + *id, "", nullptr, nullptr) == 204 ? Outcome::ok : Outcome::failed;
       }},
  };
}

std::vector<MixOp> horizon_ops(const Fixture& fx) {
  auto as_member = [&fx](Client& c, Rng& rng) -> const Project& {
    const auto& p = pick(fx.projects, rng);
    c.act_as(p.id);
    return p;
  };
  const std::string page = "&limit=21&sort_key=id&sort_dir=desc";
  return {
      {"horizon networks page", 4, [as_member, page](Client& c, Rng& rng) {
         const auto& p = as_member(c, rng);
         return get(c, "/v2.0/networks?tenant_id=" + p.id + "&shared=False" + page, p.networks[0]);
       }},
      {"horizon shared page", 3, [&fx, as_member, page](Client& c, Rng& rng) {
         as_member(c, rng);
         return get(c, "/v2.0/networks?shared=True" + page, fx.shared_networks[1]);
       }},
      {"horizon external page", 3, [&fx, as_member, page](Client& c, Rng& rng) {
         as_member(c, rng);
         return get(c, "/v2.0/networks?router:external=True&shared=False" + page, fx.external_network);
       }},
      {"horizon ports?device_id*20", 4, [&fx](Client& c, Rng& rng) {
         auto vms = instance_page(fx, rng);
         c.act_as(fx.projects[vms[0]->project].id);
         return get(c, "/v2.0/ports?" + repeated("device_id", vms, &Vm::device_id), vms.back()->port_id);
       }},
      {"horizon fips?port_id*20", 3, [&fx](Client& c, Rng& rng) {
         auto vms = instance_page(fx, rng);
         c.act_as(fx.projects[vms[0]->project].id);
         return get(c, "/v2.0/floatingips?" + repeated("port_id", vms, &Vm::port_id));
       }},
      {"horizon fips?tenant_id", 3, [as_member](Client& c, Rng& rng) {
         return get(c, "/v2.0/floatingips?tenant_id=" + as_member(c, rng).id);
       }},
      {"horizon fip show", 3, [&fx](Client& c, Rng& rng) {
         const auto& fip = pick(fx.fips, rng);
         c.act_as(fx.projects[fip.project].id);
         return get(c, "/v2.0/floatingips/" + fip.id, fip.port_id);
       }},
      {"horizon ports page", 3, [&fx](Client& c, Rng& rng) {
         const Vm& vm = pick(fx.vms, rng);
         c.act_as("");
         return get(c, "/v2.0/ports?network_id=" + vm.network_id + "&limit=21&sort_key=id&sort_dir=asc&marker=" + vm.port_id);
       }},
  };
}

struct OpTimes {
  std::vector<double> ms;
  int errors = 0;
};

// Runs the weighted mix on `conc` workers for `count` operations or `seconds`.
std::vector<OpTimes> run_ops(const Options& o, const std::vector<MixOp>& ops, double seconds, double* wall_s) {
  std::vector<int> cumulative;
  for (const auto& op : ops) cumulative.push_back((cumulative.empty() ? 0 : cumulative.back()) + op.weight);
  std::vector<OpTimes> all(ops.size());
  std::mutex mu;
  std::atomic<int> next{0};
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> workers;
  for (int w = 0; w < o.concurrency; ++w)
    workers.emplace_back([&, w] {
      Client client(o, static_cast<size_t>(w));
      Rng rng(1000 + static_cast<uint64_t>(w));
      std::vector<OpTimes> local(ops.size());
      while (seconds > 0 ? Clock::now() < deadline : next++ < o.count) {
        int ticket = static_cast<int>(rng() % static_cast<uint64_t>(cumulative.back()));
        size_t k = static_cast<size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), ticket) - cumulative.begin());
        auto t0 = Clock::now();
        Outcome outcome = ops[k].run(client, rng);
        if (outcome == Outcome::skipped) continue;
        local[k].ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        local[k].errors += outcome == Outcome::failed ? 1 : 0;
      }
      std::lock_guard g(mu);
      for (size_t k = 0; k < ops.size(); ++k) {
        all[k].ms.insert(all[k].ms.end(), local[k].ms.begin(), local[k].ms.end());
        all[k].errors += local[k].errors;
      }
    });
  for (auto& t : workers) t.join();
  *wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  return all;
}

}  // namespace

int run_mix(const Options& o, const MixOptions& m) {
  if (m.projects < 1 || m.projects > 100 || m.preload_ports < m.projects * 20 || m.hosts < 1 || m.floating_ips < 1) {
    std::fprintf(stderr, "mix: needs 1-100 projects, at least 20 ports per project, a host and a floating IP\n");
    return 1;
  }
  Fixture fx;
  if (!preload(o, m, fx)) return 1;
  if (o.rss_pid) std::printf("%-16s server RSS after the preload:%s\n", "", rss_of(o.rss_pid).c_str());
  std::fflush(stdout);  // whoever watches the output (bench/mix, a profiler) starts now
  PortPool pool;
  std::vector<MixOp> ops = nova_reads(fx);
  auto writes = nova_writes(fx, pool), horizon = horizon_ops(fx);
  ops.insert(ops.end(), writes.begin(), writes.end());
  ops.insert(ops.end(), horizon.begin(), horizon.end());
  double wall_s = 0, server_cpu = o.rss_pid ? cpu_seconds_of(o.rss_pid) : 0, own_cpu = cpu_seconds_of(getpid());
  auto times = run_ops(o, ops, m.seconds, &wall_s);
  server_cpu = o.rss_pid ? cpu_seconds_of(o.rss_pid) - server_cpu : 0;
  own_cpu = cpu_seconds_of(getpid()) - own_cpu;
  Stats total{"mix (all)", {}, wall_s, 0};
  int errors = 0;
  for (size_t k = 0; k < ops.size(); ++k) {
    report(Stats{ops[k].name, times[k].ms, wall_s, times[k].errors});
    total.ms.insert(total.ms.end(), times[k].ms.begin(), times[k].ms.end());
    errors += times[k].errors;
  }
  total.errors = errors;
  report(total);
  std::printf("%-28s %.0f%% of a core for this client", "CPU over the mix:", 100 * own_cpu / wall_s);
  if (o.rss_pid) std::printf(", %.0f%% for the server (RSS%s)", 100 * server_cpu / wall_s, rss_of(o.rss_pid).c_str());
  std::printf("\n");
  return errors;
}

}  // namespace load
