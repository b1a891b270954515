// The token cache in front of Keystone, with a scripted KeystoneClient (the real Keystone
// is exercised by tests/keystone), and the readers of Keystone's answers.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>

#include "auth/keystone.h"

namespace nt::auth {
namespace {

using std::chrono::system_clock;

class ScriptedKeystone : public KeystoneClient {
 public:
  Validation validate(const std::string& token) override {
    std::unique_lock lock(mu_);
    ++calls_[token];
    cv_.wait(lock, [&] { return !held_; });
    auto it = answers_.find(token);
    if (it == answers_.end()) return {Verdict::invalid, {}, "unknown"};
    return it->second;
  }
  void set(const std::string& token, Validation v) {
    std::lock_guard lock(mu_);
    answers_[token] = std::move(v);
  }
  int calls(const std::string& token) {
    std::lock_guard lock(mu_);
    return calls_[token];
  }
  void hold(bool on) {
    {
      std::lock_guard lock(mu_);
      held_ = on;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  std::map<std::string, Validation> answers_;
  std::map<std::string, int> calls_;
};

Validation valid_for(const std::string& project, std::chrono::seconds life) {
  Validation v{Verdict::valid, {}, ""};
  v.identity.user_id = "u-" + project;
  v.identity.project_id = project;
  v.identity.roles = {"member", "reader"};
  v.identity.expires_at = system_clock::now() + life;
  return v;
}

// Waits for the answer (the first miss is answered from a validation thread).
Validation ask(Authenticator& a, const std::string& token) {
  std::promise<Validation> p;
  auto f = p.get_future();
  a.authenticate(token, [&](const Validation& v) { p.set_value(v); });
  return f.get();
}

struct Fixture {
  ScriptedKeystone* keystone = nullptr;
  std::unique_ptr<Authenticator> auth;
  explicit Fixture(std::chrono::seconds cache_time) {
    auto k = std::make_unique<ScriptedKeystone>();
    keystone = k.get();
    KeystoneOptions o;
    o.token_cache_time = cache_time;
    o.max_pending_validations = 4;
    auth = std::make_unique<Authenticator>(o, std::move(k));
  }
};

TEST(Authenticator, AsksKeystoneOnceThenAnswersFromTheCache) {
  Fixture f(std::chrono::seconds(300));
  f.keystone->set("tok-a", valid_for("A", std::chrono::hours(1)));
  EXPECT_EQ(ask(*f.auth, "tok-a").identity.project_id, "A");
  EXPECT_EQ(ask(*f.auth, "tok-a").identity.project_id, "A");
  EXPECT_EQ(f.keystone->calls("tok-a"), 1);
  EXPECT_EQ(f.auth->stats().hits, 1u);
}

TEST(Authenticator, RefusedTokensAreRememberedToo) {
  Fixture f(std::chrono::seconds(300));
  EXPECT_EQ(ask(*f.auth, "garbage").verdict, Verdict::invalid);
  EXPECT_EQ(ask(*f.auth, "garbage").verdict, Verdict::invalid);
  EXPECT_EQ(f.keystone->calls("garbage"), 1);
}

TEST(Authenticator, KeystoneDownIsNeverCachedNorAdmitting) {
  Fixture f(std::chrono::seconds(300));
  f.keystone->set("tok", {Verdict::unavailable, {}, "connection refused"});
  EXPECT_EQ(ask(*f.auth, "tok").verdict, Verdict::unavailable);
  f.keystone->set("tok", valid_for("A", std::chrono::hours(1)));  // Keystone is back
  EXPECT_EQ(ask(*f.auth, "tok").verdict, Verdict::valid);
  EXPECT_EQ(f.keystone->calls("tok"), 2);
}

TEST(Authenticator, ZeroCacheTimeAsksEveryTime) {
  Fixture f(std::chrono::seconds(0));
  f.keystone->set("tok", valid_for("A", std::chrono::hours(1)));
  ASSERT_EQ(ask(*f.auth, "tok").verdict, Verdict::valid);
  f.keystone->set("tok", {Verdict::invalid, {}, "revoked"});  // revoked in Keystone
  EXPECT_EQ(ask(*f.auth, "tok").verdict, Verdict::invalid);
}

TEST(Authenticator, ATokenIsNotBelievedPastItsExpiry) {
  Fixture f(std::chrono::seconds(300));
  f.keystone->set("tok", valid_for("A", std::chrono::seconds(-1)));  // expired by the time it is read
  ASSERT_EQ(ask(*f.auth, "tok").verdict, Verdict::valid);           // (the client checks expiry itself)
  f.keystone->set("tok", {Verdict::invalid, {}, "expired"});
  EXPECT_EQ(ask(*f.auth, "tok").verdict, Verdict::invalid);
  EXPECT_EQ(f.keystone->calls("tok"), 2);
}

TEST(Authenticator, ConcurrentMissesShareOneCallAndTheQueueIsBounded) {
  Fixture f(std::chrono::seconds(300));
  f.keystone->set("tok", valid_for("A", std::chrono::hours(1)));
  f.keystone->hold(true);
  std::atomic<int> valid{0}, unavailable{0};
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  auto count = [&](const Validation& v) {
    (v.verdict == Verdict::valid ? valid : unavailable)++;
    std::lock_guard lock(mu);
    ++answered;
    cv.notify_all();
  };
  for (int i = 0; i < 10; ++i) f.auth->authenticate("tok", count);
  for (int i = 0; i < 6; ++i) f.auth->authenticate("other-" + std::to_string(i), count);  // 3 fit, 3 refused
  EXPECT_EQ(unavailable.load(), 3);
  f.keystone->hold(false);
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return answered == 16; }));
  EXPECT_EQ(valid.load(), 10);
  EXPECT_EQ(f.keystone->calls("tok"), 1);
}

TEST(KeystoneAnswers, TokenBodyGivesUserProjectAndRoles) {
  auto id = identity_from_token_body(R"({"token":{"expires_at":"2031-02-03T04:05:06.000000Z",
    "user":{"id":"u1","name":"alice","domain":{"id":"default"}},
    "project":{"id":"p1","name":"proj-a","domain":{"id":"default"}},
    "roles":[{"id":"r1","name":"Member"},{"id":"r2","name":"reader"}]}})");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->user_id, "u1");
  EXPECT_EQ(id->project_id, "p1");
  EXPECT_EQ(id->roles, (std::vector<std::string>{"member", "reader"}));
  EXPECT_EQ(system_clock::to_time_t(id->expires_at), 1927857906);
}

TEST(KeystoneAnswers, GarbageIsAnErrorNotACrash) {
  for (const char* body : {"", "[]", "{\"token\":1}", "{\"token\":{}}", "{\"token\":{\"expires_at\":\"soon\"}}",
                           "{\"token\":{\"expires_at\":\"2031-02-03T04:05:06Z\"}}",
                           "{\"token\":{\"expires_at\":\"2031-02-03T04:05:06Z\",\"user\":{\"id\":7}}}"})
    EXPECT_FALSE(identity_from_token_body(body)) << body;
  EXPECT_TRUE(parse_keystone_time("2031-02-03T04:05:06+00:00"));
  EXPECT_FALSE(parse_keystone_time("2031-02-03T04:05:06+02:00"));
  EXPECT_FALSE(parse_keystone_time("2031-02-03"));
}

TEST(KeystoneClient, RefusesAnUrlThatIsNotHttp) {
  KeystoneOptions o;
  o.auth_url = "ftp://keystone/v3";
  EXPECT_FALSE(KeystoneClient::create(o));
  o.auth_url = "https://keystone:5000/";
  o.cafile = "/nonexistent/ca.pem";
  EXPECT_FALSE(KeystoneClient::create(o));
}

}  // namespace
}  // namespace nt::auth
