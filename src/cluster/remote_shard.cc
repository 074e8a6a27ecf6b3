#include "cluster/remote_shard.h"

#include <openssl/rand.h>

#include <future>
#include <set>
#include <thread>

#include "cluster/proto/shard.grpc.pb.h"
#include "cluster/shard_codec.h"
#include "common/mutex.h"
#include "engine/log_payload.h"

namespace quiver::cluster {

struct RemoteShard::Stubs {
  std::vector<std::unique_ptr<proto::ShardService::Stub>> replicas;
};

namespace {

// A request id no other dispatcher makes: the record's Nats-Msg-Id.
std::string NewRequestId() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  static const char* kHex = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

void SetRef(const ShardId& id, proto::ShardRef* ref) {
  ref->set_database(id.database);
  ref->set_table(id.table);
  ref->set_shard(id.shard);
  ref->set_table_id(id.table_id);
}

bool TryAnother(const Status& status) {
  // Not this replica's fault: an error of the request itself is final.
  return status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kNotFound ||
         status.code() == StatusCode::kInternal;
}

// Calls `attempt(i)` for i = 0, 1, ... until it succeeds, fails for a reason
// of the request itself, or the deadline is near; pauses (10 ms, doubling up
// to 200 ms) after every `round` attempts. The last attempt's status.
template <class Attempt>
Status Retrying(std::chrono::system_clock::time_point deadline, size_t round, Attempt attempt) {
  auto pause = std::chrono::milliseconds(10);
  for (size_t i = 0;; ++i) {
    Status last = attempt(i);
    if (last.ok() || !TryAnother(last) || std::chrono::system_clock::now() + pause >= deadline)
      return last;
    if ((i + 1) % round == 0) {
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(200));
    }
  }
}

}  // namespace

RemoteShard::RemoteShard(TableSchema schema, ShardId id, std::shared_ptr<Log> log,
                         const std::vector<std::shared_ptr<grpc::Channel>>& replicas,
                         RemoteShardOptions options)
    : schema_(std::move(schema)),
      id_(std::move(id)),
      log_(std::move(log)),
      options_(std::move(options)),
      stubs_(std::make_unique<Stubs>()) {
  for (const auto& channel : replicas)
    stubs_->replicas.push_back(proto::ShardService::NewStub(channel));
}

RemoteShard::~RemoteShard() = default;

template <class Rpc>
Status RemoteShard::OnSomeReplica(const char* what, Deadline deadline, Rpc rpc) const {
  if (stubs_->replicas.empty())
    return Status::Unavailable("shard " + id_.ToString() + " has no replica to ask");
  const size_t first = next_.fetch_add(1);
  const size_t n = stubs_->replicas.size();
  // Round after round (a replica just placed may not be open yet, one just
  // restarted not reachable yet), until one answers or the deadline passes.
  std::vector<std::string> last(n);  // each replica's last error
  bool failed = false;
  Status status = Retrying(deadline, n, [&](size_t i) {
    grpc::ClientContext context;
    context.set_deadline(deadline);
    const size_t r = (first + i) % n;
    Status answered = FromGrpc(rpc(*stubs_->replicas[r], &context),
                               std::string(what) + " on a replica of shard " + id_.ToString());
    last[r] = answered.ok() ? "" : answered.message();
    failed = failed || !answered.ok();
    return answered;
  });
  if (status.ok() && failed && options_.failovers) options_.failovers->fetch_add(1);
  if (status.ok() || !TryAnother(status) || n == 1) return status;
  // Every replica failed: say what each said.
  std::string message = std::string(what) + " on shard " + id_.ToString() + ": no replica answered";
  for (size_t r = 0; r < n; ++r) {
    if (!last[r].empty()) message += "; replica " + std::to_string(r + 1) + ": " + last[r];
  }
  return Status(status.code(), message);
}

template <class Call, class Request, class Rpc>
Result<ResultSet> RemoteShard::Read(const char* what, const Request& request,
                                    const std::vector<FacetRequest>& partial_facets,
                                    Rpc rpc) const {
  Call call;
  SetRef(id_, call.mutable_shard());
  ToProto(request, call.mutable_request());
  proto::ResultReply reply;
  const Deadline deadline = Clock::now() + options_.deadline;
  auto ask = [&](Lsn min_lsn) {
    call.set_min_lsn(min_lsn);
    return OnSomeReplica(what, deadline, [&](auto& stub, grpc::ClientContext* context) {
      return rpc(stub, context, call, &reply);
    });
  };
  if (request.read.level == ReadOptions::Level::kStrong) {
    // The stream's last LSN and the read at once: the read stands when the
    // replica had applied that LSN before it read (a replica that keeps up:
    // the usual case), else it is asked again to wait for it. One round
    // trip instead of two.
    auto last = std::async(std::launch::async, [this] { return FetchLastLsn(); });
    const Status first = ask(0);
    Result<Lsn> lsn = last.get();
    if (!first.ok() && !TryAnother(first)) return first;  // the request's own error (a 4xx)
    QV_RETURN_IF_ERROR(lsn.status());
    if (!first.ok() || reply.read_lsn() < *lsn) QV_RETURN_IF_ERROR(ask(*lsn));
  } else {
    QV_ASSIGN_OR_RETURN(Lsn lsn, ReadLsn(request.read));
    QV_RETURN_IF_ERROR(ask(lsn));
  }
  return FromProto(reply.result(), schema_, partial_facets);
}

Result<Lsn> RemoteShard::ReadLsn(const ReadOptions& read) const {
  switch (read.level) {
    case ReadOptions::Level::kEventual:
      return Lsn{0};
    case ReadOptions::Level::kSession: {
      auto it = read.session.find(id_.shard);
      return it == read.session.end() ? Lsn{0} : Lsn{it->second};
    }
    case ReadOptions::Level::kBounded: {
      // The last LSN fetched, while that fetch is recent enough: everything
      // acknowledged before it was sent is at or below it.
      MutexLock lock(&known_mu_);
      if (known_at_.time_since_epoch().count() != 0 &&
          std::chrono::steady_clock::now() - known_at_ <= options_.bounded_staleness)
        return known_lsn_;
      break;
    }
    case ReadOptions::Level::kStrong:
      break;
  }
  // The log's last record when the read began (asked of its server: never
  // a stale answer).
  return FetchLastLsn();
}

Result<Lsn> RemoteShard::FetchLastLsn() const {
  const auto sent = std::chrono::steady_clock::now();
  QV_ASSIGN_OR_RETURN(Lsn last, log_->FetchLastLsn());
  MutexLock lock(&known_mu_);
  if (sent > known_at_) {
    known_at_ = sent;
    known_lsn_ = std::max(known_lsn_, last);
  }
  return last;
}

Result<Shard::Applied> RemoteShard::Write(RecordType type, const std::string& payload, Lsn* lsn) {
  // An append the stream did not acknowledge (a server away, an election
  // under way) is sent again with the same request id until the deadline:
  // the stream stores it once (its duplicate window) and answers with its LSN.
  // One deadline covers the appends and the wait for a replica to apply.
  const std::string request_id = NewRequestId();
  const Deadline deadline = Clock::now() + options_.deadline;
  auto remaining = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  };
  auto pause = std::chrono::milliseconds(20);
  Result<Lsn> appended = log_->Append(type, payload, request_id, remaining());
  while (!appended.ok() && appended.status().code() == StatusCode::kUnavailable &&
         remaining() > pause) {
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::milliseconds(500));
    appended = log_->Append(type, payload, request_id, remaining());
  }
  if (!appended.ok() && appended.status().code() == StatusCode::kUnavailable) {
    return Status::Unavailable("shard " + id_.ToString() +
                               "'s log did not acknowledge the write within " +
                               std::to_string(options_.deadline.count()) +
                               " ms (it may have been stored; sending it again is safe for "
                               "upserts and deletes): " +
                               appended.status().message());
  }
  QV_ASSIGN_OR_RETURN(*lsn, std::move(appended));
  proto::AppliedCall call;
  SetRef(id_, call.mutable_shard());
  call.set_lsn(*lsn);
  call.set_request_id(request_id);
  proto::AppliedReply reply;
  Status status = OnSomeReplica("applied", deadline, [&](auto& stub, grpc::ClientContext* context) {
    return stub.Applied(context, call, &reply);
  });
  if (!status.ok()) {
    return Status::Unavailable("the write is durable in shard " + id_.ToString() +
                               "'s log at LSN " + std::to_string(*lsn) +
                               ", but no replica has applied it yet: " + status.message());
  }
  if (!reply.request_id().empty() && reply.request_id() != request_id) {
    // The stream acknowledged LSN N for this write, but what its servers
    // deliver at N is another record: they disagree after a failure (NATS
    // 2.9 streams can drift when a majority of servers die). Not
    // acknowledged: the client sends it again.
    return Status::Unavailable("shard " + id_.ToString() + "'s log acknowledged the write at LSN " +
                               std::to_string(*lsn) +
                               " but holds another record there (its servers disagree after a "
                               "failure); the write may or may not be stored: send it again");
  }
  return Shard::Applied{reply.inserted(), reply.skipped(), reply.deleted(), request_id};
}

Result<InsertCounts> RemoteShard::Insert(const RecordBatch& batch, bool upsert, uint64_t stamp,
                                         std::span<const uint32_t> offsets) {
  QV_RETURN_IF_ERROR(ValidateBatch(schema_, batch));
  if (batch.num_rows() == 0) return InsertCounts{};
  Lsn lsn = 0;
  QV_ASSIGN_OR_RETURN(
      Shard::Applied applied,
      Write(RecordType::kInsert, EncodeInsert(batch, upsert, stamp, offsets), &lsn));
  return InsertCounts{applied.inserted, applied.skipped, lsn, {}};
}

Result<DeleteCounts> RemoteShard::Delete(std::span<const PrimaryKey> keys) {
  QV_RETURN_IF_ERROR(CheckKeyTypes(schema_, keys));
  if (keys.empty()) return DeleteCounts{};
  Lsn lsn = 0;
  QV_ASSIGN_OR_RETURN(Shard::Applied applied, Write(RecordType::kDelete, EncodeDelete(keys), &lsn));
  return DeleteCounts{applied.deleted, lsn, {}};
}

Result<DeleteCounts> RemoteShard::DeleteWhere(std::string_view filter) {
  // The keys that match now, then a delete of those keys (as a standalone
  // shard does, at one snapshot).
  GetRequest request;
  request.filter = std::string(filter);
  request.response = {schema_.fields[*schema_.PrimaryKeyIndex()].name};
  request.for_merge = true;
  QV_ASSIGN_OR_RETURN(ResultSet rows, Get(request));
  return Delete(rows.keys);
}

Result<ResultSet> RemoteShard::Search(const SearchRequest& request) const {
  return Read<proto::SearchCall>("search", request, request.facets,
                                 [](auto& stub, auto* context, const auto& call, auto* reply) {
                                   return stub.Search(context, call, reply);
                                 });
}

Result<ResultSet> RemoteShard::HybridSearch(const HybridRequest& request) const {
  return Read<proto::HybridCall>("hybrid search", request, {},
                                 [](auto& stub, auto* context, const auto& call, auto* reply) {
                                   return stub.HybridSearch(context, call, reply);
                                 });
}

Result<ResultSet> RemoteShard::Get(const GetRequest& request) const {
  return Read<proto::GetCall>("get", request,
                              request.partial_facets ? request.facets : std::vector<FacetRequest>{},
                              [](auto& stub, auto* context, const auto& call, auto* reply) {
                                return stub.Get(context, call, reply);
                              });
}

Result<ShardStats> RemoteShard::Stats() const {
  proto::StatsCall call;
  SetRef(id_, call.mutable_shard());
  // As of now, like a standalone table's (and a read at STRONG).
  QV_ASSIGN_OR_RETURN(Lsn last, FetchLastLsn());
  call.set_min_lsn(last);
  proto::StatsReply reply;
  QV_RETURN_IF_ERROR(OnSomeReplica(
      "statistics", Clock::now() + options_.deadline,
      [&](auto& stub, grpc::ClientContext* context) { return stub.Stats(context, call, &reply); }));
  return FromProto(reply.stats());
}

Status RemoteShard::Health() const {
  return log_->Health();
}

Status RemoteShard::Rebuild() {
  proto::RebuildCall call;
  SetRef(id_, call.mutable_shard());
  // Every replica first applies what the log holds now.
  QV_ASSIGN_OR_RETURN(Lsn last, log_->FetchLastLsn());
  call.set_min_lsn(last);
  const auto deadline = std::chrono::system_clock::now() + std::chrono::minutes(10);
  // All at once: a follower answers when it has what its leader built. The
  // first failure ends the other calls (a follower would wait for a
  // leader that failed until the deadline).
  struct Calls {
    Mutex mu;
    std::set<grpc::ClientContext*> live GUARDED_BY(mu);
    Status failed GUARDED_BY(mu);
  } calls;
  std::vector<std::future<void>> done;
  for (const auto& stub : stubs_->replicas) {
    done.push_back(std::async(std::launch::async, [&, stub = stub.get()] {
      // A replica just placed may not be open yet: asked again until the deadline.
      Status status = Retrying(deadline, 1, [&](size_t) {
        grpc::ClientContext context;
        context.set_deadline(deadline);
        {
          MutexLock lock(&calls.mu);
          if (!calls.failed.ok()) return calls.failed;
          calls.live.insert(&context);
        }
        proto::RebuildReply reply;
        Status answered = FromGrpc(stub->Rebuild(&context, call, &reply),
                                   "rebuild on a replica of shard " + id_.ToString());
        MutexLock lock(&calls.mu);
        calls.live.erase(&context);
        return answered;
      });
      if (status.ok()) return;
      MutexLock lock(&calls.mu);
      if (!calls.failed.ok()) return;
      calls.failed = std::move(status);
      for (grpc::ClientContext* context : calls.live) context->TryCancel();
    }));
  }
  for (auto& call_done : done) call_done.get();
  MutexLock lock(&calls.mu);
  return calls.failed;
}

}  // namespace quiver::cluster
