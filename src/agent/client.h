// The agent's side of the agent channel: plain HTTP/1.1 to http://host:port or
// unix:///path, JSON bodies, and the watch stream read line by line.
#pragma once
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/error.h"

namespace nt::agent {

struct ServerUrl {
  bool unix_socket = false;
  std::string host, port, path;  // path: the socket for unix://
  static Result<ServerUrl> parse(const std::string& url);
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

class ChannelClient {
 public:
  ChannelClient(ServerUrl url, std::string enrolment_token) : url_(std::move(url)), token_{std::move(enrolment_token), ""} {}
  void set_host_token(std::string token) { token_.host = std::move(token); }
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

 private:
  ServerUrl url_;
  ChannelTokens token_;
  std::mutex watch_mu_;  // guards watch_fd_ against the socket closing under cancel()
  int watch_fd_ = -1;
  bool cancelled_ = false;
};

}  // namespace nt::agent
