// Distance kernels against Faiss's (Debian libfaiss), and exact-scan
// throughput against the machine's memory read bandwidth, in one process.
//
//   build/bin/quiver_kernels_bench                      (google-benchmark flags apply)
//   python3 bench/kernels_ratios.py build/bin/quiver_kernels_bench   (ratio table)

#include <benchmark/benchmark.h>
#include <faiss/utils/distances.h>

#include <random>
#include <vector>

#include "kernels/kernels.h"

namespace {

using quiver::kernels::KernelSet;

constexpr size_t kPairs = 64;  // database vectors cycled through (stay in cache)

std::vector<float> RandomFloats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = uni(rng);
  return v;
}

template <typename Fn>
void RunPairs(benchmark::State& state, Fn distance) {
  const size_t dims = static_cast<size_t>(state.range(0));
  const auto query = RandomFloats(dims, 1);
  const auto base = RandomFloats(dims * kPairs, 2);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(distance(query.data(), base.data() + (i++ % kPairs) * dims, dims));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * dims * sizeof(float)));
}

void QuiverL2(benchmark::State& state, const KernelSet* set) {
  RunPairs(state, set->l2_squared);
}
void QuiverIP(benchmark::State& state, const KernelSet* set) {
  RunPairs(state, set->inner_product);
}
void FaissL2(benchmark::State& state) {
  RunPairs(state, faiss::fvec_L2sqr);
}
void FaissIP(benchmark::State& state) {
  RunPairs(state, faiss::fvec_inner_product);
}

// Exact scan: one query against 200k x 128-d (100 MiB, far beyond the caches).
constexpr size_t kScanRows = 200000, kScanDims = 128;
const std::vector<float>& ScanBase() {
  static const auto base = RandomFloats(kScanRows * kScanDims, 3);
  return base;
}

void QuiverScan(benchmark::State& state) {
  const auto& base = ScanBase();
  const auto query = RandomFloats(kScanDims, 4);
  const KernelSet& k = quiver::kernels::Active();
  for (auto _ : state) {
    float best = 1e30f;
    for (size_t r = 0; r < kScanRows; ++r) {
      best = std::min(best, k.l2_squared(query.data(), base.data() + r * kScanDims, kScanDims));
    }
    benchmark::DoNotOptimize(best);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * base.size() * sizeof(float)));
}

void FaissScan(benchmark::State& state) {
  const auto& base = ScanBase();
  const auto query = RandomFloats(kScanDims, 4);
  std::vector<float> distances(kScanRows);
  for (auto _ : state) {
    faiss::fvec_L2sqr_ny(distances.data(), query.data(), base.data(), kScanDims, kScanRows);
    benchmark::DoNotOptimize(distances.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * base.size() * sizeof(float)));
}

// The physical limit for an exact scan: reading the same bytes.
void MemoryRead(benchmark::State& state) {
  const auto& base = ScanBase();
  for (auto _ : state) {
    const float one = 1.0f;
    benchmark::DoNotOptimize(
        quiver::kernels::Active().inner_product(base.data(), base.data(), base.size()) + one);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * base.size() * sizeof(float)));
}

void Register() {
  for (const KernelSet* set : quiver::kernels::Supported()) {
    benchmark::RegisterBenchmark((std::string("L2/quiver_") + set->name).c_str(), QuiverL2, set)
        ->Arg(96)
        ->Arg(128)
        ->Arg(768)
        ->Arg(1536);
    benchmark::RegisterBenchmark((std::string("IP/quiver_") + set->name).c_str(), QuiverIP, set)
        ->Arg(96)
        ->Arg(128)
        ->Arg(768)
        ->Arg(1536);
  }
  benchmark::RegisterBenchmark("L2/faiss", FaissL2)->Arg(96)->Arg(128)->Arg(768)->Arg(1536);
  benchmark::RegisterBenchmark("IP/faiss", FaissIP)->Arg(96)->Arg(128)->Arg(768)->Arg(1536);
  benchmark::RegisterBenchmark("Scan/quiver", QuiverScan)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("Scan/faiss", FaissScan)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("Scan/memory_read", MemoryRead)->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  Register();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
