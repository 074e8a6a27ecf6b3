#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "engine/engine.h"

namespace httplib {
class Server;
}

namespace quiver {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8888;  // 0: any free port
  size_t max_body_bytes = 64u << 20;
  int threads = 16;
  // An idle keep-alive connection is closed after this; a graceful shutdown
  // also waits up to this long for idle connections.
  int keep_alive_seconds = 2;
};

// The Epsilla-compatible REST API over an Engine (routes in docs/API.md).
// Handlers decode JSON into engine types and encode results; no engine code
// sees HTTP or JSON. Bind, then Serve on one thread; Stop from any thread.
class HttpServer {
 public:
  HttpServer(Engine* engine, ServerOptions options);
  ~HttpServer();

  // Binds the listening socket; returns the port (useful with port 0).
  Result<int> Bind();
  // Serves until Stop; in-flight requests finish first.
  void Serve();
  void Stop();

 private:
  void RegisterRoutes();

  Engine* engine_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
};

}  // namespace quiver
