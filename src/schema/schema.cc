#include "schema/schema.h"

#include <unordered_set>

#include "common/names.h"
#include "common/text.h"

namespace quiver {

std::optional<size_t> TableSchema::FieldIndex(std::string_view field_name) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == field_name) return i;
  }
  return std::nullopt;
}

std::optional<size_t> TableSchema::PrimaryKeyIndex() const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].primary_key) return i;
  }
  return std::nullopt;
}

size_t TableSchema::RowBytes() const {
  size_t bytes = 16;
  for (const Field& f : fields) {
    if (f.type == DataType::kVectorBinary) {
      bytes += BinaryWords(f.dimensions) * sizeof(uint64_t);
    } else {
      bytes += IsFloatVectorType(f.type) ? f.dimensions * sizeof(float) : 8;
    }
  }
  return bytes;
}

std::vector<size_t> TableSchema::VectorFieldIndexes() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (IsVectorType(fields[i].type)) out.push_back(i);
  }
  return out;
}

std::optional<IndexType> ParseIndexType(std::string_view name) {
  const std::string upper = AsciiUpper(name);
  if (upper == "FLAT") return IndexType::kFlat;
  if (upper == "HNSW") return IndexType::kHnsw;
  if (upper == "HNSW_SQ8") return IndexType::kHnswSq8;
  if (upper == "IVF_FLAT") return IndexType::kIvfFlat;
  return std::nullopt;
}

const char* IndexTypeName(IndexType type) {
  switch (type) {
    case IndexType::kFlat:
      return "FLAT";
    case IndexType::kHnsw:
      return "HNSW";
    case IndexType::kHnswSq8:
      return "HNSW_SQ8";
    case IndexType::kIvfFlat:
      return "IVF_FLAT";
  }
  return "?";
}

namespace {

Status ValidateIndex(const Field& field) {
  const IndexSpec& index = field.index;
  const std::string where = "field '" + field.name + "' index";
  auto in_range = [&](const char* name, uint32_t value, uint32_t low, uint32_t high) {
    if (value >= low && value <= high) return Status::OK();
    return Status::InvalidArgument(where + " " + name + " must be between " + std::to_string(low) +
                                   " and " + std::to_string(high));
  };
  QV_RETURN_IF_ERROR(in_range("M", index.m, 2, kMaxIndexM));
  QV_RETURN_IF_ERROR(in_range("efConstruction", index.ef_construction, 1, kMaxIndexEf));
  QV_RETURN_IF_ERROR(in_range("ef", index.ef, 1, kMaxIndexEf));
  QV_RETURN_IF_ERROR(in_range("nlist", index.nlist, 0, 65536));
  QV_RETURN_IF_ERROR(in_range("nprobe", index.nprobe, 1, 65536));
  if (field.type == DataType::kSparseVectorFloat && index.type != IndexType::kFlat) {
    return Status::InvalidArgument(where + ": sparse vectors support FLAT only");
  }
  if (field.type == DataType::kVectorBinary &&
      (index.type == IndexType::kHnswSq8 || index.type == IndexType::kIvfFlat)) {
    return Status::InvalidArgument(where + ": binary vectors support FLAT or HNSW, not " +
                                   IndexTypeName(index.type));
  }
  return Status::OK();
}

}  // namespace

Status ValidateAndNormalize(TableSchema* schema) {
  QV_RETURN_IF_ERROR(ValidateName("table", schema->name));
  if (schema->fields.empty()) return Status::InvalidArgument("a table needs at least one field");
  if (schema->fields.size() > kMaxFields) {
    return Status::InvalidArgument("a table has at most " + std::to_string(kMaxFields) +
                                   " fields, not " + std::to_string(schema->fields.size()));
  }
  std::unordered_set<std::string> seen;
  int primary_keys = 0;
  for (Field& field : schema->fields) {
    QV_RETURN_IF_ERROR(ValidateName("field", field.name));
    if (!seen.insert(field.name).second) {
      return Status::InvalidArgument("field '" + field.name + "' is declared twice");
    }
    if (field.primary_key) {
      ++primary_keys;
      if (!IsIntegerType(field.type) && field.type != DataType::kString) {
        return Status::InvalidArgument("primary key '" + field.name +
                                       "' must be an integer or STRING, not " +
                                       DataTypeName(field.type));
      }
    }
    if (!IsVectorType(field.type) && field.index != IndexSpec{}) {
      return Status::InvalidArgument("field '" + field.name + "' of type " +
                                     DataTypeName(field.type) + " cannot have an index");
    }
    if (field.type == DataType::kSparseVectorFloat && field.index == IndexSpec{})
      field.index.type = IndexType::kFlat;
    if (IsVectorType(field.type)) QV_RETURN_IF_ERROR(ValidateIndex(field));
    if (field.type == DataType::kSparseVectorFloat) {
      if (field.dimensions > kMaxSparseDimensions) {
        return Status::InvalidArgument("sparse vector field '" + field.name +
                                       "' allows dimensions up to " +
                                       std::to_string(kMaxSparseDimensions) + " (0: unbounded)");
      }
      if (field.metric == Metric::kNone) field.metric = Metric::kDotProduct;
      if (field.metric != Metric::kDotProduct) {
        return Status::InvalidArgument("sparse vector field '" + field.name +
                                       "' supports metricType DOT_PRODUCT only");
      }
    } else if (IsVectorType(field.type)) {
      if (field.dimensions == 0 || field.dimensions > kMaxDimensions) {
        return Status::InvalidArgument("vector field '" + field.name +
                                       "' needs dimensions between 1 and " +
                                       std::to_string(kMaxDimensions));
      }
      const bool binary = field.type == DataType::kVectorBinary;
      if (field.metric == Metric::kNone)
        field.metric = binary ? Metric::kHamming : Metric::kEuclidean;
      if (binary != IsBinaryMetric(field.metric)) {
        return Status::InvalidArgument(
            "vector field '" + field.name + "' of type " + DataTypeName(field.type) +
            " cannot use metricType " + MetricName(field.metric) +
            (binary ? " (HAMMING or JACCARD)" : " (EUCLIDEAN, COSINE or DOT_PRODUCT)"));
      }
    } else {
      if (field.dimensions != 0) {
        return Status::InvalidArgument("field '" + field.name + "' of type " +
                                       DataTypeName(field.type) + " cannot have dimensions");
      }
      if (field.metric != Metric::kNone) {
        return Status::InvalidArgument("field '" + field.name + "' of type " +
                                       DataTypeName(field.type) + " cannot have a metricType");
      }
    }
  }
  if (primary_keys > 1) return Status::InvalidArgument("at most one field can be the primary key");
  if (primary_keys == 0) {
    return Status::InvalidArgument("a table needs a primary key field (\"primaryKey\": true)");
  }
  return Status::OK();
}

}  // namespace quiver
