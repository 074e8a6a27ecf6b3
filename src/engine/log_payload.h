#pragma once

// Payloads of the table log's records (docs/FORMATS.md, "Log records").

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "schema/column.h"
#include "schema/schema.h"

namespace quiver {

struct InsertPayload {
  bool upsert = false;
  RecordBatch batch;
};

std::string EncodeInsert(const RecordBatch& batch, bool upsert);
Result<InsertPayload> DecodeInsert(std::string_view payload, const TableSchema& schema);

std::string EncodeDelete(std::span<const PrimaryKey> keys);
Result<std::vector<PrimaryKey>> DecodeDelete(std::string_view payload);

}  // namespace quiver
