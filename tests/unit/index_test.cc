// Indexed search against an exact oracle: the same writes go to a table whose
// vector field is FLAT and to one with an index; the indexed table must find
// what the exact one finds (recall), never return a filtered-out or deleted
// row, and rank with the same distances. Plus index files: every damaged
// byte detected, damaged files quarantined and rebuilt, nothing rebuilt on a
// plain restart.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "engine/table.h"
#include "index/vector_index.h"
#include "test_util.h"

namespace quiver {
namespace {

struct Case {
  IndexType type;
  DataType data_type;
  Metric metric;
  uint32_t dims;
};

std::string Name(const ::testing::TestParamInfo<Case>& info) {
  return std::string(IndexTypeName(info.param.type)) + "_" + MetricName(info.param.metric);
}

TableSchema Schema(const Case& c, IndexType type) {
  Field vector{"v", c.data_type, false, c.dims, c.metric};
  vector.index.type = type;
  vector.index.m = 12;
  vector.index.ef_construction = 100;
  // Small enough that a 50 % filter walks the graph of a 1,500-row segment
  // (index::PreferExactScan), while 10 % and 1 % scan the allowed rows.
  vector.index.ef = 24;
  TableSchema schema{"t", {{"id", DataType::kBigInt, true}, {"tag", DataType::kInt}, vector}};
  EXPECT_TRUE(ValidateAndNormalize(&schema).ok());
  return schema;
}

// Clustered data: 20 centres plus noise (binary: centre bits with 10% flipped).
std::vector<float> Vector(const Case& c, std::mt19937* rng) {
  static std::map<uint32_t, std::vector<std::vector<float>>> centres;
  auto& mine = centres[c.dims * 16 + static_cast<uint32_t>(c.data_type)];
  std::normal_distribution<float> noise(0, 1);
  if (mine.empty()) {
    std::mt19937 fixed(5);
    std::uniform_real_distribution<float> uni(-10, 10);
    for (int i = 0; i < 20; ++i) {
      auto& centre = mine.emplace_back(c.dims);
      for (float& x : centre)
        x = c.data_type == DataType::kVectorBinary ? float(fixed() % 2) : uni(fixed);
    }
  }
  std::vector<float> v = mine[(*rng)() % mine.size()];
  for (float& x : v) {
    if (c.data_type == DataType::kVectorBinary) {
      if ((*rng)() % 10 == 0) x = 1 - x;
    } else {
      x += 2 * noise(*rng);
    }
  }
  return v;
}

class IndexedSearch : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    fs_ = NewPosixFileSystem();
    options_.seal_rows = 1500;
    options_.max_segments = 100;
    flat_ = Open(flat_dir_, IndexType::kFlat);
    indexed_ = Open(indexed_dir_, GetParam().type);
  }

  std::unique_ptr<Table> Open(const testing::TempDir& dir, IndexType type) {
    auto table = Table::Open(fs_.get(), dir.path(), Schema(GetParam(), type), options_);
    EXPECT_TRUE(table.ok()) << table.status().ToString();
    return std::move(table).value();
  }

  // The same rows into both tables; sealed every 1,500 rows.
  void Insert(int64_t first, int64_t count) {
    next_id_ = std::max(next_id_, first + count);
    RecordBatch batch = RecordBatch::ForSchema(flat_->schema());
    for (int64_t id = first; id < first + count; ++id) {
      batch.columns[0].AppendInt(id);
      batch.columns[1].AppendInt(id % 100);
      const std::vector<float> v = Vector(GetParam(), &rng_);
      if (GetParam().data_type == DataType::kVectorBinary) {
        batch.columns[2].AppendBits(*PackBits(v));
      } else {
        batch.columns[2].AppendVector(v);
      }
    }
    for (Table* t : {flat_.get(), indexed_.get()}) {
      ASSERT_TRUE(t->Insert(batch, false).ok());
      ASSERT_TRUE(t->MaybeSeal().ok());
    }
  }

  void Delete(size_t count) {
    std::vector<PrimaryKey> keys(count, int64_t{0});
    for (size_t i = 0; i < count; ++i) {
      const int64_t id = static_cast<int64_t>(rng_() % static_cast<uint64_t>(next_id_));
      keys[i] = id;
      deleted_.insert(id);
    }
    for (Table* t : {flat_.get(), indexed_.get()}) ASSERT_TRUE(t->Delete(keys).ok());
  }

  // Mean recall@10 over `queries` queries with `filter`, counting a result
  // as found when it is no farther than the exact 10th (ties are equal).
  double Recall(const std::string& filter, size_t queries) {
    std::mt19937 rng(99);
    double recall = 0;
    for (size_t q = 0; q < queries; ++q) {
      SearchRequest request;
      request.vector = Vector(GetParam(), &rng);
      request.limit = 10;
      request.filter = filter;
      request.with_distance = true;
      auto exact = flat_->Search(request);
      auto approx = indexed_->Search(request);
      EXPECT_TRUE(exact.ok() && approx.ok());
      if (!exact.ok() || !approx.ok() || exact->rows.empty()) continue;
      std::map<int64_t, float> exact_distance;
      for (size_t i = 0; i < exact->rows.size(); ++i)
        exact_distance[std::get<int64_t>(exact->rows[i][0])] = exact->distances[i];
      const float kth = exact->distances.back();
      size_t found = 0;
      for (size_t i = 0; i < approx->rows.size(); ++i) {
        const int64_t id = std::get<int64_t>(approx->rows[i][0]);
        EXPECT_FALSE(deleted_.contains(id)) << "deleted row " << id << " returned";
        if (filter == "tag < 50") {
          EXPECT_LT(id % 100, 50) << "filtered-out row returned";
        }
        if (filter == "tag = 7") {
          EXPECT_EQ(id % 100, 7) << "filtered-out row returned";
        }
        if (auto it = exact_distance.find(id); it != exact_distance.end()) {
          EXPECT_EQ(approx->distances[i], it->second) << "distances differ for row " << id;
        }
        found += approx->distances[i] <= kth ? 1 : 0;
      }
      recall += double(std::min(found, exact->rows.size())) / double(exact->rows.size());
    }
    return recall / double(queries);
  }

  testing::TempDir flat_dir_{true}, indexed_dir_{true};
  std::unique_ptr<FileSystem> fs_;
  TableOptions options_;
  std::unique_ptr<Table> flat_, indexed_;
  std::mt19937 rng_{3};
  std::set<int64_t> deleted_;
  int64_t next_id_ = 0;  // ids below are inserted
};

TEST_P(IndexedSearch, FindsWhatExactSearchFindsWithFiltersAndDeletes) {
  for (int64_t first = 0; first < 3000; first += 250) Insert(first, 250);
  Delete(150);  // before the builds
  ASSERT_TRUE(indexed_->BuildAllIndexes().ok());
  Insert(3000, 200);  // stays in the growing segment, searched exactly
  Delete(150);        // after the builds: the delete bitmap, not the index, hides them

  const TableStats stats = *indexed_->Stats();
  ASSERT_EQ(stats.indexes.size(), 1u);
  EXPECT_EQ(stats.indexes[0].indexed_rows, stats.sealed_rows);
  EXPECT_EQ(stats.indexes[0].total_rows, stats.live_rows);
  EXPECT_EQ(stats.indexes[0].pending, 0u);
  EXPECT_EQ(stats.sealed_segments, 2u);
  EXPECT_FALSE(index::PreferExactScan(700, 1500, 24));  // as the comment on Schema says
  EXPECT_TRUE(index::PreferExactScan(150, 1500, 24));

  // Unfiltered, 50 %, 10 % (per value "tag < 10") and 1 % selectivity.
  for (const std::string filter : {"", "tag < 50", "tag < 10", "tag = 7"}) {
    EXPECT_GE(Recall(filter, 60), 0.95) << "filter '" << filter << "'";
  }
}

TEST_P(IndexedSearch, RestartLoadsIndexesWithoutRebuildingThem) {
  Insert(0, 1500);
  Insert(1500, 1500);
  ASSERT_TRUE(indexed_->BuildAllIndexes().ok());
  const double before = Recall("", 30);
  indexed_.reset();
  indexed_ = Open(indexed_dir_, GetParam().type);
  EXPECT_EQ(indexed_->PendingIndexes(), 0u);
  EXPECT_EQ(indexed_->Stats()->indexes[0].indexed_rows, 3000u);
  EXPECT_EQ(Recall("", 30), before);
}

INSTANTIATE_TEST_SUITE_P(
    TypesAndMetrics, IndexedSearch,
    ::testing::Values(Case{IndexType::kHnsw, DataType::kVectorFloat, Metric::kEuclidean, 16},
                      Case{IndexType::kHnsw, DataType::kVectorFloat, Metric::kCosine, 16},
                      Case{IndexType::kHnsw, DataType::kVectorFloat, Metric::kDotProduct, 16},
                      Case{IndexType::kHnswSq8, DataType::kVectorFloat, Metric::kEuclidean, 16},
                      Case{IndexType::kHnswSq8, DataType::kVectorFloat, Metric::kCosine, 16},
                      Case{IndexType::kHnswSq8, DataType::kVectorFloat, Metric::kDotProduct, 16},
                      Case{IndexType::kIvfFlat, DataType::kVectorFloat, Metric::kEuclidean, 16},
                      Case{IndexType::kIvfFlat, DataType::kVectorFloat, Metric::kCosine, 16},
                      Case{IndexType::kHnsw, DataType::kVectorBinary, Metric::kHamming, 64},
                      Case{IndexType::kHnsw, DataType::kVectorBinary, Metric::kJaccard, 64}),
    Name);

// ---- Index files --------------------------------------------------------------

// "Equal distances are ordered by primary key" on every path of an indexed
// segment: the exact scan a selective filter takes and the graph walk's final
// cut. Rows are stored in descending key order, so row order would pick the
// larger keys; Hamming distances tie a lot.
TEST(IndexedTies, GoToTheSmallerPrimaryKeyOnEveryPath) {
  testing::TempDir dir(true);
  auto fs = NewPosixFileSystem();
  Field vector{"v", DataType::kVectorBinary, false, 64, Metric::kHamming};
  vector.index.type = IndexType::kHnsw;
  vector.index.m = 12;
  vector.index.ef_construction = 100;
  vector.index.ef = 24;
  TableSchema schema{"t", {{"id", DataType::kBigInt, true}, {"tag", DataType::kInt}, vector}};
  ASSERT_TRUE(ValidateAndNormalize(&schema).ok());
  TableOptions options;
  options.seal_rows = 1'000'000;
  auto table = std::move(Table::Open(fs.get(), dir.path(), schema, options).value());

  std::mt19937 rng(11);
  auto random_bits = [&] {
    std::vector<float> bits(64);
    for (float& b : bits) b = float(rng() % 2);
    return bits;
  };
  const std::vector<float> shared_by_tag7 = random_bits(), shared_by_three = random_bits();
  constexpr int64_t kRows = 1500, kTop = 100000;
  RecordBatch batch = RecordBatch::ForSchema(schema);
  for (int64_t i = 0; i < kRows; ++i) {
    batch.columns[0].AppendInt(kTop - i);  // descending keys
    batch.columns[1].AppendInt(i % 100);
    const bool three = i == 10 || i == 500 || i == 1000;
    const auto& bits = i % 100 == 7 ? shared_by_tag7 : three ? shared_by_three : random_bits();
    batch.columns[2].AppendBits(*PackBits(bits));
  }
  ASSERT_TRUE(table->Insert(batch, false).ok());
  ASSERT_TRUE(table->Seal().ok());
  ASSERT_TRUE(table->BuildAllIndexes().ok());
  ASSERT_EQ(table->Stats()->indexes[0].indexed_rows, size_t{kRows});

  auto keys_of = [&](const SearchRequest& request) {
    auto result = table->Search(request);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    std::vector<int64_t> keys;
    for (const auto& row : result->rows) keys.push_back(std::get<int64_t>(row[0]));
    return keys;
  };
  // 15 rows with tag 7 share one vector; a 1 % filter scans them exactly.
  SearchRequest scan;
  scan.vector = shared_by_tag7;
  scan.limit = 5;
  scan.filter = "tag = 7";
  scan.response = {"id"};
  EXPECT_EQ(keys_of(scan), (std::vector<int64_t>{kTop - 1407, kTop - 1307, kTop - 1207, kTop - 1107,
                                                 kTop - 1007}));
  // Three rows share another: the walk finds all three, the cut keeps the
  // two smaller keys.
  SearchRequest walk;
  walk.vector = shared_by_three;
  walk.limit = 2;
  walk.response = {"id"};
  EXPECT_EQ(keys_of(walk), (std::vector<int64_t>{kTop - 1000, kTop - 500}));
}

TEST(IndexFile, EveryFlippedByteIsDetected) {
  std::mt19937 rng(4);
  std::normal_distribution<float> noise(0, 1);
  std::vector<float> vectors(200 * 8);
  for (float& x : vectors) x = noise(rng);
  index::VectorSet set{vectors.data(), nullptr, 200, 8, Metric::kCosine};
  set.segment_id = 3;
  set.min_lsn = 10;
  set.max_lsn = 20;
  IndexSpec spec;
  spec.type = IndexType::kHnswSq8;
  spec.m = 4;
  auto file = index::BuildIndexFile(set, spec);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_TRUE(index::OpenIndexFile(BytesAsMappedFile(*file), set, "f").ok());
  for (size_t at = 0; at < file->size(); ++at) {
    std::string damaged = *file;
    damaged[at] ^= 0x10;
    auto opened = index::OpenIndexFile(BytesAsMappedFile(damaged), set, "f");
    ASSERT_FALSE(opened.ok()) << "flipped byte " << at << " of " << file->size() << " undetected";
    EXPECT_EQ(opened.status().code(), StatusCode::kCorruption);
  }
  // Truncated, or built for other vectors.
  EXPECT_FALSE(index::OpenIndexFile(BytesAsMappedFile(file->substr(0, 300)), set, "f").ok());
  index::VectorSet fewer = set;
  fewer.rows = 199;
  EXPECT_FALSE(index::OpenIndexFile(BytesAsMappedFile(*file), fewer, "f").ok());
  index::VectorSet other_segment = set;
  other_segment.segment_id = 9;
  EXPECT_FALSE(index::OpenIndexFile(BytesAsMappedFile(*file), other_segment, "f").ok());
  index::VectorSet other_lsns = set;
  other_lsns.max_lsn = 5;
  EXPECT_FALSE(index::OpenIndexFile(BytesAsMappedFile(*file), other_lsns, "f").ok());
}

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  if (!std::filesystem::exists(dir)) return out;
  for (auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().string());
  return out;
}

class IndexRecovery : public IndexedSearch {};

TEST_P(IndexRecovery, DamagedIndexIsQuarantinedRebuiltAndNeverServed) {
  Insert(0, 1500);
  Insert(1500, 1500);
  ASSERT_TRUE(indexed_->BuildAllIndexes().ok());
  indexed_.reset();
  const auto files = Files(JoinPath(indexed_dir_.path(), "indexes"));
  ASSERT_EQ(files.size(), 2u);
  {  // one flipped byte in the middle of the first index file
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(std::filesystem::file_size(files[0]) / 2));
    char c;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(files[0]) / 2));
    f.put(static_cast<char>(c ^ 0x01));
  }
  std::filesystem::remove(files[1]);  // and the other one lost

  indexed_ = Open(indexed_dir_, GetParam().type);
  EXPECT_EQ(Files(JoinPath(indexed_dir_.path(), "quarantine")).size(), 1u);
  EXPECT_EQ(indexed_->PendingIndexes(), 2u);
  EXPECT_EQ(indexed_->Stats()->indexes[0].indexed_rows, 0u);
  EXPECT_EQ(Recall("", 20), 1.0);  // searched exactly meanwhile
  ASSERT_TRUE(indexed_->BuildAllIndexes().ok());
  EXPECT_EQ(indexed_->PendingIndexes(), 0u);
  EXPECT_GE(Recall("", 30), 0.95);
  indexed_.reset();
  indexed_ = Open(indexed_dir_, GetParam().type);
  EXPECT_EQ(indexed_->PendingIndexes(), 0u);
}

TEST_P(IndexRecovery, CompactionDropsOldIndexesAndTheMergedSegmentIsIndexedAgain) {
  Insert(0, 1500);
  Insert(1500, 1500);
  ASSERT_TRUE(indexed_->BuildAllIndexes().ok());
  EXPECT_EQ(Files(JoinPath(indexed_dir_.path(), "indexes")).size(), 2u);
  Delete(300);
  ASSERT_TRUE(indexed_->Compact(/*force=*/true).ok());
  EXPECT_EQ(Files(JoinPath(indexed_dir_.path(), "indexes")).size(), 0u);
  EXPECT_EQ(indexed_->PendingIndexes(), 1u);
  EXPECT_EQ(Recall("tag < 50", 20), 1.0);
  ASSERT_TRUE(indexed_->BuildAllIndexes().ok());
  EXPECT_EQ(Files(JoinPath(indexed_dir_.path(), "indexes")).size(), 1u);
  EXPECT_GE(Recall("tag < 50", 30), 0.95);
}

INSTANTIATE_TEST_SUITE_P(Hnsw, IndexRecovery,
                         ::testing::Values(Case{IndexType::kHnsw, DataType::kVectorFloat,
                                                Metric::kEuclidean, 16}),
                         Name);

}  // namespace
}  // namespace quiver
