#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "schema/types.h"

namespace quiver {

struct Field {
  std::string name;
  DataType type = DataType::kString;
  bool primary_key = false;
  uint32_t dimensions = 0;        // vector fields only
  Metric metric = Metric::kNone;  // vector fields only

  bool operator==(const Field&) const = default;
};

// The upper bound on vector dimensions, so one row stays well below a WAL
// record's size limit.
inline constexpr uint32_t kMaxDimensions = 65536;
// Sparse vectors bound their indices by dimensions (0: any index below this).
inline constexpr uint32_t kMaxSparseDimensions = 1u << 30;

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
};

// Checks names, types, dimensions, metrics and the primary-key rule; fills in
// defaults (EUCLIDEAN when a vector field names no metric).
Status ValidateAndNormalize(TableSchema* schema);

}  // namespace quiver
