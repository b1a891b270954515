#include "api/live_probes.h"

#include <boost/json.hpp>

#include <random>

namespace nt {
namespace json = boost::json;

LiveProbes::LiveProbes(std::chrono::milliseconds timeout) : timeout_(timeout), thread_([this] { loop(); }) {}

LiveProbes::~LiveProbes() { stop(); }

void LiveProbes::stop() {
  std::map<std::string, Pending> dropped;
  {
    std::lock_guard g(mu_);
    stopping_ = true;
    dropped.swap(pending_);
    sizes_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  dropped.clear();  // outside the lock: a reply's destructor may take other locks
}

void LiveProbes::start(const std::map<std::string, std::vector<view::ProbeCheck>>& checks, const Send& send, Done done) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id;
  {
    std::lock_guard g(mu_);
    id = std::to_string(next_++) + "-" + std::to_string(rng() % 1000000000);
    Pending p{{}, std::chrono::steady_clock::now() + timeout_, std::move(done)};
    for (const auto& [host, list] : checks) {
      p.answers[host] = std::nullopt;
      sizes_[{id, host}] = list.size();
    }
    pending_[id] = std::move(p);
  }
  std::vector<std::string> unreachable;
  for (const auto& [host, list] : checks) {
    auto line = json::serialize(json::object{{"op", "probe"}, {"probe", json::value_from(view::Probe{id, list})}});
    if (!send(host, line)) unreachable.push_back(host);
  }
  std::lock_guard g(mu_);
  auto it = pending_.find(id);
  if (it == pending_.end()) return;  // done already
  for (const auto& host : unreachable)
    it->second.answers[host] =
        std::vector<std::string>(checks.at(host).size(), "unknown: " + host + "'s agent has no open watch stream");
  if (all_answered(it->second)) it->second.deadline = std::chrono::steady_clock::now();
  cv_.notify_all();
}

bool LiveProbes::all_answered(const Pending& p) {
  for (const auto& [host, results] : p.answers)
    if (!results) return false;
  return true;
}

bool LiveProbes::answer(const std::string& host, const view::ProbeAnswer& a) {
  std::lock_guard g(mu_);
  auto it = pending_.find(a.id);
  auto size = sizes_.find({a.id, host});
  if (it == pending_.end() || size == sizes_.end()) return false;
  auto& slot = it->second.answers[host];
  if (slot) return false;
  std::vector<std::string> results = a.results;
  results.resize(size->second, "unknown: the agent gave no answer for this entry");
  slot = std::move(results);
  if (all_answered(it->second)) it->second.deadline = std::chrono::steady_clock::now();
  cv_.notify_all();
  return true;
}

// Completes the probes whose hosts all answered or whose time is up, outside the lock.
void LiveProbes::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    auto next = now + std::chrono::seconds(60);
    std::vector<Pending> due;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline <= now) {
        for (auto s = sizes_.lower_bound({it->first, ""}); s != sizes_.end() && s->first.first == it->first;) s = sizes_.erase(s);
        due.push_back(std::move(it->second));
        it = pending_.erase(it);
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    if (!due.empty()) {
      lock.unlock();
      for (auto& p : due) p.done(std::move(p.answers));
      lock.lock();
      continue;
    }
    cv_.wait_until(lock, next);
  }
}

}  // namespace nt
