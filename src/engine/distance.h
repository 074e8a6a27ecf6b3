#pragma once

#include <cstddef>
#include <cstdint>

#include "schema/types.h"

namespace quiver {

// Float distances through the kernel set this CPU runs best
// (kernels/kernels.h: AVX-512, AVX2 or portable, chosen once at run time).
float L2Squared(const float* a, const float* b, size_t dims);
float InnerProduct(const float* a, const float* b, size_t dims);
// Dot product and squared norms in one pass (for cosine).
void DotAndNorms(const float* a, const float* b, size_t dims, float* dot, float* norm_a,
                 float* norm_b);

// Distance under a metric, smaller = nearer, as Epsilla reports it:
// EUCLIDEAN squared L2, DOT_PRODUCT -dot, COSINE 1 - cos (1 when a norm is 0).
float Distance(Metric metric, const float* a, const float* b, size_t dims);

// Distance between packed binary vectors: HAMMING counts differing bits,
// JACCARD is 1 - |a & b| / |a | b| (0 for two empty vectors).
float BinaryDistance(Metric metric, const uint64_t* a, const uint64_t* b, size_t words);

}  // namespace quiver
