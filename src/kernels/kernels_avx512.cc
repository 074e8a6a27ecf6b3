// AVX-512F (compiled with -mavx512f -mfma -mpopcnt; used only when cpuid says
// so). Masked loads handle the tail without a scalar loop.

#include <immintrin.h>

#include <cstring>

#include "kernels/kernels.h"

namespace quiver::kernels {
namespace {

// Sum of the 16 lanes, folded within the register. The all-ones maskz_
// forms avoid GCC 12's _mm512_undefined_* (which trips -Wuninitialized in
// its own header, even through _mm512_reduce_add_ps and the 512->256 casts).
inline float ReduceAdd(__m512 v) {
  constexpr __mmask16 kAll = 0xFFFF;
  v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(kAll, v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(kAll, v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  v = _mm512_add_ps(v, _mm512_maskz_permute_ps(kAll, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_maskz_permute_ps(kAll, v, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_cvtss_f32(v);
}

inline __mmask16 TailMask(size_t remaining) {
  return static_cast<__mmask16>((1u << remaining) - 1u);
}

float L2Squared(const float* a, const float* b, size_t dims) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= dims; i += 64) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
    const __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
    const __m512 d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
    s0 = _mm512_fmadd_ps(d0, d0, s0);
    s1 = _mm512_fmadd_ps(d1, d1, s1);
    s2 = _mm512_fmadd_ps(d2, d2, s2);
    s3 = _mm512_fmadd_ps(d3, d3, s3);
  }
  for (; i + 16 <= dims; i += 16) {
    const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    s0 = _mm512_fmadd_ps(d, d, s0);
  }
  if (i < dims) {
    const __mmask16 m = TailMask(dims - i);
    const __m512 d =
        _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
    s1 = _mm512_fmadd_ps(d, d, s1);
  }
  return ReduceAdd(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

float InnerProduct(const float* a, const float* b, size_t dims) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= dims; i += 64) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
    s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
  }
  for (; i + 16 <= dims; i += 16) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  }
  if (i < dims) {
    const __mmask16 m = TailMask(dims - i);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
  }
  return ReduceAdd(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

void DotAndNorms(const float* a, const float* b, size_t dims, float* dot, float* norm_a,
                 float* norm_b) {
  __m512 d = _mm512_setzero_ps(), na = _mm512_setzero_ps(), nb = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= dims; i += 16) {
    const __m512 x = _mm512_loadu_ps(a + i), y = _mm512_loadu_ps(b + i);
    d = _mm512_fmadd_ps(x, y, d);
    na = _mm512_fmadd_ps(x, x, na);
    nb = _mm512_fmadd_ps(y, y, nb);
  }
  if (i < dims) {
    const __mmask16 m = TailMask(dims - i);
    const __m512 x = _mm512_maskz_loadu_ps(m, a + i), y = _mm512_maskz_loadu_ps(m, b + i);
    d = _mm512_fmadd_ps(x, y, d);
    na = _mm512_fmadd_ps(x, x, na);
    nb = _mm512_fmadd_ps(y, y, nb);
  }
  *dot = ReduceAdd(d);
  *norm_a = ReduceAdd(na);
  *norm_b = ReduceAdd(nb);
}

uint64_t Hamming(const uint64_t* a, const uint64_t* b, size_t words) {
  uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  size_t i = 0;
  for (; i + 4 <= words; i += 4) {
    c0 += static_cast<uint64_t>(_mm_popcnt_u64(a[i] ^ b[i]));
    c1 += static_cast<uint64_t>(_mm_popcnt_u64(a[i + 1] ^ b[i + 1]));
    c2 += static_cast<uint64_t>(_mm_popcnt_u64(a[i + 2] ^ b[i + 2]));
    c3 += static_cast<uint64_t>(_mm_popcnt_u64(a[i + 3] ^ b[i + 3]));
  }
  for (; i < words; ++i) c0 += static_cast<uint64_t>(_mm_popcnt_u64(a[i] ^ b[i]));
  return c0 + c1 + c2 + c3;
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

// 16 codes widened to floats.
inline __m512 LoadCodes16(const uint8_t* codes) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes));
  constexpr __mmask16 kAll = 0xFFFF;  // maskz_ forms: see ReduceAdd
  return _mm512_maskz_cvtepi32_ps(kAll, _mm512_maskz_cvtepu8_epi32(kAll, bytes));
}

// The last `n` < 16 codes, zero-extended (byte-masked loads need AVX-512BW).
inline __m512 LoadCodesTail(const uint8_t* codes, size_t n) {
  uint8_t tail[16] = {};
  std::memcpy(tail, codes, n);
  return LoadCodes16(tail);
}

float Sq8WeightedL2(const float* q, const float* w, const uint8_t* codes, size_t dims) {
  __m512 s0 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= dims; i += 16) {
    const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(q + i), LoadCodes16(codes + i));
    s0 = _mm512_fmadd_ps(_mm512_mul_ps(d, d), _mm512_loadu_ps(w + i), s0);
  }
  if (i < dims) {
    const __mmask16 m = TailMask(dims - i);
    const __m512 d =
        _mm512_sub_ps(_mm512_maskz_loadu_ps(m, q + i), LoadCodesTail(codes + i, dims - i));
    s0 = _mm512_fmadd_ps(_mm512_mul_ps(d, d), _mm512_maskz_loadu_ps(m, w + i), s0);
  }
  return ReduceAdd(s0);
}

float Sq8Dot(const float* q, const uint8_t* codes, size_t dims) {
  __m512 s0 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= dims; i += 16)
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), LoadCodes16(codes + i), s0);
  if (i < dims) {
    const __mmask16 m = TailMask(dims - i);
    s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), LoadCodesTail(codes + i, dims - i), s0);
  }
  return ReduceAdd(s0);
}

}  // namespace

const KernelSet kAvx512 = {"avx512", L2Squared,  InnerProduct,  DotAndNorms,
                           Hamming,  AndOrCount, Sq8WeightedL2, Sq8Dot};

}  // namespace quiver::kernels
