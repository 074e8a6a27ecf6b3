#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "schema/column.h"
#include "schema/schema.h"

namespace quiver {

struct InsertCounts {
  uint64_t inserted = 0;
  uint64_t skipped = 0;
};

// The in-memory, append-only, columnar rows of a table, with a primary-key
// index and per-row delete flags. Rows keep their number for life; a delete
// only clears the row's live flag and an upsert deletes, then appends.
//
// Apply* are deterministic functions of the current state and their input,
// so replaying the log in LSN order rebuilds exactly the state the live
// server had. Not thread-safe: the Table synchronises.
class GrowingSegment {
 public:
  explicit GrowingSegment(const TableSchema& schema);

  // Rows whose key exists already are skipped unless `upsert`, in which case
  // they replace it. Duplicates inside one batch behave as if sent one by one.
  InsertCounts ApplyInsert(const RecordBatch& batch, bool upsert);
  // Returns how many live rows were deleted.
  uint64_t ApplyDelete(std::span<const PrimaryKey> keys);

  size_t num_rows() const { return live_.size(); }  // including deleted rows
  size_t live_rows() const { return live_count_; }
  bool IsLive(size_t row) const { return live_[row] != 0; }
  std::span<const uint8_t> live_flags() const { return live_; }
  std::span<const Column> columns() const { return columns_; }
  // Row number of the live row with this key, or -1.
  int64_t FindKey(const PrimaryKey& key) const;
  PrimaryKey KeyOf(size_t row) const { return KeyAt(columns_[pk_index_], row); }

 private:
  std::vector<Column> columns_;
  size_t pk_index_;
  std::vector<uint8_t> live_;
  size_t live_count_ = 0;
  std::unordered_map<PrimaryKey, uint32_t> key_to_row_;
};

}  // namespace quiver
