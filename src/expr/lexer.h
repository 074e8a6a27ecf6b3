#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace quiver {

enum class TokenKind {
  kEnd,
  kIdentifier,  // field name
  kDistance,    // @distance
  kInteger,
  kFloat,
  kString,  // text holds the unescaped value
  kTrue,
  kFalse,
  kAnd,
  kOr,
  kNot,
  kLike,
  kIn,
  kIs,
  kNull,
  kBetween,
  kEscape,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kDot,
  kComma,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
};

struct Token {
  TokenKind kind;
  std::string text;  // the source spelling (unescaped for strings)
  size_t pos;        // byte offset into the filter, for error messages
};

// Splits a filter into tokens; the last one is kEnd. Keywords are
// case-insensitive; strings are single-quoted with '' as an escaped quote.
Result<std::vector<Token>> Tokenize(std::string_view filter);

// "filter error at position 7 near 'foo': <message>"
Status FilterError(const Token& at, std::string_view message);

}  // namespace quiver
