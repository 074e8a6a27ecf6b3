#include "engine/log_payload.h"

#include "common/coding.h"

namespace quiver {
namespace {

constexpr uint8_t kUpsertFlag = 1;
constexpr uint8_t kStampFlag = 2;    // a u64 write stamp follows the flags
constexpr uint8_t kOffsetsFlag = 4;  // a varint stamp offset per row follows the columns
constexpr uint8_t kIntKey = 1;
constexpr uint8_t kStringKey = 2;

}  // namespace

std::string EncodeInsert(const RecordBatch& batch, bool upsert, uint64_t stamp,
                         std::span<const uint32_t> offsets) {
  std::string out;
  ByteWriter w(&out);
  w.U8((upsert ? kUpsertFlag : 0) | kStampFlag | (offsets.empty() ? 0 : kOffsetsFlag));
  w.U64(stamp);
  w.U32(static_cast<uint32_t>(batch.num_rows()));
  w.U32(static_cast<uint32_t>(batch.columns.size()));
  for (const auto& column : batch.columns) column.EncodeTo(&w);
  for (uint32_t offset : offsets) w.Varint(offset);
  return out;
}

Result<InsertPayload> DecodeInsert(std::string_view payload, const TableSchema& schema) {
  ByteReader r(payload);
  uint8_t flags;
  uint32_t rows, columns;
  uint64_t stamp = 0;
  QV_RETURN_IF_ERROR(r.U8(&flags));
  if (flags & ~(kUpsertFlag | kStampFlag | kOffsetsFlag))
    return Status::Corruption("insert record has unknown flags " + std::to_string(flags));
  if (flags & kStampFlag) QV_RETURN_IF_ERROR(r.U64(&stamp));
  QV_RETURN_IF_ERROR(r.U32(&rows));
  QV_RETURN_IF_ERROR(r.U32(&columns));
  if (columns != schema.fields.size()) {
    return Status::Corruption("insert record has " + std::to_string(columns) +
                              " columns, the table has " + std::to_string(schema.fields.size()));
  }
  InsertPayload out{(flags & kUpsertFlag) != 0, stamp, {}, RecordBatch::ForSchema(schema)};
  for (auto& column : out.batch.columns) QV_RETURN_IF_ERROR(column.AppendDecoded(&r, rows));
  if (flags & kOffsetsFlag) {
    out.offsets.reserve(rows);
    for (uint32_t i = 0; i < rows; ++i) {
      uint64_t offset;
      QV_RETURN_IF_ERROR(r.Varint(&offset));
      if (offset > UINT32_MAX) return Status::Corruption("insert record has a bad stamp offset");
      out.offsets.push_back(static_cast<uint32_t>(offset));
    }
  }
  if (r.remaining() != 0) return Status::Corruption("insert record has trailing bytes");
  return out;
}

std::string EncodeDelete(std::span<const PrimaryKey> keys) {
  std::string out;
  ByteWriter w(&out);
  w.U32(static_cast<uint32_t>(keys.size()));
  for (const auto& key : keys) {
    if (const auto* i = std::get_if<int64_t>(&key)) {
      w.U8(kIntKey);
      w.U64(static_cast<uint64_t>(*i));
    } else {
      w.U8(kStringKey);
      w.String(std::get<std::string>(key));
    }
  }
  return out;
}

Result<std::vector<PrimaryKey>> DecodeDelete(std::string_view payload) {
  ByteReader r(payload);
  uint32_t count;
  QV_RETURN_IF_ERROR(r.U32(&count));
  if (count > r.remaining()) return Status::Corruption("delete record claims too many keys");
  std::vector<PrimaryKey> keys;
  keys.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t kind;
    QV_RETURN_IF_ERROR(r.U8(&kind));
    if (kind == kIntKey) {
      uint64_t v;
      QV_RETURN_IF_ERROR(r.U64(&v));
      keys.emplace_back(static_cast<int64_t>(v));
    } else if (kind == kStringKey) {
      std::string s;
      QV_RETURN_IF_ERROR(r.String(&s));
      keys.emplace_back(std::move(s));
    } else {
      return Status::Corruption("delete record has unknown key kind " + std::to_string(kind));
    }
  }
  if (r.remaining() != 0) return Status::Corruption("delete record has trailing bytes");
  return keys;
}

}  // namespace quiver
