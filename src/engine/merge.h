#pragma once

// How the partial results of a table's shards add up: the one place for
// these rules, used by the table that hosts its shards in-process and by
// the dispatcher that asks them over the network (docs/ARCHITECTURE.md,
// "Shards").

#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/query.h"
#include "schema/schema.h"

namespace quiver {

// Search: every part holds its nearest rows with distances and keys, in the
// same fields. The merge keeps the `limit` nearest, equal distances ordered
// by primary key (the order one shard gives).
ResultSet MergeSearch(std::vector<ResultSet> parts, size_t limit);

// Get: every part holds rows in its shard's order with their write stamps.
// The merge interleaves them by stamp (insertion order across shards) and
// keeps rows [skip, skip + limit).
ResultSet MergeGet(std::vector<ResultSet> parts, size_t skip, std::optional<size_t> limit);

// Get by keys: the parts' rows (with keys) in the order of `keys`, each key
// once, keys found in no part left out.
ResultSet OrderByKeys(std::vector<ResultSet> parts, std::span<const PrimaryKey> keys);

// Facets of get: merges the parts' partial states, facet by facet.
std::vector<FacetResult> MergeFacets(std::vector<std::vector<Facet>> parts);

// Facets over rows already merged (a search's results, a get by keys):
// `rows` holds every field the facets use (others may be missing), with
// distances when `scope` is a vector query.
Result<std::vector<FacetResult>> FacetsOverRows(const TableSchema& schema,
                                                const std::vector<FacetRequest>& requests,
                                                FilterScope scope, const ResultSet& rows);

// a + b, or SIZE_MAX when that overflows (skip + limit of a page).
inline size_t SaturatingAdd(size_t a, size_t b) {
  return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

// Keeps the fields `wanted` (schema indexes) of each row, in that order.
void ProjectRows(const std::vector<size_t>& wanted, ResultSet* rows);

// The schema indexes of the fields a response names (every field when
// none), or which name is unknown.
Result<std::vector<size_t>> ResolveResponse(const TableSchema& schema,
                                            const std::vector<std::string>& names);

// Hybrid search: the checks of a request, and how many candidates each of
// its queries ranks before fusion.
Result<size_t> HybridCandidates(const HybridRequest& request);
// The search that ranks query `q`'s candidates: keys and distances only.
SearchRequest HybridQuerySearch(const HybridRequest& request, size_t q, size_t candidates,
                                const std::string& key_field);
// One query's candidates, nearest first.
struct Ranking {
  std::vector<PrimaryKey> keys;
  std::vector<float> distances;
};
// Fuses the queries' rankings (one per query, in order) into one: keys by
// fused score, highest first, ties by primary key.
std::vector<std::pair<PrimaryKey, double>> Fuse(const HybridRequest& request,
                                                const std::vector<Ranking>& rankings);

}  // namespace quiver
