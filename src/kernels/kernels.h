#pragma once

// Distance kernels, compiled once per instruction set and chosen at run time,
// so one binary runs on every x86-64 CPU at the best speed it offers.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace quiver::kernels {

// One instruction set's kernels. Every function is pure and thread-safe.
struct KernelSet {
  const char* name;  // "avx512", "avx2", "portable"
  float (*l2_squared)(const float* a, const float* b, size_t dims);
  float (*inner_product)(const float* a, const float* b, size_t dims);
  // Dot product and both squared norms in one pass (cosine).
  void (*dot_and_norms)(const float* a, const float* b, size_t dims, float* dot, float* norm_a,
                        float* norm_b);
  // Bits that differ between two packed bit vectors of `words` 64-bit words.
  uint64_t (*hamming)(const uint64_t* a, const uint64_t* b, size_t words);
  // Population counts of a & b and a | b (Jaccard / Tanimoto).
  void (*and_or_count)(const uint64_t* a, const uint64_t* b, size_t words, uint64_t* and_bits,
                       uint64_t* or_bits);
  // 8-bit codes (scalar quantization): sum of w[i] * (q[i] - codes[i])^2,
  // and sum of q[i] * codes[i].
  float (*sq8_weighted_l2)(const float* q, const float* w, const uint8_t* codes, size_t dims);
  float (*sq8_dot)(const float* q, const uint8_t* codes, size_t dims);
};

// The set in use, chosen once: the first of Supported(), or the one named by
// the environment variable QUIVER_KERNELS when this CPU supports it.
const KernelSet& Active();
// Every set this CPU can run (cpuid), preferred first (for tests and benchmarks).
std::vector<const KernelSet*> Supported();

// Dot product of two sparse vectors given as indices sorted ascending with
// their values; indices present in only one side contribute nothing.
float SparseDot(std::span<const uint32_t> a_indices, std::span<const float> a_values,
                std::span<const uint32_t> b_indices, std::span<const float> b_values);

// 1 - |a & b| / |a | b|; 0 when both are empty.
float JaccardDistance(const KernelSet& set, const uint64_t* a, const uint64_t* b, size_t words);

// The sets themselves (defined in their own files, each compiled for its ISA).
extern const KernelSet kPortable;
extern const KernelSet kAvx2;
extern const KernelSet kAvx512;

}  // namespace quiver::kernels
