// The exact-scan side of every index: which rows a query admits, when
// scanning them beats a filtered walk, and the scan itself.

#include <cstring>

#include "index/distances.h"
#include "index/vector_index.h"

namespace quiver::index {

size_t AllowedRows(const IndexQuery& p, size_t rows) {
  if (p.allowed.empty()) return rows;
  if (p.allowed_count != 0) return p.allowed_count;
  return p.allowed.size() - std::count(p.allowed.begin(), p.allowed.end(), 0);
}

bool PreferExactScan(size_t allowed, size_t rows, size_t ef) {
  constexpr double kWalkCost = 8;  // distances per expanded node, roughly
  return double(allowed) * double(allowed) <= kWalkCost * double(ef) * double(rows);
}

std::vector<ScoredRow> ExactScan(const VectorSet& vectors, const QueryVector& query,
                                 const IndexQuery& params) {
  auto scan = [&](const QueryDistance& distance) {
    TopK top(params.k, params.tie);
    auto consider = [&](uint32_t row) {
      const float d = distance.To(row);
      if (top.MayAdmit(d)) top.Push(d, row);
    };
    const std::span<const uint8_t> allowed = params.allowed;
    if (allowed.empty()) {
      for (uint32_t row = 0; row < vectors.rows; ++row) consider(row);
    } else {
      // The allowed rows first (eight flags at a time: a selective filter
      // leaves most words zero), then measured with the next rows' vectors
      // prefetched, since they lie scattered over the segment.
      std::vector<uint32_t> rows;
      uint32_t row = 0;
      for (; row + 8 <= vectors.rows; row += 8) {
        uint64_t word;
        std::memcpy(&word, allowed.data() + row, 8);
        if (word == 0) continue;
        for (uint32_t i = 0; i < 8; ++i) {
          if (allowed[row + i]) rows.push_back(row + i);
        }
      }
      for (; row < vectors.rows; ++row) {
        if (allowed[row]) rows.push_back(row);
      }
      constexpr size_t kAhead = 4;
      for (size_t i = 0; i < std::min(kAhead, rows.size()); ++i) distance.Prefetch(rows[i]);
      for (size_t i = 0; i < rows.size(); ++i) {
        if (i + kAhead < rows.size()) distance.Prefetch(rows[i + kAhead]);
        consider(rows[i]);
      }
    }
    return top.Take();
  };
  if (vectors.bits != nullptr) return scan(BinaryQuery(vectors, query.bits));
  return scan(FloatQuery(vectors, query.floats, {}));
}

}  // namespace quiver::index
