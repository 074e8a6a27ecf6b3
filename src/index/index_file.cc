#include "index/index_file.h"

namespace quiver::index {

Result<FileReader> FileReader::Open(std::string_view file, const std::string& path) {
  FileReader reader;
  reader.file_ = file;
  auto bad = [&](const std::string& what, uint64_t offset) {
    return Status::Corruption("index " + path + ": " + what + " at offset " +
                              std::to_string(offset));
  };
  if (file.size() < kHeaderSize || file.substr(0, kMagic.size()) != kMagic)
    return bad("bad header", 0);
  ByteReader r(file.substr(kMagic.size(), kHeaderSize - kMagic.size()));
  uint32_t version, type, metric, max_level, count;
  uint64_t body_sum, header_sum;
  FileHeader& h = reader.header_;
  QV_RETURN_IF_ERROR(r.U32(&version));
  QV_RETURN_IF_ERROR(r.U32(&type));
  QV_RETURN_IF_ERROR(r.U64(&h.rows));
  QV_RETURN_IF_ERROR(r.U32(&h.dims));
  QV_RETURN_IF_ERROR(r.U32(&metric));
  QV_RETURN_IF_ERROR(r.U32(&h.m));
  QV_RETURN_IF_ERROR(r.U32(&h.entry));
  QV_RETURN_IF_ERROR(r.U32(&max_level));
  QV_RETURN_IF_ERROR(r.U32(&count));
  QV_RETURN_IF_ERROR(r.U64(&h.segment_id));
  QV_RETURN_IF_ERROR(r.U64(&h.min_lsn));
  QV_RETURN_IF_ERROR(r.U64(&h.max_lsn));
  std::vector<Section> sections(kMaxSections);
  for (Section& s : sections) {
    uint32_t zero;
    QV_RETURN_IF_ERROR(r.U32(&s.kind));
    QV_RETURN_IF_ERROR(r.U32(&zero));
    QV_RETURN_IF_ERROR(r.U64(&s.offset));
    QV_RETURN_IF_ERROR(r.U64(&s.length));
  }
  std::string_view reserved;
  QV_RETURN_IF_ERROR(r.View(kHeaderSize - 16 - 264, &reserved));
  QV_RETURN_IF_ERROR(r.U64(&body_sum));
  QV_RETURN_IF_ERROR(r.U64(&header_sum));
  if (Checksum64(file.substr(0, kHeaderSize - 8)) != header_sum)
    return bad("header checksum mismatch", 0);
  if (Checksum64(file.substr(kHeaderSize)) != body_sum)
    return bad("body checksum mismatch", kHeaderSize);
  if (version != kVersion) return bad("unsupported version " + std::to_string(version), 8);
  if (type > static_cast<uint32_t>(IndexType::kIvfFlat) || type == 0)
    return bad("unknown index type", 12);
  if (metric > static_cast<uint32_t>(Metric::kJaccard)) return bad("unknown metric", 28);
  if (count > kMaxSections) return bad("too many sections", 44);
  h.type = static_cast<IndexType>(type);
  h.metric = static_cast<Metric>(metric);
  h.max_level = static_cast<int32_t>(max_level);
  for (uint32_t i = 0; i < count; ++i) {
    const Section& s = sections[i];
    if (s.offset < kHeaderSize || s.offset % kAlignment != 0 || s.offset > file.size() ||
        s.length > file.size() - s.offset) {
      return bad("section " + std::to_string(i) + " out of bounds", 72 + 24 * i);
    }
    reader.sections_.push_back(s);
  }
  return reader;
}

}  // namespace quiver::index
