#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

#include "common/text.h"
#include "expr/filter.h"

namespace quiver {
namespace {

bool IsNumber(const Value& v) {
  return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v);
}

// Values a comparison can order: numbers with numbers, strings with strings,
// booleans with booleans. (Only JSON values can fail this at run time.)
bool Comparable(const Value& a, const Value& b) {
  if (IsNumber(a)) return IsNumber(b);
  return a.index() == b.index();
}

// The scalar at `path` inside a JSON text: integers, numbers, strings and
// booleans keep their kind; a missing path, null, an object or an array is
// null (unknown).
Value JsonPathValue(const std::string& text, const Expr& expr) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(text).get(e) != simdjson::SUCCESS) return std::monostate{};
  for (const auto& step : expr.json_path) {
    if (const auto* key = std::get_if<std::string>(&step)) {
      if (e.at_key(*key).get(e) != simdjson::SUCCESS) return std::monostate{};
    } else {
      const int64_t index = std::get<int64_t>(step);
      simdjson::dom::array array;
      if (index < 0 || e.get_array().get(array) != simdjson::SUCCESS ||
          array.at(static_cast<size_t>(index)).get(e) != simdjson::SUCCESS) {
        return std::monostate{};
      }
    }
  }
  switch (e.type()) {
    case simdjson::dom::element_type::INT64:
      return int64_t(e.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64:
      return double(e.get_uint64().value_unsafe());
    case simdjson::dom::element_type::DOUBLE:
      return e.get_double().value_unsafe();
    case simdjson::dom::element_type::STRING:
      return std::string(e.get_string().value_unsafe());
    case simdjson::dom::element_type::BOOL:
      return e.get_bool().value_unsafe();
    default:
      return std::monostate{};
  }
}

double AsDouble(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}

// Three-way comparison of two non-null values of comparable types.
int Compare(const Value& a, const Value& b) {
  if (std::holds_alternative<int64_t>(a) && std::holds_alternative<int64_t>(b)) {
    int64_t x = std::get<int64_t>(a), y = std::get<int64_t>(b);
    return (x > y) - (x < y);
  }
  if (std::holds_alternative<std::string>(a)) {
    int c = std::get<std::string>(a).compare(std::get<std::string>(b));
    return (c > 0) - (c < 0);
  }
  if (std::holds_alternative<bool>(a)) {
    return static_cast<int>(std::get<bool>(a)) - static_cast<int>(std::get<bool>(b));
  }
  double x = AsDouble(a), y = AsDouble(b);
  return (x > y) - (x < y);
}

Value Arithmetic(ExprOp op, const Value& a, const Value& b) {
  if (std::holds_alternative<int64_t>(a) && std::holds_alternative<int64_t>(b)) {
    // Wrapping arithmetic through unsigned keeps overflow defined.
    uint64_t x = static_cast<uint64_t>(std::get<int64_t>(a));
    uint64_t y = static_cast<uint64_t>(std::get<int64_t>(b));
    int64_t sy = std::get<int64_t>(b), sx = std::get<int64_t>(a);
    switch (op) {
      case ExprOp::kAdd:
        return static_cast<int64_t>(x + y);
      case ExprOp::kSubtract:
        return static_cast<int64_t>(x - y);
      case ExprOp::kMultiply:
        return static_cast<int64_t>(x * y);
      case ExprOp::kDivide:
        if (sy == 0 || (sy == -1 && sx == std::numeric_limits<int64_t>::min()))
          return std::monostate{};
        return sx / sy;
      case ExprOp::kModulo:
        if (sy == 0 || sy == -1) return sy == 0 ? Value(std::monostate{}) : Value(int64_t{0});
        return sx % sy;
      default:
        return std::monostate{};
    }
  }
  double x = AsDouble(a), y = AsDouble(b);
  switch (op) {
    case ExprOp::kAdd:
      return x + y;
    case ExprOp::kSubtract:
      return x - y;
    case ExprOp::kMultiply:
      return x * y;
    case ExprOp::kDivide:
      if (y == 0) return std::monostate{};
      return x / y;
    default:
      return std::monostate{};
  }
}

Value Logical(const Expr& expr, const RowView& row) {
  // Kleene logic: FALSE dominates AND, TRUE dominates OR, otherwise unknown.
  const bool is_and = expr.op == ExprOp::kAnd;
  Value left = Evaluate(*expr.args[0], row);
  const bool* l = std::get_if<bool>(&left);
  if (l && *l != is_and) return *l;
  Value right = Evaluate(*expr.args[1], row);
  const bool* r = std::get_if<bool>(&right);
  if (r && *r != is_and) return *r;
  if (l == nullptr || r == nullptr) return std::monostate{};  // null, or a non-boolean JSON value
  return is_and;
}

}  // namespace

bool LikeMatch(std::string_view text, std::string_view pattern, std::string_view escape) {
  // Backtracking over characters: '_' takes one UTF-8 character, '%' any
  // run (retried one whole character further on a mismatch), and after the
  // escape character the next character is literal.
  constexpr size_t kNone = std::string_view::npos;
  size_t t = 0, p = 0, star_p = kNone, star_t = 0;
  auto char_length = [](std::string_view s, size_t at) {
    return std::min(Utf8Length(static_cast<unsigned char>(s[at])), s.size() - at);
  };
  while (t < text.size()) {
    if (p < pattern.size()) {
      if (!escape.empty() && pattern.compare(p, escape.size(), escape) == 0) {
        // An escape at the very end stands for itself.
        const size_t literal_at = p + escape.size() < pattern.size() ? p + escape.size() : p;
        const size_t length = char_length(pattern, literal_at);
        if (text.compare(t, length, pattern.substr(literal_at, length)) == 0) {
          t += length;
          p = literal_at + length;
          continue;
        }
      } else if (pattern[p] == '_') {
        t += char_length(text, t);
        ++p;
        continue;
      } else if (pattern[p] == '%') {
        star_p = p++;
        star_t = t;
        continue;
      } else if (pattern[p] == text[t]) {
        ++t;
        ++p;
        continue;
      }
    }
    if (star_p == kNone) return false;
    p = star_p + 1;
    star_t += char_length(text, star_t);
    t = star_t;
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

Value Evaluate(const Expr& expr, const RowView& row) {
  switch (expr.op) {
    case ExprOp::kLiteral:
      return expr.literal;
    case ExprOp::kField:
      return row.columns[expr.field].GetValue(row.row);
    case ExprOp::kJsonPath: {
      const Column& column = row.columns[expr.field];
      if (column.IsNull(row.row)) return std::monostate{};
      return JsonPathValue(column.GetString(row.row), expr);
    }
    case ExprOp::kDistance:
      return row.distance;
    case ExprOp::kNot: {
      Value v = Evaluate(*expr.args[0], row);
      const bool* b = std::get_if<bool>(&v);
      if (b == nullptr) return std::monostate{};
      return !*b;
    }
    case ExprOp::kNegate: {
      Value v = Evaluate(*expr.args[0], row);
      if (!IsNumber(v)) return std::monostate{};
      if (const auto* i = std::get_if<int64_t>(&v)) {
        return static_cast<int64_t>(0 - static_cast<uint64_t>(*i));
      }
      return -std::get<double>(v);
    }
    case ExprOp::kAnd:
    case ExprOp::kOr:
      return Logical(expr, row);
    case ExprOp::kAdd:
    case ExprOp::kSubtract:
    case ExprOp::kMultiply:
    case ExprOp::kDivide:
    case ExprOp::kModulo: {
      Value a = Evaluate(*expr.args[0], row);
      if (!IsNumber(a)) return std::monostate{};
      Value b = Evaluate(*expr.args[1], row);
      if (!IsNumber(b)) return std::monostate{};
      if (expr.op == ExprOp::kModulo &&
          !(std::holds_alternative<int64_t>(a) && std::holds_alternative<int64_t>(b))) {
        return std::monostate{};
      }
      return Arithmetic(expr.op, a, b);
    }
    case ExprOp::kEq:
    case ExprOp::kNe:
    case ExprOp::kLt:
    case ExprOp::kLe:
    case ExprOp::kGt:
    case ExprOp::kGe: {
      Value a = Evaluate(*expr.args[0], row);
      if (IsNull(a)) return a;
      Value b = Evaluate(*expr.args[1], row);
      if (IsNull(b) || !Comparable(a, b)) return std::monostate{};
      return CompareResult(expr.op, Compare(a, b));
    }
    case ExprOp::kLike: {
      Value text = Evaluate(*expr.args[0], row);
      if (!std::holds_alternative<std::string>(text)) return std::monostate{};
      Value pattern = Evaluate(*expr.args[1], row);
      if (!std::holds_alternative<std::string>(pattern)) return std::monostate{};
      return LikeMatch(std::get<std::string>(text), std::get<std::string>(pattern), expr.escape) !=
             expr.negated;
    }
    case ExprOp::kIsNull:
      return IsNull(Evaluate(*expr.args[0], row)) != expr.negated;
    case ExprOp::kIn: {
      Value v = Evaluate(*expr.args[0], row);
      if (IsNull(v)) return v;
      bool any_comparable = false;
      for (const Value& item : expr.list) {
        if (!Comparable(v, item)) continue;
        any_comparable = true;
        if (Compare(v, item) == 0) return !expr.negated;
      }
      if (!any_comparable) return std::monostate{};  // e.g. a JSON string against numbers
      return expr.negated;
    }
  }
  return std::monostate{};
}

Value Expression::Evaluate(const RowView& row) const {
  return quiver::Evaluate(*root_, row);
}

}  // namespace quiver
