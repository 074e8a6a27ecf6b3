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
      const uint64_t* x = v_.bits + a * words_;
      const uint64_t* y = v_.bits + b * words_;
      if (v_.metric == Metric::kJaccard) return kernels::JaccardDistance(k_, x, y, words_);
      return static_cast<float>(k_.hamming(x, y, words_));
    }
    const float* x = v_.floats + size_t{a} * v_.dims;
    const float* y = v_.floats + size_t{b} * v_.dims;
    switch (v_.metric) {
      case Metric::kDotProduct:
        return -k_.inner_product(x, y, v_.dims);
      case Metric::kCosine:
        return 1.0f - k_.inner_product(x, y, v_.dims) * inv_[a] * inv_[b];
      default:
        return k_.l2_squared(x, y, v_.dims);
    }
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
    if (v.metric == Metric::kCosine) {
      const float norm = std::sqrt(k_.inner_product(q, q, v.dims));
      inv_q_ = norm > 0 ? 1.0f / norm : 0.0f;
    }
  }
  float To(uint32_t row) const override {
    const float* x = v_.floats + size_t{row} * v_.dims;
    switch (v_.metric) {
      case Metric::kDotProduct:
        return -k_.inner_product(q_, x, v_.dims);
      case Metric::kCosine: {
        if (!inv_.empty()) return 1.0f - k_.inner_product(q_, x, v_.dims) * inv_q_ * inv_[row];
        const float norm = std::sqrt(k_.inner_product(x, x, v_.dims));
        return 1.0f - k_.inner_product(q_, x, v_.dims) * inv_q_ * (norm > 0 ? 1.0f / norm : 0.0f);
      }
      default:
        return k_.l2_squared(q_, x, v_.dims);
    }
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
    const uint64_t* x = v_.bits + row * words_;
    if (v_.metric == Metric::kJaccard) return kernels::JaccardDistance(k_, q_, x, words_);
    return static_cast<float>(k_.hamming(q_, x, words_));
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
