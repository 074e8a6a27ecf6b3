#pragma once

#include <memory>
#include <string>
#include <vector>

#include "schema/types.h"

namespace quiver {

// The static type of a filter expression node, fixed when it is parsed.
// kJson is a value read from a JSON field by path: its kind (integer,
// number, string, boolean) is known only per row.
enum class ExprType : uint8_t { kBool, kInt, kDouble, kString, kJson };

enum class ExprOp : uint8_t {
  kLiteral,
  kField,
  kJsonPath,  // field + json_path
  kDistance,
  kNot,
  kNegate,
  kAnd,
  kOr,
  kAdd,
  kSubtract,
  kMultiply,
  kDivide,
  kModulo,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kLike,
  kIn,
  kIsNull,  // IS NULL (negated: IS NOT NULL); never unknown
};

// The answer of comparison `op` (kEq .. kGe) given a three-way result c
// (negative, zero, positive). Shared by both evaluators.
inline bool CompareResult(ExprOp op, int c) {
  switch (op) {
    case ExprOp::kEq:
      return c == 0;
    case ExprOp::kNe:
      return c != 0;
    case ExprOp::kLt:
      return c < 0;
    case ExprOp::kLe:
      return c <= 0;
    case ExprOp::kGt:
      return c > 0;
    default:
      return c >= 0;
  }
}

// A typed filter expression tree. Owns its children.
struct Expr {
  ExprOp op;
  ExprType type;
  Value literal;         // kLiteral: bool, int64_t, double or std::string
  size_t field = 0;      // kField: index into the table schema
  bool negated = false;  // NOT LIKE, NOT IN, IS NOT NULL
  std::string escape;    // kLike: the ESCAPE character (one UTF-8 character), or none
  std::vector<std::unique_ptr<Expr>> args;
  std::vector<Value> list;  // kIn: the literal values, already of the left side's type
  // kJsonPath: object keys (std::string) and array indexes (int64_t), in order.
  std::vector<std::variant<std::string, int64_t>> json_path;
};

}  // namespace quiver
