// Table: hybrid search, several vector queries fused into one ranking.

#include <algorithm>
#include <cmath>
#include <map>

#include "engine/table.h"

namespace quiver {
namespace {

PrimaryKey KeyOf(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  return std::get<std::string>(v);
}

}  // namespace

Result<ResultSet> Table::HybridSearch(const HybridRequest& request) const {
  if (request.queries.empty()) return Status::InvalidArgument("queries must not be empty");
  if (request.limit == 0 || request.limit > kMaxResultRows) {
    return Status::InvalidArgument("limit must be between 1 and " + std::to_string(kMaxResultRows));
  }
  if (!std::isfinite(request.rrf_k) || request.rrf_k < 0) {
    return Status::InvalidArgument("fusion k must be a number of at least 0");
  }
  const size_t candidates =
      request.candidates != 0 ? request.candidates : std::min(kMaxResultRows, request.limit * 10);
  const std::string& pk_name = schema_.fields[pk_index_].name;

  // One version for every query and the projection: a consistent answer.
  const auto version = Pin();
  // Each query ranks its own candidates; scores add up per primary key.
  std::map<PrimaryKey, double> scores;
  for (size_t q = 0; q < request.queries.size(); ++q) {
    const HybridRequest::Query& query = request.queries[q];
    if (!std::isfinite(query.weight) || query.weight < 0) {
      return Status::InvalidArgument("queries[" + std::to_string(q) +
                                     "].weight must be at least 0");
    }
    SearchRequest search;
    search.field = query.field;
    search.vector = query.vector;
    search.sparse_vector = query.sparse_vector;
    search.limit = candidates;
    search.filter = request.filter;
    search.response = {pk_name};
    search.with_distance = true;
    auto ranked = SearchIn(*version, search);
    if (!ranked.ok()) return ranked.status().WithContext("queries[" + std::to_string(q) + "]");
    const size_t n = ranked->rows.size();
    if (n == 0) continue;
    // Similarity = -distance: the list's best is its first, its worst its last.
    const double best = -ranked->distances.front(), worst = -ranked->distances.back();
    for (size_t r = 0; r < n; ++r) {
      double contribution;
      if (request.fusion == HybridRequest::Fusion::kRrf) {
        contribution = query.weight / (request.rrf_k + static_cast<double>(r + 1));
      } else {
        const double similarity = -ranked->distances[r];
        const double normalized = best == worst ? 1.0 : (similarity - worst) / (best - worst);
        contribution = query.weight * normalized;
      }
      scores[KeyOf(ranked->rows[r][0])] += contribution;
    }
  }

  std::vector<std::pair<PrimaryKey, double>> ranking(scores.begin(), scores.end());
  std::sort(ranking.begin(), ranking.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  });
  QV_ASSIGN_OR_RETURN(auto fields, ResolveResponse(request.response));
  ResultSet result;
  result.fields = std::move(fields);
  for (const auto& [key, score] : ranking) {
    if (result.rows.size() == request.limit) break;
    const Location at = FindIn(*version, key);
    if (at.segment == nullptr) continue;  // every ranked key is live in this version
    std::vector<Value> values;
    for (size_t f : result.fields) values.push_back(at.segment->columns()[f].GetValue(at.row));
    result.rows.push_back(std::move(values));
    if (request.with_score) result.scores.push_back(score);
  }
  return result;
}

}  // namespace quiver
