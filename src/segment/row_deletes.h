#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "wal/log.h"

namespace quiver {

// When each row of a segment was deleted: the LSN of the record that deleted
// it, 0 while it is live. One writer (the table's apply path) marks rows;
// any number of readers ask about them as of a snapshot LSN, without locks:
// a row is live at snapshot S when it was never deleted or deleted after S.
// So a reader that pinned S never sees a delete (or the delete half of an
// upsert) from a later record, while the writer goes on.
class RowDeletes {
 public:
  explicit RowDeletes(size_t capacity = 0) { Resize(capacity); }
  // Sizes the table for `capacity` rows, all live. Only before the segment
  // is shared.
  void Resize(size_t capacity) {
    lsn_ = std::make_unique<std::atomic<Lsn>[]>(capacity);
    capacity_ = capacity;
  }
  size_t capacity() const { return capacity_; }

  // Writer only. A row is deleted once.
  void Delete(size_t row, Lsn lsn) {
    lsn_[row].store(lsn, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    Lsn first = first_.load(std::memory_order_relaxed);
    if (first == 0 || lsn < first) first_.store(lsn, std::memory_order_relaxed);
  }
  Lsn DeletedAt(size_t row) const { return lsn_[row].load(std::memory_order_relaxed); }
  bool LiveAt(size_t row, Lsn snapshot) const {
    const Lsn at = DeletedAt(row);
    return at == 0 || at > snapshot;
  }
  // Whether some row was deleted at or before `snapshot` (cheap: readers of
  // a segment without deletes skip the flags).
  bool AnyDeletedAt(Lsn snapshot) const {
    const Lsn first = first_.load(std::memory_order_relaxed);
    return first != 0 && first <= snapshot;
  }
  // Appends `rows` flags, 1 for each row live at `snapshot`; returns their sum.
  size_t AppendLiveFlags(size_t rows, Lsn snapshot, std::vector<uint8_t>* out) const {
    const size_t base = out->size();
    out->resize(base + rows, 1);
    if (!AnyDeletedAt(snapshot)) return rows;
    size_t live = 0;
    for (size_t row = 0; row < rows; ++row) {
      const uint8_t flag = LiveAt(row, snapshot) ? 1 : 0;
      (*out)[base + row] = flag;
      live += flag;
    }
    return live;
  }
  // Rows deleted so far (statistics; not tied to a snapshot).
  size_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<std::atomic<Lsn>[]> lsn_;
  size_t capacity_ = 0;
  std::atomic<size_t> count_{0};
  std::atomic<Lsn> first_{0};  // the smallest deleting LSN, 0 when none
};

}  // namespace quiver
