#pragma once

#include <cstdint>
#include <string_view>

namespace quiver {

// The checksum of every record and file Quiver writes: XXH3-64 (libxxhash).
uint64_t Checksum64(std::string_view data);

}  // namespace quiver
