#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "cluster/shard_service.h"
#include "common/mutex.h"
#include "engine/shard_client.h"
#include "schema/schema.h"
#include "wal/log.h"

namespace quiver::cluster {

struct RemoteShardOptions {
  std::chrono::milliseconds deadline{10000};  // of every call, waits included
  // A BOUNDED read sees every write acknowledged this long before it began.
  std::chrono::milliseconds bounded_staleness{1000};
  // Counts calls another replica answered after one failed (a failover);
  // shared by the dispatcher's shards, may be null.
  std::shared_ptr<std::atomic<uint64_t>> failovers;
};

// A shard as a dispatcher's table sees it (engine/shard_client.h): writes
// are records appended to the shard's log, whose outcome (rows inserted,
// skipped, deleted) a replica reports once it applied them; reads go to one
// of the shard's replicas (the next one when a replica does not answer or
// does not host the shard), which answers once it has applied the LSN the
// read's consistency asks for (ReadOptions: STRONG, the stream's last LSN
// when the read began; SESSION, the LSN the client's write got on this
// shard; EVENTUAL, none). Thread-safe.
class RemoteShard final : public ShardClient {
 public:
  RemoteShard(TableSchema schema, ShardId id, std::shared_ptr<Log> log,
              const std::vector<std::shared_ptr<grpc::Channel>>& replicas,
              RemoteShardOptions options);
  ~RemoteShard() override;

  Result<InsertCounts> Insert(const RecordBatch& batch, bool upsert, uint64_t stamp,
                              std::span<const uint32_t> offsets) override;
  Result<DeleteCounts> Delete(std::span<const PrimaryKey> keys) override;
  Result<DeleteCounts> DeleteWhere(std::string_view filter) override;
  Result<ResultSet> Search(const SearchRequest& request) const override;
  Result<ResultSet> HybridSearch(const HybridRequest& request) const override;
  Result<ResultSet> Get(const GetRequest& request) const override;
  Result<ShardStats> Stats() const override;
  Status Health() const override;
  // Seals and builds every missing index on every replica (each replica
  // maintains its own segments).
  Status Rebuild();
  uint64_t LastStamp() const override { return 0; }  // the dispatcher's clock is wall time

 private:
  struct Stubs;
  // Appends `payload`, then asks a replica what applying it did.
  Result<Shard::Applied> Write(RecordType type, const std::string& payload, Lsn* lsn);
  // The LSN a read must wait for.
  Result<Lsn> ReadLsn(const ReadOptions& read) const;
  // The stream's last LSN, asked of its server; remembered for BOUNDED reads.
  Result<Lsn> FetchLastLsn() const EXCLUDES(known_mu_);
  // Calls `rpc(stub, context)` on the replicas in turn, from the next one,
  // until one answers (or refuses: an error of the request itself).
  using Clock = std::chrono::system_clock;  // gRPC's deadlines
  using Deadline = Clock::time_point;
  template <class Rpc>
  Status OnSomeReplica(const char* what, Deadline deadline, Rpc rpc) const;
  // One read: the call for this shard at the LSN `request.read` asks for,
  // on some replica; partial facet states parsed for `partial_facets`.
  template <class Call, class Request, class Rpc>
  Result<ResultSet> Read(const char* what, const Request& request,
                         const std::vector<FacetRequest>& partial_facets, Rpc rpc) const;

  const TableSchema schema_;
  const ShardId id_;
  const std::shared_ptr<Log> log_;
  const RemoteShardOptions options_;
  std::unique_ptr<Stubs> stubs_;
  mutable std::atomic<size_t> next_{0};
  // The last LSN fetched, and when the fetch was sent: every write
  // acknowledged before then is at or below it.
  mutable Mutex known_mu_;
  mutable Lsn known_lsn_ GUARDED_BY(known_mu_) = 0;
  mutable std::chrono::steady_clock::time_point known_at_ GUARDED_BY(known_mu_);
};

}  // namespace quiver::cluster
