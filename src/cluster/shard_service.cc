#include "cluster/shard_service.h"

#include "cluster/log_divergence.h"
#include "cluster/proto/shard.grpc.pb.h"
#include "cluster/shard_codec.h"

namespace quiver::cluster {

std::string ShardId::ToString() const {
  return database + "/" + table + "/" + std::to_string(shard) + " (table id " +
         std::to_string(table_id) + ")";
}

void ReplicaRegistry::Put(const ShardId& id, std::shared_ptr<Shard> replica) {
  MutexLock lock(&mu_);
  replicas_[id] = std::move(replica);
}

void ReplicaRegistry::Remove(const ShardId& id) {
  MutexLock lock(&mu_);
  replicas_.erase(id);
}

void ReplicaRegistry::Diverged(const ShardId& id, const std::string& why) {
  MutexLock lock(&mu_);
  replicas_.erase(id);
  diverged_.emplace(id, why);
}

std::map<ShardId, std::string> ReplicaRegistry::TakeDiverged() {
  MutexLock lock(&mu_);
  std::map<ShardId, std::string> taken;
  taken.swap(diverged_);
  return taken;
}

std::shared_ptr<Shard> ReplicaRegistry::Find(const ShardId& id) const {
  MutexLock lock(&mu_);
  auto it = replicas_.find(id);
  return it == replicas_.end() ? nullptr : it->second;
}

namespace {

ShardId IdOf(const proto::ShardRef& ref) {
  return {ref.database(), ref.table(), ref.shard(), ref.table_id()};
}

// What is left of the call's deadline (a minute when it has none).
std::chrono::milliseconds Left(const grpc::ServerContext* context) {
  const auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return std::chrono::minutes(1);
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::system_clock::now()));
}

class ShardServiceImpl final : public proto::ShardService::Service {
 public:
  explicit ShardServiceImpl(ReplicaRegistry* registry) : registry_(registry) {}

  grpc::Status Search(grpc::ServerContext* context, const proto::SearchCall* call,
                      proto::ResultReply* reply) override {
    return ToGrpc(
        Answer(context, call->shard(), call->min_lsn(), [&](const Shard& shard) -> Status {
          QV_ASSIGN_OR_RETURN(SearchRequest request, FromProto(call->request()));
          reply->set_read_lsn(shard.Pin()->lsn);  // the search reads this or a later version
          QV_ASSIGN_OR_RETURN(ResultSet result, shard.Search(request));
          ToProto(result, reply->mutable_result());
          return Status::OK();
        }));
  }

  grpc::Status HybridSearch(grpc::ServerContext* context, const proto::HybridCall* call,
                            proto::ResultReply* reply) override {
    return ToGrpc(
        Answer(context, call->shard(), call->min_lsn(), [&](const Shard& shard) -> Status {
          QV_ASSIGN_OR_RETURN(HybridRequest request, FromProto(call->request()));
          reply->set_read_lsn(shard.Pin()->lsn);
          QV_ASSIGN_OR_RETURN(ResultSet result, shard.HybridSearch(request));
          ToProto(result, reply->mutable_result());
          return Status::OK();
        }));
  }

  grpc::Status Get(grpc::ServerContext* context, const proto::GetCall* call,
                   proto::ResultReply* reply) override {
    return ToGrpc(
        Answer(context, call->shard(), call->min_lsn(), [&](const Shard& shard) -> Status {
          QV_ASSIGN_OR_RETURN(GetRequest request, FromProto(call->request()));
          reply->set_read_lsn(shard.Pin()->lsn);
          QV_ASSIGN_OR_RETURN(ResultSet result, shard.Get(request));
          ToProto(result, reply->mutable_result());
          return Status::OK();
        }));
  }

  grpc::Status Stats(grpc::ServerContext* context, const proto::StatsCall* call,
                     proto::StatsReply* reply) override {
    return ToGrpc(
        Answer(context, call->shard(), call->min_lsn(), [&](const Shard& shard) -> Status {
          ToProto(shard.Stats(), reply->mutable_stats());
          const Status health = shard.Health();
          if (!health.ok()) reply->set_health(health.message());
          return Status::OK();
        }));
  }

  grpc::Status Applied(grpc::ServerContext* context, const proto::AppliedCall* call,
                       proto::AppliedReply* reply) override {
    return ToGrpc(Answer(context, call->shard(), 0, [&](const Shard& shard) -> Status {
      QV_ASSIGN_OR_RETURN(Shard::Applied applied, shard.AwaitApplied(call->lsn(), Left(context)));
      const std::string& appended = call->request_id();
      if (!appended.empty() && !applied.request_id.empty() && applied.request_id != appended) {
        // The caller's record is at this LSN, this replica applied another:
        // whichever the log holds now is the truth. When it is the caller's,
        // this replica read records the log no longer holds (its servers
        // disagreed after a failure) and misses the ones it holds instead.
        auto held = shard.log()->RequestIdAt(call->lsn());
        if (held.ok() && *held && **held == appended) {
          const ShardId id = IdOf(call->shard());
          const std::string why = AppliedAnother(applied.request_id, call->lsn(), appended);
          registry_->Diverged(id, why);
          return Status::Unavailable("the replica of shard " + id.ToString() +
                                     " diverged from its log (" + why + "); it reloads");
        }
      }
      reply->set_inserted(applied.inserted);
      reply->set_skipped(applied.skipped);
      reply->set_deleted(applied.deleted);
      reply->set_request_id(applied.request_id);
      return Status::OK();
    }));
  }

  grpc::Status Rebuild(grpc::ServerContext* context, const proto::RebuildCall* call,
                       proto::RebuildReply* /*reply*/) override {
    const ShardId id = IdOf(call->shard());
    std::shared_ptr<Shard> shard = registry_->Find(id);
    if (!shard)
      return ToGrpc(Status::NotFound("this node has no replica of shard " + id.ToString()));
    if (Status applied = shard->AwaitLsn(call->min_lsn(), Left(context)); !applied.ok())
      return ToGrpc(applied);
    using namespace std::chrono_literals;
    while (true) {
      // The leader seals and builds; a follower waits until it adopted what
      // its leader committed (and builds itself if it is elected meanwhile).
      if (shard->Maintains()) {
        Status sealed = shard->Seal();
        if (sealed.ok()) sealed = shard->BuildAllIndexes();
        return ToGrpc(sealed);
      }
      const auto left = Left(context);
      Status synced =
          shard->AwaitSynced(call->min_lsn(), std::min<std::chrono::milliseconds>(left, 100ms));
      if (synced.ok() || left <= 100ms || context->IsCancelled()) return ToGrpc(synced);
    }
  }

 private:
  template <class Fn>
  Status Answer(const grpc::ServerContext* context, const proto::ShardRef& ref, uint64_t min_lsn,
                Fn fn) {
    const ShardId id = IdOf(ref);
    std::shared_ptr<Shard> shard = registry_->Find(id);
    if (!shard) return Status::NotFound("this node has no replica of shard " + id.ToString());
    if (min_lsn > 0) QV_RETURN_IF_ERROR(shard->AwaitLsn(min_lsn, Left(context)));
    return fn(*shard);
  }

  ReplicaRegistry* const registry_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewShardService(ReplicaRegistry* registry) {
  return std::make_unique<ShardServiceImpl>(registry);
}

}  // namespace quiver::cluster
