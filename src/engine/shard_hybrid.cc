// Shard: hybrid search, several vector queries fused into one ranking.

#include "engine/merge.h"
#include "engine/shard.h"

namespace quiver {

Result<ResultSet> Shard::HybridSearch(const HybridRequest& request) const {
  QV_ASSIGN_OR_RETURN(const size_t candidates, HybridCandidates(request));
  QV_ASSIGN_OR_RETURN(auto fields, quiver::ResolveResponse(schema_, request.response));
  // One version for every query and the projection: a consistent answer.
  const auto version = Pin();
  std::vector<Ranking> rankings;
  for (size_t q = 0; q < request.queries.size(); ++q) {
    auto ranked = SearchIn(
        *version, HybridQuerySearch(request, q, candidates, schema_.fields[pk_index_].name));
    if (!ranked.ok()) return ranked.status().WithContext("queries[" + std::to_string(q) + "]");
    rankings.push_back({std::move(ranked->keys), std::move(ranked->distances)});
  }
  ResultSet result;
  result.fields = std::move(fields);
  for (const auto& [key, score] : Fuse(request, rankings)) {
    if (result.rows.size() == request.limit) break;
    const Location at = FindIn(*version, key);
    if (at.segment == nullptr) continue;  // every ranked key is live in this version
    std::vector<Value> values;
    for (size_t f : result.fields) values.push_back(at.segment->columns()[f].GetValue(at.row));
    result.rows.push_back(std::move(values));
    result.keys.push_back(key);
    if (request.with_score) result.scores.push_back(score);
  }
  return result;
}

}  // namespace quiver
