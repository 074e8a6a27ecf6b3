// Baseline x86-64 (or any CPU): plain loops with independent accumulators.

#include "kernels/kernels.h"

namespace quiver::kernels {
namespace {

float L2Squared(const float* a, const float* b, size_t dims) {
  float acc[8] = {};
  size_t i = 0;
  for (; i + 8 <= dims; i += 8) {
    for (size_t j = 0; j < 8; ++j) {
      const float d = a[i + j] - b[i + j];
      acc[j] += d * d;
    }
  }
  float sum = 0;
  for (float x : acc) sum += x;
  for (; i < dims; ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return sum;
}

float InnerProduct(const float* a, const float* b, size_t dims) {
  float acc[8] = {};
  size_t i = 0;
  for (; i + 8 <= dims; i += 8) {
    for (size_t j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float sum = 0;
  for (float x : acc) sum += x;
  for (; i < dims; ++i) sum += a[i] * b[i];
  return sum;
}

void DotAndNorms(const float* a, const float* b, size_t dims, float* dot, float* norm_a,
                 float* norm_b) {
  float d = 0, na = 0, nb = 0;
  for (size_t i = 0; i < dims; ++i) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  *dot = d;
  *norm_a = na;
  *norm_b = nb;
}

uint64_t Hamming(const uint64_t* a, const uint64_t* b, size_t words) {
  uint64_t bits = 0;
  for (size_t i = 0; i < words; ++i)
    bits += static_cast<uint64_t>(__builtin_popcountll(a[i] ^ b[i]));
  return bits;
}

void AndOrCount(const uint64_t* a, const uint64_t* b, size_t words, uint64_t* and_bits,
                uint64_t* or_bits) {
  uint64_t x = 0, y = 0;
  for (size_t i = 0; i < words; ++i) {
    x += static_cast<uint64_t>(__builtin_popcountll(a[i] & b[i]));
    y += static_cast<uint64_t>(__builtin_popcountll(a[i] | b[i]));
  }
  *and_bits = x;
  *or_bits = y;
}

float Sq8WeightedL2(const float* q, const float* w, const uint8_t* codes, size_t dims) {
  float sum = 0;
  for (size_t i = 0; i < dims; ++i) {
    const float d = q[i] - static_cast<float>(codes[i]);
    sum += w[i] * d * d;
  }
  return sum;
}

float Sq8Dot(const float* q, const uint8_t* codes, size_t dims) {
  float sum = 0;
  for (size_t i = 0; i < dims; ++i) sum += q[i] * static_cast<float>(codes[i]);
  return sum;
}

}  // namespace

const KernelSet kPortable = {"portable", L2Squared,  InnerProduct,  DotAndNorms,
                             Hamming,    AndOrCount, Sq8WeightedL2, Sq8Dot};

}  // namespace quiver::kernels
