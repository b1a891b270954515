#include "core/writer.h"

#include <chrono>
#include <optional>

#include <spdlog/spdlog.h>

#include <future>

#include "common/text.h"

namespace nt {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Writer::Writer(Model& model, Store& store, size_t max_group)
    : model_(model), store_(store), max_group_(max_group), thread_([this] { loop(); }) {}

Writer::~Writer() { stop(); }

void Writer::stop() {
  {
    std::lock_guard g(queue_mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Writer::submit(WriteFn fn, DoneFn done) {
  {
    std::lock_guard g(queue_mutex_);
    if (!stopping_) {
      queue_.push_back({std::move(fn), std::move(done)});
      queue_cv_.notify_one();
      return;
    }
  }
  done(fail(Errc::unavailable, Origin::unspecified, "the server is shutting down"));
}

Result<boost::json::value> Writer::run(WriteFn fn) {
  std::promise<Result<boost::json::value>> p;
  auto f = p.get_future();
  submit(std::move(fn), [&p](Result<boost::json::value> r) { p.set_value(std::move(r)); });
  return f.get();
}

void Writer::loop() {
  for (;;) {
    std::deque<Job> group;
    {
      std::unique_lock g(queue_mutex_);
      queue_cv_.wait(g, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      while (!queue_.empty() && group.size() < max_group_) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    run_group(group);
  }
}

// A bug that throws (e.g. a JSON accessor on an unexpected type) fails only its request.
Result<boost::json::value> Writer::guarded(const WriteFn& fn, Txn& txn) {
  try {
    return fn(txn);
  } catch (const std::exception& e) {
    spdlog::error("request failed with an exception: {}", e.what());
    return fail(Errc::internal, Origin::unspecified,
                "Request Failed: internal server error while processing your request.");  // the cause is logged
  }
}

// The last line of defence of the rule "nothing that is not valid UTF-8 is stored": a
// row that would make the database unloadable fails its request instead.
Result<boost::json::value> Writer::check_storable(const ChangeSet& changes, Result<boost::json::value> r) {
  for (const auto& row : changes.rows)
    if ((row.body && !valid_utf8(*row.body)) || !valid_utf8(row.id) || !valid_utf8(row.project_id)) {
      spdlog::error("refused to store {} {}: not valid UTF-8", row.kind, row.id);
      return fail(Errc::invalid_argument, Origin::unspecified, "The request carries text that is not valid UTF-8.");
    }
  return r;
}

void Writer::run_group(std::deque<Job>& group) {
  std::vector<Result<boost::json::value>> results;
  results.reserve(group.size());
  bool wrote = false;
  std::vector<ChangeSet> committed;
  std::optional<int64_t> revision;  // set when the group committed a change
  metrics_.group_size.observe(static_cast<double>(group.size()));
  {
    std::unique_lock exclusive(lock_);
    auto locked_at = std::chrono::steady_clock::now();
    auto began = store_.begin();
    for (auto& job : group) {
      if (!began) {
        results.push_back(nt::unexpected(began.error()));
        continue;
      }
      Txn txn(model_);
      auto r = guarded(job.fn, txn);
      if (r) r = check_storable(txn.changes(), std::move(r));
      if (r && !txn.changes().empty()) {
        auto stored = store_.apply(txn.changes(), model_.revision + 1);
        if (stored) {
          ++model_.revision;
          wrote = true;
          committed.push_back(txn.changes());
        } else {
          spdlog::error("store rejected a change: {} ({})", stored.error().message, stored.error().detail);
          r = nt::unexpected(stored.error());
        }
      }
      if (!r) txn.rollback();
      results.push_back(std::move(r));
    }
    if (began) {
      // Commit while readers wait: they must never see what might not be durable.
      auto commit_started = std::chrono::steady_clock::now();
      auto done = wrote ? store_.commit() : (store_.rollback(), Status{});
      if (wrote) metrics_.commit_seconds.observe(seconds_since(commit_started));
      if (!done) {
        metrics_.commit_failures.inc();
        spdlog::error("commit failed, reloading the model from the store: {} ({})", done.error().message, done.error().detail);
        store_.rollback();
        if (auto state = store_.load()) (void)model_.load(*state);
        for (auto& r : results)
          if (r) r = nt::unexpected(done.error());
      } else if (wrote) {
        revision = model_.revision;
      }
    }
    metrics_.locked_seconds.observe(seconds_since(locked_at));
  }
  if (revision && on_commit_) on_commit_(committed, *revision);
  for (size_t i = 0; i < group.size(); ++i) group[i].done(std::move(results[i]));
}

}  // namespace nt
