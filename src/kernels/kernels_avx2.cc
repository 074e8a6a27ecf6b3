// AVX2 + FMA (compiled with -mavx2 -mfma -mpopcnt; used only when cpuid says so).

#include <immintrin.h>

#include "kernels/kernels.h"

namespace quiver::kernels {
namespace {

inline float HorizontalSum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

float L2Squared(const float* a, const float* b, size_t dims) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= dims; i += 32) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    const __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
    const __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
    s0 = _mm256_fmadd_ps(d0, d0, s0);
    s1 = _mm256_fmadd_ps(d1, d1, s1);
    s2 = _mm256_fmadd_ps(d2, d2, s2);
    s3 = _mm256_fmadd_ps(d3, d3, s3);
  }
  for (; i + 8 <= dims; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    s0 = _mm256_fmadd_ps(d, d, s0);
  }
  float sum = HorizontalSum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < dims; ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return sum;
}

float InnerProduct(const float* a, const float* b, size_t dims) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= dims; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= dims; i += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float sum = HorizontalSum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < dims; ++i) sum += a[i] * b[i];
  return sum;
}

void DotAndNorms(const float* a, const float* b, size_t dims, float* dot, float* norm_a,
                 float* norm_b) {
  __m256 d = _mm256_setzero_ps(), na = _mm256_setzero_ps(), nb = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= dims; i += 8) {
    const __m256 x = _mm256_loadu_ps(a + i), y = _mm256_loadu_ps(b + i);
    d = _mm256_fmadd_ps(x, y, d);
    na = _mm256_fmadd_ps(x, x, na);
    nb = _mm256_fmadd_ps(y, y, nb);
  }
  float sd = HorizontalSum(d), sa = HorizontalSum(na), sb = HorizontalSum(nb);
  for (; i < dims; ++i) {
    sd += a[i] * b[i];
    sa += a[i] * a[i];
    sb += b[i] * b[i];
  }
  *dot = sd;
  *norm_a = sa;
  *norm_b = sb;
}

uint64_t Hamming(const uint64_t* a, const uint64_t* b, size_t words) {
  uint64_t c0 = 0, c1 = 0;
  size_t i = 0;
  for (; i + 2 <= words; i += 2) {
    c0 += static_cast<uint64_t>(_mm_popcnt_u64(a[i] ^ b[i]));
    c1 += static_cast<uint64_t>(_mm_popcnt_u64(a[i + 1] ^ b[i + 1]));
  }
  if (i < words) c0 += static_cast<uint64_t>(_mm_popcnt_u64(a[i] ^ b[i]));
  return c0 + c1;
}

void AndOrCount(const uint64_t* a, const uint64_t* b, size_t words, uint64_t* and_bits,
                uint64_t* or_bits) {
  uint64_t x = 0, y = 0;
  for (size_t i = 0; i < words; ++i) {
    x += static_cast<uint64_t>(_mm_popcnt_u64(a[i] & b[i]));
    y += static_cast<uint64_t>(_mm_popcnt_u64(a[i] | b[i]));
  }
  *and_bits = x;
  *or_bits = y;
}

inline __m256 LoadCodes8(const uint8_t* codes) {
  const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes));
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
}

float Sq8WeightedL2(const float* q, const float* w, const uint8_t* codes, size_t dims) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= dims; i += 16) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(q + i), LoadCodes8(codes + i));
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 8), LoadCodes8(codes + i + 8));
    s0 = _mm256_fmadd_ps(_mm256_mul_ps(d0, d0), _mm256_loadu_ps(w + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_mul_ps(d1, d1), _mm256_loadu_ps(w + i + 8), s1);
  }
  for (; i + 8 <= dims; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(q + i), LoadCodes8(codes + i));
    s0 = _mm256_fmadd_ps(_mm256_mul_ps(d, d), _mm256_loadu_ps(w + i), s0);
  }
  float sum = HorizontalSum(_mm256_add_ps(s0, s1));
  for (; i < dims; ++i) {
    const float d = q[i] - static_cast<float>(codes[i]);
    sum += w[i] * d * d;
  }
  return sum;
}

float Sq8Dot(const float* q, const uint8_t* codes, size_t dims) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= dims; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), LoadCodes8(codes + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), LoadCodes8(codes + i + 8), s1);
  }
  for (; i + 8 <= dims; i += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), LoadCodes8(codes + i), s0);
  float sum = HorizontalSum(_mm256_add_ps(s0, s1));
  for (; i < dims; ++i) sum += q[i] * static_cast<float>(codes[i]);
  return sum;
}

}  // namespace

const KernelSet kAvx2 = {"avx2",  L2Squared,  InnerProduct,  DotAndNorms,
                         Hamming, AndOrCount, Sq8WeightedL2, Sq8Dot};

}  // namespace quiver::kernels
