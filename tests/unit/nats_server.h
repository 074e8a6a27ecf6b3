#pragma once

// A real nats-server with JetStream for tests: Debian's nats-server on
// 127.0.0.1, on ports the kernel hands out, its store on tmpfs, configured
// by the same generator the cluster uses; started on first use, stopped by
// its PID when the test process exits.

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "child_process.h"
#include "cluster/nats_config.h"
#include "cluster/nats_log.h"
#include "test_util.h"

namespace quiver::testing {

class NatsServer {
 public:
  static NatsServer& Get() {
    static NatsServer server;
    return server;
  }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

  ~NatsServer() { Stop(pid_); }

 private:
  NatsServer() : dir_(/*in_memory=*/true) {
    for (int attempt = 1;; ++attempt) {
      if (Start(attempt)) return;
      if (attempt == 3) throw std::runtime_error("nats-server exited at start three times");
    }
  }

  // True once the server takes JetStream requests; false if it exited at start.
  bool Start(int attempt) {
    port_ = FreePort();
    NatsServerConfig config;
    config.name = "quiver-test";
    config.port = port_;
    config.store_dir = dir_.path() + "/store" + std::to_string(attempt);
    const std::string path = dir_.path() + "/nats.conf";
    std::ofstream(path) << RenderNatsConfig(config);
    pid_ = SpawnLogged({"nats-server", "-c", path}, dir_.path() + "/nats.log", "nats-server");
    // Ready when a stream can be made (JetStream is up, not only the port).
    NatsOptions options;
    options.servers = url();
    options.deadline = std::chrono::milliseconds(500);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (true) {
      auto client = ConnectNats(options);
      if (client.ok() && OpenNatsLog(*client, {.stream = "ready"}).ok()) return true;
      if (Exited(pid_)) {
        pid_ = 0;
        return false;
      }
      if (std::chrono::steady_clock::now() > give_up)
        throw std::runtime_error("nats-server never answered");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  TempDir dir_;
  pid_t pid_ = 0;
  int port_ = 0;
};

}  // namespace quiver::testing
