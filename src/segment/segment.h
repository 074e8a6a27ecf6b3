#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "schema/column.h"
#include "schema/types.h"

namespace quiver {

// A run of rows of one table, with a live flag per row. Rows keep their
// number for the segment's life; a delete clears the row's live flag. Within
// a segment at most one live row has a given primary key.
//
// Not thread-safe: the owning Table serialises writers against readers.
class Segment {
 public:
  virtual ~Segment() = default;

  virtual size_t num_rows() const = 0;  // including deleted rows
  virtual size_t live_rows() const = 0;
  // One Column per schema field (vector columns of sealed segments are
  // backed by the mapped file).
  virtual std::span<const Column> columns() const = 0;
  virtual bool IsLive(size_t row) const = 0;
  // Appends num_rows() bytes to `out`: 1 for live rows, 0 for deleted ones.
  virtual void AppendLiveFlags(std::vector<uint8_t>* out) const = 0;
  // Row number of the live row with this key, or -1.
  virtual int64_t FindLiveKey(const PrimaryKey& key) const = 0;
  // Marks a live row deleted.
  virtual void MarkDeleted(size_t row) = 0;
};

}  // namespace quiver
