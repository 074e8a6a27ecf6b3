#include "expr/lexer.h"

#include <algorithm>
#include <cctype>

#include "common/text.h"

namespace quiver {
namespace {

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

TokenKind KeywordOrIdentifier(std::string_view word) {
  std::string upper = AsciiUpper(word);
  if (upper == "AND") return TokenKind::kAnd;
  if (upper == "OR") return TokenKind::kOr;
  if (upper == "NOT") return TokenKind::kNot;
  if (upper == "LIKE") return TokenKind::kLike;
  if (upper == "IN") return TokenKind::kIn;
  if (upper == "IS") return TokenKind::kIs;
  if (upper == "NULL") return TokenKind::kNull;
  if (upper == "BETWEEN") return TokenKind::kBetween;
  if (upper == "ESCAPE") return TokenKind::kEscape;
  if (upper == "TRUE") return TokenKind::kTrue;
  if (upper == "FALSE") return TokenKind::kFalse;
  return TokenKind::kIdentifier;
}

Status LexError(size_t pos, std::string_view message) {
  return Status::InvalidArgument("filter error at position " + std::to_string(pos) + ": " +
                                 std::string(message));
}

}  // namespace

Status FilterError(const Token& at, std::string_view message) {
  std::string near = at.kind == TokenKind::kEnd ? "end of filter" : Quoted(at.text);
  return Status::InvalidArgument("filter error at position " + std::to_string(at.pos) + " near " +
                                 near + ": " + std::string(message));
}

Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    const size_t start = i;
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (IsIdentStart(c)) {
      while (i < s.size() && IsIdentChar(s[i])) ++i;
      std::string_view word = s.substr(start, i - start);
      tokens.push_back({KeywordOrIdentifier(word), std::string(word), start});
      continue;
    }
    if (c == '@') {
      ++i;
      while (i < s.size() && IsIdentChar(s[i])) ++i;
      std::string_view word = s.substr(start, i - start);
      if (AsciiUpper(word) != "@DISTANCE")
        return LexError(start, "unknown name '" + std::string(word) + "'");
      tokens.push_back({TokenKind::kDistance, std::string(word), start});
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      bool is_float = false;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (i < s.size() && s[i] == '.') {
        is_float = true;
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      }
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
          is_float = true;
          i = j;
          while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        }
      }
      if (i < s.size() && IsIdentStart(s[i])) {
        return LexError(start,
                        "malformed number '" + std::string(s.substr(start, i - start + 1)) + "'");
      }
      tokens.push_back({is_float ? TokenKind::kFloat : TokenKind::kInteger,
                        std::string(s.substr(start, i - start)), start});
      continue;
    }
    if (c == '\'') {
      std::string value;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\'') {
          if (i + 1 < s.size() && s[i + 1] == '\'') {
            value.push_back('\'');
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        value.push_back(s[i++]);
      }
      if (!closed) return LexError(start, "string literal is not closed");
      tokens.push_back({TokenKind::kString, std::move(value), start});
      continue;
    }
    auto two = s.substr(i, 2);
    TokenKind kind;
    size_t len = 1;
    if (two == "<=") {
      kind = TokenKind::kLe, len = 2;
    } else if (two == ">=") {
      kind = TokenKind::kGe, len = 2;
    } else if (two == "<>" || two == "!=") {
      kind = TokenKind::kNe, len = 2;
    } else {
      switch (c) {
        case '(':
          kind = TokenKind::kLParen;
          break;
        case '[':
          kind = TokenKind::kLBracket;
          break;
        case ']':
          kind = TokenKind::kRBracket;
          break;
        case '.':
          kind = TokenKind::kDot;
          break;
        case ')':
          kind = TokenKind::kRParen;
          break;
        case ',':
          kind = TokenKind::kComma;
          break;
        case '+':
          kind = TokenKind::kPlus;
          break;
        case '-':
          kind = TokenKind::kMinus;
          break;
        case '*':
          kind = TokenKind::kStar;
          break;
        case '/':
          kind = TokenKind::kSlash;
          break;
        case '%':
          kind = TokenKind::kPercent;
          break;
        case '=':
          kind = TokenKind::kEq;
          break;
        case '<':
          kind = TokenKind::kLt;
          break;
        case '>':
          kind = TokenKind::kGt;
          break;
        default:
          return LexError(start, "unexpected character '" + std::string(1, c) + "'");
      }
    }
    tokens.push_back({kind, std::string(s.substr(i, len)), start});
    i += len;
  }
  tokens.push_back({TokenKind::kEnd, "", s.size()});
  return tokens;
}

}  // namespace quiver
