#include "cli/cluster_command.h"

#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <iostream>

#include "cluster/local_cluster.h"

namespace quiver {
namespace {

std::atomic<bool> interrupted{false};

void OnSignal(int /*sig*/) {
  interrupted.store(true);
}

// SIGINT, SIGTERM and SIGHUP during `up` stop what it started, then it exits.
void CatchInterrupts() {
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &action, nullptr);
}

int RunUp(const ClusterCommand& c) {
  LocalClusterOptions options;
  options.dir = c.dir;
  // Given flags only: a restart takes the recorded layout, and refuses another.
  if (c.up->count("--nodes") > 0) options.nodes = c.nodes;
  if (c.up->count("--dispatchers") > 0) options.dispatchers = c.dispatchers;
  if (c.up->count("--nats") > 0) options.nats = c.nats;
  if (c.up->count("--object-store") > 0) options.object_store = c.object_store;
  options.quiver_binary = c.quiver_binary;
  options.etcd_binary = c.etcd_binary;
  options.nats_binary = c.nats_binary;
  options.ready_timeout = std::chrono::seconds(c.ready_timeout_seconds);
  options.interrupted = &interrupted;
  CatchInterrupts();
  auto record = StartLocalCluster(options, std::cerr);
  if (!record.ok()) {
    std::cerr << "quiver cluster up: " << record.status().ToString() << "\n";
    return 1;
  }
  std::cout << DescribeCluster(*record, nullptr) << std::flush;
  return 0;
}

int RunStatus(const ClusterCommand& c) {
  auto record = ReadLocalCluster(c.dir);
  if (!record.ok()) {
    std::cerr << "quiver cluster status: " << record.status().ToString() << "\n";
    return 1;
  }
  const std::vector<bool> alive = ProcessesAlive(*record);
  std::cout << DescribeCluster(*record, &alive) << std::flush;
  return 0;
}

int RunDown(const ClusterCommand& c) {
  const Status stopped = StopLocalCluster(c.dir, std::chrono::seconds(c.grace_seconds), std::cerr);
  if (!stopped.ok()) {
    std::cerr << "quiver cluster down: " << stopped.ToString() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

void AddClusterCommand(CLI::App& app, ClusterCommand& c) {
  auto* cluster = app.add_subcommand(
      "cluster", "A whole cluster as local processes on 127.0.0.1 (docs/CLUSTER.md)");
  cluster->require_subcommand(1);
  c.up = cluster->add_subcommand(
      "up",
      "Start etcd, NATS, the object store, nodes and dispatchers; wait until they are "
      "ready; print them as JSON; leave them running");
  c.status =
      cluster->add_subcommand("status", "Print the cluster's processes as JSON, alive or not");
  c.down = cluster->add_subcommand("down", "Stop the cluster's processes (the data stays)");
  for (CLI::App* sub : {c.up, c.status, c.down}) {
    sub->add_option("--dir", c.dir, "The cluster's directory: cluster.json, logs/, data")
        ->required();
  }
  c.up->add_option("--nodes", c.nodes, "Nodes (quiver node)")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  c.up->add_option("--dispatchers", c.dispatchers, "Dispatchers (quiver dispatcher)")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  c.up->add_option("--nats", c.nats, "NATS servers, one JetStream cluster")
      ->capture_default_str()
      ->check(CLI::Range(1, 9));
  c.up->add_option("--object-store", c.object_store,
                   "dir: a directory DIR/objects; rgw: a Ceph RGW (S3) on this host")
      ->capture_default_str()
      ->check(CLI::IsMember({"dir", "rgw"}));
  c.up->add_option("--ready-timeout", c.ready_timeout_seconds,
                   "Seconds each process may take to be ready before up gives up")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  c.up->add_option("--quiver-bin", c.quiver_binary,
                   "The binary nodes and dispatchers run (default: this one)");
  c.up->add_option("--etcd-bin", c.etcd_binary, "etcd's binary")->capture_default_str();
  c.up->add_option("--nats-bin", c.nats_binary, "nats-server's binary")->capture_default_str();
  c.down
      ->add_option("--grace-seconds", c.grace_seconds,
                   "Seconds each process has to stop after SIGTERM before SIGKILL")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
}

std::optional<int> RunClusterCommand(const ClusterCommand& c) {
  if ((c.up == nullptr || !*c.up) && (c.status == nullptr || !*c.status) &&
      (c.down == nullptr || !*c.down)) {
    return std::nullopt;
  }
  // stdout holds the JSON only: log lines go to stderr, and only errors, as
  // the checks fail on purpose until each service is up (etcd warns then).
  spdlog::set_default_logger(spdlog::stderr_logger_mt("quiver-cluster"));
  spdlog::set_level(spdlog::level::err);
  if (c.up != nullptr && *c.up) return RunUp(c);
  if (c.status != nullptr && *c.status) return RunStatus(c);
  return RunDown(c);
}

}  // namespace quiver
