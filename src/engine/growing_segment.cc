#include "engine/growing_segment.h"

namespace quiver {

GrowingSegment::GrowingSegment(const TableSchema& schema) : pk_index_(*schema.PrimaryKeyIndex()) {
  for (const Field& field : schema.fields) columns_.emplace_back(field);
}

InsertCounts GrowingSegment::ApplyInsert(const RecordBatch& batch, bool upsert) {
  InsertCounts counts;
  const size_t rows = batch.num_rows();
  for (auto& column : columns_) column.Reserve(column.size() + rows);
  for (size_t r = 0; r < rows; ++r) {
    PrimaryKey key = KeyAt(batch.columns[pk_index_], r);
    auto it = key_to_row_.find(key);
    if (it != key_to_row_.end()) {
      if (!upsert) {
        ++counts.skipped;
        continue;
      }
      live_[it->second] = 0;
      --live_count_;
    }
    const auto row = static_cast<uint32_t>(live_.size());
    for (size_t f = 0; f < columns_.size(); ++f) columns_[f].AppendFrom(batch.columns[f], r);
    live_.push_back(1);
    ++live_count_;
    key_to_row_.insert_or_assign(std::move(key), row);
    ++counts.inserted;
  }
  return counts;
}

uint64_t GrowingSegment::ApplyDelete(std::span<const PrimaryKey> keys) {
  uint64_t deleted = 0;
  for (const PrimaryKey& key : keys) {
    auto it = key_to_row_.find(key);
    if (it == key_to_row_.end()) continue;
    live_[it->second] = 0;
    --live_count_;
    key_to_row_.erase(it);
    ++deleted;
  }
  return deleted;
}

int64_t GrowingSegment::FindKey(const PrimaryKey& key) const {
  auto it = key_to_row_.find(key);
  return it == key_to_row_.end() ? -1 : static_cast<int64_t>(it->second);
}

}  // namespace quiver
