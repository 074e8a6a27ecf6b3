#include "segment/segment_format.h"

#include <cstring>

#include "common/checksum.h"
#include "common/coding.h"
#include "schema/schema_codec.h"

namespace quiver::segment_format {
namespace {

void EncodeBlocks(ByteWriter* w, const std::vector<Block>& blocks) {
  w->Varint(blocks.size());
  for (const Block& b : blocks) {
    w->U64(b.offset);
    w->U32(b.stored_size);
    w->U32(b.raw_size);
    w->U32(b.rows);
    w->U64(b.checksum);
  }
}

Status DecodeBlocks(ByteReader* r, std::vector<Block>* blocks) {
  uint64_t count;
  QV_RETURN_IF_ERROR(r->Varint(&count));
  if (count > r->remaining()) return Status::Corruption("absurd block count");
  blocks->resize(count);
  for (Block& b : *blocks) {
    QV_RETURN_IF_ERROR(r->U64(&b.offset));
    QV_RETURN_IF_ERROR(r->U32(&b.stored_size));
    QV_RETURN_IF_ERROR(r->U32(&b.raw_size));
    QV_RETURN_IF_ERROR(r->U32(&b.rows));
    QV_RETURN_IF_ERROR(r->U64(&b.checksum));
  }
  return Status::OK();
}

}  // namespace

std::string EncodeFooter(const Footer& footer) {
  std::string out;
  ByteWriter w(&out);
  w.U64(footer.row_count);
  w.U64(footer.min_lsn);
  w.U64(footer.max_lsn);
  w.Varint(footer.fields.size());
  for (const Field& f : footer.fields) EncodeField(&w, f);
  for (const ColumnMeta& c : footer.columns) {
    w.U8(static_cast<uint8_t>(c.kind));
    if (c.kind == ColumnKind::kRawVectors) {
      w.U64(c.offset);
      w.U64(c.length);
      w.U64(c.checksum);
    } else {
      EncodeBlocks(&w, c.blocks);
    }
    w.U8(c.has_min_max ? 1 : 0);
    if (c.has_min_max) {
      w.U64(c.min_bits);
      w.U64(c.max_bits);
    }
  }
  w.Varint(footer.key_order.size());
  w.Raw(footer.key_order.data(), footer.key_order.size() * sizeof(uint32_t));
  EncodeBlocks(&w, footer.stamp_blocks);
  return out;
}

Result<Footer> DecodeFooter(std::string_view bytes, uint32_t version) {
  ByteReader r(bytes);
  Footer footer;
  uint64_t field_count;
  QV_RETURN_IF_ERROR(r.U64(&footer.row_count));
  QV_RETURN_IF_ERROR(r.U64(&footer.min_lsn));
  QV_RETURN_IF_ERROR(r.U64(&footer.max_lsn));
  QV_RETURN_IF_ERROR(r.Varint(&field_count));
  if (field_count > 100000) return Status::Corruption("absurd field count");
  footer.fields.resize(field_count);
  for (Field& f : footer.fields) QV_RETURN_IF_ERROR(DecodeField(&r, &f));
  footer.columns.resize(field_count);
  for (ColumnMeta& c : footer.columns) {
    uint8_t kind, has;
    QV_RETURN_IF_ERROR(r.U8(&kind));
    c.kind = static_cast<ColumnKind>(kind);
    if (c.kind == ColumnKind::kRawVectors) {
      QV_RETURN_IF_ERROR(r.U64(&c.offset));
      QV_RETURN_IF_ERROR(r.U64(&c.length));
      QV_RETURN_IF_ERROR(r.U64(&c.checksum));
    } else if (c.kind == ColumnKind::kZstdBlocks) {
      QV_RETURN_IF_ERROR(DecodeBlocks(&r, &c.blocks));
    } else {
      return Status::Corruption("unknown column kind " + std::to_string(kind));
    }
    QV_RETURN_IF_ERROR(r.U8(&has));
    c.has_min_max = has != 0;
    if (c.has_min_max) {
      QV_RETURN_IF_ERROR(r.U64(&c.min_bits));
      QV_RETURN_IF_ERROR(r.U64(&c.max_bits));
    }
  }
  uint64_t keys;
  QV_RETURN_IF_ERROR(r.Varint(&keys));
  if (keys != footer.row_count)
    return Status::Corruption("primary-key order does not cover every row");
  footer.key_order.resize(keys);
  QV_RETURN_IF_ERROR(r.Raw(footer.key_order.data(), keys * sizeof(uint32_t)));
  for (uint32_t row : footer.key_order) {
    if (row >= footer.row_count) return Status::Corruption("primary-key order names a missing row");
  }
  if (version >= 2) {
    QV_RETURN_IF_ERROR(DecodeBlocks(&r, &footer.stamp_blocks));
    uint64_t stamped = 0;
    for (const Block& b : footer.stamp_blocks) stamped += b.rows;
    if (stamped != footer.row_count)
      return Status::Corruption("write stamps do not cover every row");
  }
  if (r.remaining() != 0) return Status::Corruption("trailing bytes in footer");
  return footer;
}

Result<Footer> ReadFooter(std::string_view file) {
  if (file.size() < kHeaderSize + kTrailerSize || file.substr(0, 8) != kHeaderMagic) {
    return Status::Corruption("bad segment header at offset 0");
  }
  uint32_t version;
  std::memcpy(&version, file.data() + 8, 4);
  if (version < kMinVersion || version > kVersion)
    return Status::Corruption("unsupported segment version " + std::to_string(version));
  const std::string_view trailer = file.substr(file.size() - kTrailerSize);
  if (trailer.substr(24) != kTrailerMagic) {
    return Status::Corruption("bad segment trailer at offset " +
                              std::to_string(file.size() - kTrailerSize));
  }
  uint64_t offset, length, sum;
  std::memcpy(&offset, trailer.data(), 8);
  std::memcpy(&length, trailer.data() + 8, 8);
  std::memcpy(&sum, trailer.data() + 16, 8);
  if (offset < kHeaderSize || offset > file.size() - kTrailerSize ||
      length != file.size() - kTrailerSize - offset) {
    return Status::Corruption("footer bounds out of range in trailer");
  }
  const std::string_view footer = file.substr(offset, length);
  if (Checksum64(footer) != sum) {
    return Status::Corruption("footer checksum mismatch at offset " + std::to_string(offset));
  }
  auto decoded = DecodeFooter(footer, version);
  if (!decoded.ok())
    return decoded.status().WithContext("footer at offset " + std::to_string(offset));
  return decoded;
}

}  // namespace quiver::segment_format
