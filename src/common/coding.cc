#include "common/coding.h"

namespace quiver {

void ByteWriter::Varint(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

Status ByteReader::Raw(void* dst, size_t n) {
  if (remaining() < n) {
    return Status::Corruption("record ends early: need " + std::to_string(n) + " bytes at offset " +
                              std::to_string(pos_) + ", have " + std::to_string(remaining()));
  }
  if (n != 0) std::memcpy(dst, in_.data() + pos_, n);  // dst may be null when n is 0
  pos_ += n;
  return Status::OK();
}

Status ByteReader::View(size_t n, std::string_view* out) {
  if (remaining() < n) {
    return Status::Corruption("record ends early: need " + std::to_string(n) + " bytes at offset " +
                              std::to_string(pos_));
  }
  *out = in_.substr(pos_, n);
  pos_ += n;
  return Status::OK();
}

Status ByteReader::Varint(uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    uint8_t byte;
    QV_RETURN_IF_ERROR(U8(&byte));
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return Status::OK();
    }
  }
  return Status::Corruption("varint longer than 10 bytes at offset " + std::to_string(pos_));
}

Status ByteReader::String(std::string* s) {
  uint64_t n;
  QV_RETURN_IF_ERROR(Varint(&n));
  std::string_view view;
  QV_RETURN_IF_ERROR(View(n, &view));
  s->assign(view);
  return Status::OK();
}

}  // namespace quiver
