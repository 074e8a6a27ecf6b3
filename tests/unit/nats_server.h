#pragma once

// A real nats-server with JetStream for tests: Debian's nats-server on
// 127.0.0.1, on a free port, its store on tmpfs, configured by the same
// generator the cluster uses and checked as the local cluster launcher
// checks it (cluster/local_services.h); started on first use, stopped by its
// PID when the test process exits.

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "cluster/local_process.h"
#include "cluster/local_services.h"
#include "cluster/nats_config.h"
#include "test_util.h"

namespace quiver::testing {

class NatsServer {
 public:
  static NatsServer& Get() {
    static NatsServer server;
    return server;
  }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

  ~NatsServer() { (void)StopProcesses({process_}, std::chrono::seconds(10)); }

 private:
  NatsServer() : dir_(/*in_memory=*/true) {
    for (int attempt = 1;; ++attempt) {
      if (Start(attempt)) return;
      if (attempt == 3) throw std::runtime_error("nats-server exited at start three times");
    }
  }

  // True once the server takes JetStream requests; false if it exited at start.
  bool Start(int attempt) {
    auto port = ports_.Next();
    if (!port.ok()) throw std::runtime_error(port.status().ToString());
    port_ = *port;
    NatsServerConfig config;
    config.name = "quiver-test";
    config.port = port_;
    config.store_dir = dir_.path() + "/store" + std::to_string(attempt);
    const std::string path = dir_.path() + "/nats.conf";
    std::ofstream(path) << RenderNatsConfig(config);
    auto spawned = SpawnProcess({.argv = {"nats-server", "-c", path},
                                 .log = dir_.path() + "/nats.log",
                                 .new_session = false,
                                 .die_with_parent = true});
    if (!spawned.ok()) {
      throw std::runtime_error(spawned.status().ToString() + " (make deps installs nats-server)");
    }
    process_ = *spawned;
    // Ready when a stream can be made (JetStream is up, not only the port).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!CheckJetStream(url(), 1).ok()) {
      if (ReapIfExited(process_.pid)) {
        process_ = {};
        return false;
      }
      if (std::chrono::steady_clock::now() > give_up)
        throw std::runtime_error("nats-server never answered");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  TempDir dir_;
  PortPicker ports_;
  SpawnedProcess process_;
  int port_ = 0;
};

}  // namespace quiver::testing
