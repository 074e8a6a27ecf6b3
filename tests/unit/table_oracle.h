#pragma once

// An oracle for tables: the same operations applied to a table of one shard
// and to another table (several shards, or a cluster's) must give the same
// answer to every read the API offers.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "engine/table.h"

namespace quiver::testing {

inline TableSchema Schema() {
  TableSchema schema{"t",
                     {{"id", DataType::kBigInt, true},
                      {"city", DataType::kString},
                      {"price", DataType::kDouble},
                      {"v", DataType::kVectorFloat, false, 6, Metric::kEuclidean},
                      {"w", DataType::kVectorFloat, false, 4, Metric::kCosine}}};
  EXPECT_TRUE(ValidateAndNormalize(&schema).ok());
  return schema;
}

inline const char* const kCities[] = {"oslo", "lima", "pune", "kyiv", "baku"};

// The same ids and tag give the same rows.
inline RecordBatch Rows(const TableSchema& schema, const std::vector<int64_t>& ids, int tag) {
  std::mt19937 rng(static_cast<uint32_t>(tag * 7919 + ids.size()));
  std::uniform_real_distribution<float> uni(-1, 1);
  RecordBatch batch = RecordBatch::ForSchema(schema);
  for (int64_t id : ids) {
    batch.columns[0].AppendInt(id);
    batch.columns[1].AppendString(kCities[(id + tag) % 5]);
    if ((id + tag) % 7 == 0) {
      batch.columns[2].AppendNull();
    } else {
      batch.columns[2].AppendDouble(static_cast<double>((id * 31 + tag) % 97));
    }
    std::vector<float> v(6), w(4);
    for (auto& x : v) x = uni(rng);
    for (auto& x : w) x = uni(rng);
    batch.columns[3].AppendVector(v);
    batch.columns[4].AppendVector(w);
  }
  return batch;
}

inline  // Every read the API offers, asked of both tables.
    void
    ExpectSameAnswers(const Table& one, const Table& many, std::mt19937* rng,
                      const std::string& when) {
  SCOPED_TRACE(when);
  std::uniform_real_distribution<float> uni(-1, 1);
  auto same = [&](const Result<ResultSet>& a, const Result<ResultSet>& b, const char* what) {
    ASSERT_EQ(a.ok(), b.ok()) << what << ": " << a.status().ToString() << " vs "
                              << b.status().ToString();
    if (!a.ok()) {
      EXPECT_EQ(a.status().ToString(), b.status().ToString()) << what;
      return;
    }
    EXPECT_EQ(a->fields, b->fields) << what;
    ASSERT_EQ(a->rows.size(), b->rows.size()) << what;
    for (size_t r = 0; r < a->rows.size(); ++r) {
      ASSERT_EQ(a->rows[r], b->rows[r]) << what << ": row " << r << " differs";
    }
    EXPECT_EQ(a->distances, b->distances) << what;
    EXPECT_EQ(a->scores, b->scores) << what;
    ASSERT_EQ(a->facets.size(), b->facets.size()) << what;
    for (size_t f = 0; f < a->facets.size(); ++f) {
      EXPECT_EQ(a->facets[f].names, b->facets[f].names) << what;
      EXPECT_EQ(a->facets[f].rows, b->facets[f].rows) << what << " facet " << f;
    }
  };
  EXPECT_EQ(one.Stats()->live_rows, many.Stats()->live_rows);

  GetRequest all;
  same(one.Get(all), many.Get(all), "get all (insertion order)");
  GetRequest page;
  page.skip = 7;
  page.limit = 11;
  page.filter = "price > 20";
  page.response = {"city", "id"};
  same(one.Get(page), many.Get(page), "get a filtered page");
  GetRequest faceted;
  faceted.filter = "city <> 'lima'";
  faceted.facets = {{{"city"}, {"COUNT(*)", "SUM(price)", "MIN(price)", "MAX(id)", "COUNT(price)"}},
                    {{}, {"COUNT(*)"}}};
  faceted.limit = 3;
  same(one.Get(faceted), many.Get(faceted), "get with facets");
  GetRequest by_keys;
  by_keys.keys = std::vector<PrimaryKey>{int64_t{5}, int64_t{300}, int64_t{2},
                                         int64_t{5}, int64_t{77},  int64_t{1}};
  by_keys.facets = {{{"city"}, {"COUNT(*)"}}};
  by_keys.skip = 1;
  same(one.Get(by_keys), many.Get(by_keys), "get by keys");
  GetRequest bad;
  bad.filter = "nope = 1";
  same(one.Get(bad), many.Get(bad), "a bad filter");

  for (int q = 0; q < 3; ++q) {
    SearchRequest search;
    search.field = "v";
    search.vector.resize(6);
    for (auto& x : search.vector) x = uni(*rng);
    search.limit = 9;
    search.with_distance = q != 1;
    if (q == 1) search.filter = "price < 50 OR price IS NULL";
    if (q == 2) {
      search.facets = {{{"city"}, {"COUNT(*)", "MIN(@distance)"}}};
      search.response = {"id", "city", "city"};  // a field named twice keeps its value
    }
    same(one.Search(search), many.Search(search), "search");
  }
  HybridRequest hybrid;
  hybrid.limit = 8;
  hybrid.with_score = true;
  for (const char* field : {"v", "w"}) {
    HybridRequest::Query query;
    query.field = field;
    query.vector.resize(field[0] == 'v' ? 6 : 4);
    for (auto& x : query.vector) x = uni(*rng);
    hybrid.queries.push_back(query);
  }
  same(one.HybridSearch(hybrid), many.HybridSearch(hybrid), "hybrid search (RRF)");
  hybrid.fusion = HybridRequest::Fusion::kWeighted;
  hybrid.queries[1].weight = 0.4;
  same(one.HybridSearch(hybrid), many.HybridSearch(hybrid), "hybrid search (weighted)");
}

}  // namespace quiver::testing
