#include "common/process.h"

#include <fstream>
#include <string>

namespace quiver {
namespace {

// A "Name:   1234 kB" line of /proc/self/status, in bytes.
size_t StatusBytes(const std::string& name) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(name + ":", 0) == 0) return std::stoull(line.substr(name.size() + 1)) * 1024;
  }
  return 0;
}

}  // namespace

size_t ResidentBytes() {
  return StatusBytes("VmRSS");
}

size_t PeakResidentBytes() {
  return StatusBytes("VmHWM");
}

}  // namespace quiver
