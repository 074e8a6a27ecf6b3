#pragma once

#include <functional>
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

// Writes `columns` (every row of them, in order) and each row's write stamp
// as a sealed segment file at `path`, atomically (docs/FORMATS.md,
// "Segment"). Keys must be unique.
Status WriteSegmentFile(FileSystem* fs, const std::string& path, const TableSchema& schema,
                        std::span<const Column> columns, std::span<const uint64_t> stamps,
                        Lsn min_lsn, Lsn max_lsn);

namespace segment_format {
struct Footer;
struct Block;
}  // namespace segment_format

// Writes a segment file to `out` column by column, so a seal or compaction
// holds at most one scalar column (and a 1 MiB run of vectors) beyond what
// it reads from: Begin, then each field in schema order (AddColumn, or
// AddVectors for a dense vector field read row by row from its sources),
// then Finish.
class SegmentFileWriter {
 public:
  SegmentFileWriter(const TableSchema& schema, size_t rows, WritableFile* out);
  ~SegmentFileWriter();
  Status Begin();
  Status AddColumn(const Column& column);
  // `row_data(r)`: row r's vector, `row_bytes` bytes (floats, or 64-bit words).
  Status AddVectors(size_t row_bytes, const std::function<const char*(size_t row)>& row_data);
  Status Finish(std::span<const uint64_t> stamps, Lsn min_lsn, Lsn max_lsn);

 private:
  Status Put(std::string_view bytes);
  template <class Encode>
  Status PutBlocks(size_t rows, Encode encode, std::vector<segment_format::Block>* blocks);

  const TableSchema& schema_;
  const size_t rows_;
  WritableFile* const out_;
  uint64_t offset_ = 0;
  std::unique_ptr<segment_format::Footer> footer_;
};

// An immutable segment read from its file: vector columns are served from
// the mapping (so a table may exceed RAM), scalar columns are decompressed
// at open. Every checksum is verified at open; a mismatch is a kCorruption
// naming file, column and offset. Only deletes change (Segment).
class SealedSegment final : public Segment {
 public:
  static Result<std::unique_ptr<SealedSegment>> Open(FileSystem* fs, const std::string& path,
                                                     const TableSchema& schema, uint64_t id);
  // From a mapping of the file; `where` names it in errors; `epoch`: of
  // the writer that wrote it (ManifestSegment).
  static Result<std::unique_ptr<SealedSegment>> Open(std::unique_ptr<MappedFile> file,
                                                     const std::string& where,
                                                     const TableSchema& schema, uint64_t id,
                                                     uint64_t epoch = 0);

  uint64_t id() const { return id_; }
  uint64_t epoch() const { return epoch_; }
  Lsn min_lsn() const { return min_lsn_; }
  Lsn max_lsn() const { return max_lsn_; }
  // The rows deleted by records up to `upto` (for a manifest: its checkpoint).
  Roaring DeletedRows(Lsn upto) const;
  // Marks the rows a manifest lists as deleted by the record at `lsn` (its
  // checkpoint), those not deleted yet (the others keep their LSN). Readers
  // of snapshots before `lsn` do not see the marks; the caller is the
  // segment's one writer.
  void LoadDeleted(const Roaring& deleted, Lsn lsn);

  size_t num_rows() const override { return rows_; }
  std::span<const Column> columns() const override { return columns_; }
  int64_t FindKey(const PrimaryKey& key, size_t rows, Lsn snapshot) const override;
  uint64_t stamp(size_t row) const override { return stamps_.empty() ? 0 : stamps_[row]; }
  uint64_t max_stamp() const { return stamp_range_.max; }
  StampRange stamp_range() const override { return stamp_range_; }

 private:
  SealedSegment() = default;

  uint64_t id_ = 0;
  uint64_t epoch_ = 0;
  size_t rows_ = 0;
  Lsn min_lsn_ = 0, max_lsn_ = 0;
  size_t pk_index_ = 0;
  std::unique_ptr<MappedFile> file_;
  std::vector<Column> columns_;
  std::vector<uint32_t> key_order_;  // row numbers sorted by primary key
  std::vector<uint64_t> stamps_;     // per row; empty in a version 1 file (stamps 0)
  StampRange stamp_range_;
};

}  // namespace quiver
