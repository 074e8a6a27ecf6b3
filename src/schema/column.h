#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/coding.h"
#include "common/status.h"
#include "schema/schema.h"

namespace quiver {

// The values of one field for a run of rows, stored by type: integers and
// booleans as int64, FLOAT/DOUBLE as double, STRING/JSON as strings (JSON as
// its compact text), vectors as one contiguous float32 array of
// rows * dimensions. A null row keeps a placeholder so row i is always at i.
// Not thread-safe; the owner synchronises.
class Column {
 public:
  explicit Column(const Field& field) : type_(field.type), dims_(field.dimensions) {}

  DataType type() const { return type_; }
  uint32_t dimensions() const { return dims_; }
  size_t size() const { return valid_.size(); }

  void AppendNull();
  void AppendInt(int64_t v);
  void AppendDouble(double v);
  void AppendString(std::string_view v);
  void AppendVector(std::span<const float> v);  // v.size() must equal dimensions()
  void AppendFrom(const Column& other, size_t row);
  void Reserve(size_t rows);

  bool IsNull(size_t row) const { return valid_[row] == 0; }
  int64_t GetInt(size_t row) const { return ints_[row]; }
  double GetDouble(size_t row) const { return doubles_[row]; }
  const std::string& GetString(size_t row) const { return strings_[row]; }
  std::span<const float> GetVector(size_t row) const {
    return {floats_.data() + row * dims_, dims_};
  }
  const float* VectorData() const { return floats_.data(); }
  Value GetValue(size_t row) const;

  // Serialises rows [0, size()) for the WAL; see docs/FORMATS.md.
  void EncodeTo(ByteWriter* out) const;
  Status DecodeFrom(ByteReader* in, size_t rows);

 private:
  DataType type_;
  uint32_t dims_;
  std::vector<uint8_t> valid_;
  std::vector<int64_t> ints_;
  std::vector<double> doubles_;
  std::vector<std::string> strings_;
  std::vector<float> floats_;
};

// Rows to insert, one Column per schema field, in schema order.
struct RecordBatch {
  std::vector<Column> columns;

  static RecordBatch ForSchema(const TableSchema& schema);
  size_t num_rows() const { return columns.empty() ? 0 : columns[0].size(); }
};

// Checks a batch against its schema: column count and lengths, a non-null
// primary key, integer ranges, vector presence and finiteness. Names the
// offending row and field in the error.
Status ValidateBatch(const TableSchema& schema, const RecordBatch& batch);

PrimaryKey KeyAt(const Column& pk_column, size_t row);

}  // namespace quiver
