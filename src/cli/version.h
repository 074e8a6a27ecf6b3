#pragma once

#include <string>

namespace quiver {

// `quiver --version`: the version, the git commit built from (with -dirty
// when the tree had changes), the distance kernels in use and those the
// CPU supports, and the compiler.
std::string VersionText();

}  // namespace quiver
