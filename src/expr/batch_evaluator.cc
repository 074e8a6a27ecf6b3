// Column-at-a-time filter evaluation: each expression node is evaluated for
// a chunk of rows into arrays (values plus a "known" flag per row for SQL's
// unknown), so comparisons and logic run as tight loops over columns instead
// of a tree walk per row. Semantics equal Evaluate() in evaluator.cc; the
// randomized oracle test holds the two to that.

#include <algorithm>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "expr/filter.h"

namespace quiver {
namespace {

constexpr size_t kChunk = 1024;

// The values of one node for the rows of a chunk.
struct Slot {
  std::vector<uint8_t> known = std::vector<uint8_t>(kChunk);
  std::vector<uint8_t> b = std::vector<uint8_t>(kChunk);
  std::vector<int64_t> i = std::vector<int64_t>(kChunk);
  std::vector<double> d = std::vector<double>(kChunk);
  std::vector<std::string_view> s = std::vector<std::string_view>(kChunk);
};

double AsDouble(const Slot& slot, ExprType type, size_t k) {
  return type == ExprType::kInt ? static_cast<double>(slot.i[k]) : slot.d[k];
}

template <typename T>
int ThreeWay(const T& x, const T& y) {
  return (x > y) - (x < y);
}

class BatchEvaluator {
 public:
  BatchEvaluator(const Expr& root, std::span<const Column> columns)
      : root_(root), columns_(columns) {
    Number(root);
    slots_.resize(index_.size());
  }

  void Run(size_t rows, std::vector<uint8_t>* out) {
    out->assign(rows, 0);
    for (size_t begin = 0; begin < rows; begin += kChunk) {
      const size_t n = std::min(kChunk, rows - begin);
      const Slot& r = Eval(root_, begin, n);
      for (size_t k = 0; k < n; ++k) (*out)[begin + k] = r.known[k] & r.b[k];
    }
  }

 private:
  void Number(const Expr& e) {
    index_.emplace(&e, index_.size());
    for (const auto& arg : e.args) Number(*arg);
  }

  const Slot& Eval(const Expr& e, size_t begin, size_t n) {
    Slot& out = slots_[index_.at(&e)];
    switch (e.op) {
      case ExprOp::kLiteral:
        Literal(e, n, &out);
        break;
      case ExprOp::kField:
        Field(e, begin, n, &out);
        break;
      case ExprOp::kDistance:  // callers exclude @distance ...
      case ExprOp::kJsonPath:  // ... and JSON paths (EvaluateBatch goes row by row)
        std::fill_n(out.known.begin(), n, 0);
        break;
      case ExprOp::kNot: {
        const Slot& a = Eval(*e.args[0], begin, n);
        for (size_t k = 0; k < n; ++k) {
          out.known[k] = a.known[k];
          out.b[k] = !a.b[k];
        }
        break;
      }
      case ExprOp::kNegate: {
        const Slot& a = Eval(*e.args[0], begin, n);
        for (size_t k = 0; k < n; ++k) {
          out.known[k] = a.known[k];
          if (e.type == ExprType::kInt) {
            out.i[k] = static_cast<int64_t>(0 - static_cast<uint64_t>(a.i[k]));
          } else {
            out.d[k] = -a.d[k];
          }
        }
        break;
      }
      case ExprOp::kAnd:
      case ExprOp::kOr:
        Logic(e, begin, n, &out);
        break;
      case ExprOp::kAdd:
      case ExprOp::kSubtract:
      case ExprOp::kMultiply:
      case ExprOp::kDivide:
      case ExprOp::kModulo:
        Arithmetic(e, begin, n, &out);
        break;
      case ExprOp::kEq:
      case ExprOp::kNe:
      case ExprOp::kLt:
      case ExprOp::kLe:
      case ExprOp::kGt:
      case ExprOp::kGe:
        Comparison(e, begin, n, &out);
        break;
      case ExprOp::kLike: {
        const Slot& text = Eval(*e.args[0], begin, n);
        const Slot& pattern = Eval(*e.args[1], begin, n);
        for (size_t k = 0; k < n; ++k) {
          out.known[k] = text.known[k] & pattern.known[k];
          out.b[k] = out.known[k] && (LikeMatch(text.s[k], pattern.s[k], e.escape) != e.negated);
        }
        break;
      }
      case ExprOp::kIn:
        In(e, begin, n, &out);
        break;
      case ExprOp::kIsNull: {
        const Slot& a = Eval(*e.args[0], begin, n);
        for (size_t k = 0; k < n; ++k) {
          out.known[k] = 1;
          out.b[k] = (a.known[k] == 0) != e.negated;
        }
        break;
      }
    }
    return out;
  }

  void Literal(const Expr& e, size_t n, Slot* out) {
    std::fill_n(out->known.begin(), n, 1);
    if (const auto* b = std::get_if<bool>(&e.literal)) {
      std::fill_n(out->b.begin(), n, *b);
    } else if (const auto* i = std::get_if<int64_t>(&e.literal)) {
      std::fill_n(out->i.begin(), n, *i);
    } else if (const auto* d = std::get_if<double>(&e.literal)) {
      std::fill_n(out->d.begin(), n, *d);
    } else {
      std::fill_n(out->s.begin(), n, std::string_view(std::get<std::string>(e.literal)));
    }
  }

  void Field(const Expr& e, size_t begin, size_t n, Slot* out) {
    const Column& c = columns_[e.field];
    std::copy_n(c.ValidData() + begin, n, out->known.begin());
    switch (e.type) {
      case ExprType::kBool:
        for (size_t k = 0; k < n; ++k) out->b[k] = c.IntData()[begin + k] != 0;
        break;
      case ExprType::kInt:
        std::copy_n(c.IntData() + begin, n, out->i.begin());
        break;
      case ExprType::kDouble:
        std::copy_n(c.DoubleData() + begin, n, out->d.begin());
        break;
      case ExprType::kString:
        for (size_t k = 0; k < n; ++k) out->s[k] = c.GetString(begin + k);
        break;
      case ExprType::kJson:  // only JSON paths have this type, and they never get here
        std::fill_n(out->known.begin(), n, 0);
        break;
    }
  }

  void Logic(const Expr& e, size_t begin, size_t n, Slot* out) {
    const Slot& a = Eval(*e.args[0], begin, n);
    const Slot& b = Eval(*e.args[1], begin, n);
    for (size_t k = 0; k < n; ++k) {
      const uint8_t at = a.known[k] & a.b[k], af = a.known[k] & !a.b[k];
      const uint8_t bt = b.known[k] & b.b[k], bf = b.known[k] & !b.b[k];
      if (e.op == ExprOp::kAnd) {  // FALSE dominates
        out->b[k] = at & bt;
        out->known[k] = (at & bt) | af | bf;
      } else {  // TRUE dominates
        out->b[k] = at | bt;
        out->known[k] = at | bt | (af & bf);
      }
    }
  }

  void Arithmetic(const Expr& e, size_t begin, size_t n, Slot* out) {
    const ExprType ta = e.args[0]->type, tb = e.args[1]->type;
    const Slot& a = Eval(*e.args[0], begin, n);
    const Slot& b = Eval(*e.args[1], begin, n);
    for (size_t k = 0; k < n; ++k) {
      out->known[k] = a.known[k] & b.known[k];
      if (e.type == ExprType::kInt) {
        const int64_t x = a.i[k], y = b.i[k];
        const uint64_t ux = static_cast<uint64_t>(x), uy = static_cast<uint64_t>(y);
        switch (e.op) {
          case ExprOp::kAdd:
            out->i[k] = static_cast<int64_t>(ux + uy);
            break;
          case ExprOp::kSubtract:
            out->i[k] = static_cast<int64_t>(ux - uy);
            break;
          case ExprOp::kMultiply:
            out->i[k] = static_cast<int64_t>(ux * uy);
            break;
          case ExprOp::kDivide:
            if (y == 0 || (y == -1 && x == std::numeric_limits<int64_t>::min())) {
              out->known[k] = 0;
            } else {
              out->i[k] = x / y;
            }
            break;
          default:  // modulo
            if (y == 0) {
              out->known[k] = 0;
            } else {
              out->i[k] = y == -1 ? 0 : x % y;
            }
            break;
        }
      } else {
        const double x = AsDouble(a, ta, k), y = AsDouble(b, tb, k);
        switch (e.op) {
          case ExprOp::kAdd:
            out->d[k] = x + y;
            break;
          case ExprOp::kSubtract:
            out->d[k] = x - y;
            break;
          case ExprOp::kMultiply:
            out->d[k] = x * y;
            break;
          default:  // divide (modulo needs integers)
            if (y == 0) {
              out->known[k] = 0;
            } else {
              out->d[k] = x / y;
            }
            break;
        }
      }
    }
  }

  void Comparison(const Expr& e, size_t begin, size_t n, Slot* out) {
    const ExprType ta = e.args[0]->type, tb = e.args[1]->type;
    const Slot& a = Eval(*e.args[0], begin, n);
    const Slot& b = Eval(*e.args[1], begin, n);
    for (size_t k = 0; k < n; ++k) out->known[k] = a.known[k] & b.known[k];
    if (ta == ExprType::kInt && tb == ExprType::kInt) {
      for (size_t k = 0; k < n; ++k) out->b[k] = CompareResult(e.op, ThreeWay(a.i[k], b.i[k]));
    } else if (ta == ExprType::kString) {
      for (size_t k = 0; k < n; ++k) {
        const int c = a.s[k].compare(b.s[k]);
        out->b[k] = CompareResult(e.op, (c > 0) - (c < 0));
      }
    } else if (ta == ExprType::kBool) {
      for (size_t k = 0; k < n; ++k) out->b[k] = CompareResult(e.op, int(a.b[k]) - int(b.b[k]));
    } else {
      for (size_t k = 0; k < n; ++k) {
        out->b[k] = CompareResult(e.op, ThreeWay(AsDouble(a, ta, k), AsDouble(b, tb, k)));
      }
    }
  }

  void In(const Expr& e, size_t begin, size_t n, Slot* out) {
    const ExprType t = e.args[0]->type;
    const Slot& a = Eval(*e.args[0], begin, n);
    for (size_t k = 0; k < n; ++k) {
      out->known[k] = a.known[k];
      bool found = false;
      for (const Value& item : e.list) {
        if (t == ExprType::kString) {
          found = a.s[k] == std::get<std::string>(item);
        } else if (t == ExprType::kInt && std::holds_alternative<int64_t>(item)) {
          found = a.i[k] == std::get<int64_t>(item);
        } else {
          const double x = AsDouble(a, t, k);
          const double y = std::holds_alternative<int64_t>(item)
                               ? static_cast<double>(std::get<int64_t>(item))
                               : std::get<double>(item);
          found = ThreeWay(x, y) == 0;
        }
        if (found) break;
      }
      out->b[k] = found != e.negated;
    }
  }

  const Expr& root_;
  std::span<const Column> columns_;
  std::unordered_map<const Expr*, size_t> index_;
  std::vector<Slot> slots_;
};

}  // namespace

void Filter::EvaluateBatch(std::span<const Column> columns, size_t rows,
                           std::vector<uint8_t>* out) const {
  if (uses_json_) {  // JSON values have per-row kinds: evaluate row by row
    out->resize(rows);
    for (size_t r = 0; r < rows; ++r) (*out)[r] = Matches({columns, r, 0});
    return;
  }
  BatchEvaluator(*root_, columns).Run(rows, out);
}

}  // namespace quiver
