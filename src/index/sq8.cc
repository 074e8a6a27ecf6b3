#include "index/sq8.h"

#include <algorithm>

namespace quiver::index {

// Per-dimension ranges and codes of the (normalised, for COSINE) rows.
void TrainSq8(const VectorSet& v, std::span<const float> inverse_norms, std::vector<float>* min,
              std::vector<float>* step, std::vector<uint8_t>* codes) {
  const size_t d = v.dims;
  auto value = [&](size_t row, size_t i) {
    const float x = v.floats[row * d + i];
    return v.metric == Metric::kCosine ? x * inverse_norms[row] : x;
  };
  min->assign(d, INFINITY);
  std::vector<float> max(d, -INFINITY);
  for (size_t r = 0; r < v.rows; ++r) {
    for (size_t i = 0; i < d; ++i) {
      (*min)[i] = std::min((*min)[i], value(r, i));
      max[i] = std::max(max[i], value(r, i));
    }
  }
  step->resize(d);
  for (size_t i = 0; i < d; ++i) {
    if (v.rows == 0) (*min)[i] = max[i] = 0;
    (*step)[i] = (max[i] - (*min)[i]) / 255.0f;
  }
  codes->resize(v.rows * d);
  for (size_t r = 0; r < v.rows; ++r) {
    for (size_t i = 0; i < d; ++i) {
      const float s = (*step)[i];
      const float c = s > 0 ? std::round((value(r, i) - (*min)[i]) / s) : 0.0f;
      (*codes)[r * d + i] = static_cast<uint8_t>(std::clamp(c, 0.0f, 255.0f));
    }
  }
}

}  // namespace quiver::index
