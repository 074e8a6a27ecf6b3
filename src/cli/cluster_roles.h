#pragma once

// `quiver node` and `quiver dispatcher`: the cluster's two roles
// (docs/CLUSTER.md), as subcommands of the one binary.

#include <CLI/CLI.hpp>
#include <optional>

#include "cluster/dispatcher.h"
#include "cluster/node.h"
#include "server/http_server.h"

namespace quiver {

class ClusterRoles {
 public:
  // Registers the subcommands and their flags on `app`.
  void Add(CLI::App& app);
  // Runs the role chosen on the command line until SIGTERM or SIGINT; its
  // exit code, or nullopt when neither was chosen.
  std::optional<int> Run();

 private:
  CLI::App* node_ = nullptr;
  CLI::App* dispatcher_ = nullptr;
  cluster::NodeOptions node_options_;
  cluster::DispatcherOptions dispatcher_options_;
  ServerOptions server_options_;
  std::string grpc_address_ = "127.0.0.1:0", http_address_ = "127.0.0.1:0";
  size_t seal_rows_ = 100000;
  int64_t lease_ms_ = 3000;
  int64_t bounded_staleness_ms_ = 1000;
  int64_t request_deadline_ms_ = 15000;
};

}  // namespace quiver
