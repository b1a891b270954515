// The server side of GET /agent/v1/hosts/{host}/watch?since=R (ARCHITECTURE §5): one
// stream of JSON lines per watching agent.
//   {"op":"hello","protocol":2,"full":true}  first: the format's version (channel/entries.h);
//                                    full: the whole view follows (not a resume)
//   {"rev":N,"op":"put","kind":"port","id":"...","obj":{...}}
//   {"rev":N,"op":"del","kind":"l2pop","id":"..."}
//   {"op":"synced","rev":N}          after a full snapshot (or a resume)
//   {"op":"keepalive","rev":N}       while idle
// `rev` is the host view's revision. A watch resumes after `since` when the history still
// holds every change since then; otherwise it starts with the full view and "synced".
// A watcher that falls behind by more than `backlog_bytes` (beyond its initial snapshot)
// is cut: its stream ends, and its agent resumes from the last revision it applied.
#pragma once
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/message.h"
#include "planner/planner.h"

namespace nt {

class WatchStream;

class WatchHub {
 public:
  // Per host: at most `history_per_host` lines and `history_bytes` of history for resumes;
  // per watcher: `backlog_bytes` queued beyond its snapshot before it is cut. Memory for a
  // thousand hosts stays around a gigabyte at worst, and a slow agent costs a resume.
  explicit WatchHub(size_t history_per_host = 4096, size_t backlog_bytes = 512 << 10, size_t history_bytes = 512 << 10)
      : history_limit_(history_per_host), backlog_limit_(backlog_bytes), history_bytes_limit_(history_bytes) {}
  // After each commit, with the planner's deltas (called with the model locked).
  void publish(const std::vector<ViewDelta>& deltas);
  // A new watch; `planner` must not change during the call (hold the model's lock).
  std::shared_ptr<BodyStream> subscribe(const std::string& host, std::optional<int64_t> since, const Planner& planner);
  void keepalive();
  // One line to the host's open streams, outside the view (a `probe`, channel/probe.h);
  // false when the host has no open stream.
  bool send(const std::string& host, const std::string& line);
  // Ends every stream of `host` (its agents were deleted: its credential is void).
  void end_host(const std::string& host);
  // The history of `host` is complete only after `revision` (e.g. the server's start).
  void set_floor(const std::string& host, int64_t revision);
  size_t watchers() const;

  static std::string line(const ViewDelta& d);

 private:
  friend class WatchStream;
  void forget(const WatchStream* s);
  std::vector<std::shared_ptr<WatchStream>> take_streams(const std::string& host);  // with mu_ held
  static void end_all(const std::vector<std::shared_ptr<WatchStream>>& streams);      // without mu_

  size_t history_limit_;
  size_t backlog_limit_;
  size_t history_bytes_limit_;
  std::map<std::string, size_t> history_bytes_;  // host -> bytes in its history
  mutable std::mutex mu_;
  std::map<std::string, std::deque<std::pair<int64_t, std::string>>> history_;  // host -> (rev, line)
  std::map<std::string, int64_t> revisions_;                                    // host -> latest rev
  std::map<std::string, int64_t> floors_;  // host -> history holds every change after this
  std::multimap<std::string, std::weak_ptr<WatchStream>> watchers_;
};

}  // namespace nt
