#include "common/checksum.h"

#include <xxhash.h>

namespace quiver {

uint64_t Checksum64(std::string_view data) {
  return XXH3_64bits(data.data(), data.size());
}

}  // namespace quiver
