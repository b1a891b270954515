// Plain HTTP request/response values shared by the Beast server and the API, so that the
// API neither sees Beast nor depends on the transport.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nt {

struct HttpRequest {
  std::string method;   // "GET", "POST", ...
  std::string target;   // path and query, as received
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string peer;  // the client's IP address; "" on a Unix socket
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A response body produced over time, sent with chunked encoding: next() delivers the
// next piece (possibly later, from any thread) or nullopt at the end; close() is called
// when the client went away.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual void next(std::function<void(std::optional<std::string>)> deliver) = 0;
  virtual void close() = 0;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<BodyStream> stream;  // set: the body is streamed, `body` is ignored
};

using Reply = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(HttpRequest&&, Reply)>;

}  // namespace nt
