#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "engine/facets.h"
#include "schema/types.h"

namespace quiver {

// The largest top-k / page a single request may ask for.
inline constexpr size_t kMaxResultRows = 100000;

struct SearchRequest {
  std::string field;          // vector field; empty when the table has exactly one
  std::vector<float> vector;  // dense fields
  size_t limit = 0;
  std::string filter;                 // empty: no filter; may use @distance
  std::vector<std::string> response;  // fields to return; empty: every field
  bool with_distance = false;
  std::vector<FacetRequest> facets;           // aggregated over the returned records
  std::optional<SparseVector> sparse_vector;  // sparse fields, instead of vector
};

struct GetRequest {
  std::optional<std::vector<PrimaryKey>> keys;  // when set, only these rows, in this order
  std::string filter;
  size_t skip = 0;
  std::optional<size_t> limit;  // unset: every matching row
  std::vector<std::string> response;
  std::vector<FacetRequest> facets;  // aggregated over every matching row (before skip/limit)
};

// Rows as plain values, ready to be encoded by any front end.
struct ResultSet {
  std::vector<size_t> fields;  // schema indexes, in output order
  std::vector<std::vector<Value>> rows;
  std::vector<float> distances;     // one per row when the request asked for them
  std::vector<FacetResult> facets;  // one per requested facet
};

}  // namespace quiver
