#include "core/liveness.h"

#include <algorithm>
#include <chrono>

namespace nt {

Liveness::Liveness(Clock clock) : clock_(std::move(clock)) {
  if (!clock_)
    clock_ = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
}

void Liveness::beat(const std::string& host) {
  std::lock_guard g(mu_);
  last_[host] = heard_[host] = clock_();
}

void Liveness::grace(const std::string& host) {
  std::lock_guard g(mu_);
  last_[host] = clock_();
}

std::optional<int64_t> Liveness::last_ms(const std::string& host) const {
  std::lock_guard g(mu_);
  auto it = last_.find(host);
  return it == last_.end() ? std::nullopt : std::optional<int64_t>(it->second);
}

bool Liveness::alive(const std::string& host, int down_time_s) const {
  auto last = last_ms(host);
  return last && clock_() - *last <= int64_t{down_time_s} * 1000;
}

void Liveness::forget(const std::string& host) {
  std::lock_guard g(mu_);
  last_.erase(host);
  heard_.erase(host);
  applied_.erase(host);
}

void Liveness::applied(const std::string& host, int64_t revision) {
  std::lock_guard g(mu_);
  applied_[host] = revision;
}

std::optional<int64_t> Liveness::applied(const std::string& host) const {
  std::lock_guard g(mu_);
  auto it = applied_.find(host);
  return it == applied_.end() ? std::nullopt : std::optional<int64_t>(it->second);
}

std::vector<Beat> Liveness::beats() const {
  std::lock_guard g(mu_);
  std::vector<Beat> out;
  for (const auto& [host, last] : heard_) {
    auto a = applied_.find(host);
    out.push_back({host, last, a == applied_.end() ? -1 : a->second});
  }
  return out;
}

void Liveness::merge(const std::vector<Beat>& beats) {
  std::lock_guard g(mu_);
  for (const auto& b : beats) {
    auto& last = last_[b.host];
    last = std::max(last, b.last_ms);
    if (b.applied >= 0) {
      auto [it, fresh] = applied_.try_emplace(b.host, b.applied);
      if (!fresh) it->second = std::max(it->second, b.applied);
    }
  }
}

}  // namespace nt
