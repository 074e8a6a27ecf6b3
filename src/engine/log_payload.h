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
  // Row r's write stamp is stamp + offsets[r], or stamp + r without offsets
  // (0: a record from before stamps).
  uint64_t stamp = 0;
  std::vector<uint32_t> offsets;
  RecordBatch batch;

  uint64_t StampOf(size_t row) const {
    if (stamp == 0) return 0;
    return stamp + (offsets.empty() ? row : offsets[row]);
  }
};

// `offsets`: empty, or one per row (a shard's part of a table's batch keeps
// each row's place in the whole batch).
std::string EncodeInsert(const RecordBatch& batch, bool upsert, uint64_t stamp,
                         std::span<const uint32_t> offsets = {});
Result<InsertPayload> DecodeInsert(std::string_view payload, const TableSchema& schema);

std::string EncodeDelete(std::span<const PrimaryKey> keys);
Result<std::vector<PrimaryKey>> DecodeDelete(std::string_view payload);

}  // namespace quiver
