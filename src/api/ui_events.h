// The topology page's change stream (GET /ui/events, text/event-stream): one Server-Sent
// Event per new model revision, so that the page re-reads the API lists.
//
//   retry: 2000
//   event: revision
//   id: 42
//   data: {"revision":42}
//
//   : keepalive                 (a comment, while nothing changes)
//
// A client gets the current revision at once when it subscribes, then one event per change.
// Bounded so that no client can hurt the server: at most `max_clients` streams (beyond,
// 503), and each holds at most one undelivered event: a client that reads slowly (or not
// at all) only ever misses intermediate revisions, and the HTTP server's write timeout
// cuts it. Publishing never waits for a client.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "http/message.h"

namespace nt {

class UiStream;

class UiEvents {
 public:
  explicit UiEvents(size_t max_clients = 64, std::chrono::seconds keepalive_every = std::chrono::seconds(15))
      : max_clients_(max_clients), keepalive_every_(keepalive_every) {}
  // A new stream starting at `revision`; null when max_clients streams are open.
  std::shared_ptr<BodyStream> subscribe(int64_t revision);
  // After each commit (any thread): every stream learns the new revision.
  void publish(int64_t revision);
  // Called often (the server's sweep); sends a comment to idle streams every
  // keepalive_every, which also finds the clients that went away.
  void keepalive();
  size_t clients() const;
  size_t max_clients() const { return max_clients_; }

  static std::string event(int64_t revision);

 private:
  friend class UiStream;
  void forget(const UiStream* s);
  std::vector<std::shared_ptr<UiStream>> live();

  size_t max_clients_;
  std::chrono::seconds keepalive_every_;
  mutable std::mutex mu_;
  std::vector<std::weak_ptr<UiStream>> streams_;
  int64_t latest_ = 0;  // the newest revision published or subscribed at
  std::chrono::steady_clock::time_point last_keepalive_ = std::chrono::steady_clock::now();
};

}  // namespace nt
