#pragma once

// Decoding of request bodies into plain engine types. Every failure is a
// kInvalidArgument that names the offending key, record or field.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/query.h"
#include "schema/column.h"
#include "schema/schema.h"
#include "server/json_body.h"

namespace quiver {

Result<TableSchema> DecodeTableSchema(const JsonBody& body);
// Records per insert request (413 above: split the batch).
inline constexpr size_t kMaxBatchRows = 100000;

// `data` must be an array of objects keyed by field name; absent or null
// scalar fields are stored as null.
Result<RecordBatch> DecodeRecords(const TableSchema& schema, simdjson::dom::element data);
Result<std::vector<PrimaryKey>> DecodeKeys(simdjson::dom::element keys);
Result<SearchRequest> DecodeSearchRequest(const JsonBody& body);
Result<GetRequest> DecodeGetRequest(const JsonBody& body);
// A query body with "queries" (hybrid search) instead of "queryVector".
Result<HybridRequest> DecodeHybridRequest(const JsonBody& body);

}  // namespace quiver
