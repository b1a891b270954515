// HTTP/1.1 server on Boost.Beast: keep-alive, a thread pool, a body size limit (413), and
// replies that may come from another thread (the writer) after the handler returned.
//
// Defences, each bounded so that no client can take the server down:
// - malformed requests get a NeutronError answer (400, 413, 431, 505) before the close;
// - at most `max_connections` sessions (and never more than the file-descriptor limit
//   allows): a connection beyond that evicts the session that has waited longest for a
//   request, and accept() failing with EMFILE backs off instead of spinning;
// - output waiting for slow readers is capped server-wide (`max_pending_output`); above
//   it, new large answers are refused with 503 and a stalled write is cut after
//   `write_timeout`.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/error.h"
#include "http/message.h"

namespace nt {

// How the application words an error (api/errors.cc: a NeutronError body and the status
// for the code). The server's own refusals (malformed or oversized requests, overload)
// go through it too, so every error a client sees has one shape.
using ErrorRenderer = std::function<HttpResponse(const Error&)>;

struct HttpServerOptions {
  ErrorRenderer render_error;  // required
  std::string host = "127.0.0.1";
  int port = 9696;  // 0 = any free port
  int threads = 2;
  size_t max_body = 114688;
  std::string unix_socket;  // also listen on this Unix socket path ("" = no)
  int max_connections = 4096;
  size_t max_pending_output = 64u << 20;  // bytes of answers not yet taken by clients
  std::chrono::seconds idle_timeout{120};   // waiting for (the rest of) a request
  std::chrono::seconds write_timeout{30};   // a write making no progress
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();
  Status start();        // binds and listens
  int port() const;      // the bound port
  void run();            // serves until stop(); runs the thread pool
  void stop();           // thread-safe; run() returns
  // What SIGINT/SIGTERM do before run() returns: `drain` runs on a thread of its own
  // while the server still serves the connections it has (no new ones are accepted),
  // e.g. to finish the writes in flight and flush the watch streams.
  void on_signal_drain(std::function<void()> drain);
  int connection_limit() const;  // max_connections as limited by RLIMIT_NOFILE

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nt
