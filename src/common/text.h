#pragma once

#include <string>
#include <string_view>

namespace quiver {

// ASCII upper case (keywords, type and metric names are ASCII).
std::string AsciiUpper(std::string_view s);
// `s` without leading and trailing whitespace.
std::string_view TrimSpaces(std::string_view s);

}  // namespace quiver
