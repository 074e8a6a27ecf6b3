#include "cli/cluster_roles.h"

#include <signal.h>

#include <atomic>
#include <thread>

#include "cluster/grpc_channel.h"
#include "common/log.h"

namespace quiver {
namespace {

// Blocks SIGTERM and SIGINT in every thread (call before starting any) and
// returns the set to wait for.
sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

void AddCommon(CLI::App* role, std::string* id, std::string* cluster, std::string* etcd,
               std::string* nats, int* stream_replicas, int64_t* lease_ms) {
  role->add_option("--id", *id, "Name, unique in the cluster")->required();
  role->add_option("--cluster", *cluster, "Cluster name (etcd prefix and stream names)")
      ->capture_default_str();
  role->add_option("--etcd", *etcd, "etcd endpoint host:port")->required();
  role->add_option("--nats", *nats, "NATS servers: nats://host:port[,nats://...]")->required();
  if (stream_replicas != nullptr) {  // streams are made by a table's creator
    role->add_option("--stream-replicas", *stream_replicas,
                     "Copies of each shard's stream (0: one per NATS server, at most 3)")
        ->capture_default_str()
        ->check(CLI::Range(0, 5));
  }
  role->add_option("--lease-ms", *lease_ms,
                   "Lease TTL: taken for dead this long after the last keep-alive")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1000}, int64_t{60000}));
}

}  // namespace

void ClusterRoles::Add(CLI::App& app) {
  node_ = app.add_subcommand("node", "Run a cluster node: hosts shard replicas");
  AddCommon(node_, &node_options_.id, &node_options_.cluster, &node_options_.etcd,
            &node_options_.nats, nullptr, &lease_ms_);
  node_->add_option("--data", node_options_.data_dir, "Directory of the replicas' files")
      ->required();
  node_->add_option("--object-store", node_options_.object_store,
                    "Sealed segments and indexes: dir:PATH or s3:http://HOST:PORT/BUCKET "
                    "(keys from QUIVER_S3_ACCESS_KEY, QUIVER_S3_SECRET_KEY)");
  node_->add_option("--grpc", grpc_address_, "host:port of the shard service (port 0: any)")
      ->capture_default_str();
  node_->add_option("--http", http_address_, "host:port of /health, /ready, /replicas")
      ->capture_default_str();
  node_->add_option("--seal-rows", seal_rows_, "Seal a replica's growing segment at this many rows")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 31));

  dispatcher_ = app.add_subcommand("dispatcher", "Run a cluster dispatcher: the REST API");
  AddCommon(dispatcher_, &dispatcher_options_.id, &dispatcher_options_.cluster,
            &dispatcher_options_.etcd, &dispatcher_options_.nats,
            &dispatcher_options_.stream_replicas, &lease_ms_);
  dispatcher_->add_option("--host", server_options_.host, "Address to listen on")
      ->capture_default_str();
  dispatcher_->add_option("--port", server_options_.port, "Port to listen on (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  dispatcher_
      ->add_option("--replicas", dispatcher_options_.replicas,
                   "Replicas of each shard of a table created without \"replicas\"")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  dispatcher_
      ->add_option("--bounded-staleness-ms", bounded_staleness_ms_,
                   "A read at consistency BOUNDED sees every write acknowledged this long "
                   "before it")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600000));
  dispatcher_
      ->add_option("--request-deadline-ms", request_deadline_ms_,
                   "A read or write that cannot finish in this long fails with 503 (a NATS "
                   "stream's leader election alone takes 4-9 s)")
      ->capture_default_str()
      ->check(CLI::Range(100, 3600000));
}

std::optional<int> ClusterRoles::Run() {
  if (!node_->parsed() && !dispatcher_->parsed()) return std::nullopt;
  cluster::TuneGrpcBeforeFirstUse();
  sigset_t signals = BlockStopSignals();
  if (node_->parsed()) {
    node_options_.grpc_address = grpc_address_;
    node_options_.http_address = http_address_;
    node_options_.table.seal_rows = seal_rows_;
    node_options_.lease_ttl = std::chrono::milliseconds(lease_ms_);
    auto node = cluster::Node::Start(node_options_);
    if (!node.ok()) {
      log::Get("cluster").critical("node {} cannot start: {}", node_options_.id,
                                   node.status().ToString());
      return 1;
    }
    int sig = 0;
    sigwait(&signals, &sig);
    log::Get("cluster").info("node {}: received signal {}; stopping", node_options_.id, sig);
    node->reset();
    return 0;
  }
  dispatcher_options_.lease_ttl = std::chrono::milliseconds(lease_ms_);
  dispatcher_options_.bounded_staleness = std::chrono::milliseconds(bounded_staleness_ms_);
  dispatcher_options_.request_deadline = std::chrono::milliseconds(request_deadline_ms_);
  HttpServer server(nullptr, server_options_);
  auto port = server.Bind();
  if (!port.ok()) {
    log::Get("cluster").critical("{}", port.status().ToString());
    return 1;
  }
  auto service = cluster::ClusterService::Start(dispatcher_options_);
  if (!service.ok()) {
    log::Get("cluster").critical("dispatcher {} cannot start: {}", dispatcher_options_.id,
                                 service.status().ToString());
    return 1;
  }
  std::thread serving([&server] { server.Serve(); });
  // Serves once it has read the catalog (until then only /health answers).
  std::atomic<bool> stopping{false};
  std::thread readiness([&server, &service, &stopping] {
    while (!stopping && !(*service)->Ready())
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!stopping) server.SetEngine(service->get());
  });
  log::Get("cluster").info("dispatcher {} listening on http://{}:{}", dispatcher_options_.id,
                           server_options_.host, *port);
  int sig = 0;
  sigwait(&signals, &sig);
  log::Get("cluster").info("dispatcher {}: received signal {}; stopping", dispatcher_options_.id,
                           sig);
  stopping = true;
  readiness.join();
  server.Stop();
  serving.join();
  service->reset();
  return 0;
}

}  // namespace quiver
