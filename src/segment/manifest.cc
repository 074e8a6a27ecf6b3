#include "segment/manifest.h"

#include "common/checksum.h"
#include "common/coding.h"

namespace quiver {
namespace {

constexpr std::string_view kMagic{"QVMAN\x00\x00\x01", 8};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 8 + 4 + 8 + 8;

}  // namespace

std::string EncodeManifest(const Manifest& m) {
  std::string payload;
  ByteWriter w(&payload);
  w.U64(m.checkpoint_lsn);
  w.U64(m.next_segment_id);
  w.Varint(m.segments.size());
  for (const auto& s : m.segments) {
    w.U64(s.id);
    w.U64(s.rows);
    w.U64(s.min_lsn);
    w.U64(s.max_lsn);
    w.String(s.deleted);
  }
  std::string out;
  ByteWriter h(&out);
  h.Raw(kMagic.data(), kMagic.size());
  h.U32(kVersion);
  h.U64(payload.size());
  h.U64(Checksum64(payload));
  return out + payload;
}

Result<Manifest> DecodeManifest(std::string_view data) {
  if (data.size() < kHeaderSize || data.substr(0, 8) != kMagic) {
    return Status::Corruption("manifest: bad header at offset 0");
  }
  ByteReader header(data.substr(8, kHeaderSize - 8));
  uint32_t version;
  uint64_t length, sum;
  QV_RETURN_IF_ERROR(header.U32(&version));
  QV_RETURN_IF_ERROR(header.U64(&length));
  QV_RETURN_IF_ERROR(header.U64(&sum));
  if (version != kVersion)
    return Status::Corruption("manifest: unsupported version " + std::to_string(version));
  if (data.size() - kHeaderSize != length) return Status::Corruption("manifest: length mismatch");
  const std::string_view payload = data.substr(kHeaderSize);
  if (Checksum64(payload) != sum) return Status::Corruption("manifest: checksum mismatch");
  ByteReader r(payload);
  Manifest m;
  uint64_t count;
  QV_RETURN_IF_ERROR(r.U64(&m.checkpoint_lsn));
  QV_RETURN_IF_ERROR(r.U64(&m.next_segment_id));
  QV_RETURN_IF_ERROR(r.Varint(&count));
  if (count > r.remaining()) return Status::Corruption("manifest: absurd segment count");
  for (uint64_t i = 0; i < count; ++i) {
    ManifestSegment s;
    QV_RETURN_IF_ERROR(r.U64(&s.id));
    QV_RETURN_IF_ERROR(r.U64(&s.rows));
    QV_RETURN_IF_ERROR(r.U64(&s.min_lsn));
    QV_RETURN_IF_ERROR(r.U64(&s.max_lsn));
    QV_RETURN_IF_ERROR(r.String(&s.deleted));
    m.segments.push_back(std::move(s));
  }
  if (r.remaining() != 0) return Status::Corruption("manifest: trailing bytes");
  return m;
}

}  // namespace quiver
