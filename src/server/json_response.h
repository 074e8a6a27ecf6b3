#pragma once

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "engine/query.h"

namespace quiver {

using Json = nlohmann::ordered_json;

// Records as objects keyed by field name; "@distance" added when present.
Json EncodeResultSet(const TableSchema& schema, const ResultSet& result);
// name, fields (name, dataType, primaryKey, dimensions, metricType), rowCount,
// and the storage fields below.
Json EncodeTableInfo(const TableInfo& info);
// sealedSegments, sealedRecords, unsealedRecords, checkpointLsn, lastLsn,
// writable, and error when writes are refused.
void AddStorageFields(const TableStats& stats, const Status& health, Json* out);

}  // namespace quiver
