#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "expr/filter.h"
#include "schema/schema.h"

namespace quiver {

// A facet as requested: group keys and aggregates, both in the filter
// language ("city", "price * 2"; "COUNT(*)", "SUM(price)", "MIN(x)", "MAX(x)").
struct FacetRequest {
  std::vector<std::string> group;  // empty: one group of every row
  std::vector<std::string> aggregate;
};

// One row per group (in the order groups were first seen): the group keys,
// then the aggregates, each named by its text as requested.
struct FacetResult {
  std::vector<std::string> names;
  std::vector<std::vector<Value>> rows;
};

// A facet parsed and checked against the schema, folding rows one at a time.
// SQL rules: COUNT(*) counts rows, COUNT(x) non-null values; SUM, MIN and MAX
// skip nulls and are null when every value is; a null key is a group of its
// own. SUM of integers is an integer (wrapping), of numbers a double.
// Not thread-safe.
class Facet {
 public:
  static Result<Facet> Parse(const FacetRequest& request, const TableSchema& schema,
                             FilterScope scope);

  // Folds a row in; groups come out in the order of their first row.
  void Add(const RowView& row) { Add(row, next_order_++); }
  // The same, with the row's place in the output order given (its write
  // stamp, when partial facets of several shards are merged).
  void Add(const RowView& row, uint64_t order);
  // Folds in another partial state of the same facet (parsed from the same
  // request): counts and sums add up, minimums and maximums combine, and a
  // group's first row is the earlier of the two.
  void Merge(const Facet& other);
  FacetResult Finish() const;

  // The partial state as plain values, to send to whoever merges: per
  // group, its key, the order of its first row, and per aggregate a count
  // and a value (sum, min or max; null until a value is seen).
  struct Partial {
    struct Group {
      std::vector<Value> key;
      uint64_t first = 0;
      std::vector<int64_t> counts;
      std::vector<Value> values;
    };
    std::vector<Group> groups;
  };
  Partial Export() const;
  // Merge of an exported partial state of the same facet (parsed from the
  // same request); kInvalidArgument when its shape does not fit.
  Status MergePartial(const Partial& partial);

 private:
  enum class Kind { kCountRows, kCount, kSum, kMin, kMax };
  struct Aggregate {
    Kind kind;
    std::optional<Expression> argument;  // none for COUNT(*)
  };
  struct State {
    int64_t count = 0;
    Value value;  // sum, min or max so far; null until a value is seen
  };

  std::vector<std::string> names_;
  std::vector<Expression> keys_;
  std::vector<Aggregate> aggregates_;
  std::map<std::vector<Value>, size_t> group_index_;
  std::vector<std::vector<Value>> group_keys_;
  std::vector<std::vector<State>> states_;
  std::vector<uint64_t> first_;  // per group: the order of its first row
  uint64_t next_order_ = 0;

  size_t GroupOf(std::vector<Value> key, uint64_t order);
  void MergeStates(const std::vector<State>& more, std::vector<State>* into) const;
};

}  // namespace quiver
