// Sealing, compaction and recovery: whatever the segments look like, the
// table answers as a simple model of the acknowledged writes does.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "engine/table.h"
#include "test_util.h"

namespace quiver {
namespace {

TableSchema Schema() {
  TableSchema schema{"t",
                     {{"id", DataType::kBigInt, true},
                      {"version", DataType::kBigInt},
                      {"v", DataType::kVectorFloat, false, 4, Metric::kEuclidean}}};
  EXPECT_TRUE(ValidateAndNormalize(&schema).ok());
  return schema;
}

RecordBatch Batch(const std::map<int64_t, int64_t>& rows) {
  const auto schema = Schema();
  RecordBatch batch = RecordBatch::ForSchema(schema);
  for (const auto& [key, version] : rows) {
    batch.columns[0].AppendInt(key);
    batch.columns[1].AppendInt(version);
    const float v[4] = {float(key), float(version % 7), 0, 0};
    batch.columns[2].AppendVector(v);
  }
  return batch;
}

std::map<int64_t, int64_t> Contents(const Table& table) {
  std::map<int64_t, int64_t> out;
  auto rows = table.Get({});
  EXPECT_TRUE(rows.ok());
  for (const auto& row : rows->rows) {
    EXPECT_TRUE(out.emplace(std::get<int64_t>(row[0]), std::get<int64_t>(row[1])).second)
        << "a key is live twice";
  }
  return out;
}

size_t WalFiles(const std::string& dir) {
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(JoinPath(dir, "wal")))
    n += e.path().extension() == ".wal";
  return n;
}

TableOptions SmallOptions() {
  TableOptions options;
  options.seal_rows = 50;
  options.max_segments = 3;
  return options;
}

TEST(TableSegments, RandomWritesSealsAndCompactionsMatchTheModelAcrossRestarts) {
  testing::TempDir dir(true);
  auto fs = NewPosixFileSystem();
  std::mt19937 rng(11);
  std::map<int64_t, int64_t> model;
  int64_t version = 0;
  for (int restart = 0; restart < 4; ++restart) {
    auto opened = Table::Open(fs.get(), dir.path(), Schema(), SmallOptions());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    auto& table = **opened;
    ASSERT_EQ(Contents(table), model) << "after restart " << restart;
    for (int op = 0; op < 120; ++op) {
      const int kind = static_cast<int>(rng() % 10);
      if (kind < 5) {
        std::map<int64_t, int64_t> rows;
        for (int i = 0; i < 8; ++i) rows[rng() % 300] = ++version;
        const bool upsert = rng() % 2;
        ASSERT_TRUE(table.Insert(Batch(rows), upsert).ok());
        for (const auto& [k, v] : rows) {
          if (upsert || !model.contains(k)) model[k] = v;
        }
      } else if (kind < 8) {
        std::vector<PrimaryKey> keys;
        keys.reserve(5);
        for (int i = 0; i < 5; ++i) keys.emplace_back(int64_t(rng() % 300));
        auto deleted = table.Delete(keys);
        ASSERT_TRUE(deleted.ok());
        uint64_t expected = 0;
        for (const auto& k : keys) expected += model.erase(std::get<int64_t>(k));
        EXPECT_EQ(deleted->deleted, expected);
      } else if (kind == 8) {
        ASSERT_TRUE(table.MaybeSeal().ok());
      } else {
        ASSERT_TRUE(table.Compact(rng() % 4 == 0).ok());
      }
    }
    ASSERT_EQ(Contents(table), model);
    EXPECT_EQ(table.RowCount(), model.size());
  }
}

TEST(TableSegments, SealTrimsTheLogAndRestartReplaysOnlyTheTail) {
  testing::TempDir dir(true);
  auto fs = NewPosixFileSystem();
  {
    auto table = std::move(Table::Open(fs.get(), dir.path(), Schema(), SmallOptions()).value());
    for (int64_t b = 0; b < 10; ++b) {
      std::map<int64_t, int64_t> rows;
      for (int64_t i = 0; i < 10; ++i) rows[b * 10 + i] = b;
      ASSERT_TRUE(table->Insert(Batch(rows), false).ok());
      ASSERT_TRUE(table->Seal().ok());
    }
    ASSERT_TRUE(table->Insert(Batch({{1000, 1}}), false).ok());
    const TableStats stats = *table->Stats();
    EXPECT_EQ(stats.sealed_segments, 10u);
    EXPECT_EQ(stats.growing_rows, 1u);
    EXPECT_EQ(stats.checkpoint_lsn, 10u);
    EXPECT_LE(WalFiles(dir.path()), 2u) << "sealed records' files are trimmed";
    ASSERT_TRUE(table->Compact(/*force=*/true).ok());
    EXPECT_EQ(table->Stats()->sealed_segments, 1u);
  }
  auto table = std::move(Table::Open(fs.get(), dir.path(), Schema(), SmallOptions()).value());
  EXPECT_EQ(table->RowCount(), 101u);
  EXPECT_EQ(table->Stats()->growing_rows, 1u) << "only the unsealed tail was replayed";
  size_t segment_files = 0;
  for (auto& e : std::filesystem::directory_iterator(JoinPath(dir.path(), "segments"))) {
    (void)e;
    ++segment_files;
  }
  EXPECT_EQ(segment_files, 1u) << "compacted-away files are removed";
}

TEST(TableSegments, DeletesDuringASealAreCarriedIntoTheSealedSegment) {
  testing::TempDir dir(true);
  auto fs = NewPosixFileSystem();
  auto table = std::move(Table::Open(fs.get(), dir.path(), Schema(), SmallOptions()).value());
  std::map<int64_t, int64_t> rows;
  for (int64_t i = 0; i < 40; ++i) rows[i] = 1;
  ASSERT_TRUE(table->Insert(Batch(rows), false).ok());
  std::atomic<bool> done{false};
  std::thread sealer([&] {
    while (!done) ASSERT_TRUE(table->Seal().ok());
  });
  for (int64_t i = 0; i < 40; i += 2) {
    std::vector<PrimaryKey> key = {i};
    ASSERT_TRUE(table->Delete(key).ok());
    ASSERT_TRUE(table->Insert(Batch({{100 + i, 2}}), false).ok());
  }
  done = true;
  sealer.join();
  ASSERT_TRUE(table->Seal().ok());
  auto contents = Contents(*table);
  EXPECT_EQ(contents.size(), 40u);
  for (int64_t i = 0; i < 40; i += 2) {
    EXPECT_FALSE(contents.contains(i)) << i;
    EXPECT_TRUE(contents.contains(i + 1)) << i + 1;
    EXPECT_TRUE(contents.contains(100 + i));
  }
}

TEST(TableSegments, SearchSpansSegmentsWithTiesByKey) {
  testing::TempDir dir(true);
  auto fs = NewPosixFileSystem();
  auto table = std::move(Table::Open(fs.get(), dir.path(), Schema(), SmallOptions()).value());
  ASSERT_TRUE(table->Insert(Batch({{5, 0}, {9, 0}}), false).ok());
  ASSERT_TRUE(table->Seal().ok());
  ASSERT_TRUE(table->Insert(Batch({{7, 0}, {3, 0}}), false).ok());
  // Every row's vector is (key, 0, 0, 0); the query (6, 0, 0, 0) ties 5 with 7
  // (distance 1) and 3 with 9 (distance 9), across the sealed and growing segments.
  auto result = table->Search({"v", {6, 0, 0, 0}, 3, "", {"id"}, true});
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->rows.size(), 3u);
  EXPECT_EQ(std::get<int64_t>(result->rows[0][0]), 5);
  EXPECT_EQ(std::get<int64_t>(result->rows[1][0]), 7);
  EXPECT_EQ(std::get<int64_t>(result->rows[2][0]), 3);
  EXPECT_FLOAT_EQ(result->distances[2], 9.0f);
}

TEST(TableSegments, DamagedSegmentOrManifestRefusesToOpen) {
  testing::TempDir dir(true);
  auto fs = NewPosixFileSystem();
  {
    auto table = std::move(Table::Open(fs.get(), dir.path(), Schema(), SmallOptions()).value());
    ASSERT_TRUE(table->Insert(Batch({{1, 1}, {2, 2}}), false).ok());
    ASSERT_TRUE(table->Seal().ok());
  }
  std::string segment;
  for (auto& e : std::filesystem::directory_iterator(JoinPath(dir.path(), "segments")))
    segment = e.path();
  std::string bytes = fs->ReadFile(segment).value();
  bytes[bytes.size() / 2] ^= 1;
  std::ofstream(segment, std::ios::binary | std::ios::trunc) << bytes;
  auto damaged = Table::Open(fs.get(), dir.path(), Schema(), SmallOptions());
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.status().code(), StatusCode::kCorruption);
  EXPECT_NE(damaged.status().message().find(segment), std::string::npos);
}

}  // namespace
}  // namespace quiver

namespace quiver {
namespace {

// Readers never see a row twice or not at all while upserts, seals and
// compactions run: every key stays live exactly once throughout.
TEST(TableSegments, ReadersSeeOneConsistentSetDuringSealsAndCompactions) {
  testing::TempDir dir(true);
  auto fs = NewPosixFileSystem();
  TableOptions options = SmallOptions();
  auto table = std::move(Table::Open(fs.get(), dir.path(), Schema(), options).value());
  std::map<int64_t, int64_t> rows;
  for (int64_t i = 0; i < 200; ++i) rows[i] = 0;
  ASSERT_TRUE(table->Insert(Batch(rows), false).ok());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::mt19937 rng(3);
    for (int64_t version = 1; !stop; ++version) {
      std::map<int64_t, int64_t> upserts;
      for (int i = 0; i < 10; ++i) upserts[rng() % 200] = version;
      ASSERT_TRUE(table->Insert(Batch(upserts), true).ok());
    }
  });
  std::thread maintenance([&] {
    for (int round = 0; !stop; ++round) {
      ASSERT_TRUE(table->MaybeSeal().ok());
      ASSERT_TRUE(table->Compact(round % 5 == 0).ok());
    }
  });
  // Read at least 2,000 times, and on until a seal has checkpointed, so the
  // reads overlap real maintenance however the threads are scheduled.
  for (int i = 0; i < 2000 || (table->Stats()->checkpoint_lsn == 0 && i < 1000000); ++i) {
    ASSERT_EQ(Contents(*table).size(), 200u);
    auto found = table->Search({"v", {42, 0, 0, 0}, 200, "", {"id"}, false});
    ASSERT_TRUE(found.ok());
    ASSERT_EQ(found->rows.size(), 200u);
  }
  stop = true;
  writer.join();
  maintenance.join();
  // (A forced compaction may leave no sealed segment at all when every key
  // was upserted since: that is correct, so the checkpoint is what to check.)
  EXPECT_GT(table->Stats()->checkpoint_lsn, 0u) << "maintenance ran during the reads";
}

}  // namespace
}  // namespace quiver
