#include "segment/growing_segment.h"

namespace quiver {

GrowingSegment::GrowingSegment(const TableSchema& schema, size_t capacity, size_t sparse_entries)
    : capacity_(capacity), stamps_(new uint64_t[capacity]), pk_index_(*schema.PrimaryKeyIndex()) {
  columns_.reserve(schema.fields.size());
  for (const Field& field : schema.fields) {
    columns_.emplace_back(field);
    columns_.back().Reserve(capacity, sparse_entries);
  }
  deletes_.Resize(capacity);
}

bool GrowingSegment::HasRoomFor(const RecordBatch& batch, size_t row) const {
  if (num_rows() >= capacity_) return false;
  for (size_t f = 0; f < columns_.size(); ++f) {
    if (!columns_[f].HasRoomFor(batch.columns[f], row)) return false;
  }
  return true;
}

void GrowingSegment::Append(const RecordBatch& batch, size_t row, uint64_t stamp) {
  const size_t new_row = rows_.load(std::memory_order_relaxed);
  stamps_[new_row] = stamp;
  const uint64_t max = max_stamp_.load(std::memory_order_relaxed);
  if (new_row == 0) min_stamp_.store(stamp, std::memory_order_relaxed);
  if (new_row > 0 && stamp < max) stamps_sorted_.store(false, std::memory_order_relaxed);
  if (new_row == 0 || stamp > max) max_stamp_.store(stamp, std::memory_order_relaxed);
  if (new_row > 0 && stamp < min_stamp_.load(std::memory_order_relaxed))
    min_stamp_.store(stamp, std::memory_order_relaxed);
  for (size_t f = 0; f < columns_.size(); ++f) columns_[f].AppendFrom(batch.columns[f], row);
  {
    MutexLock lock(&keys_mu_);
    newest_row_.insert_or_assign(KeyAt(batch.columns[pk_index_], row),
                                 static_cast<uint32_t>(new_row));
  }
  rows_.store(new_row + 1, std::memory_order_release);
}

Segment::StampRange GrowingSegment::stamp_range() const {
  // Read after the row count, so the range covers at least the rows a
  // reader's version shows (the release store of rows_ publishes it).
  (void)num_rows();
  return {min_stamp_.load(std::memory_order_relaxed), max_stamp_.load(std::memory_order_relaxed),
          stamps_sorted_.load(std::memory_order_relaxed)};
}

int64_t GrowingSegment::FindKey(const PrimaryKey& key, size_t rows, Lsn snapshot) const {
  int64_t newest = -1;
  {
    MutexLock lock(&keys_mu_);
    auto it = newest_row_.find(key);
    if (it == newest_row_.end()) return -1;
    newest = it->second;
  }
  if (static_cast<size_t>(newest) < rows) {
    // Older rows with this key were deleted no later than this one was
    // appended, so if it is not live, none is.
    return IsLiveAt(static_cast<size_t>(newest), snapshot) ? newest : -1;
  }
  // Appended after the caller's snapshot: an older row may be the live one.
  const Column& pk = columns_[pk_index_];
  for (size_t row = rows; row-- > 0;) {
    if (KeyAt(pk, row) == key) return IsLiveAt(row, snapshot) ? static_cast<int64_t>(row) : -1;
  }
  return -1;
}

}  // namespace quiver
