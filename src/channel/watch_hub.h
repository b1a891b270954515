// The server side of GET /agent/v1/hosts/{host}/watch?since=R (ARCHITECTURE §5): one
// stream of JSON lines per watching agent.
//   {"op":"hello","protocol":2,"full":true}  first: the format's version (channel/entries.h);
//                                    full: the whole view follows (not a resume)
//   {"rev":N,"op":"put","kind":"port","id":"...","obj":{...}}
//   {"rev":N,"op":"del","kind":"l2pop","id":"..."}
//   {"op":"synced","rev":N}          after a full snapshot (or a resume)
//   {"op":"keepalive","rev":N}       while idle; every line of revision N came before it
// `rev` is the host view's revision. A watch resumes after `since` when the history still
// holds every change since then. Otherwise the agent's view digest (`digest=`,
// channel/view_digest.h) decides: equal to the view's at the history's floor (the
// server's start), the history follows from there; equal to the current view's, nothing
// but "synced" (another server's agent); else the full view and "synced".
// A watcher that falls behind by more than `backlog_bytes` (beyond its initial snapshot)
// is cut: its stream ends, and its agent resumes from the last revision it applied.
#pragma once
#include <chrono>
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
  // per watcher: `backlog_bytes` queued beyond its snapshot before it is cut. The bytes
  // count each host's lines, but a line of an entry many hosts share is one string for all
  // of them, so a thousand hosts' histories hold little more than the distinct lines; a
  // slow agent costs a resume.
  explicit WatchHub(size_t history_per_host = 4096, size_t backlog_bytes = 512 << 10, size_t history_bytes = 512 << 10)
      : history_limit_(history_per_host), backlog_limit_(backlog_bytes), history_bytes_limit_(history_bytes) {}
  // After each commit, with the planner's deltas (called with the model locked).
  void publish(const std::vector<ViewDelta>& deltas);
  // A new watch; `planner` must not change during the call (hold the model's lock).
  // `digest`: the agent's view digest when it resumes (see above).
  std::shared_ptr<BodyStream> subscribe(const std::string& host, std::optional<int64_t> since, const Planner& planner,
                                        std::optional<uint64_t> digest = std::nullopt);
  // Resumes answered so far: from the history, by an equal digest, with a full view.
  struct ResumeCounts {
    uint64_t history = 0, digest = 0, full = 0;
  };
  ResumeCounts resumes() const;
  void keepalive();
  // One line to the host's open streams, outside the view (a `probe`, channel/probe.h);
  // false when the host has no open stream.
  bool send(const std::string& host, const std::string& line);
  // Ends every stream of `host` (its agents were deleted: its credential is void).
  void end_host(const std::string& host);
  // The history of `host` is complete only after `revision` (e.g. the server's start).
  void set_floor(const std::string& host, int64_t revision);
  // The server's start at the model's `revision`: every host's history begins now (for a
  // host with a view, at its revision), and the digest of each view is kept so that an
  // agent holding it resumes from the history.
  void start_from(const Planner& planner, int64_t revision);
  size_t watchers() const;
  // Until every stream has written what was published (bounded): the server's clean stop,
  // so that its agents have every committed change and resume without a snapshot.
  // Answers the hosts whose streams still had lines to write at the limit.
  std::vector<std::string> drain(std::chrono::milliseconds limit);

  static std::string line(const ViewDelta& d);

 private:
  friend class WatchStream;
  enum class Start { after_since, after_floor, current, full };
  Start start_of(const std::string& host, std::optional<int64_t> since, int64_t rev, std::optional<uint64_t> digest);
  void forget(const WatchStream* s);
  std::vector<std::shared_ptr<WatchStream>> take_streams(const std::string& host);  // with mu_ held
  static void end_all(const std::vector<std::shared_ptr<WatchStream>>& streams);      // without mu_

  size_t history_limit_;
  size_t backlog_limit_;
  size_t history_bytes_limit_;
  // Held by publish() and keepalive() from reading a host's revision until its lines are
  // queued: a keepalive never overtakes the lines of the revision it names, so an agent
  // that sees it knows that revision is whole.
  std::mutex order_mu_;
  mutable std::mutex mu_;
  // Per host (one lookup per delta): its recent lines (rev, line; a line of an entry many
  // hosts share is one string for all of them), their bytes, and its latest revision.
  struct HostLog {
    std::deque<std::pair<int64_t, std::shared_ptr<const std::string>>> lines;
    size_t bytes = 0;
    int64_t revision = 0;
  };
  std::map<std::string, HostLog> hosts_;
  std::map<std::string, int64_t> floors_;  // host -> history holds every change after this
  int64_t start_floor_ = 0;                 // the same for every host not in floors_ (the start)
  int64_t floor_of(const std::string& host) const;  // with mu_ held
  std::map<std::string, uint64_t> floor_digests_;  // host -> digest of its view at the floor (if known)
  using Watchers = std::multimap<std::string, std::weak_ptr<WatchStream>>;
  Watchers watchers_;
  ResumeCounts resumes_;
};

}  // namespace nt
