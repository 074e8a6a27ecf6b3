#pragma once

// `quiver cluster up | status | down`: a whole cluster as local processes
// (cluster/local_cluster.h, docs/CLUSTER.md "Running a cluster locally").

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace quiver {

// The subcommands and their flags' values, filled in by CLI11.
struct ClusterCommand {
  CLI::App* up = nullptr;
  CLI::App* status = nullptr;
  CLI::App* down = nullptr;
  std::string dir;
  int nodes = 3, dispatchers = 2, nats = 3;
  std::string object_store = "dir";
  std::string quiver_binary, etcd_binary = "etcd", nats_binary = "nats-server";
  int ready_timeout_seconds = 60;
  int grace_seconds = 10;
};

// Adds `cluster` and its subcommands to `app`; `command` must outlive parsing.
void AddClusterCommand(CLI::App& app, ClusterCommand& command);

// The exit code of the subcommand given, or nothing when none of them was.
std::optional<int> RunClusterCommand(const ClusterCommand& command);

}  // namespace quiver
