#pragma once

// The distance adapters the HNSW graph sees (index/hnsw.h): between stored
// rows while building, and from a query to rows while searching, for every
// metric over float or binary vectors, through the kernels this CPU runs.

#include <cmath>
#include <span>
#include <vector>

#include "index/hnsw.h"
#include "index/vector_index.h"
#include "kernels/kernels.h"
#include "metric/metric.h"

namespace quiver::index {

// 1 / |row| per row (0 for a zero row): COSINE distances and SQ8 codes.
std::vector<float> InverseNorms(const VectorSet& v);

// Between stored rows, while building (exact).
class RowsDistance final : public RowDistance {
 public:
  RowsDistance(const VectorSet& v, std::span<const float> inverse_norms)
      : v_(v), inv_(inverse_norms), k_(kernels::Active()), words_(BinaryWords(v.dims)) {}
  size_t size() const override { return v_.rows; }
  float Between(uint32_t a, uint32_t b) const override {
    if (v_.bits != nullptr) {
      return BinaryDistance(k_, v_.metric, v_.bits + a * words_, v_.bits + b * words_, words_);
    }
    const bool cosine = v_.metric == Metric::kCosine;
    return FloatDistance(k_, v_.metric, v_.floats + size_t{a} * v_.dims,
                         v_.floats + size_t{b} * v_.dims, v_.dims, cosine ? inv_[a] : 0,
                         cosine ? inv_[b] : 0);
  }

 private:
  const VectorSet v_;
  std::span<const float> inv_;
  const kernels::KernelSet& k_;
  size_t words_;
};

inline void PrefetchLines(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (size_t at = 0; at < bytes && at < 256; at += 64) __builtin_prefetch(c + at);
}

// From a query to float rows (exact). COSINE uses the rows' inverse norms
// when given, else computes them.
class FloatQuery final : public QueryDistance {
 public:
  FloatQuery(const VectorSet& v, const float* q, std::span<const float> inverse_norms)
      : v_(v), q_(q), inv_(inverse_norms), k_(kernels::Active()) {
    if (v.metric == Metric::kCosine) inv_q_ = InverseNorm(k_, q, v.dims);
  }
  float To(uint32_t row) const override {
    const float* x = v_.floats + size_t{row} * v_.dims;
    float inv_row = 0;
    if (v_.metric == Metric::kCosine)
      inv_row = inv_.empty() ? InverseNorm(k_, x, v_.dims) : inv_[row];
    return FloatDistance(k_, v_.metric, q_, x, v_.dims, inv_q_, inv_row);
  }
  void Prefetch(uint32_t row) const override {
    PrefetchLines(v_.floats + size_t{row} * v_.dims, v_.dims * sizeof(float));
  }

 private:
  const VectorSet v_;
  const float* q_;
  std::span<const float> inv_;
  const kernels::KernelSet& k_;
  float inv_q_ = 0;
};

class BinaryQuery final : public QueryDistance {
 public:
  BinaryQuery(const VectorSet& v, const uint64_t* q)
      : v_(v), q_(q), k_(kernels::Active()), words_(BinaryWords(v.dims)) {}
  float To(uint32_t row) const override {
    return BinaryDistance(k_, v_.metric, q_, v_.bits + row * words_, words_);
  }
  void Prefetch(uint32_t row) const override {
    PrefetchLines(v_.bits + row * words_, words_ * sizeof(uint64_t));
  }

 private:
  const VectorSet v_;
  const uint64_t* q_;
  const kernels::KernelSet& k_;
  size_t words_;
};

}  // namespace quiver::index
