#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/collection.h"
#include "server/auth.h"

namespace httplib {
class Server;
}

namespace quiver {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8888;  // 0: any free port
  size_t max_body_bytes = 64u << 20;
  int threads = 16;               // connection workers always running
  size_t max_connections = 1024;  // workers at most (one per open connection)
  // An idle keep-alive connection is closed after this; a graceful shutdown
  // also waits up to this long for idle connections.
  int keep_alive_seconds = 2;
  KeyRing keys;           // empty: no authentication (then loopback only, see quiver serve)
  double rate_limit = 0;  // requests per second per key (per address without keys); 0: off
  // HTTPS when both are set (PEM files); TLS 1.2 is the oldest accepted.
  std::string tls_cert, tls_key;
};

// One route of the API, as the router has it (tests walk this table).
struct RouteInfo {
  std::string method;
  std::string pattern;  // the registered regular expression
  std::string label;    // readable path
  Access access;
};

class HttpMetrics;
class RateLimiter;

// The Epsilla-compatible REST API over a DatabaseService (engine/collection.h;
// the standalone Engine, routes in docs/API.md).
// Handlers decode JSON into engine types and encode results; no engine code
// sees HTTP or JSON. Bind, then Serve on one thread; Stop from any thread.
class HttpServer {
 public:
  // `engine` may be null: the server then answers /health, and 503 for
  // everything else (/ready included) until SetEngine.
  HttpServer(DatabaseService* engine, ServerOptions options);
  // The engine finished recovery: every route is served from now on.
  void SetEngine(DatabaseService* engine) { engine_ = engine; }
  // Why the server cannot run (a TLS certificate or key that does not load).
  Status Valid() const;
  ~HttpServer();

  // Binds the listening socket; returns the port (useful with port 0).
  Result<int> Bind();
  // Serves until Stop; in-flight requests finish first. Returns at once
  // when Stop came first.
  void Serve();
  // Makes Serve return, whether it is serving already, about to, or never
  // called (httplib alone ignores a stop before its accept loop runs).
  void Stop();

  // Every route the server registers, with the access it requires.
  static std::vector<RouteInfo> Routes();

 private:
  void RegisterRoutes();

  std::atomic<DatabaseService*> engine_;  // null while the engine recovers
  ServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::shared_ptr<HttpMetrics> metrics_;
  std::shared_ptr<RateLimiter> limiter_;
  // Serve and Stop meet through these (sequentially consistent): either
  // Serve sees stop_requested_ and returns, or Stop sees serve_entered_ and
  // waits for the accept loop to run before stopping it.
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> serve_entered_{false};
  std::atomic<bool> serve_returned_{false};
};

}  // namespace quiver
