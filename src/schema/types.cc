#include "schema/types.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>

#include "common/text.h"

namespace quiver {
namespace {

struct TypeName {
  DataType type;
  const char* name;
};
constexpr std::array kTypeNames = {
    TypeName{DataType::kBool, "BOOL"},
    TypeName{DataType::kTinyInt, "TINYINT"},
    TypeName{DataType::kSmallInt, "SMALLINT"},
    TypeName{DataType::kInt, "INT"},
    TypeName{DataType::kBigInt, "BIGINT"},
    TypeName{DataType::kFloat, "FLOAT"},
    TypeName{DataType::kDouble, "DOUBLE"},
    TypeName{DataType::kString, "STRING"},
    TypeName{DataType::kJson, "JSON"},
    TypeName{DataType::kVectorFloat, "VECTOR_FLOAT"},
    TypeName{DataType::kVectorDouble, "VECTOR_DOUBLE"},
    TypeName{DataType::kVectorBinary, "VECTOR_BINARY"},
    TypeName{DataType::kSparseVectorFloat, "SPARSE_VECTOR_FLOAT"},
};

struct MetricNameEntry {
  Metric metric;
  const char* name;
};
constexpr std::array kMetricNames = {
    MetricNameEntry{Metric::kEuclidean, "EUCLIDEAN"},
    MetricNameEntry{Metric::kCosine, "COSINE"},
    MetricNameEntry{Metric::kDotProduct, "DOT_PRODUCT"},
    MetricNameEntry{Metric::kHamming, "HAMMING"},
    MetricNameEntry{Metric::kJaccard, "JACCARD"},
};

}  // namespace

std::optional<DataType> ParseDataType(std::string_view name) {
  std::string upper = AsciiUpper(name);
  for (const auto& entry : kTypeNames) {
    if (upper == entry.name) return entry.type;
  }
  return std::nullopt;
}

std::optional<Metric> ParseMetric(std::string_view name) {
  std::string upper = AsciiUpper(name);
  for (const auto& entry : kMetricNames) {
    if (upper == entry.name) return entry.metric;
  }
  return std::nullopt;
}

const char* DataTypeName(DataType type) {
  for (const auto& entry : kTypeNames) {
    if (entry.type == type) return entry.name;
  }
  return "UNKNOWN";
}

const char* MetricName(Metric metric) {
  for (const auto& entry : kMetricNames) {
    if (entry.metric == metric) return entry.name;
  }
  return "NONE";
}

bool IsVectorType(DataType type) {
  return IsDenseVectorType(type) || type == DataType::kSparseVectorFloat;
}

bool IsDenseVectorType(DataType type) {
  return IsFloatVectorType(type) || type == DataType::kVectorBinary;
}

bool IsFloatVectorType(DataType type) {
  return type == DataType::kVectorFloat || type == DataType::kVectorDouble;
}

bool IsBinaryMetric(Metric metric) {
  return metric == Metric::kHamming || metric == Metric::kJaccard;
}

bool IsIntegerType(DataType type) {
  return type == DataType::kTinyInt || type == DataType::kSmallInt || type == DataType::kInt ||
         type == DataType::kBigInt;
}

bool IsFloatingType(DataType type) {
  return type == DataType::kFloat || type == DataType::kDouble;
}

void IntegerRange(DataType type, int64_t* min, int64_t* max) {
  switch (type) {
    case DataType::kTinyInt:
      *min = -128;  // int8_t's range, without a signed-char conversion
      *max = 127;
      return;
    case DataType::kSmallInt:
      *min = std::numeric_limits<int16_t>::min();
      *max = std::numeric_limits<int16_t>::max();
      return;
    case DataType::kInt:
      *min = std::numeric_limits<int32_t>::min();
      *max = std::numeric_limits<int32_t>::max();
      return;
    default:
      *min = std::numeric_limits<int64_t>::min();
      *max = std::numeric_limits<int64_t>::max();
      return;
  }
}

}  // namespace quiver
