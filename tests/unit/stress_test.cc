// Concurrency stress: writers (upserts, deletes), searchers (filtered vector
// search, get by key), seals, compactions and index builds all at once on one
// table. Run under ThreadSanitizer by `make test-tsan` (longer, with
// QUIVER_STRESS_SECONDS); `make test` runs it briefly. Afterwards the table
// must hold exactly what the writers acknowledged.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "engine/table.h"
#include "test_util.h"

namespace quiver {
namespace {

constexpr int kDims = 8;
constexpr int64_t kKeys = 2000;

TableSchema Schema() {
  Field vector{"v", DataType::kVectorFloat, false, kDims, Metric::kEuclidean};
  vector.index.m = 8;
  vector.index.ef_construction = 40;
  TableSchema schema{"t", {{"id", DataType::kBigInt, true}, {"tag", DataType::kInt}, vector}};
  EXPECT_TRUE(ValidateAndNormalize(&schema).ok());
  return schema;
}

double StressSeconds() {
  const char* env = std::getenv("QUIVER_STRESS_SECONDS");
  return env ? std::atof(env) : 1.0;
}

TEST(Stress, WritesSearchesSealsCompactionsAndIndexBuildsAtOnce) {
  testing::TempDir dir(/*in_memory=*/true);
  auto fs = NewPosixFileSystem();
  TableOptions options;
  options.seal_rows = 300;
  options.max_segments = 3;
  auto opened = Table::Open(fs.get(), dir.path(), Schema(), options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Table& table = **opened;

  std::mutex model_mu;
  std::map<int64_t, int64_t> model;  // key -> tag, as acknowledged
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  auto fail = [&](const std::string& what) {
    if (failures++ < 5) ADD_FAILURE() << what;
  };

  // Writer w owns the keys k with k % 2 == w, so the model is exact.
  auto writer = [&](int w) {
    std::mt19937 rng(w + 1);
    std::normal_distribution<float> noise(0, 1);
    while (!stop) {
      if (rng() % 5 == 0) {
        std::vector<PrimaryKey> keys;
        keys.reserve(10);
        for (int i = 0; i < 10; ++i) keys.emplace_back(int64_t(rng() % (kKeys / 2)) * 2 + w);
        auto deleted = table.Delete(keys);
        if (!deleted.ok()) fail("delete: " + deleted.status().ToString());
        std::lock_guard lock(model_mu);
        for (const auto& k : keys) model.erase(std::get<int64_t>(k));
        continue;
      }
      RecordBatch batch = RecordBatch::ForSchema(table.schema());
      std::map<int64_t, int64_t> rows;
      for (int i = 0; i < 20; ++i) rows[int64_t(rng() % (kKeys / 2)) * 2 + w] = rng() % 100;
      for (const auto& [key, tag] : rows) {
        batch.columns[0].AppendInt(key);
        batch.columns[1].AppendInt(tag);
        std::vector<float> v(kDims);
        for (float& x : v) x = noise(rng);
        batch.columns[2].AppendVector(v);
      }
      auto inserted = table.Insert(batch, /*upsert=*/true);
      if (!inserted.ok()) fail("upsert: " + inserted.status().ToString());
      std::lock_guard lock(model_mu);
      for (const auto& [key, tag] : rows) model[key] = tag;
    }
  };
  auto searcher = [&](int s) {
    std::mt19937 rng(100 + s);
    std::normal_distribution<float> noise(0, 1);
    while (!stop) {
      SearchRequest request;
      request.vector.resize(kDims);
      for (float& x : request.vector) x = noise(rng);
      request.limit = 10;
      request.filter = "tag < 50";
      auto found = table.Search(request);
      if (!found.ok()) {
        fail("search: " + found.status().ToString());
        continue;
      }
      std::set<int64_t> keys;
      for (const auto& row : found->rows) {
        if (std::get<int64_t>(row[1]) >= 50) fail("a filtered-out row came back");
        if (!keys.insert(std::get<int64_t>(row[0])).second) fail("a key came back twice");
      }
      GetRequest get;
      get.keys = std::vector<PrimaryKey>{int64_t(rng() % kKeys), int64_t(rng() % kKeys)};
      if (auto got = table.Get(get); !got.ok()) fail("get: " + got.status().ToString());
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(6);
  for (int w = 0; w < 2; ++w) threads.emplace_back(writer, w);
  for (int s = 0; s < 2; ++s) threads.emplace_back(searcher, s);
  threads.emplace_back([&] {  // maintenance
    while (!stop) {
      if (Status s = table.MaybeSeal(); !s.ok()) fail("seal: " + s.ToString());
      if (Status s = table.Compact(); !s.ok()) fail("compact: " + s.ToString());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  threads.emplace_back([&] {  // index rebuilder
    while (!stop) {
      auto built = table.BuildNextIndex(&stop);
      if (!built.ok() && !stop) fail("index build: " + built.status().ToString());
      if (built.ok() && !*built) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::this_thread::sleep_for(std::chrono::duration<double>(StressSeconds()));
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);

  ASSERT_TRUE(table.Seal().ok());
  ASSERT_TRUE(table.BuildAllIndexes().ok());
  auto all = table.Get({});
  ASSERT_TRUE(all.ok());
  std::map<int64_t, int64_t> stored;
  for (const auto& row : all->rows) stored[std::get<int64_t>(row[0])] = std::get<int64_t>(row[1]);
  EXPECT_EQ(stored, model);
  EXPECT_EQ(table.PendingIndexes(), 0u);
  EXPECT_GT(table.Stats()->index_builds, 0u) << "the indexer never built anything";
}

// Snapshot reads: every write is one record, and a reader sees it whole or
// not at all, whatever seals, compactions and index builds swap meanwhile.
// One writer upserts all kRows keys in each batch with the same new version;
// readers (a full get, an exact search, a get by keys, a count) must always
// see kRows rows carrying one version, never a mix and never a gap.
TEST(Stress, ReadersNeverSeeHalfAnUpsertOrASegmentSwap) {
  constexpr int64_t kRows = 50;
  testing::TempDir dir(/*in_memory=*/true);
  auto fs = NewPosixFileSystem();
  Field vector{"v", DataType::kVectorFloat, false, kDims, Metric::kEuclidean};
  vector.index.type = IndexType::kFlat;  // exact, so a search must return every row
  Field indexed{"w", DataType::kVectorFloat, false, kDims, Metric::kEuclidean};
  indexed.index.m = 8;
  indexed.index.ef_construction = 40;
  TableSchema schema{
      "t", {{"id", DataType::kBigInt, true}, {"version", DataType::kInt}, vector, indexed}};
  ASSERT_TRUE(ValidateAndNormalize(&schema).ok());
  TableOptions options;
  options.seal_rows = 2 * kRows + 7;  // a seal every few batches, mid-stream
  options.max_segments = 2;
  auto opened = Table::Open(fs.get(), dir.path(), schema, options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Table& table = **opened;

  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int64_t> reads{0};
  auto fail = [&](const std::string& what) {
    if (failures++ < 5) ADD_FAILURE() << what;
  };
  auto upsert_all = [&](int64_t version) {
    std::mt19937 rng(static_cast<uint32_t>(version));
    std::normal_distribution<float> noise(0, 1);
    RecordBatch batch = RecordBatch::ForSchema(schema);
    for (int64_t key = 0; key < kRows; ++key) {
      batch.columns[0].AppendInt(key);
      batch.columns[1].AppendInt(version);
      std::vector<float> v(kDims);
      for (float& x : v) x = noise(rng);
      batch.columns[2].AppendVector(v);
      batch.columns[3].AppendVector(v);
    }
    return table.Insert(batch, /*upsert=*/true);
  };
  ASSERT_TRUE(upsert_all(1).ok());
  // One version, every key once: what each read must see.
  auto check = [&](const std::vector<std::vector<Value>>& rows, const char* what) {
    std::set<int64_t> keys, versions;
    for (const auto& row : rows) {
      keys.insert(std::get<int64_t>(row[0]));
      versions.insert(std::get<int64_t>(row[1]));
    }
    if (rows.size() != size_t(kRows) || keys.size() != size_t(kRows) || versions.size() != 1) {
      fail(std::string(what) + ": " + std::to_string(rows.size()) + " rows, " +
           std::to_string(keys.size()) + " keys, " + std::to_string(versions.size()) + " versions");
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back([&] {  // the writer
    for (int64_t version = 2; !stop; ++version) {
      if (auto s = upsert_all(version); !s.ok()) fail("upsert: " + s.status().ToString());
    }
  });
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      std::mt19937 rng(50 + r);
      std::normal_distribution<float> noise(0, 1);
      while (!stop) {
        GetRequest all;
        all.response = {"id", "version"};
        auto got = table.Get(all);
        if (!got.ok()) fail("get: " + got.status().ToString());
        if (got.ok()) check(got->rows, "full get");
        SearchRequest search;
        search.field = "v";
        search.vector.resize(kDims);
        for (float& x : search.vector) x = noise(rng);
        search.limit = kRows + 10;
        search.response = {"id", "version"};
        auto found = table.Search(search);
        if (!found.ok()) fail("search: " + found.status().ToString());
        if (found.ok()) check(found->rows, "exact search");
        GetRequest by_keys = all;
        by_keys.keys.emplace();
        for (int64_t key = kRows - 1; key >= 0; --key) by_keys.keys->emplace_back(key);
        auto keyed = table.Get(by_keys);
        if (!keyed.ok()) fail("get by keys: " + keyed.status().ToString());
        if (keyed.ok()) check(keyed->rows, "get by keys");
        ++reads;
      }
    });
  }
  std::atomic<int> rounds_with_sealed{0};
  threads.emplace_back([&] {  // maintenance: seals and compactions swap segments
    while (!stop) {
      if (Status s = table.MaybeSeal(); !s.ok()) fail("seal: " + s.ToString());
      rounds_with_sealed += table.Stats()->sealed_segments > 0 ? 1 : 0;
      if (Status s = table.Compact(); !s.ok()) fail("compact: " + s.ToString());
      std::this_thread::yield();
    }
  });
  threads.emplace_back([&] {  // index rebuilder: index attaches publish versions too
    while (!stop) {
      auto built = table.BuildNextIndex(&stop);
      if (!built.ok() && !stop) fail("index build: " + built.status().ToString());
      if (built.ok() && !*built) std::this_thread::yield();
    }
  });
  std::this_thread::sleep_for(std::chrono::duration<double>(StressSeconds()));
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
  // Every batch replaces every row, so old segments end up wholly deleted
  // and compacted away; what counts is that seals happened meanwhile.
  EXPECT_GT(rounds_with_sealed.load(), 0) << "no seal happened during the run";
  EXPECT_GT(table.Stats()->checkpoint_lsn, 0u);
}

}  // namespace
}  // namespace quiver
