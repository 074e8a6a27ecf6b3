#pragma once

#include <vector>

#include "engine/vector_searcher.h"
#include "index/top_k.h"

namespace quiver {

// The k nearest allowed rows of [0, rows) by `distance(row)`, nearest first,
// ties in `tie`'s order (index::TopK, the one top-k of every search path).
template <typename DistanceOfRow>
std::vector<Neighbor> TopK(size_t rows, size_t k, const SearchFilter& filter, const TieBreak& tie,
                           DistanceOfRow&& distance) {
  index::TopK top(k, &tie);
  const bool filtered = !filter.allowed.empty();
  for (size_t row = 0; row < rows; ++row) {
    if (filtered && !filter.allowed[row]) continue;
    const float d = distance(row);
    if (!top.MayAdmit(d)) continue;
    if (filter.accept != nullptr && !(*filter.accept)(static_cast<uint32_t>(row), d)) continue;
    top.Push(d, static_cast<uint32_t>(row));
  }
  return top.Take();
}

}  // namespace quiver
