#pragma once

// Binary encoding of fields, shared by the catalog and segment footers
// (docs/FORMATS.md, "Field").

#include "common/coding.h"
#include "schema/schema.h"

namespace quiver {

void EncodeField(ByteWriter* w, const Field& field);
Status DecodeField(ByteReader* r, Field* field);

}  // namespace quiver
