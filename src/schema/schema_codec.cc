#include "schema/schema_codec.h"

namespace quiver {

void EncodeField(ByteWriter* w, const Field& f) {
  w->String(f.name);
  w->U8(static_cast<uint8_t>(f.type));
  w->U8(f.primary_key ? 1 : 0);
  w->U32(f.dimensions);
  w->U8(static_cast<uint8_t>(f.metric));
}

Status DecodeField(ByteReader* r, Field* f) {
  uint8_t type, pk, metric;
  QV_RETURN_IF_ERROR(r->String(&f->name));
  QV_RETURN_IF_ERROR(r->U8(&type));
  QV_RETURN_IF_ERROR(r->U8(&pk));
  QV_RETURN_IF_ERROR(r->U32(&f->dimensions));
  QV_RETURN_IF_ERROR(r->U8(&metric));
  if (type < static_cast<uint8_t>(DataType::kBool) ||
      type > static_cast<uint8_t>(DataType::kSparseVectorFloat)) {
    return Status::Corruption("unknown data type " + std::to_string(type));
  }
  if (metric > static_cast<uint8_t>(Metric::kJaccard)) {
    return Status::Corruption("unknown metric " + std::to_string(metric));
  }
  f->type = static_cast<DataType>(type);
  f->primary_key = pk != 0;
  f->metric = static_cast<Metric>(metric);
  return Status::OK();
}

void EncodeIndexSpec(ByteWriter* w, const IndexSpec& index) {
  w->U8(static_cast<uint8_t>(index.type));
  w->U32(index.m);
  w->U32(index.ef_construction);
  w->U32(index.ef);
  w->U32(index.nlist);
  w->U32(index.nprobe);
}

Status DecodeIndexSpec(ByteReader* r, IndexSpec* index) {
  uint8_t type;
  QV_RETURN_IF_ERROR(r->U8(&type));
  if (type > static_cast<uint8_t>(IndexType::kIvfFlat)) {
    return Status::Corruption("unknown index type " + std::to_string(type));
  }
  index->type = static_cast<IndexType>(type);
  QV_RETURN_IF_ERROR(r->U32(&index->m));
  QV_RETURN_IF_ERROR(r->U32(&index->ef_construction));
  QV_RETURN_IF_ERROR(r->U32(&index->ef));
  QV_RETURN_IF_ERROR(r->U32(&index->nlist));
  return r->U32(&index->nprobe);
}

}  // namespace quiver
