// A replica whose log's servers disagreed after a failure (NATS 2.9 drift,
// docs/CLUSTER.md): it finds out, from its own checks and from a writer
// whose record its log holds where the replica applied another, and stops
// serving until its node loads it again.

#include "cluster/log_divergence.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "cluster/nats_log.h"
#include "cluster/proto/shard.grpc.pb.h"
#include "cluster/shard_service.h"
#include "engine/log_payload.h"
#include "nats_server.h"
#include "table_oracle.h"
#include "test_util.h"

namespace quiver {
namespace {

using namespace std::chrono_literals;
using cluster::ShardId;
using testing::Rows;
using testing::Schema;
using testing::TempDir;

// A stream as one of its disagreeing servers would show it: its end
// `end_` (when set) and, at LSN `at_`, the request id `id_` (when set).
class DriftingLog final : public Log {
 public:
  explicit DriftingLog(std::shared_ptr<Log> log) : log_(std::move(log)) {}
  using Log::Append;
  Result<Lsn> Append(RecordType type, std::string_view payload, std::string_view request_id,
                     std::chrono::milliseconds wait) override {
    return log_->Append(type, payload, request_id, wait);
  }
  Lsn LastLsn() const override { return log_->LastLsn(); }
  Result<Lsn> FetchLastLsn() const override {
    return end_ ? Result<Lsn>(end_.load()) : log_->FetchLastLsn();
  }
  Result<std::optional<std::string>> RequestIdAt(Lsn lsn) const override {
    if (lsn == at_ && !id_.empty()) return std::optional<std::string>(id_);
    return log_->RequestIdAt(lsn);
  }
  Status Health() const override { return log_->Health(); }
  Result<std::unique_ptr<LogReader>> ReadFrom(Lsn lsn) const override {
    return log_->ReadFrom(lsn);
  }
  Status TrimBefore(Lsn lsn) override { return log_->TrimBefore(lsn); }

  std::atomic<Lsn> end_{0};
  Lsn at_ = 0;
  std::string id_;

 private:
  const std::shared_ptr<Log> log_;
};

struct Fixture {
  Fixture() {
    auto client = ConnectNats({.servers = testing::NatsServer::Get().url()});
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    std::string stream = "d" + std::filesystem::path(dir.path()).filename().string();
    for (char& c : stream) {
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    auto opened = OpenNatsLog(*client, {.stream = stream});
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    log = std::make_shared<DriftingLog>(std::move(*opened));
    for (int k = 0; k < 3; ++k) {
      auto lsn = log->Append(RecordType::kInsert, EncodeInsert(Rows(Schema(), {k}, 0), false, 0),
                             std::string(1, static_cast<char>('a' + k)));
      EXPECT_TRUE(lsn.ok()) << lsn.status().ToString();
    }
    auto replica = Shard::OpenReplica(fs.get(), dir.path(), Schema(), TableOptions{}, log);
    EXPECT_TRUE(replica.ok()) << replica.status().ToString();
    shard = std::move(*replica);
    EXPECT_TRUE(shard->CatchUp(1s).ok());
    EXPECT_TRUE(shard->AwaitLsn(3, 10s).ok());
  }
  TempDir dir{/*in_memory=*/true};
  std::unique_ptr<FileSystem> fs = NewPosixFileSystem();
  std::shared_ptr<DriftingLog> log;
  std::shared_ptr<Shard> shard;
};

TEST(LogDivergence, AReplicaPastItsLogsEndOrHoldingAnotherRecordHasDiverged) {
  Fixture f;
  Lsn last = 0;
  auto same = cluster::Divergence(*f.shard, &last);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(*same, "");
  EXPECT_EQ(last, 3u);

  f.log->end_ = 2;  // the server that took over lacks the last record
  auto behind = cluster::Divergence(*f.shard, &last);
  ASSERT_TRUE(behind.ok());
  EXPECT_NE(behind->find("past the end of its log (LSN 2)"), std::string::npos) << *behind;
  EXPECT_EQ(last, 2u);

  f.log->end_ = 0;
  f.log->at_ = 3;
  f.log->id_ = "x";  // ... and another record where it had the last one
  auto other = cluster::Divergence(*f.shard, &last);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->find("applied record 'c' at LSN 3, where its log holds 'x'"), std::string::npos)
      << *other;
}

TEST(LogDivergence, AReplicaThatAppliedAnotherRecordThanTheWritersStopsServing) {
  Fixture f;
  cluster::ReplicaRegistry registry;
  const ShardId id{"db", "t", 0, 9};
  registry.Put(id, f.shard);
  auto service = cluster::NewShardService(&registry);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service.get());
  auto server = builder.BuildAndStart();
  auto stub = cluster::proto::ShardService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  auto applied = [&](const std::string& request_id, cluster::proto::AppliedReply* reply) {
    cluster::proto::AppliedCall call;
    call.mutable_shard()->set_database(id.database);
    call.mutable_shard()->set_table(id.table);
    call.mutable_shard()->set_shard(id.shard);
    call.mutable_shard()->set_table_id(id.table_id);
    call.set_lsn(3);
    call.set_request_id(request_id);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 10s);
    return stub->Applied(&context, call, reply);
  };

  // The writer's record is not what the log holds at LSN 3 either (the log
  // acknowledged a write it then lost): the replica is right, it answers
  // with its record and the writer refuses the acknowledgement.
  cluster::proto::AppliedReply reply;
  grpc::Status status = applied("w", &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.request_id(), "c");
  EXPECT_TRUE(registry.TakeDiverged().empty());
  EXPECT_NE(registry.Find(id), nullptr);

  // The log holds the writer's record there: this replica read one the log
  // no longer holds, so it misses the writer's. It serves nothing more.
  f.log->at_ = 3;
  f.log->id_ = "w";
  status = applied("w", &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(status.error_message().find("diverged from its log"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(registry.Find(id), nullptr);
  auto diverged = registry.TakeDiverged();
  ASSERT_EQ(diverged.size(), 1u);
  EXPECT_EQ(diverged.begin()->first, id);
  EXPECT_NE(diverged.begin()->second.find("applied record 'c' at LSN 3"), std::string::npos);
  server->Shutdown(std::chrono::system_clock::now());
}

}  // namespace
}  // namespace quiver
