#include "index/distances.h"

namespace quiver::index {

std::vector<float> InverseNorms(const VectorSet& v) {
  const kernels::KernelSet& k = kernels::Active();
  std::vector<float> out(v.rows);
  for (size_t r = 0; r < v.rows; ++r) {
    const float* x = v.floats + r * v.dims;
    const float norm = std::sqrt(k.inner_product(x, x, v.dims));
    out[r] = norm > 0 ? 1.0f / norm : 0.0f;
  }
  return out;
}

}  // namespace quiver::index
