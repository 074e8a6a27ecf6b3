#pragma once

// What each metric means, in one place: the distance every search path
// ranks by (the engine's exact scans and re-ranks, the index adapters the
// HNSW graph walks with, the sparse scan), computed through the kernel set
// this CPU runs best (kernels/kernels.h). Smaller is nearer, as Epsilla
// reports it: EUCLIDEAN squared L2, DOT_PRODUCT -dot, COSINE 1 - cos (1
// when either norm is 0), HAMMING differing bits, JACCARD 1 - |a&b| / |a|b|
// (0 for two empty vectors), sparse DOT_PRODUCT -dot over shared indices.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/kernels.h"
#include "schema/types.h"

namespace quiver {

// 1 / |v|, or 0 for a zero vector (so COSINE gives 1 against it).
inline float InverseNorm(const kernels::KernelSet& k, const float* v, size_t dims) {
  const float norm = std::sqrt(k.inner_product(v, v, dims));
  return norm > 0 ? 1.0f / norm : 0.0f;
}

// The distance between two float vectors under `metric`, given each one's
// inverse norm (read for COSINE only): the hot-path form, for callers that
// keep the norms of stored rows.
inline float FloatDistance(const kernels::KernelSet& k, Metric metric, const float* a,
                           const float* b, size_t dims, float inverse_norm_a,
                           float inverse_norm_b) {
  switch (metric) {
    case Metric::kDotProduct:
      return -k.inner_product(a, b, dims);
    case Metric::kCosine:
      return 1.0f - k.inner_product(a, b, dims) * inverse_norm_a * inverse_norm_b;
    case Metric::kEuclidean:
    case Metric::kNone:
    case Metric::kHamming:  // binary metrics never reach float vectors (schema rule)
    case Metric::kJaccard:
      return k.l2_squared(a, b, dims);
  }
  return k.l2_squared(a, b, dims);
}

// From a query whose inverse norm is known (read for COSINE only) to a row:
// the scan form. COSINE takes the dot product and the row's norm in one
// fused pass over the row.
inline float ScanDistance(const kernels::KernelSet& k, Metric metric, const float* query,
                          float inverse_norm_query, const float* row, size_t dims) {
  if (metric != Metric::kCosine) return FloatDistance(k, metric, query, row, dims, 0, 0);
  float dot, query_norm, row_norm;
  k.dot_and_norms(query, row, dims, &dot, &query_norm, &row_norm);
  const float inverse_norm_row = row_norm > 0 ? 1.0f / std::sqrt(row_norm) : 0.0f;
  return 1.0f - dot * inverse_norm_query * inverse_norm_row;
}

// The distance between two float vectors, computing what the metric needs.
inline float Distance(Metric metric, const float* a, const float* b, size_t dims) {
  const kernels::KernelSet& k = kernels::Active();
  const float inverse_norm_a = metric == Metric::kCosine ? InverseNorm(k, a, dims) : 0.0f;
  return ScanDistance(k, metric, a, inverse_norm_a, b, dims);
}

// Between packed binary vectors of `words` 64-bit words.
inline float BinaryDistance(const kernels::KernelSet& k, Metric metric, const uint64_t* a,
                            const uint64_t* b, size_t words) {
  if (metric == Metric::kJaccard) return kernels::JaccardDistance(k, a, b, words);
  return static_cast<float>(k.hamming(a, b, words));
}

inline float BinaryDistance(Metric metric, const uint64_t* a, const uint64_t* b, size_t words) {
  return BinaryDistance(kernels::Active(), metric, a, b, words);
}

// Sparse vectors (indices ascending): DOT_PRODUCT, the only sparse metric.
inline float SparseDistance(std::span<const uint32_t> a_indices, std::span<const float> a_values,
                            std::span<const uint32_t> b_indices, std::span<const float> b_values) {
  return -kernels::SparseDot(a_indices, a_values, b_indices, b_values);
}

}  // namespace quiver
