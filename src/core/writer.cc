#include "core/writer.h"

#include <algorithm>
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
    : model_(model), store_(store), max_group_(max_group), model_revision_(model.revision), thread_([this] { loop(); }) {}

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
    catch_up_queued_ = false;  // this group's begin() sees every commit announced so far
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

// A shared store may hold other servers' commits this model has not seen: they are read
// before the model is locked (readers go on meanwhile; only this thread moves the model's
// revision, so reading it here is safe), up to `latest` or, with -1, to the log's end.
Result<std::vector<Committed>> Writer::fetch_since(int64_t latest) {
  std::vector<Committed> out;
  int64_t at = model_.revision;
  while (latest < 0 || at < latest) {
    auto batch = store_.changes_since(at, 512);
    if (!batch) return nt::unexpected(batch.error());
    if (batch->empty()) {
      if (latest < 0) break;
      return fail(Errc::internal, Origin::store, "the change log ends at revision " + std::to_string(at) +
                                                     ", the store is at " + std::to_string(latest));
    }
    // Revisions are dense (one per request): a gap means the log was pruned past this
    // model. Replaying around it would serve a wrong model: refuse writes and say why.
    if (batch->front().revision != at + 1)
      return fail(Errc::unavailable, Origin::store,
                  "this server is behind the change log (revision " + std::to_string(at) + ", oldest kept " +
                      std::to_string(batch->front().revision) + "): restart it to reload");
    at = batch->back().revision;
    for (auto& c : *batch) out.push_back(std::move(c));
  }
  return out;
}

// Under the exclusive lock: the fetched commits into the model, in revision order.
Status Writer::replay(std::vector<Committed>& fetched, std::vector<Committed>& replayed) {
  for (auto& c : fetched) {
    if (c.revision <= model_.revision) continue;
    Txn txn(model_);
    if (auto r = txn.replay(c.changes); !r) {
      txn.rollback();
      return r;
    }
    model_.revision = c.revision;
    replayed.push_back(std::move(c));
    metrics_.replayed.inc();
  }
  return {};
}

// Runs each request in its own Txn and savepoint. The Txns stay until the group's commit:
// if it fails they undo the group in the model, newest first.
void Writer::run_requests(std::deque<Job>& group, Status began, std::vector<Result<boost::json::value>>& results,
                          std::vector<std::unique_ptr<Txn>>& txns, std::vector<Committed>& committed) {
  for (auto& job : group) {
    if (!began) {
      results.push_back(nt::unexpected(began.error()));
      continue;
    }
    auto txn = std::make_unique<Txn>(model_);
    auto r = guarded(job.fn, *txn);
    if (r) r = check_storable(txn->changes(), std::move(r));
    if (r && !txn->changes().empty()) {
      auto stored = store_.apply(txn->changes(), model_.revision + 1);
      if (stored) {
        ++model_.revision;
        committed.push_back({model_.revision, txn->changes()});
      } else {
        spdlog::error("store rejected a change: {} ({})", stored.error().message, stored.error().detail);
        r = nt::unexpected(stored.error());
      }
    }
    if (!r) txn->rollback();
    else txns.push_back(std::move(txn));
    results.push_back(std::move(r));
  }
}

void Writer::run_group(std::deque<Job>& group) {
  if (std::all_of(group.begin(), group.end(), [](const Job& j) { return j.catch_up_only; })) return replay_unlocked();
  std::vector<Result<boost::json::value>> results;
  results.reserve(group.size());
  std::vector<Committed> replayed, committed;
  metrics_.group_size.observe(static_cast<double>(group.size()));
  // The database's write lock (another server's group may hold it) and what other servers
  // committed are waited for before the model is locked: reads are not held up by them.
  auto latest = store_.begin();
  auto fetched = latest ? fetch_since(*latest) : Result<std::vector<Committed>>(nt::unexpected(latest.error()));
  if (latest && !fetched) store_.rollback();
  std::vector<std::unique_ptr<Txn>> txns;
  int64_t before = 0;
  bool began_ok = false;
  {
    auto waited_from = std::chrono::steady_clock::now();
    std::unique_lock exclusive(lock_);
    auto locked_at = std::chrono::steady_clock::now();
    metrics_.lock_wait_seconds.observe(seconds_since(waited_from));
    Status began = fetched ? replay(*fetched, replayed) : Status(nt::unexpected(fetched.error()));
    if (fetched && !began) reload_after_failed_replay(began.error());
    before = model_.revision;
    run_requests(group, began, results, txns, committed);
    began_ok = static_cast<bool>(began);
    if (!began) spdlog::warn("store unavailable, {} write(s) refused: {}", group.size(), began.error().message);
    if (began && !committed.empty()) {
      std::lock_guard g(settle_mutex_);
      in_doubt_ = true;
    }
    if (committed.empty()) model_revision_ = model_.revision;  // replayed commits are durable already
    metrics_.locked_seconds.observe(seconds_since(locked_at));
  }
  if (began_ok) commit_group(txns, before, committed, results);
  replayed.insert(replayed.end(), std::make_move_iterator(committed.begin()), std::make_move_iterator(committed.end()));
  if (!replayed.empty() && on_commit_) on_commit_(replayed);
  for (size_t i = 0; i < group.size(); ++i) group[i].done(std::move(results[i]));
}

// Readers go on while the group commits (they see it in doubt: writer.h). A failed commit
// undoes the group in the model under the exclusive lock (if it reached the database after
// all, the next group replays it from the change log).
void Writer::commit_group(std::vector<std::unique_ptr<Txn>>& txns, int64_t before, std::vector<Committed>& committed,
                          std::vector<Result<boost::json::value>>& results) {
  if (committed.empty()) return void(store_.rollback());
  auto commit_started = std::chrono::steady_clock::now();
  auto done = store_.commit();
  metrics_.commit_seconds.observe(seconds_since(commit_started));
  if (done) {
    model_revision_ = committed.back().revision;
    return tell(settle(), true);
  }
  metrics_.commit_failures.inc();
  spdlog::error("commit failed, the group is undone: {} ({})", done.error().message, done.error().detail);
  store_.rollback();
  std::vector<std::function<void(bool)>> waiting;
  {
    std::unique_lock exclusive(lock_);
    for (auto it = txns.rbegin(); it != txns.rend(); ++it) (*it)->rollback();
    model_.revision = before;
    model_revision_ = before;
    waiting = settle();
  }
  // Their readers read again, here on the writer thread: only after a failed commit (the
  // store is failing; the next groups wait for those reads).
  tell(std::move(waiting), false);
  committed.clear();
  for (auto& r : results)
    if (r) r = nt::unexpected(done.error());
}

// The group is no longer in doubt: wakes read_durable() and hands back the deferred readers.
std::vector<std::function<void(bool)>> Writer::settle() {
  std::vector<std::function<void(bool)>> waiting;
  {
    std::lock_guard g(settle_mutex_);
    in_doubt_ = false;
    waiting.swap(waiting_for_commit_);
  }
  settled_cv_.notify_all();
  return waiting;
}

// A reader's callback that throws (a bug) costs its answer only, never the writer thread.
void Writer::tell(std::vector<std::function<void(bool)>> waiting, bool durable) {
  for (auto& fn : waiting) {
    try {
      fn(durable);
    } catch (const std::exception& e) {
      spdlog::error("answering a read after a commit failed with an exception: {}", e.what());
    }
  }
}

bool Writer::defer_until_durable(std::function<void(bool)> fn) {
  std::lock_guard g(settle_mutex_);
  if (!in_doubt_) return false;
  waiting_for_commit_.push_back(std::move(fn));
  return true;
}

std::shared_lock<WriterFirstMutex> Writer::read_durable() {
  for (;;) {
    std::shared_lock shared(lock_);
    std::unique_lock g(settle_mutex_);
    if (!in_doubt_) return shared;
    shared.unlock();  // a failed commit needs the exclusive lock to settle
    settled_cv_.wait(g, [&] { return !in_doubt_; });
  }
}

// A change log row this binary cannot replay: the model is rebuilt from the store's tables
// into a scratch model and swapped in only if that loads (the transaction is given up
// first; the group's requests fail and may be retried). The planner keeps its views: the
// server should be restarted (said in the log).
void Writer::reload_after_failed_replay(const Error& e) {
  spdlog::error("cannot replay another server's commit: {} ({}); reloading the model, restart this server to rebuild "
                "its host views", e.message, e.detail);
  store_.rollback();
  auto state = store_.load();
  Model fresh;
  if (state && fresh.load(*state)) model_ = std::move(fresh);
}

void Writer::catch_up_soon(int64_t announced) {
  if (announced > 0 && announced <= model_revision_.load()) return;
  if (catch_up_queued_.exchange(true)) return;  // one is waiting already: it will see this too
  std::lock_guard g(queue_mutex_);
  if (stopping_) return;
  queue_.push_back({[](Txn&) -> Result<boost::json::value> { return boost::json::value{}; },
                    [](Result<boost::json::value>) {}, true});
  queue_cv_.notify_one();
}

// Catching up needs no write lock in the database: commits are numbered and made one at a
// time under it, so whatever the change log shows is a prefix of the history. (Taking the
// lock would queue the catch-up behind other servers' groups: tens of ms under load.)
void Writer::replay_unlocked() {
  auto fetched = fetch_since(-1);
  if (!fetched) {
    spdlog::debug("catching up later: {}", fetched.error().message);
    return;
  }
  if (fetched->empty()) return;
  std::vector<Committed> replayed;
  {
    std::unique_lock exclusive(lock_);
    if (auto r = replay(*fetched, replayed); !r)
      spdlog::error("cannot replay another server's commit: {}; the next write group retries", r.error().message);
    model_revision_ = model_.revision;
  }
  if (!replayed.empty() && on_commit_) on_commit_(replayed);
}

}  // namespace nt
