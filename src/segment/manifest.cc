#include "segment/manifest.h"

#include "common/coding.h"
#include "common/envelope.h"

namespace quiver {
namespace {

constexpr std::string_view kMagic{"QVMAN\x00\x00\x01", 8};
// Version 2 added each segment's indexed fields, version 3 the epochs of
// its file and of its indexes.
constexpr uint32_t kVersion = 3;

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
    w.Varint(s.indexed_fields.size());
    for (uint32_t f : s.indexed_fields) w.U32(f);
    w.U64(s.epoch);
    for (size_t i = 0; i < s.indexed_fields.size(); ++i)
      w.U64(i < s.index_epochs.size() ? s.index_epochs[i] : 0);
  }
  return SealEnvelope(kMagic, kVersion, payload);
}

Result<Manifest> DecodeManifest(std::string_view data) {
  uint32_t version = 0;
  QV_ASSIGN_OR_RETURN(std::string_view payload,
                      OpenEnvelope(data, kMagic, kVersion, "manifest", &version));
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
    if (version >= 2) {
      uint64_t fields;
      QV_RETURN_IF_ERROR(r.Varint(&fields));
      if (fields > r.remaining()) return Status::Corruption("manifest: absurd field count");
      s.indexed_fields.resize(fields);
      for (uint32_t& f : s.indexed_fields) QV_RETURN_IF_ERROR(r.U32(&f));
    }
    s.index_epochs.assign(s.indexed_fields.size(), 0);
    if (version >= 3) {
      QV_RETURN_IF_ERROR(r.U64(&s.epoch));
      for (uint64_t& e : s.index_epochs) QV_RETURN_IF_ERROR(r.U64(&e));
    }
    m.segments.push_back(std::move(s));
  }
  if (r.remaining() != 0) return Status::Corruption("manifest: trailing bytes");
  return m;
}

}  // namespace quiver
