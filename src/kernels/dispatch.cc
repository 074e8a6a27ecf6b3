#include <cstdlib>
#include <cstring>

#include "kernels/kernels.h"

namespace quiver::kernels {
namespace {

bool HasAvx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("popcnt");
}
bool HasAvx2() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("popcnt");
}

}  // namespace

// AVX2 comes before AVX-512: on the Xeons we measured (docs/BENCHMARKS.md)
// the AVX2 kernels were as fast or faster at every dimension (a cheaper
// horizontal sum, no frequency drop). QUIVER_KERNELS=avx512|avx2|portable
// picks another supported set.
std::vector<const KernelSet*> Supported() {
  std::vector<const KernelSet*> sets;
  if (HasAvx2()) sets.push_back(&kAvx2);
  if (HasAvx512()) sets.push_back(&kAvx512);
  sets.push_back(&kPortable);
  return sets;
}

const KernelSet& Active() {
  static const KernelSet* const active = [] {
    const auto sets = Supported();
    if (const char* wanted = std::getenv("QUIVER_KERNELS")) {
      for (const KernelSet* set : sets) {
        if (std::strcmp(set->name, wanted) == 0) return set;
      }
    }
    return sets.front();
  }();
  return *active;
}

float SparseDot(std::span<const uint32_t> a_indices, std::span<const float> a_values,
                std::span<const uint32_t> b_indices, std::span<const float> b_values) {
  float sum = 0;
  size_t i = 0, j = 0;
  while (i < a_indices.size() && j < b_indices.size()) {
    if (a_indices[i] < b_indices[j]) {
      ++i;
    } else if (b_indices[j] < a_indices[i]) {
      ++j;
    } else {
      sum += a_values[i++] * b_values[j++];
    }
  }
  return sum;
}

float JaccardDistance(const KernelSet& set, const uint64_t* a, const uint64_t* b, size_t words) {
  uint64_t both, either;
  set.and_or_count(a, b, words, &both, &either);
  if (either == 0) return 0.0f;
  return 1.0f - static_cast<float>(both) / static_cast<float>(either);
}

}  // namespace quiver::kernels
