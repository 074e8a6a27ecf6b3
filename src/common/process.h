#pragma once

// Facts about this process from /proc (Linux).

#include <cstddef>

namespace quiver {

// Resident memory now (VmRSS), and its peak so far (VmHWM), in bytes; 0 if
// /proc cannot be read.
size_t ResidentBytes();
size_t PeakResidentBytes();

}  // namespace quiver
