#pragma once

// A real etcd server for tests: Debian's etcd 3.4 on 127.0.0.1 (started as
// the local cluster launcher starts it, cluster/local_services.h), on free
// ports, with its data on tmpfs; started on first use, stopped by its PID
// when the test process exits.

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "cluster/local_process.h"
#include "cluster/local_services.h"
#include "test_util.h"

namespace quiver::testing {

class EtcdServer {
 public:
  static EtcdServer& Get() {
    static EtcdServer server;
    return server;
  }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }

  ~EtcdServer() { (void)StopProcesses({process_}, std::chrono::seconds(10)); }

 private:
  EtcdServer() : dir_(/*in_memory=*/true) {
    // A port another process took between the probe and etcd's bind makes
    // etcd exit at once: then again, on new ports.
    for (int attempt = 1;; ++attempt) {
      if (Start(attempt)) return;
      if (attempt == 3) throw std::runtime_error("etcd exited at start three times");
    }
  }

  // True once etcd answers; false if it exited at start.
  bool Start(int attempt) {
    client_port_ = Port();
    peer_port_ = Port();
    const std::string data = dir_.path() + "/data" + std::to_string(attempt);
    auto spawned =
        SpawnProcess({.argv = EtcdArgs("etcd", "quiver-test", data, client_port_, peer_port_),
                      .log = dir_.path() + "/etcd.log",
                      .new_session = false,
                      .die_with_parent = true});
    if (!spawned.ok()) {
      throw std::runtime_error(spawned.status().ToString() + " (make deps installs etcd-server)");
    }
    process_ = *spawned;
    // Ready when it answers; bounded, and it notices at once when the process died.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!CheckEtcd(endpoint()).ok()) {
      if (ReapIfExited(process_.pid)) {
        process_ = {};
        return false;
      }
      if (std::chrono::steady_clock::now() > give_up)
        throw std::runtime_error("etcd never answered");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  int Port() {
    auto port = ports_.Next();
    if (!port.ok()) throw std::runtime_error(port.status().ToString());
    return *port;
  }

  TempDir dir_;
  PortPicker ports_;
  SpawnedProcess process_;
  int client_port_ = 0, peer_port_ = 0;
};

}  // namespace quiver::testing
