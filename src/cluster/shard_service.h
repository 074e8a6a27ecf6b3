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

 private:
  mutable Mutex mu_;
  std::map<ShardId, std::shared_ptr<Shard>> replicas_ GUARDED_BY(mu_);
};

// The node's side of proto/shard.proto: reads of the replicas in
// `registry`, each answered once the replica has applied the LSN the call
// asks for (waiting at most the call's deadline; kUnavailable then), and
// what applying a record did.
std::unique_ptr<grpc::Service> NewShardService(const ReplicaRegistry* registry);

}  // namespace quiver::cluster
