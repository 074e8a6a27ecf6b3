#include "cli/version.h"

#include <fmt/format.h>

#include "kernels/kernels.h"

namespace quiver {

extern const char kVersion[];    // build_info.cc, generated at build time
extern const char kGitCommit[];  // build_info.cc

std::string VersionText() {
  std::string supported;
  for (const kernels::KernelSet* set : kernels::Supported()) {
    supported += (supported.empty() ? "" : ", ") + std::string(set->name);
  }
  return fmt::format(
      "quiver {} (commit {})\n"
      "distance kernels: {} (this CPU supports: {}; QUIVER_KERNELS picks one)\n"
      "compiler: g++ {}.{}.{}, C++{}",
      kVersion, kGitCommit, kernels::Active().name, supported, __GNUC__, __GNUC_MINOR__,
      __GNUC_PATCHLEVEL__, (__cplusplus / 100) % 100);
}

}  // namespace quiver
