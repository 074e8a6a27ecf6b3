#include "schema/column.h"

#include <cmath>

namespace quiver {
namespace {

enum class Storage { kInt, kDouble, kString, kVector, kBits, kSparse };

Storage StorageOf(DataType type) {
  if (type == DataType::kBool || IsIntegerType(type)) return Storage::kInt;
  if (IsFloatingType(type)) return Storage::kDouble;
  if (IsFloatVectorType(type)) return Storage::kVector;
  if (type == DataType::kVectorBinary) return Storage::kBits;
  if (type == DataType::kSparseVectorFloat) return Storage::kSparse;
  return Storage::kString;
}

}  // namespace

Column Column::BorrowedVectors(const Field& field, const float* data, size_t rows) {
  Column column(field);
  column.valid_.assign(rows, 1);
  column.borrowed_ = data;
  return column;
}

Column Column::BorrowedBits(const Field& field, const uint64_t* data, size_t rows) {
  Column column(field);
  column.valid_.assign(rows, 1);
  column.borrowed_bits_ = data;
  return column;
}

void Column::AppendBits(std::span<const uint64_t> words) {
  valid_.push_back(1);
  bits_.insert(bits_.end(), words.begin(), words.end());
}

void Column::AppendSparse(std::span<const uint32_t> indices, std::span<const float> values) {
  valid_.push_back(1);
  sparse_indices_.insert(sparse_indices_.end(), indices.begin(), indices.end());
  sparse_values_.insert(sparse_values_.end(), values.begin(), values.end());
  sparse_ends_.push_back(sparse_indices_.size());
}

void Column::AppendNull() {
  valid_.push_back(0);
  switch (StorageOf(type_)) {
    case Storage::kInt:
      ints_.push_back(0);
      break;
    case Storage::kDouble:
      doubles_.push_back(0);
      break;
    case Storage::kString:
      strings_.emplace_back();
      break;
    case Storage::kVector:
      floats_.resize(floats_.size() + dims_, 0.0f);
      break;
    case Storage::kBits:
      bits_.resize(bits_.size() + words_, 0);
      break;
    case Storage::kSparse:
      sparse_ends_.push_back(sparse_indices_.size());
      break;
  }
}

void Column::AppendInt(int64_t v) {
  valid_.push_back(1);
  ints_.push_back(v);
}

void Column::AppendDouble(double v) {
  valid_.push_back(1);
  doubles_.push_back(type_ == DataType::kFloat ? static_cast<double>(static_cast<float>(v)) : v);
}

void Column::AppendString(std::string_view v) {
  valid_.push_back(1);
  strings_.emplace_back(v);
}

void Column::AppendVector(std::span<const float> v) {
  valid_.push_back(1);
  floats_.insert(floats_.end(), v.begin(), v.end());
}

void Column::AppendFrom(const Column& other, size_t row) {
  if (other.IsNull(row)) {
    AppendNull();
    return;
  }
  switch (StorageOf(type_)) {
    case Storage::kInt:
      AppendInt(other.ints_[row]);
      break;
    case Storage::kDouble:
      AppendDouble(other.doubles_[row]);
      break;
    case Storage::kString:
      AppendString(other.strings_[row]);
      break;
    case Storage::kVector:
      AppendVector(other.GetVector(row));
      break;
    case Storage::kBits:
      AppendBits(other.GetBits(row));
      break;
    case Storage::kSparse:
      AppendSparse(other.GetSparseIndices(row), other.GetSparseValues(row));
      break;
  }
}

bool Column::HasRoomFor(const Column& other, size_t row) const {
  if (valid_.size() >= valid_.capacity()) return false;
  if (StorageOf(type_) != Storage::kSparse || other.IsNull(row)) return true;
  const size_t entries = other.SparseEnd(row) - other.SparseBegin(row);
  return sparse_indices_.size() + entries <= sparse_indices_.capacity() &&
         sparse_values_.size() + entries <= sparse_values_.capacity();
}

void Column::Reserve(size_t rows, size_t sparse_entries) {
  valid_.reserve(rows);
  switch (StorageOf(type_)) {
    case Storage::kInt:
      ints_.reserve(rows);
      break;
    case Storage::kDouble:
      doubles_.reserve(rows);
      break;
    case Storage::kString:
      strings_.reserve(rows);
      break;
    case Storage::kVector:
      floats_.reserve(rows * dims_);
      break;
    case Storage::kBits:
      bits_.reserve(rows * words_);
      break;
    case Storage::kSparse:
      sparse_ends_.reserve(rows);
      sparse_indices_.reserve(sparse_entries);
      sparse_values_.reserve(sparse_entries);
      break;
  }
}

Value Column::GetValue(size_t row) const {
  if (IsNull(row)) return std::monostate{};
  switch (StorageOf(type_)) {
    case Storage::kInt:
      if (type_ == DataType::kBool) return ints_[row] != 0;
      return ints_[row];
    case Storage::kDouble:
      return doubles_[row];
    case Storage::kString:
      return strings_[row];
    case Storage::kVector: {
      auto v = GetVector(row);
      return std::vector<float>(v.begin(), v.end());
    }
    case Storage::kBits: {
      const auto words = GetBits(row);
      std::vector<uint8_t> bits(dims_);
      for (uint32_t i = 0; i < dims_; ++i) bits[i] = (words[i / 64] >> (i % 64)) & 1;
      return bits;
    }
    case Storage::kSparse: {
      auto indices = GetSparseIndices(row);
      auto values = GetSparseValues(row);
      return SparseVector{{indices.begin(), indices.end()}, {values.begin(), values.end()}};
    }
  }
  return std::monostate{};
}

void Column::EncodeRange(ByteWriter* out, size_t begin, size_t end) const {
  const size_t n = end - begin;
  out->Raw(valid_.data() + begin, n);
  switch (StorageOf(type_)) {
    case Storage::kInt:
      out->Raw(ints_.data() + begin, n * sizeof(int64_t));
      break;
    case Storage::kDouble:
      out->Raw(doubles_.data() + begin, n * sizeof(double));
      break;
    case Storage::kString:
      for (size_t i = begin; i < end; ++i) out->String(strings_[i]);
      break;
    case Storage::kVector:
      out->Raw(VectorData() + begin * dims_, n * dims_ * sizeof(float));
      break;
    case Storage::kBits:
      out->Raw(BitsData() + begin * words_, n * words_ * sizeof(uint64_t));
      break;
    case Storage::kSparse:
      for (size_t row = begin; row < end; ++row) {
        const auto indices = GetSparseIndices(row);
        out->Varint(indices.size());
        out->Raw(indices.data(), indices.size() * sizeof(uint32_t));
        out->Raw(GetSparseValues(row).data(), indices.size() * sizeof(float));
      }
      break;
  }
}

Status Column::AppendDecoded(ByteReader* in, size_t rows) {
  // Sizes come from stored bytes: nothing is allocated before the bytes it
  // would be filled from are known to be there.
  auto need = [&](size_t per_row) {
    if (per_row != 0 && rows > in->remaining() / per_row)
      return Status::Corruption("column data shorter than its row count");
    return Status::OK();
  };
  QV_RETURN_IF_ERROR(need(1));
  const size_t old = valid_.size();
  valid_.resize(old + rows);
  QV_RETURN_IF_ERROR(in->Raw(valid_.data() + old, rows));
  switch (StorageOf(type_)) {
    case Storage::kInt:
      QV_RETURN_IF_ERROR(need(sizeof(int64_t)));
      ints_.resize(old + rows);
      return in->Raw(ints_.data() + old, rows * sizeof(int64_t));
    case Storage::kDouble:
      QV_RETURN_IF_ERROR(need(sizeof(double)));
      doubles_.resize(old + rows);
      return in->Raw(doubles_.data() + old, rows * sizeof(double));
    case Storage::kString:
      strings_.resize(old + rows);
      for (size_t i = old; i < old + rows; ++i) QV_RETURN_IF_ERROR(in->String(&strings_[i]));
      return Status::OK();
    case Storage::kVector:
      QV_RETURN_IF_ERROR(need(dims_ * sizeof(float)));
      floats_.resize((old + rows) * dims_);
      return in->Raw(floats_.data() + old * dims_, rows * dims_ * sizeof(float));
    case Storage::kBits:
      QV_RETURN_IF_ERROR(need(words_ * sizeof(uint64_t)));
      bits_.resize((old + rows) * words_);
      return in->Raw(bits_.data() + old * words_, rows * words_ * sizeof(uint64_t));
    case Storage::kSparse:
      for (size_t row = 0; row < rows; ++row) {
        uint64_t count;
        QV_RETURN_IF_ERROR(in->Varint(&count));
        if (count > in->remaining())
          return Status::Corruption("sparse vector longer than its record");
        const size_t at = sparse_indices_.size();
        sparse_indices_.resize(at + count);
        sparse_values_.resize(at + count);
        QV_RETURN_IF_ERROR(in->Raw(sparse_indices_.data() + at, count * sizeof(uint32_t)));
        QV_RETURN_IF_ERROR(in->Raw(sparse_values_.data() + at, count * sizeof(float)));
        sparse_ends_.push_back(sparse_indices_.size());
      }
      return Status::OK();
  }
  return Status::OK();
}

RecordBatch RecordBatch::ForSchema(const TableSchema& schema) {
  RecordBatch batch;
  batch.columns.reserve(schema.fields.size());
  for (const Field& field : schema.fields) batch.columns.emplace_back(field);
  return batch;
}

Status CheckKeyTypes(const TableSchema& schema, std::span<const PrimaryKey> keys) {
  const bool string_keys = schema.fields[*schema.PrimaryKeyIndex()].type == DataType::kString;
  for (const auto& key : keys) {
    if (std::holds_alternative<std::string>(key) != string_keys) {
      return Status::InvalidArgument(std::string("primary keys of this table are ") +
                                     (string_keys ? "strings" : "integers"));
    }
  }
  return Status::OK();
}

Status ValidateBatch(const TableSchema& schema, const RecordBatch& batch) {
  if (batch.columns.size() != schema.fields.size()) {
    return Status::InvalidArgument("batch has " + std::to_string(batch.columns.size()) +
                                   " columns, the table has " +
                                   std::to_string(schema.fields.size()) + " fields");
  }
  const size_t rows = batch.num_rows();
  for (size_t f = 0; f < schema.fields.size(); ++f) {
    const Field& field = schema.fields[f];
    const Column& column = batch.columns[f];
    if (column.size() != rows || column.type() != field.type ||
        column.dimensions() != field.dimensions) {
      return Status::InvalidArgument("column for field '" + field.name +
                                     "' does not match the schema");
    }
    for (size_t r = 0; r < rows; ++r) {
      const std::string where = "record " + std::to_string(r) + ", field '" + field.name + "'";
      if (column.IsNull(r)) {
        if (field.primary_key)
          return Status::InvalidArgument(where + ": the primary key is missing");
        if (IsVectorType(field.type))
          return Status::InvalidArgument(where + ": the vector is missing");
        continue;
      }
      if (IsIntegerType(field.type)) {
        int64_t lo, hi;
        IntegerRange(field.type, &lo, &hi);
        int64_t v = column.GetInt(r);
        if (v < lo || v > hi) {
          return Status::InvalidArgument(where + ": " + std::to_string(v) +
                                         " is out of range for " + DataTypeName(field.type));
        }
      } else if (IsFloatingType(field.type)) {
        if (!std::isfinite(column.GetDouble(r))) {
          return Status::InvalidArgument(where + ": value is not a finite number");
        }
      } else if (field.type == DataType::kVectorBinary) {
        const auto words = column.GetBits(r);
        if (field.dimensions % 64 != 0 && (words.back() >> (field.dimensions % 64)) != 0) {
          return Status::InvalidArgument(where + ": bits set beyond the vector's dimensions");
        }
      } else if (field.type == DataType::kSparseVectorFloat) {
        const auto indices = column.GetSparseIndices(r);
        for (size_t i = 0; i < indices.size(); ++i) {
          if (i > 0 && indices[i] <= indices[i - 1]) {
            return Status::InvalidArgument(where + ": sparse indices must be distinct");
          }
          if (field.dimensions != 0 && indices[i] >= field.dimensions) {
            return Status::InvalidArgument(where + ": sparse index " + std::to_string(indices[i]) +
                                           " is not below dimensions " +
                                           std::to_string(field.dimensions));
          }
        }
        for (float x : column.GetSparseValues(r)) {
          if (!std::isfinite(x)) return Status::InvalidArgument(where + ": value is not finite");
        }
      } else if (IsFloatVectorType(field.type)) {
        for (float x : column.GetVector(r)) {
          if (!std::isfinite(x)) {
            return Status::InvalidArgument(where + ": vector holds NaN or infinity");
          }
        }
      }
    }
  }
  return Status::OK();
}

Result<std::vector<uint64_t>> PackBits(std::span<const float> bits) {
  std::vector<uint64_t> words(BinaryWords(static_cast<uint32_t>(bits.size())), 0);
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits[i] == 1.0f) {
      words[i / 64] |= uint64_t{1} << (i % 64);
    } else if (bits[i] != 0.0f) {
      return Status::InvalidArgument("a binary vector holds only 0 and 1, found " +
                                     std::to_string(bits[i]) + " at position " + std::to_string(i));
    }
  }
  return words;
}

PrimaryKey KeyAt(const Column& pk_column, size_t row) {
  if (pk_column.type() == DataType::kString) return pk_column.GetString(row);
  return pk_column.GetInt(row);
}

}  // namespace quiver
