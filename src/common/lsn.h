#pragma once

#include <cstdint>

namespace quiver {

// A record's position in its shard's log: 1, 2, 3, ... (0: none).
using Lsn = uint64_t;

}  // namespace quiver
