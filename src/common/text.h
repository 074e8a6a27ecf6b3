#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace quiver {

// ASCII upper / lower case (keywords, type and metric names are ASCII).
std::string AsciiUpper(std::string_view s);
std::string AsciiLower(std::string_view s);
// `s` without leading and trailing whitespace.
std::string_view TrimSpaces(std::string_view s);

// How many characters of a client's value an error message echoes.
inline constexpr size_t kMaxEchoedChars = 64;
// A client's value for an error message, single-quoted: at most
// kMaxEchoedChars UTF-8 characters, then "…" when there was more, so a
// message never grows with the input.
std::string Quoted(std::string_view value);
// The same without the quotes (and any limit).
std::string Shortened(std::string_view value, size_t max_chars = kMaxEchoedChars);

// The byte length of the UTF-8 sequence that starts with `lead` (1 for a
// continuation or invalid byte, so a scan always advances).
inline size_t Utf8Length(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return lead < 0xF8 ? 4 : 1;
}

// Levenshtein distance (insertions, deletions, substitutions), ASCII
// case-insensitive.
size_t EditDistance(std::string_view a, std::string_view b);
// The entry of `known` a mistyped `name` most likely meant: the nearest by
// edit distance when it is close (at most a third of the name, at least 1),
// or one that starts with `name` or that `name` starts with. Nullopt when
// none is close.
std::optional<std::string_view> NearestName(std::string_view name,
                                            std::span<const std::string_view> known);

}  // namespace quiver
