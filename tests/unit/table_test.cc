#include "engine/table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <thread>

#include "metric/metric.h"
#include "test_util.h"

namespace quiver {
namespace {

using testing::TempDir;

TableSchema VectorSchema(Metric metric, uint32_t dims = 8) {
  TableSchema schema{"t",
                     {{"id", DataType::kBigInt, true},
                      {"group", DataType::kInt},
                      {"v", DataType::kVectorFloat, false, dims, metric}}};
  EXPECT_TRUE(ValidateAndNormalize(&schema).ok());
  return schema;
}

RecordBatch Rows(const TableSchema& schema, const std::vector<int64_t>& ids, std::mt19937* rng,
                 int64_t group = 0) {
  std::uniform_real_distribution<float> uni(-1, 1);
  RecordBatch batch = RecordBatch::ForSchema(schema);
  const uint32_t dims = schema.fields[2].dimensions;
  for (int64_t id : ids) {
    batch.columns[0].AppendInt(id);
    batch.columns[1].AppendInt(group);
    std::vector<float> v(dims);
    for (auto& x : v) x = uni(*rng);
    batch.columns[2].AppendVector(v);
  }
  return batch;
}

std::unique_ptr<Table> OpenTable(const std::string& dir, const TableSchema& schema,
                                 FileSystem* fs) {
  auto table = Table::Open(fs, dir, schema, {});
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return std::move(table).value();
}

std::vector<int64_t> Ids(const ResultSet& rs) {
  std::vector<int64_t> ids;
  for (const auto& row : rs.rows) ids.push_back(std::get<int64_t>(row[0]));
  return ids;
}

TEST(Table, DuplicateKeysAreSkippedUnlessUpsert) {
  TempDir dir;
  auto fs = NewPosixFileSystem();
  auto schema = VectorSchema(Metric::kEuclidean);
  auto table = OpenTable(dir.path(), schema, fs.get());
  std::mt19937 rng(1);
  auto first = table->Insert(Rows(schema, {1, 2, 3}, &rng), false);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->inserted, 3u);
  auto dup = table->Insert(Rows(schema, {3, 4, 4}, &rng, 7), false);
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(dup->inserted, 1u);  // 4 once
  EXPECT_EQ(dup->skipped, 2u);   // 3 exists; the second 4 repeats the first
  auto up = table->Insert(Rows(schema, {1, 9}, &rng, 42), true);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->inserted, 2u);
  EXPECT_EQ(table->RowCount(), 5u);
  GetRequest get;
  get.keys = std::vector<PrimaryKey>{int64_t{1}, int64_t{3}, int64_t{404}};
  auto rows = table->Get(get);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->rows.size(), 2u);
  EXPECT_EQ(std::get<int64_t>(rows->rows[0][1]), 42) << "upsert replaced row 1";
  EXPECT_EQ(std::get<int64_t>(rows->rows[1][1]), 0) << "skipped insert left row 3 alone";
}

TEST(Table, ReplayRebuildsExactlyTheLiveState) {
  TempDir dir;
  auto fs = NewPosixFileSystem();
  auto schema = VectorSchema(Metric::kEuclidean);
  std::mt19937 rng(2);
  ResultSet before;
  {
    auto table = OpenTable(dir.path(), schema, fs.get());
    for (int round = 0; round < 20; ++round) {
      std::vector<int64_t> ids(10);
      for (auto& id : ids) id = rng() % 60;
      ASSERT_TRUE(table->Insert(Rows(schema, ids, &rng, round), round % 3 == 0).ok());
      std::vector<PrimaryKey> del = {int64_t(rng() % 60), int64_t(rng() % 60)};
      ASSERT_TRUE(table->Delete(del).ok());
    }
    ASSERT_TRUE(table->DeleteWhere("group = 5 OR id < 3").ok());
    before = *table->Get({});
  }
  auto reopened = OpenTable(dir.path(), schema, fs.get());
  ResultSet after = *reopened->Get({});
  EXPECT_EQ(after.rows, before.rows);
  EXPECT_FALSE(before.rows.empty());
}

// The apply-from-log seam: a replica that only reads the writer's log (while
// the writer goes on, and while the replica seals and compacts its own
// segments) builds exactly the writer's state, through the same Apply path.
TEST(Table, ReplicaThatOnlyReadsTheLogBuildsTheSameState) {
  TempDir writer_dir, replica_dir;
  auto fs = NewPosixFileSystem();
  auto schema = VectorSchema(Metric::kEuclidean);
  TableOptions writer_options;
  writer_options.seal_rows = 1'000'000;  // the writer keeps its whole log
  auto writer = std::move(Shard::Open(fs.get(), writer_dir.path(), schema, writer_options).value());
  TableOptions replica_options;
  replica_options.seal_rows = 40;
  replica_options.max_segments = 2;
  auto opened =
      Shard::OpenReplica(fs.get(), replica_dir.path(), schema, replica_options, writer->log());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& replica = *opened;

  std::atomic<bool> stop{false};
  std::thread follower([&] {
    while (!stop) {
      ASSERT_TRUE(replica->CatchUp().ok());
      ASSERT_TRUE(replica->MaybeSeal().ok());
      ASSERT_TRUE(replica->Compact().ok());
    }
  });
  std::mt19937 rng(5);
  for (int round = 0; round < 60; ++round) {
    std::vector<int64_t> ids(10);
    for (auto& id : ids) id = rng() % 80;
    ASSERT_TRUE(writer->Insert(Rows(schema, ids, &rng, round), round % 2 == 0).ok());
    std::vector<PrimaryKey> del = {int64_t(rng() % 80), int64_t(rng() % 80)};
    ASSERT_TRUE(writer->Delete(del).ok());
  }
  ASSERT_TRUE(writer->DeleteWhere("group = 7").ok());
  stop = true;
  follower.join();
  ASSERT_TRUE(replica->CatchUp().ok());

  auto by_key = [](ResultSet rs) {
    std::sort(rs.rows.begin(), rs.rows.end(), [](const auto& a, const auto& b) {
      return std::get<int64_t>(a[0]) < std::get<int64_t>(b[0]);
    });
    return rs.rows;
  };
  const auto expected = by_key(*writer->Get({}));
  EXPECT_EQ(by_key(*replica->Get({})), expected);
  EXPECT_FALSE(expected.empty());
  SearchRequest search;
  search.vector = std::vector<float>(8, 0.1f);
  search.limit = 15;
  search.with_distance = true;
  auto a = writer->Search(search), b = replica->Search(search);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(b->rows, a->rows);
  EXPECT_EQ(b->distances, a->distances);
  EXPECT_EQ(replica->Stats().applied_lsn, writer->log()->LastLsn());
  EXPECT_GT(replica->Stats().sealed_segments, 0u) << "the replica sealed its own segments";
  EXPECT_EQ(replica->Insert(Rows(schema, {1}, &rng), true).status().code(),
            StatusCode::kUnavailable)
      << "a replica takes no writes";
}

// A record a shard cannot apply leaves its state behind its log: it says so
// in Health (writes refused) instead of going on as if nothing happened.
TEST(Table, ARecordThatDoesNotApplyIsReportedAndStopsTheShard) {
  TempDir writer_dir, replica_dir;
  auto fs = NewPosixFileSystem();
  auto schema = VectorSchema(Metric::kEuclidean);
  auto writer = std::move(Shard::Open(fs.get(), writer_dir.path(), schema, {}).value());
  std::mt19937 rng(2);
  ASSERT_TRUE(writer->Insert(Rows(schema, {1, 2}, &rng), false).ok());
  // A replica whose schema disagrees with the records (one field fewer).
  TableSchema other = schema;
  other.fields.pop_back();
  other.fields.push_back({"w", DataType::kVectorFloat, false, 8, Metric::kEuclidean});
  other.fields.push_back({"x", DataType::kInt});
  ASSERT_TRUE(ValidateAndNormalize(&other).ok());
  auto replica =
      std::move(Shard::OpenReplica(fs.get(), replica_dir.path(), other, {}, writer->log()).value());
  EXPECT_TRUE(replica->Health().ok());
  EXPECT_FALSE(replica->CatchUp().ok());
  const Status health = replica->Health();
  EXPECT_EQ(health.code(), StatusCode::kUnavailable);
  EXPECT_NE(health.message().find("applying LSN 1 failed"), std::string::npos) << health.ToString();
}

TEST(Table, DeletedRowsDoNotComeBackAfterRestart) {
  TempDir dir;
  auto fs = NewPosixFileSystem();
  auto schema = VectorSchema(Metric::kEuclidean);
  std::mt19937 rng(3);
  {
    auto table = OpenTable(dir.path(), schema, fs.get());
    ASSERT_TRUE(table->Insert(Rows(schema, {1, 2, 3, 4}, &rng), false).ok());
    std::vector<PrimaryKey> del = {int64_t{2}, int64_t{4}};
    auto deleted = table->Delete(del);
    ASSERT_TRUE(deleted.ok());
    EXPECT_EQ(deleted->deleted, 2u);
  }
  auto table = OpenTable(dir.path(), schema, fs.get());
  EXPECT_EQ(Ids(*table->Get({})), (std::vector<int64_t>{1, 3}));
}

// Exact search must equal a brute-force oracle for every metric, with ties
// broken by primary key.
class SearchOracle : public ::testing::TestWithParam<Metric> {};

TEST_P(SearchOracle, MatchesBruteForceWithFiltersAndDeletes) {
  TempDir dir;
  auto fs = NewPosixFileSystem();
  const Metric metric = GetParam();
  auto schema = VectorSchema(metric, 19);
  auto table = OpenTable(dir.path(), schema, fs.get());
  std::mt19937 rng(4);
  std::vector<int64_t> ids(300);
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  for (int b = 0; b < 3; ++b) {
    std::vector<int64_t> part(ids.begin() + b * 100, ids.begin() + (b + 1) * 100);
    ASSERT_TRUE(table->Insert(Rows(schema, part, &rng, b), false).ok());
  }
  std::vector<PrimaryKey> del;
  for (int64_t i = 0; i < 300; i += 7) del.emplace_back(i);
  ASSERT_TRUE(table->Delete(del).ok());
  // Two exact duplicates of one vector under different keys: a tie.
  auto all = *table->Get({});
  const std::vector<float> dup_vec = std::get<std::vector<float>>(all.rows[0][2]);
  RecordBatch twins = RecordBatch::ForSchema(schema);
  for (int64_t id : {1001, 1000}) {
    twins.columns[0].AppendInt(id);
    twins.columns[1].AppendInt(1);
    twins.columns[2].AppendVector(dup_vec);
  }
  ASSERT_TRUE(table->Insert(twins, false).ok());
  all = *table->Get({});

  for (int q = 0; q < 10; ++q) {
    std::vector<float> query = dup_vec;
    if (q > 0) {
      Value random = Rows(schema, {0}, &rng).columns[2].GetValue(0);
      query = std::get<std::vector<float>>(random);
    }
    for (const std::string filter : {"", "group = 1", "id % 2 = 0 AND group <> 2"}) {
      std::vector<std::pair<float, int64_t>> oracle;
      for (const auto& row : all.rows) {
        const int64_t id = std::get<int64_t>(row[0]);
        const int64_t group = std::get<int64_t>(row[1]);
        if (filter == "group = 1" && group != 1) continue;
        if (filter.starts_with("id %") && !(id % 2 == 0 && group != 2)) continue;
        const auto& v = std::get<std::vector<float>>(row[2]);
        float d;
        if (metric == Metric::kEuclidean) {
          d = 0;
          for (size_t i = 0; i < v.size(); ++i) d += (v[i] - query[i]) * (v[i] - query[i]);
        } else {
          double dot = 0, na = 0, nb = 0;
          for (size_t i = 0; i < v.size(); ++i)
            dot += v[i] * query[i], na += query[i] * query[i], nb += v[i] * v[i];
          d = metric == Metric::kDotProduct ? -dot : 1 - dot / std::sqrt(na * nb);
        }
        oracle.emplace_back(d, id);
      }
      std::sort(oracle.begin(), oracle.end());
      SearchRequest request{"v", query, 10, filter, {}, true};
      auto result = table->Search(request);
      ASSERT_TRUE(result.ok()) << result.status().ToString();
      ASSERT_EQ(result->rows.size(), std::min<size_t>(10, oracle.size()));
      for (size_t i = 0; i < result->rows.size(); ++i) {
        EXPECT_NEAR(result->distances[i], oracle[i].first, 1e-4) << "rank " << i;
        if (i + 1 < oracle.size() && std::abs(oracle[i].first - oracle[i + 1].first) < 1e-5 &&
            oracle[i].first != oracle[i + 1].first) {
          continue;  // float rounding may order a near-tie either way
        }
        EXPECT_EQ(std::get<int64_t>(result->rows[i][0]), oracle[i].second) << "rank " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllMetrics, SearchOracle,
                         ::testing::Values(Metric::kEuclidean, Metric::kCosine,
                                           Metric::kDotProduct),
                         [](const ::testing::TestParamInfo<Metric>& info) {
                           return std::string(MetricName(info.param));
                         });

TEST(Table, DistanceFilterActsAsRangeSearch) {
  TempDir dir;
  auto fs = NewPosixFileSystem();
  auto schema = VectorSchema(Metric::kEuclidean, 1);
  auto table = OpenTable(dir.path(), schema, fs.get());
  RecordBatch batch = RecordBatch::ForSchema(schema);
  for (int64_t i = 0; i < 10; ++i) {
    batch.columns[0].AppendInt(i);
    batch.columns[1].AppendInt(0);
    const float v = static_cast<float>(i);
    batch.columns[2].AppendVector(std::span<const float>(&v, 1));
  }
  ASSERT_TRUE(table->Insert(batch, false).ok());
  SearchRequest request{"", {0.0f}, 100, "@distance < 10 AND @distance >= 1", {"id"}, true};
  auto result = table->Search(request);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(Ids(*result), (std::vector<int64_t>{1, 2, 3}));  // squared distances 1, 4, 9
}

TEST(Table, RejectsBadRequestsWithoutChangingAnything) {
  TempDir dir;
  auto fs = NewPosixFileSystem();
  auto schema = VectorSchema(Metric::kEuclidean, 2);
  auto table = OpenTable(dir.path(), schema, fs.get());
  RecordBatch nan = RecordBatch::ForSchema(schema);
  nan.columns[0].AppendInt(1);
  nan.columns[1].AppendInt(0);
  const float bad[2] = {1, std::nanf("")};
  nan.columns[2].AppendVector(bad);
  auto inserted = table->Insert(nan, false);
  ASSERT_FALSE(inserted.ok());
  EXPECT_EQ(inserted.status().code(), StatusCode::kInvalidArgument);
  RecordBatch no_key = RecordBatch::ForSchema(schema);
  no_key.columns[0].AppendNull();
  no_key.columns[1].AppendInt(0);
  const float ok[2] = {1, 2};
  no_key.columns[2].AppendVector(ok);
  EXPECT_FALSE(table->Insert(no_key, false).ok());
  EXPECT_EQ(table->RowCount(), 0u);

  EXPECT_FALSE(table->Search({"v", {1, 2, 3}, 5, "", {}, false}).ok()) << "wrong dimension";
  EXPECT_FALSE(table->Search({"v", {1, 2}, 0, "", {}, false}).ok()) << "limit 0";
  EXPECT_FALSE(table->Search({"v", {1, 2}, 1000000000, "", {}, false}).ok()) << "absurd limit";
  EXPECT_FALSE(table->Search({"group", {1, 2}, 5, "", {}, false}).ok()) << "not a vector field";
  EXPECT_FALSE(table->Search({"v", {1, 2}, 5, "", {"nope"}, false}).ok())
      << "unknown response field";
  std::vector<PrimaryKey> string_keys = {std::string("a")};
  EXPECT_FALSE(table->Delete(string_keys).ok()) << "key of the wrong type";
}

TEST(Distance, KernelsMatchScalarReferenceAtManySizes) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uni(-2, 2);
  for (size_t dims : {1, 3, 8, 15, 16, 17, 31, 96, 128, 129, 768, 1536}) {
    std::vector<float> a(dims), b(dims);
    for (auto& x : a) x = uni(rng);
    for (auto& x : b) x = uni(rng);
    double l2 = 0, ip = 0, na = 0, nb = 0;
    for (size_t i = 0; i < dims; ++i) {
      l2 += double(a[i] - b[i]) * (a[i] - b[i]);
      ip += double(a[i]) * b[i];
      na += double(a[i]) * a[i];
      nb += double(b[i]) * b[i];
    }
    const double tol = 1e-4 * dims;
    EXPECT_NEAR(Distance(Metric::kEuclidean, a.data(), b.data(), dims), l2, tol) << dims;
    EXPECT_NEAR(Distance(Metric::kDotProduct, a.data(), b.data(), dims), -ip, tol) << dims;
    EXPECT_NEAR(Distance(Metric::kCosine, a.data(), b.data(), dims), 1 - ip / std::sqrt(na * nb),
                1e-4)
        << dims;
  }
  std::vector<float> zero(4, 0), one(4, 1);
  EXPECT_EQ(Distance(Metric::kCosine, zero.data(), one.data(), 4), 1.0f);
}

}  // namespace
}  // namespace quiver
