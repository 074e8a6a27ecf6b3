#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/facets.h"
#include "schema/types.h"

namespace quiver {

// How fresh a read must be (docs/CLUSTER.md, "Consistency"). A standalone
// server applies every write before acknowledging it: every read is STRONG.
struct ReadOptions {
  enum class Level {
    kStrong,    // everything acknowledged before the read began
    kSession,   // at least the writes whose LSNs `session` names
    kBounded,   // everything acknowledged at least a configured bound before the read
    kEventual,  // whatever the replica has applied
  };
  Level level = Level::kStrong;
  std::map<uint32_t, uint64_t> session;  // shard -> LSN (a write reply's "lsn")
};

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
  uint32_t ef = 0;                            // HNSW candidate list; 0: the field's default
  uint32_t nprobe = 0;                        // IVF lists to search; 0: the field's default
  ReadOptions read;
};

// One request, several vector queries fused into one ranking (hybrid search).
struct HybridRequest {
  struct Query {
    std::string field;
    std::vector<float> vector;                  // dense fields
    std::optional<SparseVector> sparse_vector;  // sparse fields
    double weight = 1.0;
  };
  enum class Fusion { kRrf, kWeighted };

  std::vector<Query> queries;
  Fusion fusion = Fusion::kRrf;
  double rrf_k = 60;      // RRF: score = sum of weight / (rrf_k + rank), rank from 1
  size_t candidates = 0;  // top-k of each query before fusion; 0: 10 x limit
  size_t limit = 0;
  std::string filter;  // applied to every query
  std::vector<std::string> response;
  bool with_score = false;
  ReadOptions read;
};

struct GetRequest {
  std::optional<std::vector<PrimaryKey>> keys;  // when set, only these rows, in this order
  std::string filter;
  size_t skip = 0;
  std::optional<size_t> limit;  // unset: every matching row
  std::vector<std::string> response;
  std::vector<FacetRequest> facets;  // aggregated over every matching row (before skip/limit)
  // A shard asked by its table: return the facets' partial states (to be
  // merged), not their results, and each row's key and stamp.
  bool partial_facets = false;
  bool for_merge = false;
  ReadOptions read;
};

// Rows as plain values, ready to be encoded by any front end.
struct ResultSet {
  std::vector<size_t> fields;  // schema indexes, in output order
  std::vector<std::vector<Value>> rows;
  std::vector<float> distances;     // one per row when the request asked for them
  std::vector<double> scores;       // hybrid search: the fused score per row, when asked
  std::vector<FacetResult> facets;  // one per requested facet

  // For the table that merges shards' results (never sent to clients):
  std::vector<PrimaryKey> keys;       // each row's primary key
  std::vector<uint64_t> stamps;       // each row's write stamp
  std::vector<Facet> partial_facets;  // get with partial_facets: states before Finish
};

}  // namespace quiver
