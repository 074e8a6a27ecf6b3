#pragma once

// A real etcd server for tests: Debian's etcd 3.4 on 127.0.0.1, on ports
// the kernel hands out, with its data on tmpfs; started on first use,
// stopped by its PID when the test process exits.

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "cluster/etcd_meta_store.h"
#include "test_util.h"

namespace quiver::testing {

class EtcdServer {
 public:
  static EtcdServer& Get() {
    static EtcdServer server;
    return server;
  }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }

  ~EtcdServer() { Stop(pid_); }

 private:
  EtcdServer() : dir_(/*in_memory=*/true) {
    // A port another process took between FreePort and etcd's bind makes
    // etcd exit at once: then again, on new ports.
    for (int attempt = 1;; ++attempt) {
      if (Start(attempt)) return;
      if (attempt == 3) throw std::runtime_error("etcd exited at start three times");
    }
  }

  // True once etcd answers; false if it exited at start.
  bool Start(int attempt) {
    client_port_ = FreePort();
    peer_port_ = FreePort();
    const std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    const std::string data = dir_.path() + "/data" + std::to_string(attempt);
    const std::string log = dir_.path() + "/etcd.log";
    std::vector<std::string> args = {"etcd",
                                     "--name=quiver-test",
                                     "--data-dir=" + data,
                                     "--listen-client-urls=" + client,
                                     "--advertise-client-urls=" + client,
                                     "--listen-peer-urls=" + peer,
                                     "--initial-advertise-peer-urls=" + peer,
                                     "--initial-cluster=quiver-test=" + peer,
                                     "--logger=zap"};
    pid_ = SpawnLogged(std::move(args), log, "etcd-server");
    // Ready when it answers (a revision is 1 or more); bounded, and it
    // notices at once when the process died.
    EtcdOptions options;
    options.endpoint = endpoint();
    options.prefix = "ready/";
    options.deadline = std::chrono::milliseconds(500);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    // A new client each time: one channel would back off between attempts.
    while (NewEtcdMetaStore(options)->CurrentRevision() <= 0) {
      if (Exited(pid_)) {
        pid_ = 0;
        return false;
      }
      if (std::chrono::steady_clock::now() > give_up)
        throw std::runtime_error("etcd never answered");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  TempDir dir_;
  pid_t pid_ = 0;
  int client_port_ = 0, peer_port_ = 0;
};

}  // namespace quiver::testing
