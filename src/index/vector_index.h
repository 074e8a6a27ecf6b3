#pragma once

// The index of one vector field in one sealed segment: built from the
// segment's vectors into an index file (docs/FORMATS.md, "Index files"),
// opened from that file's mapping, searched with a filter bitmap. The index
// reads the segment's vectors but never owns them.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "index/hnsw.h"
#include "io/file_system.h"
#include "schema/schema.h"

namespace quiver::index {

// One field's vectors in one segment.
struct VectorSet {
  const float* floats = nullptr;   // rows * dims floats (float fields), or
  const uint64_t* bits = nullptr;  // rows * BinaryWords(dims) words (binary fields)
  size_t rows = 0;
  uint32_t dims = 0;  // floats, or bits
  Metric metric = Metric::kEuclidean;
  // The segment they belong to, recorded in the index file and checked when
  // it is opened: an index is never served for other data.
  uint64_t segment_id = 0;
  uint64_t min_lsn = 0, max_lsn = 0;
};

// A query: floats for float fields, packed words for binary ones.
struct QueryVector {
  const float* floats = nullptr;
  const uint64_t* bits = nullptr;
};

struct IndexQuery {
  size_t k = 10;
  size_t ef = 64;                    // HNSW candidate list (at least k is used)
  size_t nprobe = 16;                // IVF lists to scan
  std::span<const uint8_t> allowed;  // one byte per row, 1 = may be returned; empty: all
  size_t allowed_count = 0;          // its 1s when the caller knows them (0: counted here)
  // How a filtered HNSW walk treats rejected rows: measure them (kMeasure),
  // or step over them to their admitted links (kTwoHop); kAuto picks by
  // selectivity (tests and benchmarks force one).
  enum class Walk { kAuto, kMeasure, kTwoHop } walk = Walk::kAuto;
  // The order of rows at equal distance (the table's primary-key order); by
  // row number when null. Exact scans and HNSW's final cut follow it; IVF
  // returns what Faiss keeps.
  const RowOrder* tie = nullptr;
};

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  virtual IndexType type() const = 0;
  virtual size_t rows() const = 0;
  // Bytes of the index file (memory it maps or holds).
  virtual size_t bytes() const = 0;
  // Candidates among the allowed rows, nearest first by the index's own
  // distance: at least min(k, allowed rows) when the index finds them. An
  // approximate index (HNSW_SQ8) returns its whole candidate list so the
  // caller can re-rank with exact distances. Thread-safe.
  virtual std::vector<ScoredRow> Search(const QueryVector& query,
                                        const IndexQuery& params) const = 0;
};

// Rows `params` admits: its allowed_count when given, else counted.
size_t AllowedRows(const IndexQuery& params, size_t rows);

// Whether scanning the allowed rows beats a filtered index search. A
// filtered graph walk expands about ef / selectivity nodes, so the scan wins
// when allowed^2 < c * ef * rows (c measured by bench/ann_bench.cc).
bool PreferExactScan(size_t allowed, size_t rows, size_t ef);

// Whether a filtered graph walk should step over rejected rows rather than
// measure them (below this fraction of admitted rows).
inline constexpr double kTwoHopBelow = 0.3;

// The k nearest allowed rows by exact distance, nearest first, ties in
// params.tie's order.
std::vector<ScoredRow> ExactScan(const VectorSet& vectors, const QueryVector& query,
                                 const IndexQuery& params);

// Builds the index `spec` asks for over `vectors` and returns the index
// file's bytes. Deterministic for the same input (fixed seeds). Once `stop`
// (when set) turns true, returns Unavailable soon.
Result<std::string> BuildIndexFile(const VectorSet& vectors, const IndexSpec& spec,
                                   const std::atomic<bool>* stop = nullptr);

// A readable summary of an index file (header and sections) after checking
// its checksums and bounds, without the segment it indexes.
Result<std::string> DescribeIndexFile(std::string_view file, const std::string& path);

// Opens an index file built over `vectors` (which must outlive the index).
// Every byte is checked (checksums, bounds, graph links); a damaged or
// mismatched file is Corruption naming `path`.
Result<std::unique_ptr<VectorIndex>> OpenIndexFile(std::shared_ptr<const MappedFile> file,
                                                   const VectorSet& vectors,
                                                   const std::string& path);

}  // namespace quiver::index
