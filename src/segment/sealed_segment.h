#pragma once

#include <memory>
#include <roaring/roaring.hh>
#include <span>
#include <string>
#include <vector>

#include "io/file_system.h"
#include "schema/column.h"
#include "schema/schema.h"
#include "segment/segment.h"
#include "wal/log.h"

namespace quiver {

// Writes `columns` (every row of them, in order) as a sealed segment file at
// `path`, atomically (docs/FORMATS.md, "Segment"). Keys must be unique.
Status WriteSegmentFile(FileSystem* fs, const std::string& path, const TableSchema& schema,
                        std::span<const Column> columns, Lsn min_lsn, Lsn max_lsn);

// An immutable segment read from its file: vector columns are served from
// the mapping (so a table may exceed RAM), scalar columns are decompressed
// at open. Every checksum is verified at open; a mismatch is a kCorruption
// naming file, column and offset. Only the delete bitmap changes. Not
// thread-safe (the Table synchronises).
class SealedSegment final : public Segment {
 public:
  static Result<std::unique_ptr<SealedSegment>> Open(FileSystem* fs, const std::string& path,
                                                     const TableSchema& schema, uint64_t id);

  uint64_t id() const { return id_; }
  Lsn min_lsn() const { return min_lsn_; }
  Lsn max_lsn() const { return max_lsn_; }
  const Roaring& deleted() const { return deleted_; }
  void SetDeleted(Roaring deleted);

  size_t num_rows() const override { return rows_; }
  size_t live_rows() const override { return rows_ - deleted_.cardinality(); }
  std::span<const Column> columns() const override { return columns_; }
  bool IsLive(size_t row) const override { return !deleted_.contains(static_cast<uint32_t>(row)); }
  void AppendLiveFlags(std::vector<uint8_t>* out) const override;
  int64_t FindLiveKey(const PrimaryKey& key) const override;
  void MarkDeleted(size_t row) override { deleted_.add(static_cast<uint32_t>(row)); }

 private:
  SealedSegment() = default;

  uint64_t id_ = 0;
  size_t rows_ = 0;
  Lsn min_lsn_ = 0, max_lsn_ = 0;
  size_t pk_index_ = 0;
  std::unique_ptr<MappedFile> file_;
  std::vector<Column> columns_;
  std::vector<uint32_t> key_order_;  // row numbers sorted by primary key
  Roaring deleted_;
};

}  // namespace quiver
