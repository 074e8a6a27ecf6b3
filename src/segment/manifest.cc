#include "segment/manifest.h"

#include "common/coding.h"
#include "common/envelope.h"

namespace quiver {
namespace {

constexpr std::string_view kMagic{"QVMAN\x00\x00\x01", 8};
constexpr uint32_t kVersion = 1;

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
  return SealEnvelope(kMagic, kVersion, payload);
}

Result<Manifest> DecodeManifest(std::string_view data) {
  QV_ASSIGN_OR_RETURN(std::string_view payload, OpenEnvelope(data, kMagic, kVersion, "manifest"));
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
