// HTTP/1.1 server on Boost.Beast: keep-alive, a thread pool, a body size limit (413), and
// replies that may come from another thread (the writer) after the handler returned.
#pragma once
#include <memory>
#include <string>

#include "common/error.h"
#include "http/message.h"

namespace nt {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 9696;  // 0 = any free port
  int threads = 2;
  size_t max_body = 114688;
  std::string unix_socket;  // also listen on this Unix socket path ("" = no)
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();
  Status start();        // binds and listens
  int port() const;      // the bound port
  void run();            // serves until stop(); runs the thread pool
  void stop();           // thread-safe; run() returns

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nt
