#pragma once

// Hierarchical navigable small-world graph (Malkov & Yashunin, 2016), built
// over rows 0..n-1 of vectors it never sees: distances come through the two
// interfaces below, owned by the caller. The filter enters the traversal as
// a bitmap; scratch space lives in a per-thread context. The graph owns
// neither the vectors nor any threads.

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/status.h"
#include "index/top_k.h"

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
  // A hint that To(row) comes soon (the vector can be fetched meanwhile).
  virtual void Prefetch(uint32_t /*row*/) const {}
};

struct HnswParams {
  uint32_t m = 16;                 // links per node on upper levels; 2m on level 0
  uint32_t ef_construction = 200;  // candidate list size while inserting
  uint64_t seed = 42;              // level assignment
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
  std::vector<uint32_t> next_rows_;  // rows to measure from the current node
  void Begin(size_t rows);
  bool Visit(uint32_t row);  // true the first time a row is seen
};

// The graph as flat arrays, as an index file stores them (docs/FORMATS.md,
// "Index files"). Level 0 holds, per row, a count and then capacity0 slots;
// `upper` holds, for each row above level 0 in row order and each of its
// levels 1..L, a count and then m slots.
struct HnswLayout {
  uint32_t m = 0;
  uint32_t entry = 0;
  int32_t max_level = -1;
  std::span<const uint8_t> levels;   // top level of each row
  std::span<const uint32_t> level0;  // rows * (2m + 1)
  std::span<const uint32_t> upper;
};

// Built once, then searched concurrently (const); each thread passes its own
// HnswSearchContext.
class HnswGraph {
 public:
  // `stop` (when set) is polled; once true, Build returns early with a
  // partial graph the caller must discard.
  static HnswGraph Build(const RowDistance& rows, const HnswParams& params,
                         const std::atomic<bool>* stop = nullptr);
  // A graph over arrays someone else owns (a mapped index file), kept alive
  // by `backing`. Checks every count and link, so a graph that loads is safe
  // to walk.
  static Result<HnswGraph> FromLayout(const HnswLayout& layout,
                                      std::shared_ptr<const void> backing);
  HnswLayout layout() const;

  HnswGraph(HnswGraph&&) = default;
  HnswGraph& operator=(HnswGraph&&) = default;

  // The k nearest rows that `allowed` admits (empty span: every row),
  // nearest first, exploring with a candidate list of max(ef, k). Rows the
  // filter rejects are still traversed, so the graph stays connected; with
  // `two_hop` (for selective filters) they are not measured: the walk goes
  // through them to the admitted rows among their links.
  std::vector<ScoredRow> Search(const QueryDistance& query, size_t k, size_t ef,
                                std::span<const uint8_t> allowed, HnswSearchContext* context,
                                bool two_hop = false) const;

  size_t size() const { return levels_.size(); }
  uint32_t m() const { return m_; }
  int max_level() const { return max_level_; }
  // Links of `row` on `level` (tests and index files).
  std::span<const uint32_t> Links(uint32_t row, int level) const;

 private:
  HnswGraph() = default;
  void Insert(uint32_t row, const RowDistance& rows, HnswSearchContext* context);
  // Where each row's upper levels start in upper_ (rows above level 0 only).
  void IndexUpperLevels();
  template <typename DistanceTo, typename Prefetch>
  std::vector<ScoredRow> SearchLayer(DistanceTo&& distance_to, Prefetch&& prefetch,
                                     const std::vector<ScoredRow>& entry, size_t ef, int level,
                                     std::span<const uint8_t> allowed, HnswSearchContext* context,
                                     bool two_hop = false) const;
  std::vector<uint32_t> SelectNeighbors(std::vector<ScoredRow> candidates, size_t limit,
                                        const RowDistance& rows) const;
  // Replaces the links of `row` on `level`.
  void SetLinks(uint32_t row, int level, const std::vector<uint32_t>& links);

  uint32_t m_ = 16;
  uint32_t ef_construction_ = 200;
  // The arrays of HnswLayout, owned (built here) or borrowed (mapped).
  std::span<const uint8_t> levels_;
  std::span<const uint32_t> level0_;  // per row: count, then 2m slots
  std::span<const uint32_t> upper_;
  size_t stride0_ = 0;                 // 2m + 1
  std::vector<uint32_t> upper_start_;  // per row; meaningful when levels_[row] > 0
  std::vector<uint8_t> owned_levels_;
  std::vector<uint32_t> owned_level0_, owned_upper_;
  std::shared_ptr<const void> backing_;
  uint32_t entry_ = 0;
  int max_level_ = -1;
};

}  // namespace quiver::index
