// The token cache and the validation threads.
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <mutex>
#include <unordered_map>

#include "auth/keystone.h"

namespace nt::auth {
namespace {

// Tokens are kept by their SHA-256 only, as keystonemiddleware does: a memory dump of the
// server does not hand out working tokens.
std::string token_key(const std::string& token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

struct Cached {
  Validation validation;
  SteadyClock::time_point until;
};

}  // namespace

struct Authenticator::Impl {
  std::unique_ptr<KeystoneClient> client;
  boost::asio::thread_pool pool;
  std::mutex mu;
  std::unordered_map<std::string, Cached> cache;
  std::unordered_map<std::string, std::vector<Done>> pending;  // misses being validated
  Stats stats;

  Impl(std::unique_ptr<KeystoneClient> c, int threads) : client(std::move(c)), pool(static_cast<size_t>(threads)) {}

  void evict_expired(SteadyClock::time_point now, size_t limit) {
    std::erase_if(cache, [&](const auto& kv) { return kv.second.until <= now; });
    // Still full (a flood of distinct valid tokens): forget half; they are asked again.
    if (cache.size() >= limit)
      for (auto it = cache.begin(); it != cache.end() && cache.size() >= limit / 2;) it = cache.erase(it);
  }
};

Authenticator::Authenticator(KeystoneOptions options, std::unique_ptr<KeystoneClient> client)
    : options_(std::move(options)),
      impl_(std::make_unique<Impl>(std::move(client), std::max(1, options_.validation_threads))) {}

Authenticator::~Authenticator() { stop(); }

void Authenticator::stop() {
  impl_->pool.stop();  // validations not started are dropped; one under way finishes
  impl_->pool.join();
  std::lock_guard lock(impl_->mu);
  impl_->pending.clear();  // their replies go with the connections being closed
}

Authenticator::Stats Authenticator::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

void Authenticator::authenticate(const std::string& token, Done done) {
  std::string key = token_key(token);
  auto now = SteadyClock::now();
  {
    std::unique_lock lock(impl_->mu);
    if (auto it = impl_->cache.find(key); it != impl_->cache.end()) {
      bool fresh = it->second.until > now;
      if (fresh && it->second.validation.verdict == Verdict::valid &&
          it->second.validation.identity.expires_at <= std::chrono::system_clock::now())
        fresh = false;  // expired since it was cached
      if (fresh) {
        ++impl_->stats.hits;
        Validation v = it->second.validation;
        lock.unlock();
        return done(v);
      }
      impl_->cache.erase(it);
    }
    ++impl_->stats.misses;
    if (auto p = impl_->pending.find(key); p != impl_->pending.end()) {
      p->second.push_back(std::move(done));
      return;
    }
    if (impl_->pending.size() >= options_.max_pending_validations) {
      ++impl_->stats.unavailable;
      lock.unlock();
      return done({Verdict::unavailable, {}, "too many tokens are waiting for Keystone"});
    }
    impl_->pending[key].push_back(std::move(done));
    ++impl_->stats.keystone_calls;
  }
  boost::asio::post(impl_->pool, [this, key, token] {
    Validation v;
    try {
      v = impl_->client->validate(token);
    } catch (const std::exception& e) {  // a bug or no memory: this token is not admitted
      v = {Verdict::unavailable, {}, std::string("validation failed: ") + e.what()};
    }
    std::vector<Done> waiters;
    {
      std::lock_guard lock(impl_->mu);
      auto cache_for = std::chrono::duration_cast<SteadyClock::duration>(options_.token_cache_time);
      if (v.verdict == Verdict::valid) {
        auto left = v.identity.expires_at - std::chrono::system_clock::now();
        cache_for = std::min(cache_for, std::chrono::duration_cast<SteadyClock::duration>(left));
      }
      if (v.verdict == Verdict::unavailable) ++impl_->stats.unavailable;
      else if (cache_for.count() > 0) {
        if (impl_->cache.size() >= options_.max_cached_tokens) impl_->evict_expired(SteadyClock::now(), options_.max_cached_tokens);
        impl_->cache[key] = {v, SteadyClock::now() + cache_for};
      }
      waiters = std::move(impl_->pending[key]);
      impl_->pending.erase(key);
    }
    if (v.verdict == Verdict::unavailable) spdlog::warn("token validation: {}", v.reason);
    for (auto& w : waiters) {
      try {
        w(v);
      } catch (const std::exception& e) {
        spdlog::error("answering a request after token validation: {}", e.what());
      }
    }
  });
}

}  // namespace nt::auth
