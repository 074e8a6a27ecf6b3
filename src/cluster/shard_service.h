#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "common/mutex.h"
#include "engine/shard.h"

namespace quiver::cluster {

// Which shard of which table: a replica's name on a node and in calls.
struct ShardId {
  std::string database;
  std::string table;
  uint32_t shard = 0;
  uint64_t table_id = 0;  // a table dropped and created again has a new id
  auto operator<=>(const ShardId&) const = default;  // NOLINT(modernize-use-nullptr): tidy 14
  std::string ToString() const;
};

// The shard replicas a node hosts. Thread-safe; a replica found stays valid
// for its caller even if it is removed (or replaced by a newer one) meanwhile.
class ReplicaRegistry {
 public:
  void Put(const ShardId& id, std::shared_ptr<Shard> replica) EXCLUDES(mu_);
  void Remove(const ShardId& id) EXCLUDES(mu_);
  std::shared_ptr<Shard> Find(const ShardId& id) const EXCLUDES(mu_);
  // A replica found to differ from its log (it applied another record at
  // some LSN than the log holds there now, or records past the log's end):
  // it serves nothing more from now on; the node takes it (TakeDiverged)
  // and loads it afresh from its shard's checkpoint and log.
  void Diverged(const ShardId& id, const std::string& why) EXCLUDES(mu_);
  std::map<ShardId, std::string> TakeDiverged() EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::map<ShardId, std::shared_ptr<Shard>> replicas_ GUARDED_BY(mu_);
  std::map<ShardId, std::string> diverged_ GUARDED_BY(mu_);
};

// The node's side of proto/shard.proto: reads of the replicas in
// `registry`, each answered once the replica has applied the LSN the call
// asks for (waiting at most the call's deadline; kUnavailable then), and
// what applying a record did (a replica that applied another record at
// that LSN than the one the log holds and the caller appended has diverged:
// it is reported to `registry` and answers kUnavailable).
std::unique_ptr<grpc::Service> NewShardService(ReplicaRegistry* registry);

}  // namespace quiver::cluster
