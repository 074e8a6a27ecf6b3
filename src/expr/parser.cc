// Recursive-descent parser that builds a typed Expr tree in one pass.
//
//   or      := and (OR and)*
//   and     := not (AND not)*
//   not     := NOT not | is
//   is      := compare [IS [NOT] NULL]
//   compare := sum [(= | <> | != | < | <= | > | >=) sum
//                  | [NOT] LIKE sum [ESCAPE string]
//                  | [NOT] IN '(' literal (',' literal)* ')'
//                  | [NOT] BETWEEN sum AND sum]
//   sum     := product ((+ | -) product)*
//   product := unary ((* | / | %) unary)*
//   unary   := - unary | primary
//   primary := integer | float | string | TRUE | FALSE | field | @distance | '(' or ')'

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/text.h"
#include "expr/filter.h"
#include "expr/lexer.h"

namespace quiver {
namespace {

using ExprPtr = std::unique_ptr<Expr>;

const char* TypeName(ExprType t) {
  switch (t) {
    case ExprType::kBool:
      return "boolean";
    case ExprType::kInt:
      return "integer";
    case ExprType::kDouble:
      return "number";
    case ExprType::kString:
      return "string";
    case ExprType::kJson:
      return "JSON value";
  }
  return "?";
}

// A JSON value's kind is known only per row: it passes any static check and
// a mismatch is unknown (null) at run time.
bool IsNumeric(ExprType t) {
  return t == ExprType::kInt || t == ExprType::kDouble || t == ExprType::kJson;
}
bool IsCondition(ExprType t) {
  return t == ExprType::kBool || t == ExprType::kJson;
}
bool IsText(ExprType t) {
  return t == ExprType::kString || t == ExprType::kJson;
}

ExprPtr MakeNode(ExprOp op, ExprType type) {
  auto e = std::make_unique<Expr>();
  e->op = op;
  e->type = type;
  return e;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const TableSchema& schema, FilterScope scope)
      : tokens_(std::move(tokens)), schema_(schema), scope_(scope) {}

  // A whole expression; `condition` requires a boolean one (a filter).
  Result<ExprPtr> ParseRoot(bool condition) {
    QV_ASSIGN_OR_RETURN(ExprPtr root, ParseOr());
    if (Peek().kind != TokenKind::kEnd) return FilterError(Peek(), "unexpected token");
    if (condition && !IsCondition(root->type)) {
      return FilterError(tokens_.front(), std::string("a filter must be a condition, not a ") +
                                              TypeName(root->type) + " expression");
    }
    return root;
  }

  bool uses_distance() const { return uses_distance_; }
  bool uses_json() const { return uses_json_; }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool Accept(TokenKind kind) {
    if (Peek().kind != kind) return false;
    Next();
    return true;
  }

  // Guards recursion so a deeply nested filter is an error, not a crash.
  struct DepthGuard {
    explicit DepthGuard(int* depth) : depth_(depth) { ++*depth_; }
    ~DepthGuard() { --*depth_; }
    int* depth_;
  };

  Status CheckDepth(const Token& at) const {
    if (depth_ > kMaxFilterDepth) {
      return FilterError(at,
                         "filter nests deeper than " + std::to_string(kMaxFilterDepth) + " levels");
    }
    return Status::OK();
  }

  Result<ExprPtr> ParseOr() {
    QV_ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
    while (Peek().kind == TokenKind::kOr) {
      const Token op = Next();
      QV_ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
      QV_ASSIGN_OR_RETURN(left, Logical(ExprOp::kOr, op, std::move(left), std::move(right)));
    }
    return left;
  }

  Result<ExprPtr> ParseAnd() {
    QV_ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
    while (Peek().kind == TokenKind::kAnd) {
      const Token op = Next();
      QV_ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
      QV_ASSIGN_OR_RETURN(left, Logical(ExprOp::kAnd, op, std::move(left), std::move(right)));
    }
    return left;
  }

  Result<ExprPtr> Logical(ExprOp op, const Token& at, ExprPtr left, ExprPtr right) {
    if (!IsCondition(left->type) || !IsCondition(right->type)) {
      return FilterError(at, "both sides of " + at.text + " must be conditions");
    }
    auto node = MakeNode(op, ExprType::kBool);
    node->args.push_back(std::move(left));
    node->args.push_back(std::move(right));
    return node;
  }

  Result<ExprPtr> ParseNot() {
    DepthGuard guard(&depth_);
    QV_RETURN_IF_ERROR(CheckDepth(Peek()));
    if (Peek().kind == TokenKind::kNot) {
      const Token op = Next();
      QV_ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
      if (!IsCondition(operand->type)) return FilterError(op, "NOT needs a condition");
      auto node = MakeNode(ExprOp::kNot, ExprType::kBool);
      node->args.push_back(std::move(operand));
      return node;
    }
    return ParseIs();
  }

  // x IS [NOT] NULL: true or false, never unknown.
  Result<ExprPtr> ParseIs() {
    QV_ASSIGN_OR_RETURN(ExprPtr operand, ParseCompare());
    if (!Accept(TokenKind::kIs)) return operand;
    const bool negated = Accept(TokenKind::kNot);
    if (!Accept(TokenKind::kNull)) return FilterError(Peek(), "expected NULL after IS");
    auto node = MakeNode(ExprOp::kIsNull, ExprType::kBool);
    node->negated = negated;
    node->args.push_back(std::move(operand));
    return node;
  }

  Result<ExprPtr> ParseCompare() {
    QV_ASSIGN_OR_RETURN(ExprPtr left, ParseSum());
    const Token op = Peek();
    bool negated = false;
    if (op.kind == TokenKind::kNot) {
      const TokenKind after = tokens_[pos_ + 1].kind;
      if (after != TokenKind::kLike && after != TokenKind::kIn && after != TokenKind::kBetween)
        return left;
      Next();
      negated = true;
    }
    switch (Peek().kind) {
      case TokenKind::kEq:
        return Comparison(ExprOp::kEq, std::move(left));
      case TokenKind::kNe:
        return Comparison(ExprOp::kNe, std::move(left));
      case TokenKind::kLt:
        return Comparison(ExprOp::kLt, std::move(left));
      case TokenKind::kLe:
        return Comparison(ExprOp::kLe, std::move(left));
      case TokenKind::kGt:
        return Comparison(ExprOp::kGt, std::move(left));
      case TokenKind::kGe:
        return Comparison(ExprOp::kGe, std::move(left));
      case TokenKind::kLike:
        return Like(std::move(left), negated);
      case TokenKind::kIn:
        return In(std::move(left), negated);
      case TokenKind::kBetween:
        return Between(std::move(left), negated);
      default:
        return left;
    }
  }

  Result<ExprPtr> Comparison(ExprOp op, ExprPtr left) {
    const Token at = Next();
    QV_ASSIGN_OR_RETURN(ExprPtr right, ParseSum());
    return Compared(op, at, std::move(left), std::move(right));
  }

  // x BETWEEN a AND b is x >= a AND x <= b (so NULLs follow the same
  // three-valued logic); NOT BETWEEN is its negation.
  Result<ExprPtr> Between(ExprPtr left, bool negated) {
    const Token at = Next();
    QV_ASSIGN_OR_RETURN(ExprPtr low, ParseSum());
    if (!Accept(TokenKind::kAnd)) return FilterError(Peek(), "expected AND in BETWEEN");
    QV_ASSIGN_OR_RETURN(ExprPtr high, ParseSum());
    ExprPtr copy = Clone(*left);
    QV_ASSIGN_OR_RETURN(ExprPtr lower, Compared(ExprOp::kGe, at, std::move(left), std::move(low)));
    QV_ASSIGN_OR_RETURN(ExprPtr upper, Compared(ExprOp::kLe, at, std::move(copy), std::move(high)));
    auto node = MakeNode(ExprOp::kAnd, ExprType::kBool);
    node->args.push_back(std::move(lower));
    node->args.push_back(std::move(upper));
    if (!negated) return node;
    auto inverted = MakeNode(ExprOp::kNot, ExprType::kBool);
    inverted->args.push_back(std::move(node));
    return inverted;
  }

  static ExprPtr Clone(const Expr& e) {
    auto copy = std::make_unique<Expr>();
    copy->op = e.op;
    copy->type = e.type;
    copy->literal = e.literal;
    copy->field = e.field;
    copy->negated = e.negated;
    copy->escape = e.escape;
    copy->list = e.list;
    copy->json_path = e.json_path;
    for (const auto& arg : e.args) copy->args.push_back(Clone(*arg));
    return copy;
  }

  // A FLOAT column holds float32 values: a number compared with one is
  // rounded to float32 first, so `f = 0.1` matches the 0.1 the server
  // stores and returns. (Literals beyond the float range stay as they are:
  // every stored value compares with them correctly anyway.)
  void RoundForFloatField(const Expr& field_side, Expr* literal) const {
    if (field_side.op != ExprOp::kField || literal->op != ExprOp::kLiteral) return;
    if (schema_.fields[field_side.field].type != DataType::kFloat) return;
    double v;
    if (const auto* i = std::get_if<int64_t>(&literal->literal)) {
      v = static_cast<double>(*i);
    } else if (const auto* d = std::get_if<double>(&literal->literal)) {
      v = *d;
    } else {
      return;
    }
    if (std::fabs(v) > std::numeric_limits<float>::max()) return;
    literal->literal = static_cast<double>(static_cast<float>(v));
    literal->type = ExprType::kDouble;
  }

  Result<ExprPtr> Compared(ExprOp op, const Token& at, ExprPtr left, ExprPtr right) {
    const bool comparable = left->type == ExprType::kJson || right->type == ExprType::kJson ||
                            (IsNumeric(left->type) && IsNumeric(right->type)) ||
                            (left->type == right->type && left->type != ExprType::kBool) ||
                            (left->type == ExprType::kBool && right->type == ExprType::kBool &&
                             (op == ExprOp::kEq || op == ExprOp::kNe));
    if (!comparable) {
      return FilterError(at, std::string("cannot compare ") + TypeName(left->type) + " with " +
                                 TypeName(right->type));
    }
    RoundForFloatField(*left, right.get());
    RoundForFloatField(*right, left.get());
    auto node = MakeNode(op, ExprType::kBool);
    node->args.push_back(std::move(left));
    node->args.push_back(std::move(right));
    return node;
  }

  Result<ExprPtr> Like(ExprPtr left, bool negated) {
    const Token at = Next();
    QV_ASSIGN_OR_RETURN(ExprPtr pattern, ParseSum());
    if (!IsText(left->type) || !IsText(pattern->type)) {
      return FilterError(at, "LIKE needs a string on both sides");
    }
    auto node = MakeNode(ExprOp::kLike, ExprType::kBool);
    node->negated = negated;
    if (Accept(TokenKind::kEscape)) {
      const Token escape = Next();
      const bool one_character = escape.kind == TokenKind::kString && !escape.text.empty() &&
                                 Utf8Length(escape.text[0]) == escape.text.size();
      if (!one_character) return FilterError(escape, "ESCAPE needs a string of one character");
      if (escape.text == "%" || escape.text == "_")
        return FilterError(escape, "ESCAPE cannot be a wildcard (% or _)");
      node->escape = escape.text;
    }
    node->args.push_back(std::move(left));
    node->args.push_back(std::move(pattern));
    return node;
  }

  Result<ExprPtr> In(ExprPtr left, bool negated) {
    const Token at = Next();
    if (!Accept(TokenKind::kLParen)) return FilterError(Peek(), "IN needs a parenthesised list");
    auto node = MakeNode(ExprOp::kIn, ExprType::kBool);
    node->negated = negated;
    do {
      const Token item_at = Peek();
      QV_ASSIGN_OR_RETURN(ExprPtr item, ParseUnary());
      if (item->op != ExprOp::kLiteral) return FilterError(item_at, "IN lists hold literals only");
      RoundForFloatField(*left, item.get());
      const bool fits = left->type == ExprType::kJson ||
                        (IsNumeric(left->type) && IsNumeric(item->type)) ||
                        left->type == item->type;
      if (!fits) {
        return FilterError(item_at, std::string("IN list value is a ") + TypeName(item->type) +
                                        ", the left side is a " + TypeName(left->type));
      }
      node->list.push_back(item->literal);
    } while (Accept(TokenKind::kComma));
    if (!Accept(TokenKind::kRParen)) return FilterError(Peek(), "expected ',' or ')' in IN list");
    (void)at;
    node->args.push_back(std::move(left));
    return node;
  }

  Result<ExprPtr> ParseSum() {
    QV_ASSIGN_OR_RETURN(ExprPtr left, ParseProduct());
    while (Peek().kind == TokenKind::kPlus || Peek().kind == TokenKind::kMinus) {
      const Token at = Next();
      QV_ASSIGN_OR_RETURN(ExprPtr right, ParseProduct());
      QV_ASSIGN_OR_RETURN(
          left, Arithmetic(at.kind == TokenKind::kPlus ? ExprOp::kAdd : ExprOp::kSubtract, at,
                           std::move(left), std::move(right)));
    }
    return left;
  }

  Result<ExprPtr> ParseProduct() {
    QV_ASSIGN_OR_RETURN(ExprPtr left, ParseUnary());
    while (Peek().kind == TokenKind::kStar || Peek().kind == TokenKind::kSlash ||
           Peek().kind == TokenKind::kPercent) {
      const Token at = Next();
      ExprOp op = at.kind == TokenKind::kStar    ? ExprOp::kMultiply
                  : at.kind == TokenKind::kSlash ? ExprOp::kDivide
                                                 : ExprOp::kModulo;
      QV_ASSIGN_OR_RETURN(ExprPtr right, ParseUnary());
      QV_ASSIGN_OR_RETURN(left, Arithmetic(op, at, std::move(left), std::move(right)));
    }
    return left;
  }

  Result<ExprPtr> Arithmetic(ExprOp op, const Token& at, ExprPtr left, ExprPtr right) {
    if (!IsNumeric(left->type) || !IsNumeric(right->type)) {
      return FilterError(at, std::string("arithmetic needs numbers, got ") + TypeName(left->type) +
                                 " and " + TypeName(right->type));
    }
    if (op == ExprOp::kModulo && (left->type != ExprType::kInt || right->type != ExprType::kInt)) {
      return FilterError(at, "% needs integers");
    }
    const ExprType type =
        (left->type == ExprType::kJson || right->type == ExprType::kJson) ? ExprType::kJson
        : (left->type == ExprType::kInt && right->type == ExprType::kInt) ? ExprType::kInt
                                                                          : ExprType::kDouble;
    auto node = MakeNode(op, type);
    node->args.push_back(std::move(left));
    node->args.push_back(std::move(right));
    return node;
  }

  Result<ExprPtr> ParseUnary() {
    DepthGuard guard(&depth_);
    QV_RETURN_IF_ERROR(CheckDepth(Peek()));
    if (Peek().kind == TokenKind::kMinus) {
      const Token at = Next();
      QV_ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary());
      if (!IsNumeric(operand->type)) return FilterError(at, "unary minus needs a number");
      if (operand->op == ExprOp::kLiteral) {  // fold -literal so IN lists accept it
        if (operand->type == ExprType::kInt) {
          int64_t v = std::get<int64_t>(operand->literal);
          if (v == std::numeric_limits<int64_t>::min()) return FilterError(at, "integer overflow");
          operand->literal = -v;
        } else {
          operand->literal = -std::get<double>(operand->literal);
        }
        return operand;
      }
      auto node = MakeNode(ExprOp::kNegate, operand->type);
      node->args.push_back(std::move(operand));
      return node;
    }
    return ParsePrimary();
  }

  Result<ExprPtr> ParsePrimary() {
    const Token tok = Next();
    switch (tok.kind) {
      case TokenKind::kInteger: {
        int64_t v = 0;
        auto [ptr, ec] = std::from_chars(tok.text.data(), tok.text.data() + tok.text.size(), v);
        if (ec == std::errc()) {
          auto node = MakeNode(ExprOp::kLiteral, ExprType::kInt);
          node->literal = v;
          return node;
        }
        auto node = MakeNode(ExprOp::kLiteral, ExprType::kDouble);  // too big for int64
        node->literal = std::strtod(tok.text.c_str(), nullptr);
        return node;
      }
      case TokenKind::kFloat: {
        auto node = MakeNode(ExprOp::kLiteral, ExprType::kDouble);
        node->literal = std::strtod(tok.text.c_str(), nullptr);
        return node;
      }
      case TokenKind::kString: {
        auto node = MakeNode(ExprOp::kLiteral, ExprType::kString);
        node->literal = tok.text;
        return node;
      }
      case TokenKind::kTrue:
      case TokenKind::kFalse: {
        auto node = MakeNode(ExprOp::kLiteral, ExprType::kBool);
        node->literal = tok.kind == TokenKind::kTrue;
        return node;
      }
      case TokenKind::kIdentifier:
        return FieldRef(tok);
      case TokenKind::kDistance: {
        if (scope_ != FilterScope::kVectorQuery) {
          return FilterError(tok, "@distance is only available in vector queries");
        }
        uses_distance_ = true;
        return MakeNode(ExprOp::kDistance, ExprType::kDouble);
      }
      case TokenKind::kLParen: {
        QV_ASSIGN_OR_RETURN(ExprPtr inner, ParseOr());
        if (!Accept(TokenKind::kRParen)) return FilterError(Peek(), "expected ')'");
        return inner;
      }
      case TokenKind::kEnd:
        return FilterError(tok, "the filter ends too early");
      case TokenKind::kNull:
        return FilterError(tok,
                           "NULL is never equal to anything: test it with IS NULL or IS NOT NULL");
      default:
        return FilterError(tok, "expected a value, a field or '('");
    }
  }

  Result<ExprPtr> FieldRef(const Token& tok) {
    auto index = schema_.FieldIndex(tok.text);
    if (!index) return FilterError(tok, "unknown field '" + tok.text + "'");
    const Field& field = schema_.fields[*index];
    ExprType type;
    if (field.type == DataType::kBool) {
      type = ExprType::kBool;
    } else if (IsIntegerType(field.type)) {
      type = ExprType::kInt;
    } else if (IsFloatingType(field.type)) {
      type = ExprType::kDouble;
    } else if (field.type == DataType::kString) {
      type = ExprType::kString;
    } else if (field.type == DataType::kJson) {
      return JsonPath(tok, *index);
    } else {
      return FilterError(tok, "field '" + field.name + "' of type " + DataTypeName(field.type) +
                                  " cannot be used in a filter");
    }
    auto node = MakeNode(ExprOp::kField, type);
    node->field = *index;
    return node;
  }

  // field.key, field[0], field['odd key'] ... after a JSON field's name.
  Result<ExprPtr> JsonPath(const Token& tok, size_t field) {
    auto node = MakeNode(ExprOp::kJsonPath, ExprType::kJson);
    node->field = field;
    while (true) {
      if (Accept(TokenKind::kDot)) {
        const Token key = Next();
        const bool word =
            !key.text.empty() &&
            (std::isalpha(static_cast<unsigned char>(key.text[0])) || key.text[0] == '_');
        if (!word || key.kind == TokenKind::kString) {
          return FilterError(key, "expected a key after '.'");
        }
        node->json_path.emplace_back(key.text);
      } else if (Accept(TokenKind::kLBracket)) {
        const Token step = Next();
        if (step.kind == TokenKind::kString) {
          node->json_path.emplace_back(step.text);
        } else if (step.kind == TokenKind::kInteger) {
          int64_t index = 0;
          auto [ptr, ec] =
              std::from_chars(step.text.data(), step.text.data() + step.text.size(), index);
          if (ec != std::errc()) return FilterError(step, "array index out of range");
          node->json_path.emplace_back(index);
        } else {
          return FilterError(step, "expected an array index or a quoted key inside [ ]");
        }
        if (!Accept(TokenKind::kRBracket)) return FilterError(Peek(), "expected ']'");
      } else {
        break;
      }
    }
    if (node->json_path.empty()) {
      return FilterError(tok,
                         "JSON field '" + tok.text + "' needs a path, like " + tok.text + ".key");
    }
    uses_json_ = true;
    return node;
  }

  std::vector<Token> tokens_;
  const TableSchema& schema_;
  FilterScope scope_;
  size_t pos_ = 0;
  int depth_ = 0;
  bool uses_distance_ = false;
  bool uses_json_ = false;
};

}  // namespace

namespace {

struct Parsed {
  std::shared_ptr<const Expr> root;
  bool uses_distance;
  bool uses_json;
};

Result<Parsed> ParseText(std::string_view text, const TableSchema& schema, FilterScope scope,
                         bool condition) {
  if (text.size() > kMaxFilterLength) {
    return Status::InvalidArgument("expression is " + std::to_string(text.size()) +
                                   " bytes long; the limit is " + std::to_string(kMaxFilterLength));
  }
  QV_ASSIGN_OR_RETURN(auto tokens, Tokenize(text));
  Parser parser(std::move(tokens), schema, scope);
  QV_ASSIGN_OR_RETURN(ExprPtr root, parser.ParseRoot(condition));
  return Parsed{std::shared_ptr<const Expr>(std::move(root)), parser.uses_distance(),
                parser.uses_json()};
}

}  // namespace

Result<Filter> Filter::Parse(std::string_view text, const TableSchema& schema, FilterScope scope) {
  QV_ASSIGN_OR_RETURN(auto parsed, ParseText(text, schema, scope, /*condition=*/true));
  Filter filter;
  filter.root_ = std::move(parsed.root);
  filter.uses_distance_ = parsed.uses_distance;
  filter.uses_json_ = parsed.uses_json;
  return filter;
}

Result<Expression> Expression::Parse(std::string_view text, const TableSchema& schema,
                                     FilterScope scope) {
  QV_ASSIGN_OR_RETURN(auto parsed, ParseText(text, schema, scope, /*condition=*/false));
  Expression expression;
  expression.root_ = std::move(parsed.root);
  return expression;
}

bool Filter::Matches(const RowView& row) const {
  Value v = Evaluate(*root_, row);
  const bool* b = std::get_if<bool>(&v);
  return b != nullptr && *b;
}

}  // namespace quiver
