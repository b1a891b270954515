// neutrino-load: a load generator for any Neutron-compatible endpoint (neutrino-server or
// a real neutron-server). Scenarios:
//   ports:    1 network, a /16 subnet, N concurrent port creates, one full port list,
//             N shows, N deletes
//   networks: N concurrent network creates, one full list, N shows, N deletes
//   mix:      --preload ports on 20 projects' networks, then N operations (or --seconds)
//             mixing Nova's and Horizon's reads and writes (load_mix.h)
// Prints ops/s and p50/p95/p99 latency per operation. Each worker keeps one HTTP/1.1
// keep-alive connection. --url may list several servers sharing one database
// (comma-separated): worker i talks to URL i % n. Works with noauth (no token) or a Keystone token (--token).
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "load_client.h"
#include "load_mix.h"

using namespace load;

namespace {

std::string id_of(const json::value& v, const char* key) {
  return std::string(v.at(key).at("id").as_string());
}

int scenario(const Options& o, const char* singular, const char* plural, const std::string& network_id) {
  std::vector<std::string> ids(static_cast<size_t>(o.count));
  std::string path = std::string("/v2.0/") + plural;
  auto creates = run(o, std::string(singular) + " create", o.count, o.concurrency, [&](Client& c, int i) {
    json::object item{{"name", "load-" + std::to_string(i)}};
    if (!network_id.empty()) item["network_id"] = network_id;
    json::value out;
    int st = c.call(http::verb::post, path, json::serialize(json::object{{singular, item}}), &out);
    if (st != 201) return false;
    ids[static_cast<size_t>(i)] = id_of(out, singular);
    return true;
  });
  // The list is timed to its last byte; parsing it is the client's own cost, shown apart.
  std::string listing;
  run(o, std::string(singular) + " list", 1, 1, [&](Client& c, int) {
    return c.call(http::verb::get, path + (network_id.empty() ? "" : "?network_id=" + network_id), "", nullptr, &listing) == 200;
  });
  auto t0 = Clock::now();
  size_t listed = listing.empty() ? 0 : json::parse(listing).at(plural).as_array().size();
  std::printf("%-16s %zu %s in one list (%.1f MB; client JSON parse %.1f ms)\n", "", listed, plural,
              static_cast<double>(listing.size()) / 1e6, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  if (o.rss_pid) std::printf("%-16s server RSS holding them:%s\n", "", rss_of(o.rss_pid).c_str());
  run(o, std::string(singular) + " show", o.count, o.concurrency, [&](Client& c, int i) {
    return !ids[static_cast<size_t>(i)].empty() && c.call(http::verb::get, path + "/" + ids[static_cast<size_t>(i)], "") == 200;
  });
  if (o.keep) return creates.errors;
  run(o, std::string(singular) + " delete", o.count, o.concurrency, [&](Client& c, int i) {
    return !ids[static_cast<size_t>(i)].empty() && c.call(http::verb::delete_, path + "/" + ids[static_cast<size_t>(i)], "") == 204;
  });
  return creates.errors;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"neutrino-load: Neutron API load generator"};
  app.add_option("--url", o.url, "Neutron endpoint (http://host:9696)");
  app.add_option("--scenario", o.scenario, "ports, networks or mix")->check(CLI::IsMember({"ports", "networks", "mix"}));
  app.add_option("-n,--count", o.count, "operations per phase");
  app.add_option("-c,--concurrency", o.concurrency, "concurrent clients");
  app.add_option("--token", o.token, "X-Auth-Token for a Keystone-protected endpoint");
  app.add_option("--project", o.project, "X-Project-Id (noauth endpoints)");
  app.add_option("--rss-pid", o.rss_pid, "report this server process's RSS after the creates");
  app.add_flag("--keep", o.keep, "do not delete what was created");
  MixOptions mix;
  app.add_option("--preload", mix.preload_ports, "mix: ports stored before the mix");
  app.add_option("--projects", mix.projects, "mix: projects (2 networks and a router each)");
  app.add_option("--hosts", mix.hosts, "mix: binding:host_id values");
  app.add_option("--floating-ips", mix.floating_ips, "mix: floating IPs on preloaded ports");
  app.add_option("--seconds", mix.seconds, "mix: run this long instead of -n operations");
  CLI11_PARSE(app, argc, argv);
  for (size_t pos = 0;;) {
    auto comma = o.url.find(',', pos);
    o.urls.push_back(o.url.substr(pos, comma - pos));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }

  std::printf("scenario %s: n=%d concurrency=%d against %s\n", o.scenario.c_str(), o.count, o.concurrency, o.url.c_str());
  if (o.scenario == "mix") return run_mix(o, mix) ? 1 : 0;
  if (o.scenario == "networks") return scenario(o, "network", "networks", "") ? 1 : 0;

  Client setup(o);
  json::value net, sub;
  if (setup.call(http::verb::post, "/v2.0/networks", R"({"network": {"name": "load-net"}})", &net) != 201) {
    std::fprintf(stderr, "cannot create the network\n");
    return 1;
  }
  auto net_id = id_of(net, "network");
  auto body = json::serialize(json::object{
      {"subnet", json::object{{"network_id", net_id}, {"ip_version", 4}, {"cidr", "10.200.0.0/16"}, {"name", "load-subnet"}}}});
  if (setup.call(http::verb::post, "/v2.0/subnets", body, &sub) != 201) {
    std::fprintf(stderr, "cannot create the subnet\n");
    return 1;
  }
  // With several servers, wait until each has replayed the subnet before creating ports on it.
  auto sub_path = "/v2.0/subnets/" + id_of(sub, "subnet");
  for (size_t i = 1; i < o.urls.size(); ++i) {
    Client peer(o, i);
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (peer.call(http::verb::get, sub_path, "") != 200) {
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "%s never saw the subnet\n", o.urls[i].c_str());
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  int errors = scenario(o, "port", "ports", net_id);
  if (!o.keep) {
    setup.call(http::verb::delete_, sub_path, "");
    setup.call(http::verb::delete_, "/v2.0/networks/" + net_id, "");
  }
  return errors ? 1 : 0;
}
