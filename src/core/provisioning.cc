#include "core/provisioning.h"

namespace nt {

std::map<std::string, int64_t> Provisioning::needs_of(const std::string& host, const std::set<std::string>& network_hosts,
                                                      const std::function<int64_t(const std::string&)>& view_revision) {
  std::map<std::string, int64_t> out;
  out[host] = view_revision(host);
  for (const auto& h : network_hosts) out[h] = view_revision(h);
  return out;
}

namespace {
// Another host's dead agent holds nothing up; the port's own host must always have applied
// it (its tap is there: nothing else can make the port work).
bool holds_up(const std::string& host, int64_t revision, const Provisioning::Wait& w, const Provisioning::Hosts& hosts) {
  if (host != w.host && !hosts.alive(host)) return false;
  auto applied = hosts.applied(host);
  return !applied || *applied < revision;
}
}  // namespace

bool Provisioning::met(const Wait& w, const Hosts& hosts) {
  for (const auto& [host, revision] : w.needs)
    if (holds_up(host, revision, w, hosts)) return false;
  return true;
}

std::vector<std::string> Provisioning::behind(const Wait& w, const Hosts& hosts) {
  std::vector<std::string> out;
  for (const auto& [host, revision] : w.needs)
    if (holds_up(host, revision, w, hosts)) out.push_back(host);
  return out;
}

bool Provisioning::wait(const std::string& port, Wait w) {
  if (auto it = waits_.find(port); it != waits_.end()) {
    if (it->second.host == w.host) return false;
    forget(port);
  }
  for (const auto& [host, revision] : w.needs) by_host_[host].insert(port);
  by_host_[w.host].insert(port);
  owned_[w.host].insert(port);
  waits_.emplace(port, std::move(w));
  return true;
}

void Provisioning::forget(const std::string& port) {
  auto it = waits_.find(port);
  if (it == waits_.end()) return;
  auto drop = [&](std::map<std::string, std::set<std::string>>& index, const std::string& host) {
    auto slot = index.find(host);
    if (slot == index.end()) return;
    slot->second.erase(port);
    if (slot->second.empty()) index.erase(slot);
  };
  for (const auto& [host, revision] : it->second.needs) drop(by_host_, host);
  drop(by_host_, it->second.host);
  drop(owned_, it->second.host);
  waits_.erase(it);
}

void Provisioning::keep_only(const std::string& host, const std::set<std::string>& up) {
  auto it = owned_.find(host);
  if (it == owned_.end()) return;
  std::vector<std::string> gone;
  for (const auto& port : it->second)
    if (!up.count(port)) gone.push_back(port);
  for (const auto& port : gone) forget(port);
}

std::vector<Provisioning::Ready> Provisioning::ready(const std::string& host, const Hosts& hosts) {
  std::vector<Ready> out;
  auto it = by_host_.find(host);
  if (it == by_host_.end()) return out;
  for (const auto& port : it->second) {
    const auto& w = waits_.at(port);
    if (met(w, hosts)) out.push_back({port, w.host});
  }
  for (const auto& r : out) forget(r.port);
  return out;
}

const Provisioning::Wait* Provisioning::waiting(const std::string& port) const {
  auto it = waits_.find(port);
  return it == waits_.end() ? nullptr : &it->second;
}

size_t Provisioning::waiting_on(const std::string& host) const {
  auto it = by_host_.find(host);
  return it == by_host_.end() ? 0 : it->second.size();
}

}  // namespace nt
