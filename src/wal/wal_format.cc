#include "wal/wal_format.h"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "common/checksum.h"
#include "common/coding.h"

namespace quiver::wal {

void AppendFrame(std::string* out, Lsn lsn, RecordType type, std::string_view payload) {
  const size_t start = out->size();
  out->resize(start + 8);  // checksum, filled below
  ByteWriter w(out);
  w.U32(static_cast<uint32_t>(payload.size()));
  w.U8(static_cast<uint8_t>(type));
  w.U64(lsn);
  w.Raw(payload.data(), payload.size());
  const uint64_t sum = Checksum64(std::string_view(*out).substr(start + 8));
  std::memcpy(out->data() + start, &sum, 8);
}

FrameStatus DecodeFrame(std::string_view data, LogRecord* record, size_t* size) {
  if (data.size() < kFrameHeaderSize) return FrameStatus::kTruncated;
  uint64_t sum;
  uint32_t length;
  std::memcpy(&sum, data.data(), 8);
  std::memcpy(&length, data.data() + 8, 4);
  if (length > kMaxPayloadSize) return FrameStatus::kBadChecksum;
  if (data.size() - kFrameHeaderSize < length) return FrameStatus::kTruncated;
  const size_t total = kFrameHeaderSize + length;
  if (Checksum64(data.substr(8, total - 8)) != sum) return FrameStatus::kBadChecksum;
  uint8_t type = static_cast<uint8_t>(data[12]);
  std::memcpy(&record->lsn, data.data() + 13, 8);
  record->type = static_cast<RecordType>(type);
  record->payload = data.substr(kFrameHeaderSize, length);
  *size = total;
  return FrameStatus::kOk;
}

std::string FileName(Lsn first_lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.wal", static_cast<unsigned long long>(first_lsn));
  return buf;
}

bool ParseFileName(std::string_view name, Lsn* first_lsn) {
  if (name.size() != 24 || name.substr(20) != ".wal") return false;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + 20, *first_lsn);
  return ec == std::errc() && ptr == name.data() + 20;
}

}  // namespace quiver::wal
