#pragma once

#include "common/status.h"

namespace quiver {

// The one place where an engine error becomes an HTTP status code.
int HttpStatusFor(const Status& status);

}  // namespace quiver
