#pragma once

// Decoding of request bodies into plain engine types. Every failure is a
// kInvalidArgument that names the offending key, record or field.

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/query.h"
#include "schema/column.h"
#include "schema/schema.h"

namespace quiver {

// Nesting deeper than this is refused (a guard against stack exhaustion).
inline constexpr size_t kMaxJsonDepth = 64;

// A parsed JSON object body. Views into it stay valid until the next Parse
// on the same thread (the parser is per thread).
class JsonBody {
 public:
  static Result<JsonBody> Parse(std::string_view body);

  bool Has(std::string_view key) const;
  Result<std::string> RequiredString(std::string_view key) const;
  Result<std::optional<std::string>> OptionalString(std::string_view key) const;
  Result<std::optional<bool>> OptionalBool(std::string_view key) const;
  Result<std::optional<int64_t>> OptionalInt(std::string_view key) const;
  Result<std::optional<std::vector<std::string>>> OptionalStringList(std::string_view key) const;
  std::optional<simdjson::dom::element> Get(std::string_view key) const;

 private:
  simdjson::dom::object root_;
};

Result<TableSchema> DecodeTableSchema(const JsonBody& body);
// `data` must be an array of objects keyed by field name; absent or null
// scalar fields are stored as null.
Result<RecordBatch> DecodeRecords(const TableSchema& schema, simdjson::dom::element data);
Result<std::vector<PrimaryKey>> DecodeKeys(simdjson::dom::element keys);
Result<std::vector<float>> DecodeVector(simdjson::dom::element value, std::string_view what);
// {"indices": [...], "values": [...]}: equal lengths, indices 0 .. 2^32-1 and
// distinct; returned sorted by index.
Result<SparseVector> DecodeSparse(simdjson::dom::element value, std::string_view what);
Result<SearchRequest> DecodeSearchRequest(const JsonBody& body);
Result<GetRequest> DecodeGetRequest(const JsonBody& body);
// A query body with "queries" (hybrid search) instead of "queryVector".
Result<HybridRequest> DecodeHybridRequest(const JsonBody& body);

}  // namespace quiver
