#include "schema/schema.h"

#include <unordered_set>

#include "common/names.h"

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

std::vector<size_t> TableSchema::VectorFieldIndexes() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (IsVectorType(fields[i].type)) out.push_back(i);
  }
  return out;
}

Status ValidateAndNormalize(TableSchema* schema) {
  QV_RETURN_IF_ERROR(ValidateName("table", schema->name));
  if (schema->fields.empty()) return Status::InvalidArgument("a table needs at least one field");
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
