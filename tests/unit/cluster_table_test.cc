// A table served by a cluster's parts answers exactly as a standalone table:
// its shards' logs are streams in a real nats-server, two "nodes" (gRPC
// servers in this process) each host a replica of every shard and apply
// the logs, and a dispatcher's table (Table::Remote) appends writes to the
// logs and asks the replicas for reads.

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>
#include <thread>

#include "cluster/layout.h"
#include "cluster/nats_log.h"
#include "cluster/remote_shard.h"
#include "cluster/shard_codec.h"
#include "cluster/shard_service.h"
#include "engine/log_payload.h"
#include "nats_server.h"
#include "table_oracle.h"
#include "test_util.h"

namespace quiver {
namespace {

using namespace std::chrono_literals;
using cluster::ReplicaRegistry;
using cluster::ShardId;
using testing::ExpectSameAnswers;
using testing::Rows;
using testing::Schema;
using testing::TempDir;

std::shared_ptr<NatsClient> Nats() {
  static const std::shared_ptr<NatsClient> client = [] {
    auto connected = ConnectNats({.servers = testing::NatsServer::Get().url()});
    if (!connected.ok()) throw std::runtime_error(connected.status().ToString());
    return *connected;
  }();
  return client;
}

TableOptions SmallSegments() {
  TableOptions options;
  options.seal_rows = 40;  // replicas seal and compact along the way
  options.max_segments = 3;
  return options;
}

// Where the replicas of a shard share their manifest and files; without
// it, each replica keeps its own.
struct SharedFiles {
  MetaStore* meta;
  ObjectStore* objects;
  static std::string ManifestKey(uint32_t shard) { return "manifest_s" + std::to_string(shard); }
  static std::string LeaderKey(uint32_t shard) { return "leader_s" + std::to_string(shard); }
};

// A node: a replica of every shard, each applying its log in a thread (and
// sealing and compacting as it goes, or following its leader's manifest),
// served over gRPC on 127.0.0.1.
class TestNode {
 public:
  TestNode(FileSystem* fs, const std::string& streams, uint32_t shards,
           const SharedFiles* shared = nullptr)
      : shared_(shared) {
    for (uint32_t s = 0; s < shards; ++s) {
      auto log = OpenNatsLog(Nats(), {.stream = streams + "_" + std::to_string(s)});
      EXPECT_TRUE(log.ok()) << log.status().ToString();
      TableOptions options = SmallSegments();
      if (shared) {
        options.object_store = shared->objects;
        options.object_prefix = "s" + std::to_string(s);
        options.manifest_store = shared->meta;
        options.manifest_key = SharedFiles::ManifestKey(s);
      }
      auto replica = Shard::OpenReplica(fs, JoinPath(dir_.path(), std::to_string(s)), Schema(),
                                        options, std::move(*log));
      EXPECT_TRUE(replica.ok()) << replica.status().ToString();
      std::shared_ptr<Shard> shard = std::move(*replica);
      registry_.Put({"db", "t", s}, shard);
      Mutex* round_mu = &round_mu_.emplace_back();
      appliers_.emplace_back([this, shard, s, round_mu] {
        while (!stop_) {
          if (paused_) {
            std::this_thread::sleep_for(2ms);
            continue;
          }
          MutexLock round(round_mu);  // Pause waits for it
          Status status = shard->CatchUp(20ms);
          if (shared_ && (status.code() == StatusCode::kNotFound || !shard->Leading())) {
            // A follower adopts the newest manifest (trimmed below it too).
            auto manifest = shared_->meta->Get(SharedFiles::ManifestKey(s));
            if (manifest.ok() && *manifest &&
                (status.code() == StatusCode::kNotFound ||
                 (*manifest)->mod_revision > shard->ManifestRevision()))
              status = shard->Adopt(**manifest);
          }
          if (status.ok()) status = shard->MaybeSeal();
          if (status.ok()) status = shard->Compact();
          if (status.ok() && shared_) status = shard->BuildNextIndex().status();
          if (!status.ok()) {
            MutexLock lock(&mu_);
            errors_.push_back(status);
          }
        }
      });
    }
    service_ = cluster::NewShardService(&registry_);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
  }
  ~TestNode() {
    Stop();
    stop_ = true;
    for (auto& t : appliers_) t.join();
    if (!shared_) {
      EXPECT_EQ(errors().size(), 0u) << errors()[0].ToString();
    }
  }
  // Makes this node's replica of shard `s` its leader (the election a
  // real node runs: the put that creates the leader key decides).
  void Lead(uint32_t s) {
    auto won = shared_->meta->CompareAndPut(SharedFiles::LeaderKey(s), "node", 0);
    ASSERT_TRUE(won.ok()) << won.status().ToString();
    const Status led = replica(s)->Lead({SharedFiles::LeaderKey(s), *won});
    ASSERT_TRUE(led.ok()) << led.ToString();
  }
  // Stops applying (a replica falling behind) until resumed.
  void Pause(bool paused) {
    paused_ = paused;
    // For the rounds under way: they may still apply.
    for (Mutex& round : round_mu_) MutexLock wait(&round);
  }
  // What the appliers could not do.
  std::vector<Status> errors() const {
    MutexLock lock(&mu_);
    return errors_;
  }
  void Stop() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::shared_ptr<Shard> replica(uint32_t s) const { return registry_.Find({"db", "t", s}); }

 private:
  TempDir dir_{/*in_memory=*/true};
  ReplicaRegistry registry_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  const SharedFiles* const shared_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::deque<Mutex> round_mu_;  // one per applier, held for one round
  mutable Mutex mu_;
  std::vector<Status> errors_ GUARDED_BY(mu_);
  std::vector<std::thread> appliers_;
};

// The dispatcher's table over the nodes' replicas.
std::unique_ptr<Table> RemoteTable(const std::string& streams, uint32_t shards,
                                   const std::vector<const TestNode*>& nodes,
                                   std::chrono::milliseconds deadline = 10s,
                                   std::chrono::milliseconds bounded = 1s) {
  std::vector<std::shared_ptr<ShardClient>> clients;
  for (uint32_t s = 0; s < shards; ++s) {
    auto log = OpenNatsLog(Nats(), {.stream = streams + "_" + std::to_string(s)});
    EXPECT_TRUE(log.ok());
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    channels.reserve(nodes.size());
    for (const TestNode* node : nodes)
      channels.push_back(grpc::CreateChannel(node->address(), grpc::InsecureChannelCredentials()));
    clients.push_back(std::make_shared<cluster::RemoteShard>(
        Schema(), ShardId{"db", "t", s}, std::move(*log), std::move(channels),
        cluster::RemoteShardOptions{deadline, bounded}));
  }
  auto table = Table::Remote(Schema(), SlotMap::Even(shards), std::move(clients));
  EXPECT_TRUE(table.ok());
  return std::move(table).value();
}

std::string StreamsFor(const TempDir& dir) {
  std::string name = "c" + std::filesystem::path(dir.path()).filename().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

TEST(ClusterTable, TwoShardsOnTwoNodesAnswerExactlyAsStandalone) {
  constexpr uint32_t kShards = 2;
  TempDir standalone_dir, names;
  auto fs = NewPosixFileSystem();
  const std::string streams = StreamsFor(names);
  auto standalone =
      std::move(Table::Open(fs.get(), standalone_dir.path(), Schema(), SmallSegments()).value());
  TestNode a(fs.get(), streams, kShards), b(fs.get(), streams, kShards);
  auto remote = RemoteTable(streams, kShards, {&a, &b});

  std::mt19937 rng(11), reads(3);
  for (int round = 0; round < 30; ++round) {
    std::vector<int64_t> ids(12);
    for (auto& id : ids) id = static_cast<int64_t>(rng() % 200);
    const bool upsert = round % 3 != 0;
    const RecordBatch batch = Rows(Schema(), ids, round);
    auto x = standalone->Insert(batch, upsert);
    auto y = remote->Insert(batch, upsert);
    ASSERT_TRUE(x.ok() && y.ok()) << y.status().ToString();
    EXPECT_EQ(x->inserted, y->inserted) << "a replica reports what the record did";
    EXPECT_EQ(x->skipped, y->skipped);
    EXPECT_GE(y->shard_lsns.size(), 1u);
    if (round % 5 == 4) {
      std::vector<PrimaryKey> keys = {int64_t(rng() % 200), int64_t(rng() % 200)};
      auto deleted = remote->Delete(keys);
      ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
      EXPECT_EQ(standalone->Delete(keys)->deleted, deleted->deleted);
    }
    if (round % 13 == 12) {
      EXPECT_EQ(standalone->DeleteWhere("price > 90")->deleted,
                remote->DeleteWhere("price > 90")->deleted);
    }
    ASSERT_TRUE(standalone->MaybeSeal().ok() && standalone->Compact().ok());
    // STRONG reads right after the writes, whichever replica answers.
    if (round % 10 == 9) ExpectSameAnswers(*standalone, *remote, &reads, "while writing");
  }
  // Every replica of a shard holds the same rows.
  GetRequest all;
  for (uint32_t s = 0; s < kShards; ++s) {
    const Lsn last = a.replica(s)->log()->LastLsn();
    ASSERT_TRUE(a.replica(s)->AwaitLsn(last, 30s).ok());
    ASSERT_TRUE(b.replica(s)->AwaitLsn(last, 30s).ok());
    auto x = a.replica(s)->Get(all);
    auto y = b.replica(s)->Get(all);
    ASSERT_TRUE(x.ok() && y.ok());
    EXPECT_GT(x->rows.size(), 0u);
    EXPECT_EQ(x->rows, y->rows) << "shard " << s;
  }
  auto stats = remote->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->shards.size(), kShards);
  EXPECT_EQ(stats->live_rows, standalone->RowCount());

  // A node goes away: reads and writes go on through the other.
  a.Stop();
  ExpectSameAnswers(*standalone, *remote, &reads, "with one node down");
  const RecordBatch more = Rows(Schema(), {500, 501, 502}, 77);
  ASSERT_TRUE(standalone->Insert(more, false).ok());
  auto inserted = remote->Insert(more, false);
  ASSERT_TRUE(inserted.ok()) << inserted.status().ToString();
  EXPECT_EQ(inserted->inserted, 3u);
  ExpectSameAnswers(*standalone, *remote, &reads, "after a write with one node down");
}

// Waits (bounded) until every replica of shard `s` of `nodes` has
// applied the stream and adopted the leader's manifest with its indexes.
void ExpectSynced(const std::vector<const TestNode*>& nodes, const TestNode& leader, uint32_t s) {
  const Lsn last = leader.replica(s)->log()->LastLsn();
  for (const TestNode* node : nodes) ASSERT_TRUE(node->replica(s)->AwaitLsn(last, 30s).ok());
  // A last seal of what is growing, with its indexes, to compare sealed state.
  ASSERT_TRUE(leader.replica(s)->Seal().ok());
  ASSERT_TRUE(leader.replica(s)->BuildAllIndexes().ok());
  const Lsn checkpoint = leader.replica(s)->Stats().checkpoint_lsn;
  for (const TestNode* node : nodes) {
    const Status synced = node->replica(s)->AwaitSynced(checkpoint, 30s);
    ASSERT_TRUE(synced.ok()) << synced.ToString();
  }
}

TEST(ClusterTable, FollowersServeTheSegmentsAndIndexesTheirLeaderCommitsAndNeverBuild) {
  constexpr uint32_t kShards = 2;
  TempDir standalone_dir, names, shared_dir;
  auto fs = NewPosixFileSystem();
  const std::string streams = StreamsFor(names);
  auto meta = NewLocalMetaStore(fs.get(), JoinPath(shared_dir.path(), "meta"));
  auto objects = NewLocalObjectStore(fs.get(), JoinPath(shared_dir.path(), "objects"));
  const SharedFiles shared{meta.get(), objects.get()};
  auto standalone =
      std::move(Table::Open(fs.get(), standalone_dir.path(), Schema(), SmallSegments()).value());
  TestNode a(fs.get(), streams, kShards, &shared), b(fs.get(), streams, kShards, &shared);
  for (uint32_t s = 0; s < kShards; ++s) a.Lead(s);
  auto remote = RemoteTable(streams, kShards, {&a, &b});

  std::mt19937 rng(17), reads(5);
  auto write = [&](int round) {
    std::vector<int64_t> ids(12);
    for (auto& id : ids) id = static_cast<int64_t>(rng() % 300);
    const RecordBatch batch = Rows(Schema(), ids, round);
    auto x = standalone->Insert(batch, round % 3 != 0);
    auto y = remote->Insert(batch, round % 3 != 0);
    ASSERT_TRUE(x.ok() && y.ok()) << y.status().ToString();
    EXPECT_EQ(x->inserted, y->inserted);
    if (round % 4 == 3) {
      // Deletes of sealed and growing rows alike.
      std::vector<PrimaryKey> keys = {int64_t(rng() % 300), int64_t(rng() % 300)};
      auto deleted = remote->Delete(keys);
      ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
      EXPECT_EQ(standalone->Delete(keys)->deleted, deleted->deleted);
    }
    ASSERT_TRUE(standalone->MaybeSeal().ok() && standalone->Compact().ok());
  };
  for (int round = 0; round < 40; ++round) {
    write(round);
    if (round % 10 == 9) ExpectSameAnswers(*standalone, *remote, &reads, "while writing");
  }
  GetRequest all;
  for (uint32_t s = 0; s < kShards; ++s) {
    ExpectSynced({&a, &b}, a, s);
    const ShardStats leader = a.replica(s)->Stats(), follower = b.replica(s)->Stats();
    EXPECT_TRUE(a.replica(s)->Leading());
    EXPECT_FALSE(b.replica(s)->Leading());
    EXPECT_GT(leader.sealed_segments, 1u) << "the leader sealed (and compacted)";
    EXPECT_GT(leader.index_builds, 0u);
    EXPECT_EQ(follower.index_builds, 0u) << "a follower never builds what its leader built";
    EXPECT_EQ(follower.sealed_segments, leader.sealed_segments);
    EXPECT_EQ(follower.checkpoint_lsn, leader.checkpoint_lsn);
    ASSERT_EQ(follower.indexes.size(), leader.indexes.size());
    for (size_t f = 0; f < leader.indexes.size(); ++f)
      EXPECT_EQ(follower.indexes[f].indexed_rows, leader.indexes[f].indexed_rows);
    EXPECT_EQ(b.replica(s)->ManifestRevision(), a.replica(s)->ManifestRevision());
    EXPECT_EQ(b.replica(s)->Seal().code(), StatusCode::kUnavailable) << "a follower does not seal";
    auto x = a.replica(s)->Get(all);
    auto y = b.replica(s)->Get(all);
    ASSERT_TRUE(x.ok() && y.ok());
    EXPECT_EQ(x->rows, y->rows) << "shard " << s;
  }
  EXPECT_TRUE(b.errors().empty()) << b.errors()[0].ToString();
  EXPECT_TRUE(a.errors().empty()) << a.errors()[0].ToString();
  ExpectSameAnswers(*standalone, *remote, &reads, "synced");

  // A replica added now starts from the leader's objects and the log's
  // tail: the stream no longer holds what the checkpoints cover.
  TestNode c(fs.get(), streams, kShards, &shared);
  for (uint32_t s = 0; s < kShards; ++s) {
    ASSERT_TRUE(c.replica(s)->AwaitLsn(a.replica(s)->log()->LastLsn(), 30s).ok());
    EXPECT_EQ(c.replica(s)->Stats().index_builds, 0u);
    EXPECT_EQ(c.replica(s)->Stats().sealed_segments, a.replica(s)->Stats().sealed_segments);
    EXPECT_EQ(c.replica(s)->Get(all)->rows, a.replica(s)->Get(all)->rows) << "shard " << s;
    auto from_start = c.replica(s)->log()->ReadFrom(1);
    EXPECT_EQ(from_start.status().code(), StatusCode::kNotFound) << "the leader trimmed its log";
  }
  EXPECT_TRUE(c.errors().empty()) << c.errors()[0].ToString();

  // The leader is deposed (its key is gone; b wins the next election):
  // its commits are refused, it steps down and follows; b leads from
  // where a left off.
  for (uint32_t s = 0; s < kShards; ++s) {
    ASSERT_TRUE(meta->Delete(SharedFiles::LeaderKey(s)).ok());
    b.Lead(s);
  }
  auto before = meta->Get(SharedFiles::ManifestKey(0));
  for (int round = 40; round < 70; ++round) write(round);
  for (uint32_t s = 0; s < kShards; ++s) {
    ASSERT_TRUE(a.replica(s)->AwaitLsn(b.replica(s)->log()->LastLsn(), 30s).ok());
    const Status zombie = a.replica(s)->Seal();
    EXPECT_FALSE(zombie.ok()) << "a deposed leader's seal is never committed";
    EXPECT_FALSE(a.replica(s)->Leading());
    ExpectSynced({&a, &b, &c}, b, s);
    EXPECT_EQ(a.replica(s)->Get(all)->rows, b.replica(s)->Get(all)->rows) << "shard " << s;
    EXPECT_EQ(c.replica(s)->Get(all)->rows, b.replica(s)->Get(all)->rows) << "shard " << s;
    EXPECT_EQ(c.replica(s)->Stats().index_builds, 0u);
  }
  EXPECT_NE((*meta->Get(SharedFiles::ManifestKey(0)))->mod_revision, (*before)->mod_revision)
      << "the new leader committed";
  ExpectSameAnswers(*standalone, *remote, &reads, "after the leader changed");
  for (const Status& error : a.errors()) {
    // What the deposed leader was refused, and nothing else.
    EXPECT_TRUE(error.code() == StatusCode::kConflict || error.code() == StatusCode::kUnavailable)
        << error.ToString();
  }
}

TEST(ClusterTable, AFollowerBehindTheCheckpointTakesTheDeletesItHadNotApplied) {
  TempDir names, shared_dir;
  auto fs = NewPosixFileSystem();
  const std::string streams = StreamsFor(names);
  auto meta = NewLocalMetaStore(fs.get(), JoinPath(shared_dir.path(), "meta"));
  auto objects = NewLocalObjectStore(fs.get(), JoinPath(shared_dir.path(), "objects"));
  const SharedFiles shared{meta.get(), objects.get()};
  TestNode a(fs.get(), streams, 1, &shared), b(fs.get(), streams, 1, &shared);
  a.Lead(0);
  auto remote = RemoteTable(streams, 1, {&a});  // b is asked nothing
  std::vector<int64_t> ids(100);
  std::iota(ids.begin(), ids.end(), 0);
  ASSERT_TRUE(remote->Insert(Rows(Schema(), ids, 1), false).ok());
  ExpectSynced({&a, &b}, a, 0);
  ASSERT_GT(b.replica(0)->Stats().sealed_segments, 0u);

  // b stops applying; meanwhile sealed rows are deleted and upserted, and
  // the leader seals past all of it (trimming the log below).
  b.Pause(true);
  const Lsn behind = b.replica(0)->Stats().applied_lsn;
  std::vector<PrimaryKey> gone = {int64_t{5}, int64_t{6}, int64_t{60}};
  ASSERT_TRUE(remote->Delete(gone).ok());
  ASSERT_TRUE(remote->Insert(Rows(Schema(), {7, 61, 200, 201}, 2), /*upsert=*/true).ok());
  ASSERT_TRUE(remote->Insert(Rows(Schema(), {8, 202}, 3), /*upsert=*/false).ok());
  ASSERT_TRUE(a.replica(0)->Seal().ok());
  auto manifest = meta->Get(SharedFiles::ManifestKey(0));
  ASSERT_TRUE(manifest.ok() && *manifest);
  ASSERT_GT(a.replica(0)->Stats().checkpoint_lsn, behind);

  const Status adopted = b.replica(0)->Adopt(**manifest);
  ASSERT_TRUE(adopted.ok()) << adopted.ToString();
  GetRequest all;
  auto x = a.replica(0)->Get(all);
  auto y = b.replica(0)->Get(all);
  ASSERT_TRUE(x.ok() && y.ok());
  EXPECT_EQ(x->rows.size(), 100u - 3 + 3);
  EXPECT_EQ(y->rows, x->rows) << "the follower holds exactly the leader's rows";
  GetRequest by_keys;
  by_keys.keys = std::vector<PrimaryKey>{int64_t{5}, int64_t{7}, int64_t{8}};
  EXPECT_EQ(b.replica(0)->Get(by_keys)->rows, a.replica(0)->Get(by_keys)->rows);

  // Resumed, it goes on from the checkpoint.
  b.Pause(false);
  ASSERT_TRUE(remote->Delete(std::vector<PrimaryKey>{int64_t{7}, int64_t{201}}).ok());
  ExpectSynced({&a, &b}, a, 0);
  EXPECT_EQ(b.replica(0)->Get(all)->rows, a.replica(0)->Get(all)->rows);
  EXPECT_EQ(b.replica(0)->Stats().index_builds, 0u);
  EXPECT_TRUE(b.errors().empty()) << b.errors()[0].ToString();
}

TEST(ClusterTable, ReadsWaitForTheLsnTheirConsistencyAsksFor) {
  TempDir names;
  auto fs = NewPosixFileSystem();
  const std::string streams = StreamsFor(names);
  TestNode node(fs.get(), streams, 1);
  auto remote = RemoteTable(streams, 1, {&node}, 300ms);
  auto written = remote->Insert(Rows(Schema(), {1, 2, 3}, 0), false);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  GetRequest get;
  get.read.level = ReadOptions::Level::kSession;
  get.read.session = {{0, written->shard_lsns[0].second}};
  auto mine = remote->Get(get);
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  EXPECT_EQ(mine->rows.size(), 3u) << "a session read sees the session's write";
  // A session token beyond anything written: the read waits, then says so.
  get.read.session = {{0, written->shard_lsns[0].second + 1000}};
  const auto started = std::chrono::steady_clock::now();
  auto future = remote->Get(get);
  EXPECT_EQ(future.status().code(), StatusCode::kUnavailable) << future.status().ToString();
  // It waited (about the 300-ms deadline, measured by gRPC on another clock).
  EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms) << "it waited for the LSN";
  // EVENTUAL never waits; STRONG waits for what the stream holds.
  get.read = {ReadOptions::Level::kEventual, {}};
  EXPECT_TRUE(remote->Get(get).ok());
  get.read = {};
  auto strong = remote->Get(get);
  ASSERT_TRUE(strong.ok());
  EXPECT_EQ(strong->rows.size(), 3u);
}

TEST(ClusterTable, ABoundedReadSeesEveryWriteAcknowledgedTheBoundBeforeIt) {
  TempDir names;
  auto fs = NewPosixFileSystem();
  const std::string streams = StreamsFor(names);
  TestNode node(fs.get(), streams, 1);
  // Two dispatchers: one allows 30 s of staleness, the other 1 ms.
  auto relaxed = RemoteTable(streams, 1, {&node}, 300ms, 30s);
  auto strict = RemoteTable(streams, 1, {&node}, 300ms, 1ms);
  ASSERT_TRUE(relaxed->Insert(Rows(Schema(), {1}, 0), false).ok());
  GetRequest get;
  get.read.level = ReadOptions::Level::kBounded;
  for (auto* table : {relaxed.get(), strict.get()}) {
    auto first = table->Get(get);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_EQ(first->rows.size(), 1u) << "a write acknowledged before the read is seen";
  }
  // The replica stops applying; a second record lands in the stream.
  node.Pause(true);
  auto log = OpenNatsLog(Nats(), {.stream = streams + "_0"});
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)
                  ->Append(RecordType::kInsert, EncodeInsert(Rows(Schema(), {2}, 0), false, 0),
                           "second-write")
                  .ok());
  // Within its bound, the relaxed dispatcher answers from the LSN it last
  // fetched (a STRONG read would wait for the new record and time out).
  auto stale = relaxed->Get(get);
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  EXPECT_EQ(stale->rows.size(), 1u);
  get.read.level = ReadOptions::Level::kStrong;
  EXPECT_EQ(relaxed->Get(get).status().code(), StatusCode::kUnavailable);
  // Past its bound, the strict one asks the stream again and waits for the
  // replica, which cannot answer while it is paused...
  get.read.level = ReadOptions::Level::kBounded;
  EXPECT_EQ(strict->Get(get).status().code(), StatusCode::kUnavailable);
  // ...and sees the write once it applies it.
  node.Pause(false);
  auto fresh = strict->Get(get);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(fresh->rows.size(), 2u);
}

// A stream in front of another: every call but Append goes to it.
class ForwardingLog : public Log {
 public:
  explicit ForwardingLog(std::shared_ptr<Log> log) : log_(std::move(log)) {}
  Lsn LastLsn() const override { return log_->LastLsn(); }
  Result<Lsn> FetchLastLsn() const override { return log_->FetchLastLsn(); }
  Status Health() const override { return log_->Health(); }
  Result<std::unique_ptr<LogReader>> ReadFrom(Lsn lsn) const override {
    return log_->ReadFrom(lsn);
  }
  Status TrimBefore(Lsn lsn) override { return log_->TrimBefore(lsn); }

 protected:
  const std::shared_ptr<Log> log_;
};

// A stream whose first acknowledgements are lost: the first append is
// stored but answered with an error, the next one fails outright.
class AckLosingLog final : public ForwardingLog {
 public:
  using ForwardingLog::ForwardingLog;
  using Log::Append;
  Result<Lsn> Append(RecordType type, std::string_view payload, std::string_view request_id,
                     std::chrono::milliseconds /*wait*/) override {
    ++appends_;
    if (appends_ == 1) {
      EXPECT_TRUE(log_->Append(type, payload, request_id).ok());
      return Status::Unavailable("NATS publish: Timeout (the ack was lost)");
    }
    if (appends_ == 2) return Status::Unavailable("NATS publish: no responders");
    return log_->Append(type, payload, request_id);
  }
  int appends() const { return appends_; }

 private:
  std::atomic<int> appends_{0};
};

TEST(ClusterTable, AWriteWhoseAckWasLostIsSentAgainAndStoredOnce) {
  TempDir names;
  auto fs = NewPosixFileSystem();
  const std::string streams = StreamsFor(names);
  TestNode node(fs.get(), streams, 1);
  auto stream = OpenNatsLog(Nats(), {.stream = streams + "_0"});
  ASSERT_TRUE(stream.ok());
  auto flaky = std::make_shared<AckLosingLog>(std::move(*stream));
  std::vector<std::shared_ptr<ShardClient>> clients = {std::make_shared<cluster::RemoteShard>(
      Schema(), ShardId{"db", "t", 0}, flaky,
      std::vector<std::shared_ptr<grpc::Channel>>{
          grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials())},
      cluster::RemoteShardOptions{10s})};
  auto table = Table::Remote(Schema(), SlotMap::Even(1), std::move(clients));
  ASSERT_TRUE(table.ok());
  auto inserted = (*table)->Insert(Rows(Schema(), {1, 2, 3}, 0), false);
  ASSERT_TRUE(inserted.ok()) << inserted.status().ToString();
  EXPECT_EQ(flaky->appends(), 3) << "sent again until acknowledged";
  EXPECT_EQ(inserted->inserted, 3u);
  EXPECT_EQ(inserted->shard_lsns[0].second, 1u) << "answered with the first append's LSN";
  EXPECT_EQ(*flaky->FetchLastLsn(), 1u) << "the stream holds the record once";
  EXPECT_EQ((*table)->Get(GetRequest{})->rows.size(), 3u);
}

// A stream whose servers disagree after a failure: it stores the record
// but acknowledges the LSN of another one.
class MisackingLog final : public ForwardingLog {
 public:
  using ForwardingLog::ForwardingLog;
  using Log::Append;
  Result<Lsn> Append(RecordType type, std::string_view payload, std::string_view request_id,
                     std::chrono::milliseconds wait) override {
    QV_ASSIGN_OR_RETURN(Lsn lsn, log_->Append(type, payload, request_id, wait));
    return lsn - 1;
  }
};

TEST(ClusterTable, AWriteAcknowledgedAtAnotherRecordsLsnIsNotAcknowledged) {
  TempDir names;
  auto fs = NewPosixFileSystem();
  const std::string streams = StreamsFor(names);
  TestNode node(fs.get(), streams, 1);
  auto stream = OpenNatsLog(Nats(), {.stream = streams + "_0"});
  ASSERT_TRUE(stream.ok());
  std::shared_ptr<Log> shared = std::move(*stream);
  ASSERT_TRUE(
      shared->Append(RecordType::kInsert, EncodeInsert(Rows(Schema(), {7}, 0), false, 0), "other")
          .ok());
  std::vector<std::shared_ptr<ShardClient>> clients = {std::make_shared<cluster::RemoteShard>(
      Schema(), ShardId{"db", "t", 0}, std::make_shared<MisackingLog>(shared),
      std::vector<std::shared_ptr<grpc::Channel>>{
          grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials())},
      cluster::RemoteShardOptions{10s})};
  auto table = Table::Remote(Schema(), SlotMap::Even(1), std::move(clients));
  ASSERT_TRUE(table.ok());
  auto inserted = (*table)->Insert(Rows(Schema(), {1, 2}, 0), false);
  ASSERT_EQ(inserted.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(inserted.status().message().find("holds another record"), std::string::npos)
      << inserted.status().ToString();
}

TEST(ClusterTable, ErrorsKeepTheirCodeAcrossTheWire) {
  TempDir names;
  auto fs = NewPosixFileSystem();
  const std::string streams = StreamsFor(names);
  TestNode node(fs.get(), streams, 1);
  auto remote = RemoteTable(streams, 1, {&node});
  GetRequest bad;
  bad.filter = "nope = 1";
  auto got = remote->Get(bad);
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(got.status().message().find("nope"), std::string::npos) << got.status().ToString();
  SearchRequest search;
  search.field = "v";
  search.vector = {1, 2, 3};  // 6 dimensions expected
  search.limit = 3;
  EXPECT_EQ(remote->Search(search).status().code(), StatusCode::kInvalidArgument);
  // Nothing was written by the refused calls.
  auto stats = remote->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->shards[0].applied_lsn, 0u);
}

}  // namespace
}  // namespace quiver

namespace quiver {
namespace {

TEST(ShardCodec, EveryKindOfValueRoundTripsAndBadBytesAreRefused) {
  TableSchema schema = Schema();
  ResultSet in;
  in.fields = {0, 1, 2, 3};
  in.rows = {{Value{int64_t{-5}}, Value{std::string("o\0slo", 5)}, Value{},
              Value{std::vector<float>{1.5f, -2}}},
             {Value{true}, Value{2.25}, Value{std::vector<uint8_t>{0, 255, 7}},
              Value{SparseVector{{1, 9}, {0.5f, -1}}}}};
  in.distances = {0.25f, 3};
  in.keys = {PrimaryKey{int64_t{-5}}, PrimaryKey{std::string("k")}};
  in.stamps = {7, 1ull << 60};
  in.facets = {{{"city", "COUNT(*)"}, {{Value{std::string("oslo")}, Value{int64_t{2}}}}}};
  cluster::proto::ResultSet wire;
  cluster::ToProto(in, &wire);
  auto out = cluster::FromProto(wire, schema, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->fields, in.fields);
  EXPECT_EQ(out->rows, in.rows);
  EXPECT_EQ(out->distances, in.distances);
  EXPECT_EQ(out->keys, in.keys);
  EXPECT_EQ(out->stamps, in.stamps);
  ASSERT_EQ(out->facets.size(), 1u);
  EXPECT_EQ(out->facets[0].rows, in.facets[0].rows);

  cluster::proto::ResultSet torn = wire;
  torn.mutable_rows(0)->mutable_values(3)->set_float_vector(std::string(7, 'x'));
  EXPECT_EQ(cluster::FromProto(torn, schema, {}).status().code(), StatusCode::kInvalidArgument);
  cluster::proto::ResultSet short_distances = wire;
  short_distances.mutable_distances()->RemoveLast();
  EXPECT_EQ(cluster::FromProto(short_distances, schema, {}).status().code(),
            StatusCode::kInvalidArgument);
  cluster::proto::ResultSet wide = wire;
  wide.add_fields(99);
  EXPECT_EQ(cluster::FromProto(wide, schema, {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(ShardCodec, PartialFacetsMergeAsTheyWouldInProcess) {
  TableSchema schema = Schema();
  const FacetRequest request{{"city"}, {"COUNT(*)", "SUM(price)", "MIN(price)", "MAX(id)"}};
  auto a = Facet::Parse(request, schema, FilterScope::kRows);
  auto b = Facet::Parse(request, schema, FilterScope::kRows);
  auto in_process = Facet::Parse(request, schema, FilterScope::kRows);
  ASSERT_TRUE(a.ok() && b.ok() && in_process.ok());
  const RecordBatch rows = Rows(schema, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 3);
  for (size_t r = 0; r < rows.num_rows(); ++r) {
    RowView view{rows.columns, r};
    (r % 2 ? *a : *b).Add(view, r);
    in_process->Add(view, r);
  }
  ResultSet from_a, from_b;
  from_a.partial_facets.push_back(*a);
  from_b.partial_facets.push_back(*b);
  cluster::proto::ResultSet wire_a, wire_b;
  cluster::ToProto(from_a, &wire_a);
  cluster::ToProto(from_b, &wire_b);
  auto back_a = cluster::FromProto(wire_a, schema, {request});
  auto back_b = cluster::FromProto(wire_b, schema, {request});
  ASSERT_TRUE(back_a.ok() && back_b.ok()) << back_a.status().ToString();
  Facet merged = std::move(back_a->partial_facets[0]);
  merged.Merge(back_b->partial_facets[0]);
  EXPECT_EQ(merged.Finish().rows, in_process->Finish().rows);
  EXPECT_EQ(cluster::FromProto(wire_a, schema, {}).status().code(), StatusCode::kInvalidArgument)
      << "partial states for a request that asked for none";
}

}  // namespace
}  // namespace quiver

namespace quiver {
namespace {

TEST(Placement, ReplicasOnDistinctNodesSpreadAndStableWhenANodeGoes) {
  const std::vector<std::string> nodes = {"n0", "n1", "n2", "n3", "n4"};
  const cluster::Placement placed = cluster::Place(7, 64, 3, nodes);
  ASSERT_EQ(placed.shards.size(), 64u);
  std::map<std::string, int> load;
  for (const auto& shard : placed.shards) {
    ASSERT_EQ(shard.size(), 3u);
    EXPECT_EQ(std::set<std::string>(shard.begin(), shard.end()).size(), 3u) << "distinct nodes";
    for (const auto& n : shard) ++load[n];
  }
  for (const auto& [node, replicas] : load) {
    EXPECT_GT(replicas, 64 * 3 / 5 / 2) << node << " holds too few";
    EXPECT_LT(replicas, 64 * 3 / 5 * 2) << node << " holds too many";
  }
  // n2 goes: only the replicas it held move.
  const cluster::Placement after = cluster::Place(7, 64, 3, {"n0", "n1", "n3", "n4"});
  for (size_t s = 0; s < 64; ++s) {
    for (const auto& n : placed.shards[s]) {
      if (n == "n2") continue;
      EXPECT_NE(std::find(after.shards[s].begin(), after.shards[s].end(), n), after.shards[s].end())
          << "shard " << s << " lost its replica on " << n;
    }
  }
  EXPECT_EQ(cluster::Place(7, 64, 3, nodes), placed) << "the same inputs, the same placement";
  // The coordinator fills vacancies only: survivors stay, a joining node takes nothing.
  const std::vector<std::string> live = {"n0", "n1", "n3", "n4"};
  const cluster::Placement filled = cluster::FillVacancies(7, 64, placed, live);
  for (size_t s = 0; s < 64; ++s) {
    ASSERT_EQ(filled.shards[s].size(), 3u);
    EXPECT_EQ(std::set<std::string>(filled.shards[s].begin(), filled.shards[s].end()).size(), 3u);
    for (const auto& n : placed.shards[s]) {
      if (n != "n2") {
        EXPECT_NE(std::find(filled.shards[s].begin(), filled.shards[s].end(), n),
                  filled.shards[s].end());
      }
    }
  }
  EXPECT_EQ(cluster::FillVacancies(7, 64, placed, {"n0", "n1", "n2", "n3", "n4", "n5"}), placed)
      << "nothing moves to a node that joins";
  EXPECT_EQ(cluster::PlacementTableId("placement/42"), 42u);
  EXPECT_FALSE(cluster::PlacementTableId("placement/4x"));
  EXPECT_FALSE(cluster::PlacementTableId("nodes/4"));
  auto decoded = cluster::DecodePlacement(cluster::EncodePlacement(placed));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, placed);
  EXPECT_FALSE(cluster::DecodePlacement("{\"shards\": 3}").ok());
}

}  // namespace
}  // namespace quiver
