#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quiver {

// One nats-server of the cluster's log (JetStream), as a configuration file.
struct NatsServerConfig {
  std::string name;                // unique in the cluster
  std::string host = "127.0.0.1";  // never 0.0.0.0 by default
  int port = 4222;                 // clients
  std::string store_dir;           // JetStream's files
  // Routes to the other servers (nats-route://host:port); none for a single server.
  int cluster_port = 0;
  std::vector<std::string> routes;
  std::string cluster_name = "quiver";
  uint64_t max_payload = 8ull << 20;  // the largest record (one shard's part of a write)
  // The server's version: 2.10 and later flush every write before acking
  // (sync_interval: always); 2.9 has no such setting (docs/CLUSTER.md).
  int version_major = 2, version_minor = 9;
};

std::string RenderNatsConfig(const NatsServerConfig& config);

// "nats-server: v2.9.10" (what `nats-server --version` prints) -> {2, 9}.
std::optional<std::pair<int, int>> ParseNatsVersion(std::string_view text);

}  // namespace quiver
