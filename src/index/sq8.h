#pragma once

// HNSW_SQ8's 8-bit scalar quantizer: training the per-dimension ranges and
// codes, and the query distance over the codes the graph walks.

#include <cmath>
#include <span>
#include <vector>

#include "index/distances.h"

namespace quiver::index {

// 8-bit scalar quantization: per dimension x ~ min + code * step. For COSINE
// the codes quantize the normalised rows.
struct Sq8 {
  std::span<const float> min, step;
  std::span<const uint8_t> codes;
};

// From a query to the codes: the same distance as FloatQuery, computed on the
// decoded rows (so it is approximate).
class Sq8Query final : public QueryDistance {
 public:
  Sq8Query(const VectorSet& v, const Sq8& sq8, const float* q)
      : sq8_(sq8), dims_(v.dims), metric_(v.metric), k_(kernels::Active()), a_(v.dims) {
    std::vector<float> query(q, q + dims_);
    if (metric_ == Metric::kCosine) {
      const float inverse_norm = InverseNorm(k_, q, dims_);
      for (float& x : query) x *= inverse_norm;
    }
    if (metric_ == Metric::kEuclidean) {
      // sum (q - min - c step)^2 = sum step^2 ((q - min) / step - c)^2
      w_.resize(dims_);
      for (size_t i = 0; i < dims_; ++i) {
        const float step = sq8.step[i];
        a_[i] = step > 0 ? (query[i] - sq8.min[i]) / step : 0.0f;
        w_[i] = step * step;
        if (step == 0) constant_ += (query[i] - sq8.min[i]) * (query[i] - sq8.min[i]);
      }
    } else {
      // dot(q, min + c step) = dot(q, min) + dot(q * step, c)
      for (size_t i = 0; i < dims_; ++i) {
        a_[i] = query[i] * sq8.step[i];
        constant_ += query[i] * sq8.min[i];
      }
    }
  }
  float To(uint32_t row) const override {
    const uint8_t* c = sq8_.codes.data() + size_t{row} * dims_;
    if (metric_ == Metric::kEuclidean)
      return constant_ + k_.sq8_weighted_l2(a_.data(), w_.data(), c, dims_);
    const float dot = constant_ + k_.sq8_dot(a_.data(), c, dims_);
    return metric_ == Metric::kCosine ? 1.0f - dot : -dot;
  }
  void Prefetch(uint32_t row) const override {
    PrefetchLines(sq8_.codes.data() + size_t{row} * dims_, dims_);
  }

 private:
  const Sq8 sq8_;
  const size_t dims_;
  const Metric metric_;
  const kernels::KernelSet& k_;
  std::vector<float> a_, w_;
  float constant_ = 0;
};

// Per-dimension ranges and codes of the (normalised, for COSINE) rows.
void TrainSq8(const VectorSet& v, std::span<const float> inverse_norms, std::vector<float>* min,
              std::vector<float>* step, std::vector<uint8_t>* codes);

}  // namespace quiver::index
