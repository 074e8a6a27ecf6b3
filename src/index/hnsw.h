#pragma once

// Hierarchical navigable small-world graph (Malkov & Yashunin, 2016), built
// over rows 0..n-1 of vectors it never sees: distances come through the two
// interfaces below, owned by the caller. The filter enters the traversal as
// a bitmap; scratch space lives in a per-thread context. The graph owns
// neither the vectors nor any threads.

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <vector>

namespace quiver::index {

// Distances between stored rows (used while building).
class RowDistance {
 public:
  virtual ~RowDistance() = default;
  virtual size_t size() const = 0;
  virtual float Between(uint32_t a, uint32_t b) const = 0;
};

// Distances from one query to stored rows (used while searching).
class QueryDistance {
 public:
  virtual ~QueryDistance() = default;
  virtual float To(uint32_t row) const = 0;
};

struct HnswParams {
  uint32_t m = 16;                 // links per node on upper levels; 2m on level 0
  uint32_t ef_construction = 200;  // candidate list size while inserting
  uint64_t seed = 42;              // level assignment
};

struct ScoredRow {
  float distance;
  uint32_t row;
};

// Scratch for one searching thread, reused across searches. Not thread-safe.
class HnswSearchContext {
 public:
  HnswSearchContext() = default;

 private:
  friend class HnswGraph;
  // visited_[row] == epoch_ marks rows seen by the current search.
  std::vector<uint32_t> visited_;
  uint32_t epoch_ = 0;
  void Begin(size_t rows);
  bool Visit(uint32_t row);  // true the first time a row is seen
};

// Built once, then searched concurrently (const); each thread passes its own
// HnswSearchContext.
class HnswGraph {
 public:
  static HnswGraph Build(const RowDistance& rows, const HnswParams& params);

  // The k nearest rows that `allowed` admits (empty span: every row),
  // nearest first, exploring with a candidate list of max(ef, k). Rows the
  // filter rejects are still traversed, so the graph stays connected.
  std::vector<ScoredRow> Search(const QueryDistance& query, size_t k, size_t ef,
                                std::span<const uint8_t> allowed, HnswSearchContext* context) const;

  size_t size() const { return levels_.size(); }
  int max_level() const { return max_level_; }
  // Links of `row` on `level` (tests and index files).
  std::span<const uint32_t> Links(uint32_t row, int level) const;

 private:
  HnswGraph() = default;
  void Insert(uint32_t row, const RowDistance& rows, HnswSearchContext* context);
  template <typename DistanceTo>
  std::vector<ScoredRow> SearchLayer(DistanceTo&& distance_to, const std::vector<ScoredRow>& entry,
                                     size_t ef, int level, std::span<const uint8_t> allowed,
                                     HnswSearchContext* context) const;
  std::vector<uint32_t> SelectNeighbors(std::vector<ScoredRow> candidates, size_t limit,
                                        const RowDistance& rows) const;
  // Replaces the links of `row` on `level`.
  void SetLinks(uint32_t row, int level, const std::vector<uint32_t>& links);

  HnswParams params_;
  std::vector<uint8_t> levels_;  // top level of each row
  // Level 0, the one every search walks, is one contiguous array: row r's
  // links are links0_[r * capacity0_ .. + count0_[r]).
  size_t capacity0_ = 0;
  std::vector<uint32_t> links0_;
  std::vector<uint16_t> count0_;
  std::vector<std::vector<std::vector<uint32_t>>> upper_;  // upper_[row][level - 1]
  uint32_t entry_ = 0;
  int max_level_ = -1;
  std::mt19937_64 rng_;
};

}  // namespace quiver::index
