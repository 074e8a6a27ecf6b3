#include "segment/growing_segment.h"

namespace quiver {

GrowingSegment::GrowingSegment(const TableSchema& schema) : pk_index_(*schema.PrimaryKeyIndex()) {
  for (const Field& field : schema.fields) columns_.emplace_back(field);
}

void GrowingSegment::Append(const RecordBatch& batch, size_t row) {
  const auto new_row = static_cast<uint32_t>(live_.size());
  for (size_t f = 0; f < columns_.size(); ++f) columns_[f].AppendFrom(batch.columns[f], row);
  live_.push_back(1);
  ++live_count_;
  key_to_row_.insert_or_assign(KeyAt(columns_[pk_index_], new_row), new_row);
}

void GrowingSegment::AppendLiveFlags(std::vector<uint8_t>* out) const {
  out->insert(out->end(), live_.begin(), live_.end());
}

int64_t GrowingSegment::FindLiveKey(const PrimaryKey& key) const {
  auto it = key_to_row_.find(key);
  return it == key_to_row_.end() ? -1 : static_cast<int64_t>(it->second);
}

void GrowingSegment::MarkDeleted(size_t row) {
  live_[row] = 0;
  --live_count_;
  key_to_row_.erase(KeyAt(columns_[pk_index_], row));
}

}  // namespace quiver
