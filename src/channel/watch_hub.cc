#include "channel/watch_hub.h"
#include "channel/entries.h"
#include "channel/view_digest.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>
#include <unordered_map>

namespace nt {
namespace json = boost::json;

// One agent's stream: lines wait in a queue until the HTTP session asks for the next one.
class WatchStream final : public BodyStream, public std::enable_shared_from_this<WatchStream> {
 public:
  static constexpr size_t kBatchBytes = 64 << 10;  // at most this much queued text per write

  WatchStream(WatchHub& hub, std::string host, size_t backlog_limit)
      : hub_(hub), host_(std::move(host)), limit_(backlog_limit) {}

  // `bounded`: a line that would take the backlog past the limit cuts the stream instead.
  void push(std::string line, bool bounded = true) {
    std::function<void(std::optional<std::string>)> deliver;
    bool cut = false;
    {
      std::lock_guard g(mu_);
      if (closed_) return;
      if (waiting_) {
        deliver = std::exchange(waiting_, nullptr);
      } else if (bounded && queued_ + line.size() > limit_ + snapshot_) {
        cut = closed_ = true;
        queue_.clear();
      } else {
        queued_ += line.size();
        if (!bounded) snapshot_ += line.size();
        queue_.push_back(std::move(line));
      }
    }
    if (deliver) deliver(std::move(line));
    if (cut) {
      spdlog::warn("watch of host {} fell more than {} bytes behind: cut (the agent resumes)", host_, limit_);
      hub_.forget(this);
    }
  }

  void next(std::function<void(std::optional<std::string>)> deliver) override {
    std::optional<std::string> ready;
    {
      std::lock_guard g(mu_);
      if (closed_) {
        ready = std::nullopt;
      } else if (!queue_.empty()) {
        // Every line waiting goes in one write (one chunk, one system call): under load a
        // stream sends what piled up meanwhile, not a line per round trip.
        ready = std::move(queue_.front());
        queue_.pop_front();
        while (!queue_.empty() && ready->size() < kBatchBytes) {
          ready->append(queue_.front());
          queue_.pop_front();
        }
        queued_ -= ready->size();
        snapshot_ -= std::min(snapshot_, ready->size());
      } else {
        waiting_ = std::move(deliver);
        return;
      }
    }
    deliver(std::move(ready));
  }

  // Ends the stream from the server's side: a waiting session gets the end at once.
  void end() {
    std::function<void(std::optional<std::string>)> deliver;
    {
      std::lock_guard g(mu_);
      closed_ = true;
      queue_.clear();
      deliver = std::exchange(waiting_, nullptr);
    }
    if (deliver) deliver(std::nullopt);
  }

  void close() override {
    {
      std::lock_guard g(mu_);
      closed_ = true;
      waiting_ = nullptr;
      queue_.clear();
    }
    hub_.forget(this);
  }

  const std::string& host() const { return host_; }
  // Every line queued so far was handed to the session, which waits for more (so it wrote
  // them), or the stream is over.
  std::string state() {
    std::lock_guard g(mu_);
    return std::to_string(queue_.size()) + " lines queued, " + (waiting_ ? "waiting" : "writing");
  }
  bool drained() {
    std::lock_guard g(mu_);
    return closed_ || (queue_.empty() && waiting_);
  }

 private:
  WatchHub& hub_;
  std::string host_;
  std::mutex mu_;
  std::deque<std::string> queue_;
  size_t limit_, queued_ = 0, snapshot_ = 0;  // bytes queued; of them, still from the snapshot
  std::function<void(std::optional<std::string>)> waiting_;
  bool closed_ = false;
};

// {"rev":..,"op":..,"kind":..,"id":..[,"obj":..]}: the entry's text goes in as the
// planner serialized it, the other fields through the serializer (they are escaped).
std::string WatchHub::line(const ViewDelta& d) {
  auto entry = d.obj.str();
  std::string out;
  out.reserve(64 + d.kind.size() + d.id.str().size() + entry.size());
  out += "{\"rev\":";
  out += std::to_string(d.revision);
  out += d.obj ? ",\"op\":\"put\",\"kind\":" : ",\"op\":\"del\",\"kind\":";
  out += json::serialize(json::string_view(d.kind));
  out += ",\"id\":";
  out += json::serialize(d.id.str());
  if (d.obj) {
    out += ",\"obj\":";
    out += entry;
  }
  out += "}\n";
  return out;
}

void WatchHub::publish(const std::vector<ViewDelta>& deltas) {
  std::lock_guard in_order(order_mu_);
  std::vector<std::pair<std::shared_ptr<WatchStream>, std::string>> out;
  // An entry shared by many hosts (one block, one revision) makes one line for all of them.
  std::unordered_map<const void*, std::pair<int64_t, std::shared_ptr<const std::string>>> shared_lines;
  {
    std::lock_guard g(mu_);
    HostLog* log = nullptr;  // d.host's, looked up once for its run of deltas
    const std::string* log_host = nullptr;
    std::pair<Watchers::iterator, Watchers::iterator> watching;
    for (const auto& d : deltas) {
      std::shared_ptr<const std::string> text;
      if (d.obj) {
        auto& [rev, known] = shared_lines[d.obj.block()];
        if (!known || rev != d.revision) rev = d.revision, known = std::make_shared<const std::string>(line(d));
        text = known;
      } else {
        text = std::make_shared<const std::string>(line(d));
      }
      if (!log_host || *log_host != d.host) {
        log = &hosts_[d.host], log_host = &d.host;
        watching = watchers_.equal_range(d.host);
      }
      auto& h = log->lines;
      h.emplace_back(d.revision, text);
      log->bytes += text->size();
      // Bounded in lines and bytes per host: an older `since` gets the full view instead.
      while (h.size() > history_limit_ || (log->bytes > history_bytes_limit_ && h.size() > 1)) {
        floors_[d.host] = h.front().first;
        floor_digests_.erase(d.host);  // the view at the new floor is not known
        log->bytes -= h.front().second->size();
        h.pop_front();
      }
      log->revision = d.revision;
      for (auto it = watching.first; it != watching.second; ++it)
        if (auto s = it->second.lock()) out.emplace_back(std::move(s), *text);
    }
  }
  for (auto& [s, text] : out) s->push(std::move(text));
}

// How a watch starts (with mu_ held): what the agent's `since` and view digest allow.
WatchHub::Start WatchHub::start_of(const std::string& host, std::optional<int64_t> since, int64_t rev,
                                   std::optional<uint64_t> digest) {
  // The history covers `since` if it holds every change after it.
  if (since && *since <= rev && *since >= floor_of(host)) return Start::after_since;
  // An agent whose view is the one at the history's floor (the server's start) takes the
  // history from there: no snapshot after a restart, even if the view moved meanwhile. A
  // host with no view at the start (and no history trimmed since) had the empty view.
  auto at_floor = floor_digests_.find(host);
  std::optional<uint64_t> floor_digest;
  if (at_floor != floor_digests_.end()) floor_digest = at_floor->second;
  else if (!floors_.count(host)) floor_digest = 0;
  if (since && digest && floor_digest == *digest) return Start::after_floor;
  return Start::full;  // unless its view is the current one (the caller checks)
}

std::shared_ptr<BodyStream> WatchHub::subscribe(const std::string& host, std::optional<int64_t> since,
                                                const Planner& planner, std::optional<uint64_t> digest) {
  auto stream = std::make_shared<WatchStream>(*this, host, backlog_limit_);
  int64_t rev = planner.host_revision(host);
  std::unique_lock g(mu_);
  auto start = start_of(host, since, rev, digest);
  if (start == Start::full && since && digest) {
    // The view as it is now (the planner does not change during the call): hashed
    // outside the hub's lock, which publications and keepalives need.
    g.unlock();
    bool current = *digest == view::digest_of(planner.shared_view(host));
    g.lock();
    if (current) start = Start::current;
  }
  ++(start == Start::after_since ? resumes_.history : start == Start::full ? resumes_.full : resumes_.digest);
  // A whole view is said in the hello ("full"), so that an agent that asked to resume
  // replaces its view instead of keeping entries deleted meanwhile.
  stream->push(json::serialize(json::object{{"op", "hello"}, {"protocol", view::kProtocolVersion}, {"full", start == Start::full}}) + "\n",
               false);
  if (start == Start::after_since || start == Start::after_floor) {
    int64_t after = start == Start::after_since ? *since : floor_of(host);
    for (const auto& [r, text] : hosts_[host].lines)
      if (r > after) stream->push(*text, false);
  } else if (start == Start::full) {
    const auto& view = planner.shared_view(host);
    for (auto it = view.begin(); it != view.end(); ++it) {  // (the items' own id handles)
      const auto& item = it.item();
      stream->push(line(ViewDelta{host, rev, SharedView::kind_string(item.kind()), item.id, item.entry}), false);
    }
  }
  stream->push(json::serialize(json::object{{"op", "synced"}, {"rev", rev}}) + "\n", false);
  // One stream per host: an agent that reconnects replaces its old stream, and no holder
  // of a host's token can pile streams up against the connection limit.
  auto older = take_streams(host);
  watchers_.emplace(host, stream);
  // Keepalives name the view's revision, also before its first change since the start.
  auto& latest = hosts_[host].revision;
  latest = std::max(latest, rev);
  g.unlock();
  end_all(older);
  return stream;
}

std::vector<std::shared_ptr<WatchStream>> WatchHub::take_streams(const std::string& host) {
  std::vector<std::shared_ptr<WatchStream>> out;
  auto [from, to] = watchers_.equal_range(host);
  for (auto it = from; it != to; ++it)
    if (auto s = it->second.lock()) out.push_back(std::move(s));
  watchers_.erase(from, to);
  return out;
}

void WatchHub::end_all(const std::vector<std::shared_ptr<WatchStream>>& streams) {
  for (const auto& s : streams) s->end();
}

void WatchHub::end_host(const std::string& host) {
  std::vector<std::shared_ptr<WatchStream>> streams;
  {
    std::lock_guard g(mu_);
    streams = take_streams(host);
  }
  end_all(streams);
}

void WatchHub::set_floor(const std::string& host, int64_t revision) {
  std::lock_guard g(mu_);
  floors_[host] = revision;
  floor_digests_.erase(host);
}

int64_t WatchHub::floor_of(const std::string& host) const {
  auto it = floors_.find(host);
  return it == floors_.end() ? start_floor_ : it->second;
}

void WatchHub::start_from(const Planner& planner, int64_t revision) {
  // Entries shared by many views (l2pop, flood) are hashed once.
  std::unordered_map<const void*, uint64_t> hashed;
  std::map<std::string, uint64_t> digests;
  for (const auto& host : planner.hosts_with_views()) {
    uint64_t sum = 0;
    for (const auto& [key, obj] : planner.shared_view(host)) {
      auto [it, fresh] = hashed.try_emplace(obj.block(), 0);
      if (fresh) {
        view::Digest one;
        one.add_text(key.first, key.second, obj.str());
        it->second = one.value();
      }
      sum += it->second;
    }
    digests[host] = sum;
  }
  std::lock_guard g(mu_);
  start_floor_ = revision;  // hosts without a view now: their history starts here too
  for (const auto& [host, rev] : planner.revisions()) {
    floors_[host] = rev;
    floor_digests_[host] = digests[host];
  }
}

void WatchHub::keepalive() {
  std::lock_guard in_order(order_mu_);
  std::vector<std::pair<std::shared_ptr<WatchStream>, int64_t>> out;
  {
    std::lock_guard g(mu_);
    for (auto& [host, weak] : watchers_)
      if (auto s = weak.lock()) out.emplace_back(std::move(s), hosts_[host].revision);
  }
  for (auto& [s, rev] : out) s->push(json::serialize(json::object{{"op", "keepalive"}, {"rev", rev}}) + "\n");
}

bool WatchHub::send(const std::string& host, const std::string& line) {
  std::vector<std::shared_ptr<WatchStream>> out;
  {
    std::lock_guard g(mu_);
    auto [from, to] = watchers_.equal_range(host);
    for (auto it = from; it != to; ++it)
      if (auto s = it->second.lock()) out.push_back(std::move(s));
  }
  for (auto& s : out) s->push(line + "\n");
  return !out.empty();
}

WatchHub::ResumeCounts WatchHub::resumes() const {
  std::lock_guard g(mu_);
  return resumes_;
}

std::vector<std::string> WatchHub::drain(std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    std::vector<std::shared_ptr<WatchStream>> streams;
    {
      std::lock_guard g(mu_);
      for (auto& [host, weak] : watchers_)
        if (auto s = weak.lock()) streams.push_back(std::move(s));
    }
    std::erase_if(streams, [](const auto& s) { return s->drained(); });
    if (streams.empty() || std::chrono::steady_clock::now() >= until) {
      std::vector<std::string> behind;
      for (const auto& s : streams) behind.push_back(s->host() + " (" + s->state() + ")");
      return behind;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

size_t WatchHub::watchers() const {
  std::lock_guard g(mu_);
  return watchers_.size();
}

void WatchHub::forget(const WatchStream* s) {
  std::lock_guard g(mu_);
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    auto locked = it->second.lock();
    it = (!locked || locked.get() == s) ? watchers_.erase(it) : std::next(it);
  }
}

}  // namespace nt
