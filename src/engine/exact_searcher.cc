#include <algorithm>
#include <queue>

#include "engine/top_k.h"
#include "engine/vector_searcher.h"
#include "metric/metric.h"
#include "schema/column.h"

namespace quiver {

std::vector<Neighbor> ExactSearcher::Search(std::span<const float> query, size_t k,
                                            const SearchFilter& filter, const TieBreak& tie) const {
  if (bits_ != nullptr) {
    auto packed = PackBits(query);
    if (!packed.ok() || packed->size() != width_) return {};  // the caller validated the query
    const uint64_t* q = packed->data();
    return TopK(rows_, k, filter, tie, [&](size_t row) {
      return BinaryDistance(metric_, q, bits_ + row * width_, width_);
    });
  }
  const kernels::KernelSet& kernels = kernels::Active();
  const float inverse_norm =
      metric_ == Metric::kCosine ? InverseNorm(kernels, query.data(), width_) : 0.0f;
  return TopK(rows_, k, filter, tie, [&](size_t row) {
    return ScanDistance(kernels, metric_, query.data(), inverse_norm, vectors_ + row * width_,
                        width_);
  });
}

}  // namespace quiver
