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

}  // namespace quiver
