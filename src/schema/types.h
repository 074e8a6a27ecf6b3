#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace quiver {

// Stored as one byte in the catalog: values never change meaning.
enum class DataType : uint8_t {
  kBool = 1,
  kTinyInt = 2,
  kSmallInt = 3,
  kInt = 4,
  kBigInt = 5,
  kFloat = 6,
  kDouble = 7,
  kString = 8,
  kJson = 9,
  kVectorFloat = 10,
  kVectorDouble = 11,       // accepted for compatibility, stored as float32
  kVectorBinary = 12,       // packed bits; dimensions count bits
  kSparseVectorFloat = 13,  // sorted (index, value) pairs; dimensions bound the indices
};

enum class Metric : uint8_t {
  kNone = 0,
  kEuclidean = 1,   // squared L2
  kCosine = 2,      // 1 - cos(a, b)
  kDotProduct = 3,  // -dot(a, b)
  kHamming = 4,     // differing bits (binary vectors)
  kJaccard = 5,     // 1 - |a & b| / |a | b| (binary vectors)
};

std::optional<DataType> ParseDataType(std::string_view name);  // case-insensitive
std::optional<Metric> ParseMetric(std::string_view name);      // case-insensitive
const char* DataTypeName(DataType type);
const char* MetricName(Metric metric);

bool IsVectorType(DataType type);       // any vector type
bool IsDenseVectorType(DataType type);  // fixed width: float and binary vectors
bool IsFloatVectorType(DataType type);  // VECTOR_FLOAT, VECTOR_DOUBLE
bool IsBinaryMetric(Metric metric);     // HAMMING, JACCARD
// 64-bit words per binary vector of `bits` dimensions.
inline uint32_t BinaryWords(uint32_t bits) {
  return (bits + 63) / 64;
}
bool IsIntegerType(DataType type);  // TINYINT .. BIGINT
bool IsFloatingType(DataType type);
// Inclusive value range of an integer type.
void IntegerRange(DataType type, int64_t* min, int64_t* max);

// A sparse vector: indices strictly increasing, one value each.
struct SparseVector {
  std::vector<uint32_t> indices;
  std::vector<float> values;
  auto operator<=>(const SparseVector&) const =
      default;  // NOLINT(modernize-use-nullptr): tidy 14 false positive
};

// A single value of a row. Vectors appear only in results, never in filters:
// float vectors as floats, binary vectors as one 0/1 byte per bit.
using Value = std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<float>,
                           std::vector<uint8_t>, SparseVector>;

inline bool IsNull(const Value& v) {
  return std::holds_alternative<std::monostate>(v);
}

// A primary key: integer or string. All keys of one table hold the same
// alternative, so the variant's operator< orders them by value.
using PrimaryKey = std::variant<int64_t, std::string>;

}  // namespace quiver
