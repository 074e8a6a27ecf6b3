#pragma once

// Binary encoding of fields, shared by the catalog and segment footers
// (docs/FORMATS.md, "Field").

#include "common/coding.h"
#include "schema/schema.h"

namespace quiver {

void EncodeField(ByteWriter* w, const Field& field);
Status DecodeField(ByteReader* r, Field* field);
// A vector field's index parameters (the catalog only: segment files do not
// depend on them).
void EncodeIndexSpec(ByteWriter* w, const IndexSpec& index);
Status DecodeIndexSpec(ByteReader* r, IndexSpec* index);

}  // namespace quiver
