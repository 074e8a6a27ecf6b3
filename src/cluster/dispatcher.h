#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cluster/remote_shard.h"
#include "common/status.h"
#include "engine/collection.h"

namespace quiver::cluster {

struct DispatcherOptions {
  std::string id;                  // unique among the cluster's dispatchers
  std::string cluster = "quiver";  // names the cluster's etcd prefix and streams
  std::string etcd;                // host:port
  std::string nats;                // comma-separated nats:// URLs
  uint32_t replicas = 1;           // of a table created without "replicas"
  int stream_replicas = 0;         // copies of each stream; 0: one per NATS server given, at most 3
  std::chrono::milliseconds lease_ttl{3000};  // of the coordinator's election
  std::chrono::milliseconds deadline{5000};   // of calls to etcd and NATS
  // Of a read or write, waits included: longer than a NATS stream's leader
  // election (4-9 s on NATS 2.9) plus a reader's move to another server.
  std::chrono::milliseconds request_deadline{15000};
  // A BOUNDED read sees every write acknowledged this long before it.
  std::chrono::milliseconds bounded_staleness{1000};
};

// `quiver dispatcher`: the REST API of a cluster (docs/CLUSTER.md). It keeps
// no state of its own: the catalog lives in etcd (changed by compare-and-put,
// followed by a watch, so every dispatcher serves the same databases), a
// table's writes are records in its shards' streams, its reads go to the
// nodes that host the shards' replicas and are merged as a standalone table
// merges its shards. One dispatcher at a time is also the coordinator
// (elected through a leased etcd key): it places each table's shard
// replicas on live nodes (layout.h, Place) and places them again when a
// node's lease expires. Thread-safe.
class ClusterService : public DatabaseService {
 public:
  static Result<std::unique_ptr<ClusterService>> Start(DispatcherOptions options);
  // The catalog was read once (ready to serve).
  virtual bool Ready() const = 0;
  virtual bool IsCoordinator() const = 0;
};

}  // namespace quiver::cluster
