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
  explicit Column(const Field& field)
      : type_(field.type),
        dims_(field.dimensions),
        words_(field.type == DataType::kVectorBinary ? BinaryWords(field.dimensions) : 0) {}

  // A vector column whose `rows` vectors live in memory the caller keeps
  // alive (a mapped segment file). It cannot be appended to.
  static Column BorrowedVectors(const Field& field, const float* data, size_t rows);
  // The same for a binary vector column: rows * words() 64-bit words.
  static Column BorrowedBits(const Field& field, const uint64_t* data, size_t rows);

  DataType type() const { return type_; }
  uint32_t dimensions() const { return dims_; }
  uint32_t words() const { return words_; }  // binary vectors: 64-bit words per row
  size_t size() const { return valid_.size(); }

  void AppendNull();
  void AppendInt(int64_t v);
  void AppendDouble(double v);
  void AppendString(std::string_view v);
  void AppendVector(std::span<const float> v);       // v.size() must equal dimensions()
  void AppendBits(std::span<const uint64_t> words);  // words.size() must equal words()
  void AppendSparse(std::span<const uint32_t> indices, std::span<const float> values);
  void AppendFrom(const Column& other, size_t row);
  // Room for `rows` rows (and `sparse_entries` sparse entries). Appends
  // within it never move stored values, so readers of earlier rows may run
  // while one thread appends (growing segments rely on it).
  void Reserve(size_t rows, size_t sparse_entries = 0);
  // Whether AppendFrom(other, row) stays within the reserved room.
  bool HasRoomFor(const Column& other, size_t row) const;

  bool IsNull(size_t row) const { return valid_[row] == 0; }
  int64_t GetInt(size_t row) const { return ints_[row]; }
  double GetDouble(size_t row) const { return doubles_[row]; }
  const std::string& GetString(size_t row) const { return strings_[row]; }
  std::span<const float> GetVector(size_t row) const { return {VectorData() + row * dims_, dims_}; }
  const float* VectorData() const { return borrowed_ != nullptr ? borrowed_ : floats_.data(); }
  // Sparse vectors: the row's indices and values (equal lengths).
  std::span<const uint32_t> GetSparseIndices(size_t row) const {
    return {sparse_indices_.data() + SparseBegin(row), SparseEnd(row) - SparseBegin(row)};
  }
  std::span<const float> GetSparseValues(size_t row) const {
    return {sparse_values_.data() + SparseBegin(row), SparseEnd(row) - SparseBegin(row)};
  }
  // Binary vectors: bit i of a row is bit i % 64 of word i / 64.
  std::span<const uint64_t> GetBits(size_t row) const {
    return {BitsData() + row * words_, words_};
  }
  const uint64_t* BitsData() const {
    return borrowed_bits_ != nullptr ? borrowed_bits_ : bits_.data();
  }
  // Whole-column access for vectorised evaluation: one entry per row.
  const uint8_t* ValidData() const { return valid_.data(); }
  const int64_t* IntData() const { return ints_.data(); }       // BOOL and integer types
  const double* DoubleData() const { return doubles_.data(); }  // FLOAT and DOUBLE
  Value GetValue(size_t row) const;

  // Serialises rows [begin, end); see docs/FORMATS.md ("Column encoding").
  void EncodeRange(ByteWriter* out, size_t begin, size_t end) const;
  void EncodeTo(ByteWriter* out) const { EncodeRange(out, 0, size()); }
  // Appends `rows` rows decoded from `in`.
  Status AppendDecoded(ByteReader* in, size_t rows);

 private:
  DataType type_;
  uint32_t dims_;
  uint32_t words_;
  std::vector<uint8_t> valid_;
  std::vector<int64_t> ints_;
  std::vector<double> doubles_;
  std::vector<std::string> strings_;
  std::vector<float> floats_;
  const float* borrowed_ = nullptr;
  std::vector<uint64_t> bits_;
  const uint64_t* borrowed_bits_ = nullptr;
  std::vector<uint64_t> sparse_ends_;  // end offset of each row's entries
  std::vector<uint32_t> sparse_indices_;
  std::vector<float> sparse_values_;

  size_t SparseBegin(size_t row) const { return row == 0 ? 0 : sparse_ends_[row - 1]; }
  size_t SparseEnd(size_t row) const { return sparse_ends_[row]; }
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
// OK, or which kind of key (integer or string) the table's keys are.
Status CheckKeyTypes(const TableSchema& schema, std::span<const PrimaryKey> keys);

PrimaryKey KeyAt(const Column& pk_column, size_t row);

// Packs a binary vector given as one 0 or 1 per dimension into 64-bit words
// (bit i in word i / 64 at position i % 64); any other value is an error.
Result<std::vector<uint64_t>> PackBits(std::span<const float> bits);

}  // namespace quiver
