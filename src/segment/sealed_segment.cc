#include "segment/sealed_segment.h"

#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "common/checksum.h"
#include "common/coding.h"
#include "segment/segment_format.h"

namespace quiver {
namespace {

using namespace segment_format;

bool IsIntStored(DataType t) {
  return t == DataType::kBool || IsIntegerType(t);
}

// Per-column min and max over non-null values of integer and float columns.
void ComputeMinMax(const Column& column, ColumnMeta* meta) {
  const DataType t = column.type();
  if (!IsIntStored(t) && !IsFloatingType(t)) return;
  for (size_t r = 0; r < column.size(); ++r) {
    if (column.IsNull(r)) continue;
    if (IsIntStored(t)) {
      const int64_t v = column.GetInt(r);
      int64_t lo, hi;
      std::memcpy(&lo, &meta->min_bits, 8);
      std::memcpy(&hi, &meta->max_bits, 8);
      if (!meta->has_min_max || v < lo) std::memcpy(&meta->min_bits, &v, 8);
      if (!meta->has_min_max || v > hi) std::memcpy(&meta->max_bits, &v, 8);
    } else {
      const double v = column.GetDouble(r);
      double lo, hi;
      std::memcpy(&lo, &meta->min_bits, 8);
      std::memcpy(&hi, &meta->max_bits, 8);
      if (!meta->has_min_max || v < lo) std::memcpy(&meta->min_bits, &v, 8);
      if (!meta->has_min_max || v > hi) std::memcpy(&meta->max_bits, &v, 8);
    }
    meta->has_min_max = true;
  }
}

std::vector<uint32_t> KeyOrder(const Column& pk) {
  std::vector<uint32_t> order(pk.size());
  std::iota(order.begin(), order.end(), 0u);
  if (pk.type() == DataType::kString) {
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return pk.GetString(a) < pk.GetString(b); });
  } else {
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return pk.GetInt(a) < pk.GetInt(b); });
  }
  return order;
}

Status CorruptAt(const std::string& path, const std::string& what, uint64_t offset) {
  return Status::Corruption("segment " + path + ": " + what + " at offset " +
                            std::to_string(offset));
}

// Every byte outside the checksummed extents (the header's reserved word,
// alignment padding) must be zero, so a flipped bit anywhere is detected.
Status CheckUncoveredBytesAreZero(const std::string& path, std::string_view file,
                                  const Footer& footer) {
  std::vector<std::pair<uint64_t, uint64_t>> extents;  // [begin, end)
  for (const ColumnMeta& c : footer.columns) {
    if (c.kind == ColumnKind::kRawVectors) extents.emplace_back(c.offset, c.offset + c.length);
    for (const Block& b : c.blocks) extents.emplace_back(b.offset, b.offset + b.stored_size);
  }
  for (const Block& b : footer.stamp_blocks)
    extents.emplace_back(b.offset, b.offset + b.stored_size);
  std::sort(extents.begin(), extents.end());
  uint64_t footer_offset;
  std::memcpy(&footer_offset, file.data() + file.size() - kTrailerSize, 8);
  uint64_t pos = 12;  // after magic and version: the reserved word onwards
  for (const auto& [begin, end] : extents) {
    if (begin < pos || end > footer_offset)
      return CorruptAt(path, "overlapping or stray extent", begin);
    for (; pos < begin; ++pos) {
      if (file[pos] != 0) return CorruptAt(path, "non-zero padding", pos);
    }
    pos = end;
  }
  for (; pos < footer_offset; ++pos) {
    if (file[pos] != 0) return CorruptAt(path, "non-zero padding", pos);
  }
  return Status::OK();
}

// Checks and decompresses each block, handing its rows to `decode(reader, rows)`,
// which must consume exactly the block.
template <class Decode>
Status ReadBlocks(const std::string& path, std::string_view file, const std::string& where,
                  const std::vector<Block>& blocks, Decode decode) {
  const uint64_t data_end = file.size() - kTrailerSize;
  for (size_t b = 0; b < blocks.size(); ++b) {
    const Block& block = blocks[b];
    const std::string at = where + " block " + std::to_string(b);
    if (block.offset > data_end || block.stored_size > data_end - block.offset) {
      return CorruptAt(path, at + " out of bounds", block.offset);
    }
    const std::string_view stored = file.substr(block.offset, block.stored_size);
    if (Checksum64(stored) != block.checksum)
      return CorruptAt(path, at + " checksum mismatch", block.offset);
    std::string raw(block.raw_size, '\0');
    const size_t n = ZSTD_decompress(raw.data(), raw.size(), stored.data(), stored.size());
    if (ZSTD_isError(n) || n != raw.size())
      return CorruptAt(path, at + " does not decompress", block.offset);
    ByteReader reader(raw);
    Status decoded = decode(&reader, block.rows);
    if (!decoded.ok() || reader.remaining() != 0)
      return CorruptAt(path, at + " does not decode", block.offset);
  }
  return Status::OK();
}

}  // namespace

Status SegmentFileWriter::Put(std::string_view bytes) {
  QV_RETURN_IF_ERROR(out_->Append(bytes));
  offset_ += bytes.size();
  return Status::OK();
}

template <class Encode>
Status SegmentFileWriter::PutBlocks(size_t rows, Encode encode, std::vector<Block>* blocks) {
  for (size_t begin = 0; begin < rows; begin += kRowsPerBlock) {
    const size_t end = std::min(rows, begin + kRowsPerBlock);
    std::string raw;
    ByteWriter rw(&raw);
    encode(&rw, begin, end);
    std::string stored(ZSTD_compressBound(raw.size()), '\0');
    const size_t n = ZSTD_compress(stored.data(), stored.size(), raw.data(), raw.size(), 1);
    if (ZSTD_isError(n)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
    stored.resize(n);
    blocks->push_back({offset_, static_cast<uint32_t>(n), static_cast<uint32_t>(raw.size()),
                       static_cast<uint32_t>(end - begin), Checksum64(stored)});
    QV_RETURN_IF_ERROR(Put(stored));
  }
  return Status::OK();
}

SegmentFileWriter::SegmentFileWriter(const TableSchema& schema, size_t rows, WritableFile* out)
    : schema_(schema), rows_(rows), out_(out), footer_(std::make_unique<Footer>()) {
  footer_->row_count = rows;
  footer_->fields = schema.fields;
}

SegmentFileWriter::~SegmentFileWriter() = default;

Status SegmentFileWriter::Begin() {
  std::string header(kHeaderMagic);
  ByteWriter w(&header);
  w.U32(kVersion);
  w.U32(0);
  return Put(header);
}

Status SegmentFileWriter::AddColumn(const Column& column) {
  const size_t field = footer_->columns.size();
  if (field >= schema_.fields.size() || column.size() != rows_ ||
      column.type() != schema_.fields[field].type) {
    return Status::Internal("segment writer: column " + std::to_string(field) + " does not fit");
  }
  ColumnMeta meta;
  meta.kind = ColumnKind::kZstdBlocks;
  if (IsDenseVectorType(column.type())) {
    const bool binary = column.type() == DataType::kVectorBinary;
    const size_t row_bytes =
        binary ? column.words() * sizeof(uint64_t) : column.dimensions() * sizeof(float);
    const char* data = binary ? reinterpret_cast<const char*>(column.BitsData())
                              : reinterpret_cast<const char*>(column.VectorData());
    return AddVectors(row_bytes, [&](size_t row) { return data + row * row_bytes; });
  }
  QV_RETURN_IF_ERROR(PutBlocks(
      column.size(),
      [&](ByteWriter* out, size_t begin, size_t end) { column.EncodeRange(out, begin, end); },
      &meta.blocks));
  ComputeMinMax(column, &meta);
  footer_->columns.push_back(std::move(meta));
  if (field == *schema_.PrimaryKeyIndex()) footer_->key_order = KeyOrder(column);
  return Status::OK();
}

Status SegmentFileWriter::AddVectors(size_t row_bytes,
                                     const std::function<const char*(size_t row)>& row_data) {
  const size_t field = footer_->columns.size();
  if (field >= schema_.fields.size() || !IsDenseVectorType(schema_.fields[field].type)) {
    return Status::Internal("segment writer: field " + std::to_string(field) +
                            " is not a dense vector field");
  }
  const std::string padding((kVectorAlignment - offset_ % kVectorAlignment) % kVectorAlignment,
                            '\0');
  QV_RETURN_IF_ERROR(Put(padding));
  ColumnMeta meta;
  meta.kind = ColumnKind::kRawVectors;
  meta.offset = offset_;
  meta.length = uint64_t{rows_} * row_bytes;
  // Vectors are never null: the region is exactly rows * row_bytes, written
  // in runs of about 1 MiB and checksummed as it goes.
  XXH3_state_t* state = XXH3_createState();
  if (state == nullptr) return Status::Internal("out of memory for a checksum state");
  XXH3_64bits_reset(state);
  std::string run;
  const size_t run_rows = std::max<size_t>(1, (1u << 20) / std::max<size_t>(row_bytes, 1));
  Status status;
  for (size_t row = 0; row < rows_ && status.ok(); ++row) {
    run.append(row_data(row), row_bytes);
    if ((row + 1) % run_rows == 0 || row + 1 == rows_) {
      XXH3_64bits_update(state, run.data(), run.size());
      status = Put(run);
      run.clear();
    }
  }
  meta.checksum = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  QV_RETURN_IF_ERROR(status);
  footer_->columns.push_back(std::move(meta));
  return Status::OK();
}

Status SegmentFileWriter::Finish(std::span<const uint64_t> stamps, Lsn min_lsn, Lsn max_lsn) {
  if (footer_->columns.size() != schema_.fields.size() || stamps.size() != rows_) {
    return Status::Internal("segment writer: finished with " +
                            std::to_string(footer_->columns.size()) + " of " +
                            std::to_string(schema_.fields.size()) + " columns");
  }
  footer_->min_lsn = min_lsn;
  footer_->max_lsn = max_lsn;
  QV_RETURN_IF_ERROR(PutBlocks(
      stamps.size(),
      [&](ByteWriter* out, size_t begin, size_t end) {
        for (size_t row = begin; row < end; ++row) out->U64(stamps[row]);
      },
      &footer_->stamp_blocks));
  const std::string encoded = EncodeFooter(*footer_);
  const uint64_t footer_offset = offset_;
  std::string trailer = encoded;
  ByteWriter w(&trailer);
  w.U64(footer_offset);
  w.U64(encoded.size());
  w.U64(Checksum64(encoded));
  w.Raw(kTrailerMagic.data(), kTrailerMagic.size());
  return Put(trailer);
}

Status WriteSegmentFile(FileSystem* fs, const std::string& path, const TableSchema& schema,
                        std::span<const Column> columns, std::span<const uint64_t> stamps,
                        Lsn min_lsn, Lsn max_lsn) {
  const size_t rows = columns.empty() ? 0 : columns[0].size();
  return fs->WriteFileAtomicFrom(
      path,
      [&](WritableFile* out) -> Status {
        SegmentFileWriter writer(schema, rows, out);
        QV_RETURN_IF_ERROR(writer.Begin());
        for (const Column& column : columns) QV_RETURN_IF_ERROR(writer.AddColumn(column));
        return writer.Finish(stamps, min_lsn, max_lsn);
      },
      "segment");
}

Result<std::unique_ptr<SealedSegment>> SealedSegment::Open(FileSystem* fs, const std::string& path,
                                                           const TableSchema& schema, uint64_t id) {
  QV_ASSIGN_OR_RETURN(auto file, fs->Map(path));
  return Open(std::move(file), path, schema, id);
}

Result<std::unique_ptr<SealedSegment>> SealedSegment::Open(std::unique_ptr<MappedFile> file_map,
                                                           const std::string& path,
                                                           const TableSchema& schema, uint64_t id,
                                                           uint64_t epoch) {
  std::unique_ptr<SealedSegment> seg(new SealedSegment());
  seg->epoch_ = epoch;
  seg->file_ = std::move(file_map);
  const std::string_view file = seg->file_->data();
  auto footer = ReadFooter(file);
  if (!footer.ok()) return footer.status().WithContext("segment " + path);
  const bool same = std::equal(footer->fields.begin(), footer->fields.end(), schema.fields.begin(),
                               schema.fields.end(),
                               [](const Field& a, const Field& b) { return a.SameStorage(b); });
  if (!same) {
    return Status::Corruption("segment " + path + ": its schema differs from the table's");
  }
  seg->id_ = id;
  seg->rows_ = footer->row_count;
  seg->deletes_.Resize(seg->rows_);
  seg->min_lsn_ = footer->min_lsn;
  seg->max_lsn_ = footer->max_lsn;
  seg->pk_index_ = *schema.PrimaryKeyIndex();
  seg->key_order_ = std::move(footer->key_order);
  const uint64_t data_end = file.size() - kTrailerSize;
  QV_RETURN_IF_ERROR(CheckUncoveredBytesAreZero(path, file, *footer));
  for (size_t f = 0; f < schema.fields.size(); ++f) {
    const Field& field = schema.fields[f];
    const ColumnMeta& meta = footer->columns[f];
    const std::string where = "column '" + field.name + "'";
    if (IsDenseVectorType(field.type)) {
      const bool binary = field.type == DataType::kVectorBinary;
      const uint64_t expected =
          binary ? uint64_t{seg->rows_} * BinaryWords(field.dimensions) * sizeof(uint64_t)
                 : uint64_t{seg->rows_} * field.dimensions * sizeof(float);
      if (meta.kind != ColumnKind::kRawVectors || meta.length != expected ||
          meta.offset % kVectorAlignment != 0 || meta.offset > data_end ||
          meta.length > data_end - meta.offset) {
        return CorruptAt(path, where + " has a bad extent", meta.offset);
      }
      if (Checksum64(file.substr(meta.offset, meta.length)) != meta.checksum) {
        return CorruptAt(path, where + " checksum mismatch", meta.offset);
      }
      if (binary) {
        const auto* bits = reinterpret_cast<const uint64_t*>(file.data() + meta.offset);
        seg->columns_.push_back(Column::BorrowedBits(field, bits, seg->rows_));
      } else {
        const auto* data = reinterpret_cast<const float*>(file.data() + meta.offset);
        seg->columns_.push_back(Column::BorrowedVectors(field, data, seg->rows_));
      }
      continue;
    }
    if (meta.kind != ColumnKind::kZstdBlocks) return CorruptAt(path, where + " has a bad kind", 0);
    Column column(field);
    column.Reserve(seg->rows_);
    QV_RETURN_IF_ERROR(ReadBlocks(
        path, file, where, meta.blocks,
        [&](ByteReader* reader, uint32_t rows) { return column.AppendDecoded(reader, rows); }));
    if (column.size() != seg->rows_) return CorruptAt(path, where + " has the wrong row count", 0);
    seg->columns_.push_back(std::move(column));
  }
  seg->stamps_.reserve(footer->stamp_blocks.empty() ? 0 : seg->rows_);
  QV_RETURN_IF_ERROR(ReadBlocks(path, file, "write stamps", footer->stamp_blocks,
                                [&](ByteReader* reader, uint32_t rows) {
                                  for (uint32_t i = 0; i < rows; ++i) {
                                    uint64_t stamp;
                                    QV_RETURN_IF_ERROR(reader->U64(&stamp));
                                    seg->stamps_.push_back(stamp);
                                  }
                                  return Status::OK();
                                }));
  StampRange& range = seg->stamp_range_;
  for (size_t row = 0; row < seg->stamps_.size(); ++row) {
    const uint64_t stamp = seg->stamps_[row];
    if (row == 0) range.min = range.max = stamp;
    range.sorted = range.sorted && stamp >= range.max;
    range.min = std::min(range.min, stamp);
    range.max = std::max(range.max, stamp);
  }
  return seg;
}

Roaring SealedSegment::DeletedRows(Lsn upto) const {
  Roaring deleted;
  for (size_t row = 0; row < rows_; ++row) {
    const Lsn at = deletes_.DeletedAt(row);
    if (at != 0 && at <= upto) deleted.add(static_cast<uint32_t>(row));
  }
  return deleted;
}

void SealedSegment::LoadDeleted(const Roaring& deleted, Lsn lsn) {
  for (uint32_t row : deleted) {
    if (row < rows_ && deletes_.DeletedAt(row) == 0) MarkDeleted(row, lsn);
  }
}

int64_t SealedSegment::FindKey(const PrimaryKey& key, size_t rows, Lsn snapshot) const {
  const Column& pk = columns_[pk_index_];
  auto less = [&](uint32_t row, const PrimaryKey& k) {
    if (const auto* i = std::get_if<int64_t>(&k)) return pk.GetInt(row) < *i;
    return pk.GetString(row) < std::get<std::string>(k);
  };
  auto it = std::lower_bound(key_order_.begin(), key_order_.end(), key, less);
  if (it == key_order_.end() || KeyAt(pk, *it) != key) return -1;
  if (*it >= rows || !IsLiveAt(*it, snapshot)) return -1;
  return *it;
}

}  // namespace quiver
