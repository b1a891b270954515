// The agent's side of the agent channel: plain HTTP/1.1 to http://host:port or
// unix:///path, JSON bodies, and the watch stream read line by line.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"

namespace nt::agent {

struct ServerUrl {
  bool unix_socket = false;
  std::string host, port, path;  // path: the socket for unix://
  std::string text;              // as written (for logs); empty: made from the parts
  static Result<ServerUrl> parse(const std::string& url);
  std::string display() const;
};

// agent.ini's server_url: one URL or a list of them, separated by commas and/or
// whitespace. An empty element, a bad one (named by its position) or one given twice is
// an error; a single URL answers exactly ServerUrl::parse's errors.
Result<std::vector<ServerUrl>> parse_server_urls(const std::string& text);

// Which of the servers is current. A failure of the current one moves to the next
// (round-robin) at once; the caller backs off only once every server failed in a row
// (one full cycle), so one URL backs off after each failure, as it always did.
class ServerRotation {
 public:
  explicit ServerRotation(size_t count) : count_(count == 0 ? 1 : count) {}
  size_t current() const { return current_; }
  struct Move {
    bool moved = false;       // `used` was current: the next one is now
    bool cycle_done = false;  // every server failed since one last answered: back off
    bool stale = false;       // `used` was no longer current: another thread moved on already
    // The caller tries the current server at once (no backoff).
    bool retry_at_once() const { return stale || (moved && !cycle_done); }
  };
  // Server `used` failed; a failure of one that is no longer current (another thread
  // moved on already) moves nothing, and the caller has not tried the current one yet.
  Move failed(size_t used);
  // Server `used` answered: a new cycle begins.
  void answered(size_t used);

 private:
  size_t count_;
  size_t current_ = 0;
  size_t failures_ = 0;  // in a row, since a server last answered
};

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// The shared enrolment token (X-Neutrino-Token) and the host's own (X-Neutrino-Host-Token).
struct ChannelTokens {
  std::string enrolment;
  std::string host;
};

// How long the agent waits on a server before it counts as unreachable.
struct ChannelTimeouts {
  std::chrono::milliseconds connect{5000};      // TCP connect
  std::chrono::milliseconds request{30000};     // post(): silence while awaiting the answer
  std::chrono::milliseconds watch_idle{15000};  // watch(): silence (the server's keepalives come every second)
};

class ChannelClient {
 public:
  ChannelClient(ServerUrl url, std::string enrolment_token)
      : ChannelClient(std::vector<ServerUrl>{std::move(url)}, std::move(enrolment_token)) {}
  // Several servers: requests go to the current one; one that cannot be reached, or whose
  // watch stream ends, gives way to the next (logged once per move).
  ChannelClient(std::vector<ServerUrl> urls, std::string enrolment_token)
      : urls_(std::move(urls)), rotation_(urls_.size()), token_{std::move(enrolment_token), ""} {}
  void set_host_token(std::string token) { token_.host = std::move(token); }
  void set_timeouts(ChannelTimeouts t) { timeouts_ = t; }
  // POST a JSON body; the answer's body, or an error naming the status.
  Result<std::string> post(const std::string& target, const std::string& body);
  // Any method (GET, POST, PUT, DELETE) to any path, e.g. the Neutron API for the sandbox;
  // the status is the caller's to judge.
  Result<HttpAnswer> call(const std::string& method, const std::string& target, const std::string& body = "");
  // GET a stream; on_line gets every complete line until the stream ends, on_line returns
  // false, or the connection fails (the error says which).
  // on_drained (optional) runs whenever every line received so far has been handled: a
  // natural point to act on a burst of lines at once.
  Status watch(const std::string& target, const std::function<bool(const std::string&)>& on_line,
               const std::function<void()>& on_drained = {});
  // Ends a watch in progress (from another thread; the agent's shutdown), and any later
  // one at once.
  void cancel();
  // True when this thread's last request failed and the server it goes to now is one this
  // thread has not tried since (its failure moved on, or another thread's did) while not
  // every server has failed in a row yet: try again at once. Otherwise (one server, a full
  // cycle through the list, or an answer that is not the server's fault) the caller waits
  // its backoff. Per thread: the heartbeat's requests never take or clear the watch's.
  bool take_retry_now();
  // The server requests go to now.
  std::string current_server() const;

 private:
  // The current server's index and URL.
  std::pair<size_t, ServerUrl> pick() const;
  // Bookkeeping after a request to server `used`: a failure that is the server's
  // (unreachable, broken stream, 5xx) moves to the next one; any other answer counts as
  // the server answering.
  void settle(size_t used, bool failed_by_server, const std::string& reason);

  std::vector<ServerUrl> urls_;
  mutable std::mutex rotation_mu_;  // rotation_ (requests run on several threads)
  ServerRotation rotation_;
  ChannelTokens token_;
  ChannelTimeouts timeouts_;
  std::mutex watch_mu_;  // guards watch_fd_ against the socket closing under cancel()
  int watch_fd_ = -1;
  bool cancelled_ = false;
};

}  // namespace nt::agent
