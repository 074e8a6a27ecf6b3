#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "schema/column.h"
#include "schema/schema.h"
#include "segment/segment.h"

namespace quiver {

// The in-memory, append-only, columnar segment that receives new rows,
// searched by brute force until it is sealed. Not thread-safe.
class GrowingSegment final : public Segment {
 public:
  explicit GrowingSegment(const TableSchema& schema);

  // Appends row `row` of `batch`; its key must not be live in any segment.
  void Append(const RecordBatch& batch, size_t row);

  size_t num_rows() const override { return live_.size(); }
  size_t live_rows() const override { return live_count_; }
  std::span<const Column> columns() const override { return columns_; }
  bool IsLive(size_t row) const override { return live_[row] != 0; }
  void AppendLiveFlags(std::vector<uint8_t>* out) const override;
  int64_t FindLiveKey(const PrimaryKey& key) const override;
  void MarkDeleted(size_t row) override;

 private:
  std::vector<Column> columns_;
  size_t pk_index_;
  std::vector<uint8_t> live_;
  size_t live_count_ = 0;
  std::unordered_map<PrimaryKey, uint32_t> key_to_row_;  // live rows only
};

}  // namespace quiver
