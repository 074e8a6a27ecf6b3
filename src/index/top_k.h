#pragma once

// The one top-k of every search path: the k nearest of the (distance, row)
// pairs offered, where equal distances are ordered by a caller's row order
// (the table passes primary-key order, so "ties go to the smaller primary
// key" holds whichever path — exact scan, graph walk, re-rank — found them).

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

namespace quiver::index {

struct ScoredRow {
  float distance;
  uint32_t row;
};

// "Row a comes before row b" among rows at equal distance.
using RowOrder = std::function<bool(uint32_t a, uint32_t b)>;

// Not thread-safe; one per search.
class TopK {
 public:
  // `tie` (may be null: by row number) must outlive the TopK.
  TopK(size_t k, const RowOrder* tie) : k_(k), tie_(tie) { heap_.reserve(k); }

  // Whether a comes before b in the result: nearer, then by the row order.
  bool Before(const ScoredRow& a, const ScoredRow& b) const {
    if (a.distance != b.distance) return a.distance < b.distance;
    return tie_ != nullptr ? (*tie_)(a.row, b.row) : a.row < b.row;
  }
  // Whether a row at `distance` could still enter (cheap: no tie check, so
  // an equal distance is admitted and Push decides).
  bool MayAdmit(float distance) const {
    return k_ > 0 && (heap_.size() < k_ || distance <= heap_.front().distance);
  }
  void Push(float distance, uint32_t row) {
    const ScoredRow candidate{distance, row};
    auto worse_on_top = [this](const ScoredRow& a, const ScoredRow& b) { return Before(a, b); };
    if (heap_.size() < k_) {
      heap_.push_back(candidate);
      std::push_heap(heap_.begin(), heap_.end(), worse_on_top);
    } else if (k_ > 0 && Before(candidate, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), worse_on_top);
      heap_.back() = candidate;
      std::push_heap(heap_.begin(), heap_.end(), worse_on_top);
    }
  }
  size_t size() const { return heap_.size(); }
  // The kept rows, nearest first; the TopK is empty afterwards.
  std::vector<ScoredRow> Take() {
    std::sort(heap_.begin(), heap_.end(),
              [this](const ScoredRow& a, const ScoredRow& b) { return Before(a, b); });
    return std::move(heap_);
  }

 private:
  size_t k_;
  const RowOrder* tie_;
  std::vector<ScoredRow> heap_;  // a max-heap under Before: the last kept on top
};

// The k first of `rows` under TopK's order.
inline std::vector<ScoredRow> FirstK(const std::vector<ScoredRow>& rows, size_t k,
                                     const RowOrder* tie) {
  TopK top(k, tie);
  for (const ScoredRow& r : rows) top.Push(r.distance, r.row);
  return top.Take();
}

}  // namespace quiver::index
