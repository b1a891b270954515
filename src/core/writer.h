// Group commit. One writer thread owns all changes: it takes every request waiting in its
// queue, runs each against the model inside its own Txn and store SAVEPOINT (a failing
// request is undone alone), commits the group once (one fsync), and only then answers
// each request. Readers take the shared lock and see the model between groups' requests.
//
// The exclusive lock is held while the group's requests change the model, not across the
// COMMIT: while its fsync runs, readers read on, and see the group "in doubt". A reader
// that saw a group in doubt is answered only once that group is durable, and reads again
// if its commit failed (the group is then undone under the exclusive lock): no answer
// ever shows what is not durable (defer_until_durable, read_durable).
#pragma once
#include <boost/json.hpp>
#include <atomic>
#include <memory>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "common/metrics.h"
#include "common/rw_lock.h"
#include "core/model.h"
#include "store/store.h"

namespace nt {

using WriteFn = std::function<Result<boost::json::value>(Txn&)>;
using DoneFn = std::function<void(Result<boost::json::value>)>;

// What /metrics shows of the writer: recorded on its thread, read by scrapes.
struct WriterMetrics {
  metrics::Histogram group_size{metrics::size_buckets()};          // requests per group
  metrics::Histogram commit_seconds{metrics::latency_buckets()};   // COMMIT (the fsync) of a group that wrote
  metrics::Histogram locked_seconds{metrics::latency_buckets()};   // the exclusive lock held per group (its requests)
  metrics::Histogram lock_wait_seconds{metrics::latency_buckets()};  // waiting for readers to let the group in
  metrics::Counter commit_failures;
  metrics::Counter replayed;  // other servers' commits applied to this model
};

class Writer {
 public:
  Writer(Model& model, Store& store, size_t max_group = 256);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void submit(WriteFn fn, DoneFn done);
  // Runs fn synchronously through the same path (start-up tasks and tests).
  Result<boost::json::value> run(WriteFn fn);
  WriterFirstMutex& lock() { return lock_; }
  // For a reader that holds the shared lock: false when everything it sees is durable (fn is
  // dropped: answer now). Otherwise true: fn runs on the writer thread once the group in
  // doubt settles, with true if it committed (what was read stands) or false if it was
  // undone (read again).
  bool defer_until_durable(std::function<void(bool durable)> fn);
  // The shared lock on a model with no group in doubt (it waits for a commit's end): for
  // readers that act on what they read rather than answer it. lock() and this lock let a
  // waiting group in before new readers: a reader must not take either while it holds one.
  std::shared_lock<WriterFirstMutex> read_durable();
  // Called after each successful commit with the change sets the model took, each with its
  // own global revision, oldest first: other servers' commits replayed first, then this
  // group's requests (the planner follows the model this way; a revision means the same
  // change on every server). It runs on the writer thread after the exclusive lock is
  // released (readers go on meanwhile) and before the requests are answered (a client that
  // got its answer finds the change planned).
  using CommitHook = std::function<void(const std::vector<Committed>&)>;
  void on_commit(CommitHook hook) { on_commit_ = std::move(hook); }
  void stop();
  const WriterMetrics& metrics() const { return metrics_; }
  const Store& store() const { return store_; }
  // Another server committed `announced` (a shared store's notification; 0: unknown):
  // replay it soon, through the queue, even if no request of this server's comes. Many
  // calls while one waits are one; a revision the model already holds (this server's own
  // commit, announced to itself too) costs nothing.
  void catch_up_soon(int64_t announced = 0);
  // The model's durable revision after the last group (any thread).
  int64_t model_revision() const { return model_revision_.load(); }

 private:
  struct Job {
    WriteFn fn;
    DoneFn done;
    bool catch_up_only = false;  // catch_up_soon(): no request, only other servers' commits
  };
  void loop();
  void run_group(std::deque<Job>& group);
  void replay_unlocked();
  Result<std::vector<Committed>> fetch_since(int64_t latest);
  Status replay(std::vector<Committed>& fetched, std::vector<Committed>& replayed);
  void commit_group(std::vector<std::unique_ptr<Txn>>& txns, int64_t before, std::vector<Committed>& committed,
                    std::vector<Result<boost::json::value>>& results);
  std::vector<std::function<void(bool)>> settle();
  static void tell(std::vector<std::function<void(bool)>> waiting, bool durable);
  void run_requests(std::deque<Job>& group, Status began, std::vector<Result<boost::json::value>>& results,
                    std::vector<std::unique_ptr<Txn>>& txns, std::vector<Committed>& committed);
  void reload_after_failed_replay(const Error& e);
  static Result<boost::json::value> guarded(const WriteFn& fn, Txn& txn);
  static Result<boost::json::value> check_storable(const ChangeSet& changes, Result<boost::json::value> r);

  Model& model_;
  Store& store_;
  size_t max_group_;
  WriterFirstMutex lock_;
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::atomic<bool> catch_up_queued_{false};
  std::atomic<int64_t> model_revision_{0};  // the model's revision after the last group
  // A group in doubt: set under the exclusive lock once its requests ran, cleared when its
  // commit settles (under settle_mutex_, which also guards the readers waiting on it).
  bool in_doubt_ = false;
  std::mutex settle_mutex_;
  std::condition_variable settled_cv_;
  std::vector<std::function<void(bool)>> waiting_for_commit_;
  CommitHook on_commit_;
  WriterMetrics metrics_;
  std::thread thread_;
};

}  // namespace nt
