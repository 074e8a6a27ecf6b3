#pragma once

// IVF_FLAT through Faiss (Debian libfaiss), for users who want an inverted
// file rather than a graph. Faiss keeps its own copy of the vectors in memory.

#include <memory>
#include <string>
#include <string_view>

#include "index/vector_index.h"

namespace quiver::index {

// Trains and fills a Faiss IndexIVFFlat over `vectors` (COSINE: over the
// normalised rows, searched by inner product) and serialises it.
Result<std::string> BuildIvfFlat(const VectorSet& vectors, const IndexSpec& spec);

// Loads what BuildIvfFlat wrote; `keep_alive` is held for the index's life.
Result<std::unique_ptr<VectorIndex>> OpenIvfFlat(std::string_view blob, const VectorSet& vectors,
                                                 std::shared_ptr<const MappedFile> keep_alive);

}  // namespace quiver::index
