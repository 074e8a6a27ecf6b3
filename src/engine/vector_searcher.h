#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "index/top_k.h"
#include "schema/types.h"

namespace quiver {

using Neighbor = index::ScoredRow;

// What a search may return: `allowed` (when set) has one byte per row, 1 for
// rows that passed the filter and are not deleted; `accept` (when set) is
// asked about each candidate with its distance (for @distance filters).
struct SearchFilter {
  std::span<const uint8_t> allowed;
  const std::function<bool(uint32_t row, float distance)>* accept = nullptr;
};

// Orders neighbours nearest first; ties go to the smaller tie key (the
// table passes a primary-key order so results are deterministic).
using TieBreak = index::RowOrder;

// The search path's plug-in point: exact scan now, ANN indexes later. An
// implementation sees vectors only through what it was built over and gets
// the filter passed in. Search is const and thread-safe.
class VectorSearcher {
 public:
  virtual ~VectorSearcher() = default;
  virtual std::vector<Neighbor> Search(std::span<const float> query, size_t k,
                                       const SearchFilter& filter, const TieBreak& tie) const = 0;
};

// Brute force over rows [0, rows): float vectors (rows * dims floats) or
// binary vectors (rows * words 64-bit words; the query then holds one 0 or 1
// per bit).
class ExactSearcher final : public VectorSearcher {
 public:
  ExactSearcher(const float* vectors, size_t rows, size_t dims, Metric metric)
      : vectors_(vectors), rows_(rows), width_(dims), metric_(metric) {}
  ExactSearcher(const uint64_t* bits, size_t rows, size_t words, Metric metric)
      : bits_(bits), rows_(rows), width_(words), metric_(metric) {}

  std::vector<Neighbor> Search(std::span<const float> query, size_t k, const SearchFilter& filter,
                               const TieBreak& tie) const override;

 private:
  const float* vectors_ = nullptr;
  const uint64_t* bits_ = nullptr;
  size_t rows_;
  size_t width_;  // floats or words per row
  Metric metric_;
};

}  // namespace quiver
