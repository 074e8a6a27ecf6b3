// Writes seed index files for index_fuzzer (the same 64-row segment it
// opens): HNSW and HNSW_SQ8 over EUCLIDEAN and COSINE.
//   build-fuzz/index_seeds tests/fuzz/corpus/index

#include <fstream>
#include <iostream>
#include <vector>

#include "index/vector_index.h"

using namespace quiver;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: index_seeds DIR\n";
    return 2;
  }
  std::vector<float> v(64 * 4);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float((i * 7919) % 101) / 10.0f;
  int n = 0;
  for (Metric metric : {Metric::kEuclidean, Metric::kCosine}) {
    for (IndexType type : {IndexType::kHnsw, IndexType::kHnswSq8}) {
      IndexSpec spec;
      spec.type = type;
      spec.m = 4;
      spec.ef_construction = 16;
      auto file = index::BuildIndexFile({v.data(), nullptr, 64, 4, metric}, spec);
      if (!file.ok()) return 1;
      std::ofstream(std::string(argv[1]) + "/seed" + std::to_string(n++) + ".qvi", std::ios::binary)
          << *file;
    }
  }
  return 0;
}
