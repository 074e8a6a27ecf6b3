#include "engine/distance.h"

#include <cmath>

namespace quiver {

// Sixteen independent accumulators let the compiler vectorise the loops
// without -ffast-math (the summation order is fixed, so results are
// reproducible on every dispatch path).
#define QV_KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))

QV_KERNEL float L2Squared(const float* a, const float* b, size_t dims) {
  float acc[16] = {};
  size_t i = 0;
  for (; i + 16 <= dims; i += 16) {
    for (size_t j = 0; j < 16; ++j) {
      const float d = a[i + j] - b[i + j];
      acc[j] += d * d;
    }
  }
  float sum = 0;
  for (size_t j = 0; j < 16; ++j) sum += acc[j];
  for (; i < dims; ++i) {
    const float d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

QV_KERNEL float InnerProduct(const float* a, const float* b, size_t dims) {
  float acc[16] = {};
  size_t i = 0;
  for (; i + 16 <= dims; i += 16) {
    for (size_t j = 0; j < 16; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float sum = 0;
  for (size_t j = 0; j < 16; ++j) sum += acc[j];
  for (; i < dims; ++i) sum += a[i] * b[i];
  return sum;
}

QV_KERNEL void DotAndNorms(const float* a, const float* b, size_t dims, float* dot, float* norm_a,
                           float* norm_b) {
  float d[8] = {}, na[8] = {}, nb[8] = {};
  size_t i = 0;
  for (; i + 8 <= dims; i += 8) {
    for (size_t j = 0; j < 8; ++j) {
      d[j] += a[i + j] * b[i + j];
      na[j] += a[i + j] * a[i + j];
      nb[j] += b[i + j] * b[i + j];
    }
  }
  float sd = 0, sa = 0, sb = 0;
  for (size_t j = 0; j < 8; ++j) {
    sd += d[j];
    sa += na[j];
    sb += nb[j];
  }
  for (; i < dims; ++i) {
    sd += a[i] * b[i];
    sa += a[i] * a[i];
    sb += b[i] * b[i];
  }
  *dot = sd;
  *norm_a = sa;
  *norm_b = sb;
}

float Distance(Metric metric, const float* a, const float* b, size_t dims) {
  switch (metric) {
    case Metric::kDotProduct:
      return -InnerProduct(a, b, dims);
    case Metric::kCosine: {
      float dot, na, nb;
      DotAndNorms(a, b, dims, &dot, &na, &nb);
      if (na == 0 || nb == 0) return 1.0f;
      return 1.0f - dot / (std::sqrt(na) * std::sqrt(nb));
    }
    case Metric::kEuclidean:
    case Metric::kNone:
      return L2Squared(a, b, dims);
  }
  return L2Squared(a, b, dims);
}

}  // namespace quiver
