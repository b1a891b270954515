#include "core/scheduler.h"

#include <algorithm>
#include <set>

namespace nt {

Schedule schedule_gateways(const std::vector<std::string>& routers, const Schedule& current,
                           const std::vector<std::string>& eligible_hosts, int max_hosts) {
  std::set<std::string> eligible(eligible_hosts.begin(), eligible_hosts.end());
  std::map<std::string, int> active, total;
  for (const auto& h : eligible) active[h] = 0, total[h] = 0;
  Schedule next;
  // First keep what still holds, so that counts reflect existing roles before adding.
  for (const auto& r : routers) {
    auto& hosts = next[r];
    if (auto it = current.find(r); it != current.end())
      for (const auto& h : it->second)
        if (eligible.count(h) && std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
    for (size_t i = 0; i < hosts.size(); ++i) {
      ++total[hosts[i]];
      if (i == 0) ++active[hosts[i]];
    }
  }
  for (const auto& r : routers) {
    auto& hosts = next[r];
    while (static_cast<int>(hosts.size()) < max_hosts) {
      const std::string* best = nullptr;
      for (const auto& h : eligible) {
        if (std::find(hosts.begin(), hosts.end(), h) != hosts.end()) continue;
        auto key = [&](const std::string& x) {
          return hosts.empty() ? std::pair(active[x], total[x]) : std::pair(total[x], active[x]);
        };
        if (!best || key(h) < key(*best)) best = &h;
      }
      if (!best) break;
      if (hosts.empty()) ++active[*best];
      ++total[*best];
      hosts.push_back(*best);
    }
  }
  return next;
}

}  // namespace nt
