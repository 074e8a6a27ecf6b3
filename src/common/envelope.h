#pragma once

// The envelope of Quiver's small whole-file formats (catalog, manifest):
//   8-byte magic | u32 version | u64 payload length | u64 XXH3-64(payload) | payload

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace quiver {

std::string SealEnvelope(std::string_view magic, uint32_t version, std::string_view payload);

// The payload, after checking magic, version (1..max_version), length and
// checksum; `what` names the file in errors ("catalog: checksum mismatch").
// `version` (when set) receives the version found.
Result<std::string_view> OpenEnvelope(std::string_view data, std::string_view magic,
                                      uint32_t max_version, std::string_view what,
                                      uint32_t* version = nullptr);

}  // namespace quiver
