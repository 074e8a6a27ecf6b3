#pragma once

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "engine/query.h"

namespace quiver {

using Json = nlohmann::ordered_json;

// Records as objects keyed by field name; "@distance" added when present.
Json EncodeResultSet(const TableSchema& schema, const ResultSet& result);
// name, fields (name, dataType, primaryKey, dimensions, metricType), rowCount.
Json EncodeTableInfo(const TableInfo& info);

}  // namespace quiver
