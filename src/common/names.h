#pragma once

#include <string_view>

#include "common/status.h"

namespace quiver {

// Databases, tables and fields are named by ^[A-Za-z_][A-Za-z0-9_]{0,254}$.
// Names never become path components (directories are named by numeric ids),
// but the rule keeps names portable and unambiguous in filters.
inline constexpr size_t kMaxNameLength = 255;

// `what` names the kind of object in the error ("database", "table", "field").
Status ValidateName(std::string_view what, std::string_view name);

}  // namespace quiver
