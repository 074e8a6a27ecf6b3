#pragma once

#include <nlohmann/json.hpp>

#include "engine/collection.h"
#include "engine/query.h"

namespace quiver {

using Json = nlohmann::ordered_json;

// Records as objects keyed by field name; "@distance" added when present.
Json EncodeResultSet(const TableSchema& schema, const ResultSet& result);
// The result of a query or get, shaped as Epsilla does: the records; with
// facets and no "response" in the request, only the facets (one array of
// group rows per facet); with both, {"records": [...], "facets": [...]}.
Json EncodeQueryResult(const TableSchema& schema, const ResultSet& result, bool response_given);
// name, fields (name, dataType, primaryKey, dimensions, metricType), rowCount,
// and the storage fields below.
Json EncodeTableInfo(const TableInfo& info);
// sealedSegments, sealedRecords, unsealedRecords, checkpointLsn, lastLsn,
// writable, and error when writes are refused.
void AddStorageFields(const TableStats& stats, const Status& health, Json* out);
// A write's LSN in each shard it wrote to: {"<shard>": lsn, ...}.
Json EncodeShardLsns(const std::vector<std::pair<uint32_t, Lsn>>& lsns);

}  // namespace quiver
