#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "schema/column.h"
#include "schema/schema.h"
#include "segment/segment.h"

namespace quiver {

// An in-memory, append-only, columnar chunk of new rows, searched by brute
// force until it is sealed. Its columns are reserved for `capacity` rows up
// front, so appends never move stored values: readers scan the rows their
// version recorded while the one writer appends after them. A table keeps
// a list of these (a full one is closed and a new one started).
class GrowingSegment final : public Segment {
 public:
  // `sparse_entries`: room for sparse-vector entries per sparse column.
  GrowingSegment(const TableSchema& schema, size_t capacity, size_t sparse_entries = 0);

  size_t capacity() const { return capacity_; }
  // Whether row `row` of `batch` fits in the reserved room.
  bool HasRoomFor(const RecordBatch& batch, size_t row) const;
  // Writer only: appends row `row` of `batch` (HasRoomFor must hold); its
  // key must not be live in any segment.
  void Append(const RecordBatch& batch, size_t row, uint64_t stamp);

  size_t num_rows() const override { return rows_.load(std::memory_order_acquire); }
  std::span<const Column> columns() const override { return columns_; }
  int64_t FindKey(const PrimaryKey& key, size_t rows, Lsn snapshot) const override;
  uint64_t stamp(size_t row) const override { return stamps_[row]; }
  StampRange stamp_range() const override;

 private:
  const size_t capacity_;
  std::vector<Column> columns_;         // reserved for capacity_ rows; never reallocated
  std::unique_ptr<uint64_t[]> stamps_;  // capacity_ of them
  // The stamps' range so far (the writer updates, readers read).
  std::atomic<uint64_t> min_stamp_{0}, max_stamp_{0};
  std::atomic<bool> stamps_sorted_{true};
  const size_t pk_index_;
  std::atomic<size_t> rows_{0};
  mutable Mutex keys_mu_;  // held only for one lookup or one insert
  std::unordered_map<PrimaryKey, uint32_t> newest_row_ GUARDED_BY(keys_mu_);  // per key
};

}  // namespace quiver
