#include "index/distances.h"

namespace quiver::index {

std::vector<float> InverseNorms(const VectorSet& v) {
  const kernels::KernelSet& k = kernels::Active();
  std::vector<float> out(v.rows);
  for (size_t r = 0; r < v.rows; ++r) {
    out[r] = InverseNorm(k, v.floats + r * v.dims, v.dims);
  }
  return out;
}

}  // namespace quiver::index
