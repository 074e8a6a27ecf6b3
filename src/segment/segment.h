#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "schema/column.h"
#include "schema/types.h"
#include "segment/row_deletes.h"

namespace quiver {

// A run of rows of one table. Rows keep their number for the segment's life
// and their values never change; a delete records the LSN that deleted the
// row (RowDeletes), so readers see the rows live as of their own snapshot.
// Within a segment at most one row with a given primary key is live at a
// time.
//
// Thread-safety: one writer (the table's apply path) appends (growing
// segments) and marks deletes; readers read rows [0, n) for the n their
// table version recorded, at their snapshot LSN, without locks.
class Segment {
 public:
  virtual ~Segment() = default;

  // Rows stored so far, deleted ones included. A growing segment's count
  // moves; a reader uses the count of its version instead.
  virtual size_t num_rows() const = 0;
  // One Column per schema field (vector columns of sealed segments are
  // backed by the mapped file).
  virtual std::span<const Column> columns() const = 0;
  // The row among [0, rows) that holds `key` and is live at `snapshot`, or -1.
  virtual int64_t FindKey(const PrimaryKey& key, size_t rows, Lsn snapshot) const = 0;
  // The row's write stamp: when its write was made, on the table's clock
  // (orders rows across the shards of a table; 0 when written before stamps).
  virtual uint64_t stamp(size_t row) const = 0;
  // The stamps of the segment's rows so far: their range, and whether they
  // never go down from one row to the next (then rows in row order are in
  // stamp order).
  struct StampRange {
    uint64_t min = 0, max = 0;
    bool sorted = true;
  };
  virtual StampRange stamp_range() const = 0;

  const RowDeletes& deletes() const { return deletes_; }
  // Writer only: row `row` is deleted by the record at `lsn`.
  void MarkDeleted(size_t row, Lsn lsn) { deletes_.Delete(row, lsn); }
  bool IsLiveAt(size_t row, Lsn snapshot) const { return deletes_.LiveAt(row, snapshot); }
  // Rows not deleted so far (statistics).
  size_t live_rows() const { return num_rows() - deletes_.count(); }

 protected:
  RowDeletes deletes_;
};

// A key's sentinel for "deleted by nothing yet": the latest state, as the
// writer sees it.
inline constexpr Lsn kLatest = ~Lsn{0};

}  // namespace quiver
