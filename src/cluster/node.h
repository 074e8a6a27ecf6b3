#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cluster/object_store_spec.h"
#include "common/status.h"
#include "engine/shard.h"
#include "io/object_store.h"

namespace quiver::cluster {

struct NodeOptions {
  std::string id;                  // unique in the cluster
  std::string cluster = "quiver";  // names the cluster's etcd prefix and streams
  std::string etcd;                // host:port
  std::string nats;                // comma-separated nats:// URLs
  std::string data_dir;            // the replicas' files
  // Where sealed segments and indexes go: "dir:PATH" (a directory, e.g.
  // shared by the processes of a local cluster) or "s3:http://HOST:PORT/BUCKET"
  // (keys from QUIVER_S3_ACCESS_KEY / QUIVER_S3_SECRET_KEY); empty: the
  // replica's own directory only.
  std::string object_store;
  std::string grpc_address = "127.0.0.1:0";  // the shard service
  std::string http_address = "127.0.0.1:0";  // /health, /ready, /replicas
  // The node's lease: it is taken for dead this long after its last keep-alive.
  std::chrono::milliseconds lease_ttl{3000};
  std::chrono::milliseconds deadline{5000};  // of calls to etcd and NATS
  TableOptions table;                        // seal and compaction thresholds of the replicas
};

// `quiver node`: hosts replicas of shards (docs/CLUSTER.md). It announces
// itself under a lease, watches the catalog and the placements the
// coordinator writes, opens a replica of every shard placed on it (its
// shard's stream, applied from the replica's checkpoint by a thread of its
// own, sealing and compacting as it goes) and closes those placed
// elsewhere, and serves reads of its replicas over gRPC. Thread-safe.
class Node {
 public:
  static Result<std::unique_ptr<Node>> Start(NodeOptions options);
  virtual ~Node() = default;
  // Where it listens (the ports the kernel gave when asked for 0).
  virtual std::string grpc_address() const = 0;
  virtual std::string http_url() const = 0;
  // Announced, and every replica placed on it open and caught up with its
  // stream as of when it was opened.
  virtual bool Ready() const = 0;
};

}  // namespace quiver::cluster
