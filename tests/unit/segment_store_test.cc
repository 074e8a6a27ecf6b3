// Sealed segments and indexes through an ObjectStore: written once as
// objects under the shard's prefix, opened from a local cache that a new
// node may lack (it downloads, verifies and maps), removed with compaction.

#include "segment/segment_store.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "engine/shard.h"
#include "test_util.h"

namespace quiver {
namespace {

using testing::TempDir;

TableSchema Schema() {
  Field v{"v", DataType::kVectorFloat, false, 8, Metric::kEuclidean};
  v.index.type = IndexType::kHnsw;
  v.index.m = 8;
  v.index.ef_construction = 40;
  TableSchema schema{"t", {{"id", DataType::kBigInt, true}, {"tag", DataType::kInt}, v}};
  EXPECT_TRUE(ValidateAndNormalize(&schema).ok());
  return schema;
}

RecordBatch Rows(int64_t first, int64_t count) {
  std::mt19937 rng(static_cast<uint32_t>(first));
  std::uniform_real_distribution<float> uni(-1, 1);
  RecordBatch batch = RecordBatch::ForSchema(Schema());
  for (int64_t id = first; id < first + count; ++id) {
    batch.columns[0].AppendInt(id);
    batch.columns[1].AppendInt(id % 3);
    std::vector<float> v(8);
    for (auto& x : v) x = uni(rng);
    batch.columns[2].AppendVector(v);
  }
  return batch;
}

struct RemoteShard {
  TempDir store_dir, cache_dir;
  std::unique_ptr<FileSystem> fs = NewPosixFileSystem();
  std::unique_ptr<ObjectStore> store = NewLocalObjectStore(fs.get(), store_dir.path());

  std::unique_ptr<Shard> Open(uint64_t epoch = 0) {
    TableOptions options;
    options.object_store = store.get();
    options.object_prefix = "dbs/1/2";
    options.epoch = epoch;
    options.max_segments = 1;  // Compact merges any two segments
    auto shard = Shard::Open(fs.get(), cache_dir.path(), Schema(), options);
    EXPECT_TRUE(shard.ok()) << shard.status().ToString();
    return shard.ok() ? std::move(shard).value() : nullptr;
  }
  std::vector<std::string> Objects(const std::string& folder) {
    return store->List("dbs/1/2/" + folder + "/").value();
  }
  // A node that never held the files: its cache starts empty.
  void DropCache() {
    ASSERT_TRUE(fs->RemoveAll(JoinPath(cache_dir.path(), "segments")).ok());
    ASSERT_TRUE(fs->RemoveAll(JoinPath(cache_dir.path(), "indexes")).ok());
  }
};

std::vector<Value> AllIds(const Shard& shard) {
  GetRequest get;
  get.response = {"id"};
  auto result = shard.Get(get);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  std::vector<Value> ids;
  if (!result.ok()) return ids;
  for (const auto& row : result->rows) ids.push_back(row[0]);
  return ids;
}

TEST(SegmentStore, SegmentsAndIndexesAreObjectsAndANodeWithoutThemDownloadsThem) {
  RemoteShard setup;
  std::vector<Value> ids;
  ResultSet nearest;
  SearchRequest search;
  search.vector = std::vector<float>(8, 0.2f);
  search.limit = 5;
  search.with_distance = true;
  {
    auto shard = setup.Open();
    ASSERT_TRUE(shard->Insert(Rows(1, 300), false).ok());
    ASSERT_TRUE(shard->Seal().ok());
    ASSERT_TRUE(shard->BuildAllIndexes().ok());
    ids = AllIds(*shard);
    nearest = *shard->Search(search);
  }
  EXPECT_EQ(setup.Objects("segments").size(), 1u);
  EXPECT_EQ(setup.Objects("indexes").size(), 1u);

  setup.DropCache();
  auto shard = setup.Open();
  EXPECT_EQ(AllIds(*shard), ids);
  auto again = shard->Search(search);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->rows, nearest.rows);
  EXPECT_EQ(again->distances, nearest.distances);
  const ShardStats stats = shard->Stats();
  EXPECT_EQ(stats.indexes[0].indexed_rows, 300u) << "the downloaded index serves";
  EXPECT_EQ(stats.index_builds, 0u) << "nothing was built again";
  EXPECT_TRUE(setup.fs->Exists(JoinPath(setup.cache_dir.path(), "segments")).value());
}

TEST(SegmentStore, CompactionRemovesTheObjectsItReplaced) {
  RemoteShard setup;
  auto shard = setup.Open();
  ASSERT_TRUE(shard->Insert(Rows(1, 100), false).ok());
  ASSERT_TRUE(shard->Seal().ok());
  ASSERT_TRUE(shard->Insert(Rows(101, 100), false).ok());
  ASSERT_TRUE(shard->Seal().ok());
  ASSERT_TRUE(shard->BuildAllIndexes().ok());
  EXPECT_EQ(setup.Objects("segments").size(), 2u);
  EXPECT_EQ(setup.Objects("indexes").size(), 2u);
  ASSERT_TRUE(shard->Compact(/*force=*/true).ok());
  EXPECT_EQ(setup.Objects("segments").size(), 1u);
  EXPECT_EQ(setup.Objects("indexes").size(), 0u) << "the merged segment waits for its build";
  ASSERT_TRUE(shard->BuildAllIndexes().ok());
  EXPECT_EQ(setup.Objects("indexes").size(), 1u);
  EXPECT_EQ(AllIds(*shard).size(), 200u);
}

TEST(SegmentStore, ADamagedCacheCopyIsFetchedAgain) {
  RemoteShard setup;
  std::vector<Value> ids;
  {
    auto shard = setup.Open();
    ASSERT_TRUE(shard->Insert(Rows(1, 80), false).ok());
    ASSERT_TRUE(shard->Seal().ok());
    ASSERT_TRUE(shard->BuildAllIndexes().ok());
    ids = AllIds(*shard);
  }
  for (const char* folder : {"segments", "indexes"}) {
    const std::string dir = JoinPath(setup.cache_dir.path(), folder);
    const std::string path = JoinPath(dir, setup.fs->ListDir(dir).value().at(0));
    std::string bytes = setup.fs->ReadFile(path).value();
    bytes[bytes.size() / 3] ^= 0x04;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }
  auto shard = setup.Open();
  ASSERT_NE(shard, nullptr);
  EXPECT_EQ(AllIds(*shard), ids);
  EXPECT_EQ(shard->Stats().indexes[0].indexed_rows, 80u) << "the index came back from the store";
  EXPECT_EQ(setup.Objects("indexes").size(), 1u) << "a good object is never dropped";
}

// Objects carry the epoch of the writer that made them, so a deposed leader
// (an older epoch) can never overwrite what a newer one wrote; a newer
// writer reads older epochs' objects and replaces them with its own.
TEST(SegmentStore, ObjectNamesCarryTheWritersEpoch) {
  RemoteShard setup;
  {
    auto shard = setup.Open(/*epoch=*/3);
    ASSERT_TRUE(shard->Insert(Rows(1, 60), false).ok());
    ASSERT_TRUE(shard->Seal().ok());
    ASSERT_TRUE(shard->BuildAllIndexes().ok());
  }
  EXPECT_EQ(setup.Objects("segments"),
            std::vector<std::string>{"dbs/1/2/segments/00000000000000000001.e3.seg"});
  EXPECT_EQ(setup.Objects("indexes"), std::vector<std::string>{"dbs/1/2/indexes/1.2.e3.qvi"});
  setup.DropCache();
  auto shard = setup.Open(/*epoch=*/4);
  EXPECT_EQ(AllIds(*shard).size(), 60u);
  EXPECT_EQ(shard->Stats().indexes[0].indexed_rows, 60u) << "epoch 3's index is loaded";
  ASSERT_TRUE(shard->Insert(Rows(61, 60), false).ok());
  ASSERT_TRUE(shard->Seal().ok());
  ASSERT_TRUE(shard->Compact(/*force=*/true).ok());
  ASSERT_TRUE(shard->BuildAllIndexes().ok());
  EXPECT_EQ(setup.Objects("segments"),
            std::vector<std::string>{"dbs/1/2/segments/00000000000000000003.e4.seg"});
  EXPECT_EQ(setup.Objects("indexes"), std::vector<std::string>{"dbs/1/2/indexes/3.2.e4.qvi"});
  shard.reset();
  shard = setup.Open(/*epoch=*/4);
  EXPECT_EQ(AllIds(*shard).size(), 120u);
  EXPECT_EQ(shard->Stats().index_builds, 0u);
}

TEST(SegmentStore, ADamagedObjectIsCaughtWhenDownloaded) {
  RemoteShard setup;
  {
    auto shard = setup.Open();
    ASSERT_TRUE(shard->Insert(Rows(1, 50), false).ok());
    ASSERT_TRUE(shard->Seal().ok());
    ASSERT_TRUE(shard->BuildAllIndexes().ok());
  }
  // The index object is damaged: it is quarantined, dropped from the store
  // and built again; the segment object is primary data: opening fails.
  auto flip = [&](const std::string& key) {
    const std::string path = JoinPath(setup.store_dir.path(), key);
    std::string bytes = setup.fs->ReadFile(path).value();
    bytes[bytes.size() / 2] ^= 0x10;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  };
  flip(setup.Objects("indexes")[0]);
  setup.DropCache();
  {
    auto shard = setup.Open();
    EXPECT_EQ(shard->Stats().indexes[0].indexed_rows, 0u);
    EXPECT_TRUE(setup.Objects("indexes").empty());
    ASSERT_TRUE(shard->BuildAllIndexes().ok());
    EXPECT_EQ(setup.Objects("indexes").size(), 1u);
    EXPECT_EQ(AllIds(*shard).size(), 50u);
  }
  flip(setup.Objects("segments")[0]);
  setup.DropCache();
  TableOptions options;
  options.object_store = setup.store.get();
  options.object_prefix = "dbs/1/2";
  auto damaged = Shard::Open(setup.fs.get(), setup.cache_dir.path(), Schema(), options);
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.status().code(), StatusCode::kCorruption);
  EXPECT_NE(damaged.status().message().find("object dbs/1/2/segments/"), std::string::npos)
      << damaged.status().ToString();
}

}  // namespace
}  // namespace quiver
