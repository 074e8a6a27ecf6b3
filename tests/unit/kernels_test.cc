// Every kernel set this CPU supports gives the scalar reference's answer.

#include "kernels/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

namespace quiver::kernels {
namespace {

class EveryKernelSet : public ::testing::TestWithParam<const KernelSet*> {};

TEST_P(EveryKernelSet, FloatKernelsMatchTheScalarReference) {
  const KernelSet& k = *GetParam();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uni(-2, 2);
  for (size_t dims :
       {1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 96, 100, 128, 129, 768, 1536}) {
    std::vector<float> a(dims), b(dims);
    for (auto& x : a) x = uni(rng);
    for (auto& x : b) x = uni(rng);
    double l2 = 0, ip = 0, na = 0, nb = 0;
    for (size_t i = 0; i < dims; ++i) {
      l2 += double(a[i] - b[i]) * (a[i] - b[i]);
      ip += double(a[i]) * b[i];
      na += double(a[i]) * a[i];
      nb += double(b[i]) * b[i];
    }
    const double tol = 1e-5 * (1 + na + nb);  // float rounding grows with magnitude
    EXPECT_NEAR(k.l2_squared(a.data(), b.data(), dims), l2, tol) << k.name << " dims " << dims;
    EXPECT_NEAR(k.inner_product(a.data(), b.data(), dims), ip, tol) << k.name << " dims " << dims;
    float dot, norm_a, norm_b;
    k.dot_and_norms(a.data(), b.data(), dims, &dot, &norm_a, &norm_b);
    EXPECT_NEAR(dot, ip, tol) << k.name;
    EXPECT_NEAR(norm_a, na, tol) << k.name;
    EXPECT_NEAR(norm_b, nb, tol) << k.name;
  }
}

TEST_P(EveryKernelSet, Sq8KernelsMatchTheScalarReference) {
  const KernelSet& k = *GetParam();
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uni(-50, 300);
  std::uniform_real_distribution<float> weight(0, 2);
  for (size_t dims : {1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 96, 100, 128, 129, 768}) {
    std::vector<float> q(dims), w(dims);
    std::vector<uint8_t> codes(dims);
    for (auto& x : q) x = uni(rng);
    for (auto& x : w) x = weight(rng);
    for (auto& c : codes) c = static_cast<uint8_t>(rng());
    double l2 = 0, dot = 0, scale = 0;
    for (size_t i = 0; i < dims; ++i) {
      const double d = double(q[i]) - codes[i];
      l2 += w[i] * d * d;
      dot += double(q[i]) * codes[i];
      scale += std::abs(double(q[i]) * codes[i]) + w[i] * (q[i] * q[i] + 65025.0);
    }
    const double tol = 1e-5 * (1 + scale);
    EXPECT_NEAR(k.sq8_weighted_l2(q.data(), w.data(), codes.data(), dims), l2, tol)
        << k.name << " dims " << dims;
    EXPECT_NEAR(k.sq8_dot(q.data(), codes.data(), dims), dot, tol) << k.name << " dims " << dims;
  }
}

TEST_P(EveryKernelSet, BinaryKernelsCountBitsExactly) {
  const KernelSet& k = *GetParam();
  std::mt19937_64 rng(9);
  for (size_t words : {1, 2, 3, 4, 5, 8, 13, 16}) {
    std::vector<uint64_t> a(words), b(words);
    for (auto& x : a) x = rng();
    for (auto& x : b) x = rng() & rng();  // NOLINT(misc-redundant-expression): two draws
    uint64_t xor_bits = 0, and_bits = 0, or_bits = 0;
    for (size_t w = 0; w < words; ++w) {
      for (int bit = 0; bit < 64; ++bit) {
        const bool x = (a[w] >> bit) & 1, y = (b[w] >> bit) & 1;
        xor_bits += x != y;
        and_bits += x && y;
        or_bits += x || y;
      }
    }
    EXPECT_EQ(k.hamming(a.data(), b.data(), words), xor_bits) << k.name << " words " << words;
    uint64_t got_and, got_or;
    k.and_or_count(a.data(), b.data(), words, &got_and, &got_or);
    EXPECT_EQ(got_and, and_bits) << k.name;
    EXPECT_EQ(got_or, or_bits) << k.name;
    EXPECT_FLOAT_EQ(JaccardDistance(k, a.data(), b.data(), words),
                    1.0f - float(and_bits) / float(or_bits));
  }
  const uint64_t zero = 0;
  EXPECT_EQ(JaccardDistance(k, &zero, &zero, 1), 0.0f);
}

INSTANTIATE_TEST_SUITE_P(Supported, EveryKernelSet, ::testing::ValuesIn(Supported()),
                         [](const ::testing::TestParamInfo<const KernelSet*>& info) {
                           return std::string(info.param->name);
                         });

TEST(Kernels, ActiveIsThePreferredSupportedSet) {
  if (std::getenv("QUIVER_KERNELS") == nullptr) {
    EXPECT_EQ(&Active(), Supported().front());
  }
  EXPECT_EQ(Supported().back(), &kPortable) << "the portable set always runs";
}

TEST(Kernels, SparseDotMultipliesMatchingIndicesOnly) {
  const std::vector<uint32_t> ai = {1, 4, 9, 20}, bi = {0, 4, 5, 9, 30};
  const std::vector<float> av = {1, 2, 3, 4}, bv = {10, 20, 30, 40, 50};
  EXPECT_FLOAT_EQ(SparseDot(ai, av, bi, bv), 2 * 20 + 3 * 40);
  EXPECT_FLOAT_EQ(SparseDot({}, {}, bi, bv), 0);
}

}  // namespace
}  // namespace quiver::kernels
