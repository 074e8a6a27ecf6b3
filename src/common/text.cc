#include "common/text.h"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <vector>

namespace quiver {

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view TrimSpaces(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string Shortened(std::string_view value, size_t max_chars) {
  size_t end = 0;
  for (size_t chars = 0; end < value.size() && chars < max_chars; ++chars) {
    end += Utf8Length(static_cast<unsigned char>(value[end]));
  }
  if (end >= value.size()) return std::string(value);
  return std::string(value.substr(0, end)) + "\u2026";
}

std::string Quoted(std::string_view value) {
  return "'" + Shortened(value) + "'";
}

size_t EditDistance(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), size_t{0});
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = diagonal + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

std::optional<std::string_view> NearestName(std::string_view name,
                                            std::span<const std::string_view> known) {
  // Names longer than any key are not worth comparing (and would cost time).
  if (name.empty() || name.size() > 128) return std::nullopt;
  const size_t close = std::max<size_t>(1, name.size() / 3);
  std::optional<std::string_view> best;
  size_t best_distance = SIZE_MAX;
  for (std::string_view candidate : known) {
    size_t distance = EditDistance(name, candidate);
    const size_t shorter = std::min(name.size(), candidate.size());
    const bool prefix =
        shorter >= 3 && EditDistance(name.substr(0, shorter), candidate.substr(0, shorter)) == 0;
    if (distance > close && !prefix) continue;
    if (prefix) distance = std::min(distance, close);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace quiver
