#pragma once

#include <algorithm>
#include <queue>
#include <vector>

#include "engine/vector_searcher.h"

namespace quiver {

// The k nearest allowed rows by `distance(row)`, nearest first.
template <typename DistanceOfRow>
std::vector<Neighbor> TopK(size_t rows, size_t k, const SearchFilter& filter, const TieBreak& tie,
                           DistanceOfRow&& distance) {
  // "a before b" in result order: nearer first, then the tie key.
  auto nearer = [&tie](const Neighbor& a, const Neighbor& b) {
    if (a.distance != b.distance) return a.distance < b.distance;
    return tie(a.row, b.row);
  };
  // A max-heap of the best k so far: its top is the worst kept neighbour.
  std::priority_queue<Neighbor, std::vector<Neighbor>, decltype(nearer)> heap(nearer);
  if (k == 0) return {};
  const bool filtered = !filter.allowed.empty();
  for (size_t row = 0; row < rows; ++row) {
    if (filtered && !filter.allowed[row]) continue;
    const float d = distance(row);
    const Neighbor candidate{d, static_cast<uint32_t>(row)};
    if (heap.size() == k && !nearer(candidate, heap.top())) continue;
    if (filter.accept != nullptr && !(*filter.accept)(candidate.row, d)) continue;
    heap.push(candidate);
    if (heap.size() > k) heap.pop();
  }
  std::vector<Neighbor> out;
  out.reserve(heap.size());
  while (!heap.empty()) {
    out.push_back(heap.top());
    heap.pop();
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace quiver
