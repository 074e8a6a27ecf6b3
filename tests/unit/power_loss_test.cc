// T2: simulated power loss. Random writes through the engine on the
// fault-injecting file system, then a power loss at a random moment (between
// operations, after an unsynced append, or after a failed sync), then a
// restart from only what was durable. Invariants: every acknowledged write is
// there with its last acknowledged value, no acknowledged delete comes back,
// and an unacknowledged batch is wholly present or wholly absent; index files
// (built between writes) are never found damaged.
//
// QUIVER_POWER_LOSS_SEEDS=N runs N seeds (default 200);
// QUIVER_POWER_LOSS_SEED=S replays one seed.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <random>

#include "engine/engine.h"
#include "io/fault_injection_file_system.h"
#include "test_util.h"

namespace quiver {
namespace {

using Model = std::map<int64_t, int64_t>;  // key -> version

TableSchema Schema() {
  return {"t",
          {{"id", DataType::kBigInt, true},
           {"version", DataType::kBigInt},
           {"v", DataType::kVectorFloat, false, 4, Metric::kEuclidean}}};
}

struct Op {
  bool is_delete;
  std::map<int64_t, std::optional<int64_t>> effect;  // key -> new version, nullopt = deleted
};

RecordBatch Upserts(const Op& op) {
  TableSchema schema = Schema();
  RecordBatch batch = RecordBatch::ForSchema(schema);
  for (const auto& [key, version] : op.effect) {
    batch.columns[0].AppendInt(key);
    batch.columns[1].AppendInt(*version);
    const float v[4] = {float(key), float(*version), 0, 1};
    batch.columns[2].AppendVector(v);
  }
  return batch;
}

Result<Model> ReadAll(Engine& engine) {
  QV_ASSIGN_OR_RETURN(auto table, engine.FindTable("db", "t"));
  QV_ASSIGN_OR_RETURN(ResultSet rows, table->Get({}));
  Model out;
  for (const auto& row : rows.rows) out[std::get<int64_t>(row[0])] = std::get<int64_t>(row[1]);
  return out;
}

Status ApplyOp(Engine& engine, const Op& op) {
  QV_ASSIGN_OR_RETURN(auto table, engine.FindTable("db", "t"));
  if (op.is_delete) {
    std::vector<PrimaryKey> keys;
    for (const auto& [key, unused] : op.effect) keys.emplace_back(key);
    return table->Delete(keys).status();
  }
  return table->Insert(Upserts(op), /*upsert=*/true).status();
}

// How a seed's fault strikes.
enum Mode {
  kBetweenOps,      // the power goes off between two writes
  kAfterAppend,     // the power goes off at the sync after a write's append
  kFailedSync,      // the sync fails with the power on: the log is poisoned
  kAtNthOperation,  // the power goes off at a random file operation (seals,
                    // compactions, index builds and manifest swaps included)
  kDiskFull,        // an append fails with ENOSPC, half written
  kModes
};

struct SeedRun {
  std::string failure;  // the first violated invariant, or ""
  Mode mode = kBetweenOps;
  // kAtNthOperation: what the power loss interrupted ("seal", "compaction",
  // "index build", "write"), "" when the seed ended first.
  std::string interrupted;
};

// Runs one seed.
SeedRun RunSeed(uint32_t seed) {
  SeedRun run;
  auto fail = [&run](std::string why) {
    run.failure = std::move(why);
    return run;
  };
  std::mt19937 rng(seed);
  testing::TempDir dir(/*in_memory=*/true);
  FaultInjectionFileSystem* fs = nullptr;
  auto fs_owner = std::make_unique<FaultInjectionFileSystem>(NewPosixFileSystem());
  fs = fs_owner.get();
  // The engine owns its FileSystem, but the fault-injecting one must outlive
  // the engine (its record of what is durable survives the "power loss"), so
  // each engine gets a non-owning adapter.
  EngineOptions options{dir.path(), {}, std::chrono::milliseconds(0)};  // no background thread
  options.index_threads = 0;  // indexes are built below, in the seed's order
  options.table.seal_rows = 8;
  options.table.max_segments = 2;
  auto open = [&]() {
    return Engine::Open(std::make_unique<testing::ForwardingFileSystem>(fs), options);
  };

  auto engine = open();
  if (!engine.ok()) return fail("open: " + engine.status().ToString());
  if (!(*engine)->LoadDatabase("db", {}).ok() || !(*engine)->CreateTable("db", Schema()).ok()) {
    return fail("setup failed");
  }
  Model model;
  const int ops = 3 + static_cast<int>(rng() % 40);
  const int crash_at = static_cast<int>(rng() % (ops + 1));
  const Mode mode = static_cast<Mode>(rng() % kModes);
  run.mode = mode;
  std::optional<Op> in_flight;
  int64_t version = 0;
  for (int i = 0; i < ops; ++i) {
    Op op{rng() % 4 == 0, {}};
    const int keys = 1 + static_cast<int>(rng() % 5);
    ++version;
    for (int k = 0; k < keys; ++k) {
      const int64_t key = static_cast<int64_t>(rng() % 20);
      op.effect[key] = op.is_delete ? std::nullopt : std::optional<int64_t>(version);
    }
    if (mode == kAtNthOperation && i == 0) fs->PowerLossAfter(1 + static_cast<int>(rng() % 150));
    if (rng() % 4 == 0) {  // maintenance between writes
      auto table = (*engine)->FindTable("db", "t");
      const int what = static_cast<int>(rng() % 3);
      Status s = what == 0   ? (*table)->MaybeSeal()
                 : what == 1 ? (*table)->Compact(rng() % 3 == 0)
                             : (*table)->BuildAllIndexes();
      if (!s.ok() && mode != kAtNthOperation) return fail("maintenance failed: " + s.ToString());
      if (!s.ok()) {  // the power went off inside it
        run.interrupted = what == 0 ? "seal" : what == 1 ? "compaction" : "index build";
        break;
      }
    }
    if (i == crash_at && mode == kDiskFull) {
      fs->FailNth(FsOp::kAppend, 1, Status::NoSpace("injected ENOSPC"), /*short_write=*/true);
      Status refused = ApplyOp(**engine, op);
      if (refused.code() != StatusCode::kNoSpace)
        return fail("full disk gave " + refused.ToString());
      continue;  // nothing changed; later writes must work
    }
    if (i == crash_at && mode != kAtNthOperation) {
      if (mode == kBetweenOps) fs->PowerLoss();
      if (mode == kAfterAppend) fs->PowerLossAtNth(FsOp::kSync, 1);
      if (mode == kFailedSync) fs->FailNth(FsOp::kSync, 1, Status::IOError("injected EIO"));
      Status s = ApplyOp(**engine, op);
      if (s.ok()) return fail("op " + std::to_string(i) + " acknowledged despite the fault");
      in_flight = op;
      if (mode == kFailedSync) {  // D4: the power is on, but nothing more is acknowledged
        Op next{false, {{1000, version + 1}}};
        if (ApplyOp(**engine, next).ok())
          return fail("a write was acknowledged after a failed sync");
      }
      break;
    }
    Status s = ApplyOp(**engine, op);
    if (!s.ok() && mode == kAtNthOperation) {  // the power went off during this write
      run.interrupted = "write";
      in_flight = op;
      break;
    }
    if (!s.ok()) return fail("op " + std::to_string(i) + " failed: " + s.ToString());
    for (const auto& [key, v] : op.effect) {
      if (v) {
        model[key] = *v;
      } else {
        model.erase(key);
      }
    }
  }
  fs->PowerLoss();
  engine->reset();
  fs->ClearFaults();
  if (Status s = fs->DropUnsyncedData(); !s.ok()) return fail("drop: " + s.ToString());

  auto reopened = open();
  if (!reopened.ok()) return fail("restart: " + reopened.status().ToString());
  auto stored = ReadAll(**reopened);
  if (!stored.ok()) return fail("read: " + stored.status().ToString());
  // A registered index file is complete: none may need quarantine.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (entry.path().filename() == "quarantine") return fail("an index file was damaged");
  }
  if (*stored == model) return run;
  if (in_flight) {
    Model with = model;
    for (const auto& [key, v] : in_flight->effect) {
      if (v) {
        with[key] = *v;
      } else {
        with.erase(key);
      }
    }
    if (*stored == with) return run;  // the unacknowledged batch landed whole
  }
  std::string got, want;
  for (const auto& [k, v] : *stored) got += std::to_string(k) + "=" + std::to_string(v) + " ";
  for (const auto& [k, v] : model) want += std::to_string(k) + "=" + std::to_string(v) + " ";
  return fail("after restart: {" + got + "} but acknowledged {" + want + "}");
}

TEST(PowerLoss, AcknowledgedWritesSurviveAndUnacknowledgedAreAllOrNothing) {
  if (const char* one = std::getenv("QUIVER_POWER_LOSS_SEED")) {
    const uint32_t seed = static_cast<uint32_t>(std::stoul(one));
    EXPECT_EQ(RunSeed(seed).failure, "") << "seed " << seed;
    return;
  }
  const char* count_env = std::getenv("QUIVER_POWER_LOSS_SEEDS");
  const int seeds = count_env ? std::atoi(count_env) : 200;
  std::map<int, int> modes;
  std::map<std::string, int> interrupted;
  for (int seed = 1; seed <= seeds; ++seed) {
    const SeedRun run = RunSeed(static_cast<uint32_t>(seed));
    ASSERT_EQ(run.failure, "") << "seed " << seed << " (replay: QUIVER_POWER_LOSS_SEED=" << seed
                               << ")";
    ++modes[run.mode];
    if (!run.interrupted.empty()) ++interrupted[run.interrupted];
  }
  if (seeds < 200) return;  // a short run need not reach every case
  // Every fault ran, and power losses at random operations struck inside
  // each kind of work, not only between writes.
  for (int mode = 0; mode < kModes; ++mode) EXPECT_GT(modes[mode], 0) << "mode " << mode;
  for (const char* work : {"seal", "compaction", "index build", "write"}) {
    EXPECT_GT(interrupted[work], 0) << "no power loss struck during a " << work;
  }
}

TEST(FaultInjectionFileSystem, UnsyncedRenameAndDataAreUndone) {
  testing::TempDir dir(true);
  FaultInjectionFileSystem fs(NewPosixFileSystem());
  const std::string path = JoinPath(dir.path(), "f");
  ASSERT_TRUE(fs.WriteFileAtomic(path, "durable").ok());
  {
    auto file = fs.OpenWritable(path + ".tmp", true);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append("new, synced").ok());
    ASSERT_TRUE((*file)->Sync().ok());
  }
  ASSERT_TRUE(fs.Rename(path + ".tmp", path).ok());  // no SyncDir: not durable
  auto log = fs.OpenWritable(JoinPath(dir.path(), "log"), true);
  ASSERT_TRUE((*log)->Append("synced").ok());
  ASSERT_TRUE((*log)->Sync().ok());
  ASSERT_TRUE(fs.SyncDir(dir.path()).ok());
  ASSERT_TRUE((*log)->Append(" lost").ok());
  fs.PowerLoss();
  EXPECT_FALSE((*log)->Append("x").ok()) << "no writes after the power is off";
  ASSERT_TRUE(fs.DropUnsyncedData().ok());
  EXPECT_EQ(fs.ReadFile(JoinPath(dir.path(), "log")).value(), "synced");
  // The directory sync made the rename durable too (same directory).
  EXPECT_EQ(fs.ReadFile(path).value(), "new, synced");
}

TEST(FaultInjectionFileSystem, RenameWithoutDirectorySyncIsRevertedAndShortWritesHappen) {
  testing::TempDir dir(true);
  FaultInjectionFileSystem fs(NewPosixFileSystem());
  const std::string path = JoinPath(dir.path(), "f");
  ASSERT_TRUE(fs.WriteFileAtomic(path, "old").ok());
  auto file = fs.OpenWritable(path + ".tmp", true);
  ASSERT_TRUE((*file)->Append("new").ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE(fs.Rename(path + ".tmp", path).ok());
  fs.PowerLoss();
  ASSERT_TRUE(fs.DropUnsyncedData().ok());
  EXPECT_EQ(fs.ReadFile(path).value(), "old");

  fs.FailNth(FsOp::kAppend, 2, Status::NoSpace("injected ENOSPC"), /*short_write=*/true);
  auto out = fs.OpenWritable(JoinPath(dir.path(), "g"), true);
  ASSERT_TRUE((*out)->Append("1234").ok());
  Status full = (*out)->Append("abcdefgh");
  EXPECT_EQ(full.code(), StatusCode::kNoSpace);
  EXPECT_EQ(fs.ReadFile(JoinPath(dir.path(), "g")).value(), "1234abcd") << "half was written";
}

}  // namespace
}  // namespace quiver
