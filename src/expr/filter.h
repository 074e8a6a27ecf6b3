#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "common/status.h"
#include "expr/expr.h"
#include "schema/column.h"
#include "schema/schema.h"

namespace quiver {

// Where a filter is used: @distance exists only in vector queries.
enum class FilterScope { kRows, kVectorQuery };

// Limits that keep a hostile filter from exhausting the stack or memory.
inline constexpr size_t kMaxFilterLength = 64 * 1024;
inline constexpr int kMaxFilterDepth = 64;

// One row as the evaluator sees it: the table's columns, a row number and,
// in vector queries, the row's distance to the query.
struct RowView {
  std::span<const Column> columns;
  size_t row = 0;
  double distance = 0;
};

// A filter parsed once into a typed tree and checked against a schema.
// Immutable after Parse; safe to evaluate from many threads.
//
// Semantics: SQL three-valued logic. A comparison with a missing (null)
// value is unknown; NOT unknown is unknown; a row matches only when the
// whole filter is TRUE. Integer division truncates; division or modulo by
// zero is unknown.
class Filter {
 public:
  static Result<Filter> Parse(std::string_view text, const TableSchema& schema, FilterScope scope);

  bool Matches(const RowView& row) const;
  bool UsesDistance() const { return uses_distance_; }
  // Evaluates the filter for rows [0, rows) of `columns`, column at a time:
  // (*out)[r] = 1 exactly where Matches would say true. Not for filters
  // that use @distance.
  void EvaluateBatch(std::span<const Column> columns, size_t rows, std::vector<uint8_t>* out) const;

 private:
  std::shared_ptr<const Expr> root_;
  bool uses_distance_ = false;
  bool uses_json_ = false;  // JSON paths are evaluated row by row
};

// A typed scalar expression of the filter language (a facet's group key or
// aggregate argument), of any type. Immutable; thread-safe to evaluate.
class Expression {
 public:
  static Result<Expression> Parse(std::string_view text, const TableSchema& schema,
                                  FilterScope scope);
  ExprType type() const { return root_->type; }
  // Null (monostate) when unknown.
  Value Evaluate(const RowView& row) const;

 private:
  std::shared_ptr<const Expr> root_;
};

// Evaluates any expression node; null (monostate) is SQL's unknown.
Value Evaluate(const Expr& expr, const RowView& row);

// SQL LIKE with % (any run) and _ (any one UTF-8 character); after
// `escape` (one character, or empty for none) the next character is
// literal. Case-sensitive.
bool LikeMatch(std::string_view text, std::string_view pattern, std::string_view escape = {});

}  // namespace quiver
