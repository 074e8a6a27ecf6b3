#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "schema/types.h"

namespace quiver {

// How a vector field's sealed segments are indexed. Stored as one byte in
// the catalog: values never change meaning.
enum class IndexType : uint8_t {
  kFlat = 0,     // none: exact scan
  kHnsw = 1,     // graph over the raw vectors
  kHnswSq8 = 2,  // graph walked over 8-bit codes, candidates re-ranked exactly
  kIvfFlat = 3,  // inverted lists of raw vectors (Faiss)
};

std::optional<IndexType> ParseIndexType(std::string_view name);  // case-insensitive
const char* IndexTypeName(IndexType type);

struct IndexSpec {
  IndexType type = IndexType::kHnsw;
  uint32_t m = 16;                 // HNSW: links per node (2m on level 0)
  uint32_t ef_construction = 200;  // HNSW: candidate list while building
  uint32_t ef = 64;                // HNSW: candidate list while searching (per query: "ef")
  uint32_t nlist = 0;              // IVF: lists (0: about 4 sqrt(rows) per segment)
  uint32_t nprobe = 16;            // IVF: lists searched (per query: "nprobe")

  bool operator==(const IndexSpec&) const = default;
};

// Bounds of the index parameters (checked at table creation).
inline constexpr uint32_t kMaxIndexM = 128;
inline constexpr uint32_t kMaxIndexEf = 10000;

struct Field {
  std::string name;
  DataType type = DataType::kString;
  bool primary_key = false;
  uint32_t dimensions = 0;        // vector fields only
  Metric metric = Metric::kNone;  // vector fields only
  IndexSpec index;                // vector fields only; sparse vectors are always FLAT

  bool operator==(const Field&) const = default;
  // Equal in everything a stored row depends on (the index is not).
  bool SameStorage(const Field& other) const {
    return name == other.name && type == other.type && primary_key == other.primary_key &&
           dimensions == other.dimensions && metric == other.metric;
  }
};

// The upper bound on vector dimensions, so one row stays well below a WAL
// record's size limit.
inline constexpr uint32_t kMaxDimensions = 65536;
// Sparse vectors bound their indices by dimensions (0: any index below this).
inline constexpr uint32_t kMaxSparseDimensions = 1u << 30;
// Fields per table.
inline constexpr size_t kMaxFields = 1024;

struct TableSchema {
  std::string name;
  std::vector<Field> fields;

  bool operator==(const TableSchema&) const = default;

  // Index of the field with that name, or nullopt.
  std::optional<size_t> FieldIndex(std::string_view field_name) const;
  // Index of the primary-key field, or nullopt when the table has none.
  std::optional<size_t> PrimaryKeyIndex() const;
  // Indexes of the vector fields in declaration order.
  std::vector<size_t> VectorFieldIndexes() const;
  // About how many bytes a row takes in memory (strings and sparse vectors
  // counted as 8): what seal thresholds and growing-segment sizes go by.
  size_t RowBytes() const;
};

// Checks names, types, dimensions, metrics, index parameters and the
// primary-key rule; fills in defaults (EUCLIDEAN when a vector field names no
// metric, FLAT for sparse vectors).
Status ValidateAndNormalize(TableSchema* schema);

}  // namespace quiver
