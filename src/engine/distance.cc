#include "engine/distance.h"

#include <cmath>

#include "kernels/kernels.h"

namespace quiver {

float L2Squared(const float* a, const float* b, size_t dims) {
  return kernels::Active().l2_squared(a, b, dims);
}

float InnerProduct(const float* a, const float* b, size_t dims) {
  return kernels::Active().inner_product(a, b, dims);
}

void DotAndNorms(const float* a, const float* b, size_t dims, float* dot, float* norm_a,
                 float* norm_b) {
  kernels::Active().dot_and_norms(a, b, dims, dot, norm_a, norm_b);
}

float Distance(Metric metric, const float* a, const float* b, size_t dims) {
  const kernels::KernelSet& k = kernels::Active();
  switch (metric) {
    case Metric::kDotProduct:
      return -k.inner_product(a, b, dims);
    case Metric::kCosine: {
      float dot, na, nb;
      k.dot_and_norms(a, b, dims, &dot, &na, &nb);
      if (na == 0 || nb == 0) return 1.0f;
      return 1.0f - dot / (std::sqrt(na) * std::sqrt(nb));
    }
    case Metric::kEuclidean:
    case Metric::kNone:
    case Metric::kHamming:  // binary metrics never reach float vectors (schema rule)
    case Metric::kJaccard:
      return k.l2_squared(a, b, dims);
  }
  return k.l2_squared(a, b, dims);
}

float BinaryDistance(Metric metric, const uint64_t* a, const uint64_t* b, size_t words) {
  const kernels::KernelSet& k = kernels::Active();
  if (metric == Metric::kJaccard) return kernels::JaccardDistance(k, a, b, words);
  return static_cast<float>(k.hamming(a, b, words));
}

}  // namespace quiver
