// Recall of our HNSW against a brute-force oracle on small clustered data.

#include "index/hnsw.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "kernels/kernels.h"

namespace quiver::index {
namespace {

constexpr size_t kDims = 24;

struct Data : RowDistance {
  std::vector<float> vectors;
  size_t rows = 0;
  size_t size() const override { return rows; }
  float Between(uint32_t a, uint32_t b) const override {
    return kernels::Active().l2_squared(&vectors[a * kDims], &vectors[b * kDims], kDims);
  }
};

struct Query : QueryDistance {
  const Data* data;
  const float* q;
  float To(uint32_t row) const override {
    return kernels::Active().l2_squared(q, &data->vectors[row * kDims], kDims);
  }
};

// Gaussian blobs: neighbours are local, as in real embeddings.
std::vector<float> Clustered(size_t n, std::mt19937* rng) {
  std::normal_distribution<float> noise(0, 1);
  std::uniform_real_distribution<float> center(-20, 20);
  std::vector<std::vector<float>> centers(30, std::vector<float>(kDims));
  for (auto& c : centers) {
    for (auto& x : c) x = center(*rng);
  }
  std::vector<float> out(n * kDims);
  for (size_t r = 0; r < n; ++r) {
    const auto& c = centers[(*rng)() % centers.size()];
    for (size_t d = 0; d < kDims; ++d) out[r * kDims + d] = c[d] + noise(*rng);
  }
  return out;
}

std::vector<uint32_t> BruteForce(const Data& data, const float* q, size_t k,
                                 std::span<const uint8_t> allowed) {
  std::vector<std::pair<float, uint32_t>> all;
  for (uint32_t r = 0; r < data.rows; ++r) {
    if (!allowed.empty() && !allowed[r]) continue;
    all.emplace_back(kernels::Active().l2_squared(q, &data.vectors[r * kDims], kDims), r);
  }
  std::partial_sort(all.begin(), all.begin() + std::min(k, all.size()), all.end());
  std::vector<uint32_t> out;
  for (size_t i = 0; i < std::min(k, all.size()); ++i) out.push_back(all[i].second);
  return out;
}

class HnswRecall : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937 rng(17);
    data_.rows = 4000;
    data_.vectors = Clustered(data_.rows, &rng);
    queries_ = Clustered(100, &rng);
    graph_ = std::make_unique<HnswGraph>(HnswGraph::Build(data_, {16, 100, 7}));
  }

  double Recall(size_t ef, std::span<const uint8_t> allowed, bool two_hop = false) {
    HnswSearchContext context;
    size_t hits = 0, total = 0;
    for (size_t q = 0; q < 100; ++q) {
      const float* query = &queries_[q * kDims];
      Query distance;
      distance.data = &data_;
      distance.q = query;
      const auto truth = BruteForce(data_, query, 10, allowed);
      const auto found = graph_->Search(distance, 10, ef, allowed, &context, two_hop);
      std::set<uint32_t> got;
      for (const ScoredRow& r : found) {
        EXPECT_TRUE(allowed.empty() || allowed[r.row]) << "a filtered-out row came back";
        got.insert(r.row);
      }
      for (size_t i = 1; i < found.size(); ++i) EXPECT_LE(found[i - 1].distance, found[i].distance);
      for (uint32_t t : truth) hits += got.count(t);
      total += truth.size();
    }
    return double(hits) / double(total);
  }

  Data data_;
  std::vector<float> queries_;
  std::unique_ptr<HnswGraph> graph_;
};

// Gaussian blobs in 24 dimensions are a hard case (distances concentrate):
// on this exact data hnswlib 0.6.2 (M 16, ef_construction 100) reaches
// recall@10 0.884 at ef 64 and 1.000 at ef 256; ours 0.870 and 1.000.
TEST_F(HnswRecall, FindsTheTrueNeighbours) {
  const double at64 = Recall(64, {}), at256 = Recall(256, {});
  EXPECT_GE(at64, 0.83);
  EXPECT_GE(at256, 0.98);
  EXPECT_GE(at256, at64) << "a wider search is not worse";
}

TEST_F(HnswRecall, FilteredSearchKeepsRecallAndNeverReturnsRejectedRows) {
  for (int percent : {50, 10}) {
    std::vector<uint8_t> allowed(data_.rows);
    std::mt19937 rng(percent);
    for (auto& a : allowed) a = static_cast<int>(rng() % 100) < percent;
    EXPECT_GE(Recall(128, allowed), 0.95) << percent << "% of rows allowed";
  }
}

TEST_F(HnswRecall, TwoHopWalkKeepsRecallUnderSelectiveFilters) {
  // Rejected rows are stepped over, not measured: the admitted rows among
  // their links must still be reached.
  for (int percent : {30, 10}) {
    std::vector<uint8_t> allowed(data_.rows);
    std::mt19937 rng(percent);
    for (auto& a : allowed) a = static_cast<int>(rng() % 100) < percent;
    EXPECT_GE(Recall(128, allowed, /*two_hop=*/true), 0.95) << percent << "% of rows allowed";
  }
}

TEST_F(HnswRecall, GraphRespectsDegreeBoundsAndHasNoSelfLinks) {
  for (uint32_t row = 0; row < data_.rows; ++row) {
    const auto links = graph_->Links(row, 0);
    EXPECT_LE(links.size(), 32u);
    EXPECT_GT(links.size(), 0u) << "row " << row << " is unreachable";
    for (uint32_t l : links) EXPECT_NE(l, row);
  }
  EXPECT_GE(graph_->max_level(), 1);
}

TEST(Hnsw, EmptyAndTinyGraphs) {
  Data empty;
  HnswGraph none = HnswGraph::Build(empty, {});
  HnswSearchContext context;
  Query q;
  q.data = &empty;
  float zero[kDims] = {};
  q.q = zero;
  EXPECT_TRUE(none.Search(q, 5, 10, {}, &context).empty());
  Data one;
  one.rows = 1;
  one.vectors.assign(kDims, 1.0f);
  HnswGraph single = HnswGraph::Build(one, {});
  q.data = &one;
  auto found = single.Search(q, 5, 10, {}, &context);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].row, 0u);
}

}  // namespace
}  // namespace quiver::index
