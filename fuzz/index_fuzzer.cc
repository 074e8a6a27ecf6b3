// Fuzzes the index-file reader: any file must open as a valid index over a
// fixed segment of 64 rows -- and then answer searches, filtered or not --
// or be refused as corruption; the dump must never crash either.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_fixture.h"
#include "index/vector_index.h"

using namespace quiver;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<float> vectors = [] {
    std::vector<float> v(64 * 4);
    for (size_t i = 0; i < v.size(); ++i) v[i] = float((i * 7919) % 101) / 10.0f;
    return v;
  }();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)index::DescribeIndexFile(bytes, "fuzz");
  for (Metric metric : {Metric::kEuclidean, Metric::kCosine}) {
    index::VectorSet set{vectors.data(), nullptr, 64, 4, metric};
    auto opened = index::OpenIndexFile(BytesAsMappedFile(std::string(bytes)), set, "fuzz");
    if (!opened.ok()) {
      if (opened.status().code() != StatusCode::kCorruption &&
          opened.status().code() != StatusCode::kInvalidArgument) {
        __builtin_trap();
      }
      continue;
    }
    std::vector<uint8_t> allowed(64);
    for (size_t i = 0; i < allowed.size(); ++i) allowed[i] = i % 3 == 0;
    index::IndexQuery query;
    query.k = 5;
    const float q[4] = {1, 2, 3, 4};
    for (auto& r : (*opened)->Search({q, nullptr}, query)) {
      if (r.row >= 64) __builtin_trap();
    }
    query.allowed = allowed;
    for (auto& r : (*opened)->Search({q, nullptr}, query)) {
      if (r.row >= 64 || !allowed[r.row]) __builtin_trap();
    }
  }
  return 0;
}
