#include "api/ui_events.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace nt {

// One page's stream. At most one piece waits for the HTTP session: a newer revision
// replaces an older one that was not sent yet.
class UiStream final : public BodyStream {
 public:
  UiStream(UiEvents& hub, std::string first) : hub_(hub), pending_(std::move(first)) {}

  // `event`: a revision (kept until sent); otherwise a keepalive (dropped unless the
  // session is idle, waiting for the next piece).
  void push(std::string piece, bool event) {
    std::function<void(std::optional<std::string>)> deliver;
    {
      std::lock_guard g(mu_);
      if (closed_) return;
      if (waiting_) deliver = std::exchange(waiting_, nullptr);
      else if (event) pending_ = std::move(piece);
      if (!deliver) return;
    }
    deliver(std::move(piece));
  }

  void next(std::function<void(std::optional<std::string>)> deliver) override {
    std::optional<std::string> ready;
    {
      std::lock_guard g(mu_);
      if (!closed_ && !pending_) {
        waiting_ = std::move(deliver);
        return;
      }
      if (!closed_) ready = std::exchange(pending_, std::nullopt);
    }
    deliver(std::move(ready));
  }

  void close() override {
    {
      std::lock_guard g(mu_);
      closed_ = true;
      waiting_ = nullptr;
      pending_.reset();
    }
    hub_.forget(this);
  }

 private:
  UiEvents& hub_;
  std::mutex mu_;
  std::optional<std::string> pending_;
  std::function<void(std::optional<std::string>)> waiting_;
  bool closed_ = false;
};

std::string UiEvents::event(int64_t revision) {
  auto r = std::to_string(revision);
  return "event: revision\nid: " + r + "\ndata: {\"revision\":" + r + "}\n\n";
}

std::shared_ptr<BodyStream> UiEvents::subscribe(int64_t revision) {
  std::lock_guard g(mu_);
  std::erase_if(streams_, [](const auto& w) { return w.expired(); });
  if (streams_.size() >= max_clients_) return nullptr;
  latest_ = std::max(latest_, revision);
  auto s = std::make_shared<UiStream>(*this, "retry: 2000\n" + event(latest_));
  streams_.push_back(s);
  return s;
}

std::vector<std::shared_ptr<UiStream>> UiEvents::live() {
  std::vector<std::shared_ptr<UiStream>> out;
  for (const auto& w : streams_)
    if (auto s = w.lock()) out.push_back(std::move(s));
  return out;
}

void UiEvents::publish(int64_t revision) {
  std::vector<std::shared_ptr<UiStream>> out;
  {
    std::lock_guard g(mu_);
    latest_ = std::max(latest_, revision);
    out = live();
  }
  auto text = event(revision);
  for (auto& s : out) s->push(text, true);
}

void UiEvents::keepalive() {
  std::vector<std::shared_ptr<UiStream>> out;
  {
    std::lock_guard g(mu_);
    auto now = std::chrono::steady_clock::now();
    if (now - last_keepalive_ < keepalive_every_) return;
    last_keepalive_ = now;
    out = live();
  }
  for (auto& s : out) s->push(": keepalive\n\n", false);
}

void UiEvents::forget(const UiStream* s) {
  std::lock_guard g(mu_);
  std::erase_if(streams_, [s](const auto& w) {
    auto p = w.lock();
    return !p || p.get() == s;
  });
}

size_t UiEvents::clients() const {
  std::lock_guard g(mu_);
  return static_cast<size_t>(std::count_if(streams_.begin(), streams_.end(), [](const auto& w) { return !w.expired(); }));
}

}  // namespace nt
