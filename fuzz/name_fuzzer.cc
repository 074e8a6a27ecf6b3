// Fuzzes name validation against a reference of the rule
// ^[A-Za-z_][A-Za-z0-9_]{0,254}$: the two must agree on every input, so no
// name that could escape a path (/, .., NUL, unicode look-alikes) passes.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/names.h"

namespace {

bool Reference(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!letter(s[0])) return false;
  for (char c : s) {
    if (!letter(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view name(reinterpret_cast<const char*>(data), size);
  const bool accepted = quiver::ValidateName("table", name).ok();
  if (accepted != Reference(name)) __builtin_trap();
  return 0;
}
