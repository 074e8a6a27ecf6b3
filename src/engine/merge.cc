#include "engine/merge.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <queue>

#include "common/text.h"

namespace quiver {
namespace {

// Appends a scalar value to a column of its field's type.
void AppendValue(Column* column, const Value& value) {
  if (const auto* b = std::get_if<bool>(&value)) {
    column->AppendInt(*b ? 1 : 0);
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    column->AppendInt(*i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    column->AppendDouble(*d);
  } else if (const auto* s = std::get_if<std::string>(&value)) {
    column->AppendString(*s);
  } else {
    column->AppendNull();  // null, or a vector (facets use scalars only)
  }
}

// Moves row `row` of `from` to the end of `to` (same fields).
void MoveRow(ResultSet& from, size_t row, ResultSet* to) {
  to->rows.push_back(std::move(from.rows[row]));
  if (!from.distances.empty()) to->distances.push_back(from.distances[row]);
  if (!from.keys.empty()) to->keys.push_back(std::move(from.keys[row]));
  if (!from.stamps.empty()) to->stamps.push_back(from.stamps[row]);
}

ResultSet EmptyLike(const std::vector<ResultSet>& parts) {
  ResultSet out;
  if (!parts.empty()) out.fields = parts[0].fields;
  return out;
}

}  // namespace

ResultSet MergeSearch(std::vector<ResultSet> parts, size_t limit) {
  ResultSet out = EmptyLike(parts);
  std::vector<std::pair<size_t, size_t>> order;  // (part, row)
  for (size_t p = 0; p < parts.size(); ++p) {
    for (size_t r = 0; r < parts[p].rows.size(); ++r) order.emplace_back(p, r);
  }
  auto less = [&](const std::pair<size_t, size_t>& a, const std::pair<size_t, size_t>& b) {
    const float da = parts[a.first].distances[a.second];
    const float db = parts[b.first].distances[b.second];
    if (da != db) return da < db;
    return parts[a.first].keys[a.second] < parts[b.first].keys[b.second];
  };
  const size_t keep = std::min(limit, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(keep), order.end(), less);
  for (size_t i = 0; i < keep; ++i) MoveRow(parts[order[i].first], order[i].second, &out);
  return out;
}

ResultSet MergeGet(std::vector<ResultSet> parts, size_t skip, std::optional<size_t> limit) {
  ResultSet out = EmptyLike(parts);
  // A k-way merge by the head rows' stamps (ties: the lower part first):
  // each part is taken in its own order, so a page is a prefix of each.
  using Head = std::pair<uint64_t, size_t>;  // stamp, part
  std::priority_queue<Head, std::vector<Head>, std::greater<>> heads;
  std::vector<size_t> next(parts.size(), 0);
  for (size_t p = 0; p < parts.size(); ++p) {
    if (!parts[p].rows.empty()) heads.emplace(parts[p].stamps[0], p);
  }
  const size_t end = limit ? skip + *limit : SIZE_MAX;
  for (size_t taken = 0; !heads.empty() && taken < end; ++taken) {
    const size_t p = heads.top().second;
    heads.pop();
    const size_t row = next[p]++;
    if (taken >= skip) MoveRow(parts[p], row, &out);
    if (next[p] < parts[p].rows.size()) heads.emplace(parts[p].stamps[next[p]], p);
  }
  return out;
}

ResultSet OrderByKeys(std::vector<ResultSet> parts, std::span<const PrimaryKey> keys) {
  ResultSet out = EmptyLike(parts);
  std::map<PrimaryKey, std::pair<size_t, size_t>> where;  // key -> (part, row)
  for (size_t p = 0; p < parts.size(); ++p) {
    for (size_t r = 0; r < parts[p].keys.size(); ++r)
      where.emplace(parts[p].keys[r], std::pair{p, r});
  }
  for (const PrimaryKey& key : keys) {
    auto it = where.find(key);
    if (it == where.end()) continue;
    MoveRow(parts[it->second.first], it->second.second, &out);
    where.erase(it);  // each key once
  }
  return out;
}

std::vector<FacetResult> MergeFacets(std::vector<std::vector<Facet>> parts) {
  std::vector<FacetResult> out;
  if (parts.empty()) return out;
  for (size_t f = 0; f < parts[0].size(); ++f) {
    Facet& merged = parts[0][f];
    for (size_t p = 1; p < parts.size(); ++p) merged.Merge(parts[p][f]);
    out.push_back(merged.Finish());
  }
  return out;
}

Result<std::vector<FacetResult>> FacetsOverRows(const TableSchema& schema,
                                                const std::vector<FacetRequest>& requests,
                                                FilterScope scope, const ResultSet& rows) {
  std::vector<Column> columns;
  columns.reserve(schema.fields.size());
  for (const Field& field : schema.fields) columns.emplace_back(field);
  std::vector<int> place(schema.fields.size(), -1);  // field -> position in rows.fields
  for (size_t i = 0; i < rows.fields.size(); ++i) place[rows.fields[i]] = static_cast<int>(i);
  for (const auto& row : rows.rows) {
    for (size_t f = 0; f < columns.size(); ++f) {
      if (place[f] < 0 || IsVectorType(schema.fields[f].type)) {
        columns[f].AppendNull();
      } else {
        AppendValue(&columns[f], row[static_cast<size_t>(place[f])]);
      }
    }
  }
  std::vector<FacetResult> out;
  for (size_t i = 0; i < requests.size(); ++i) {
    auto facet = Facet::Parse(requests[i], schema, scope);
    if (!facet.ok()) return facet.status().WithContext("facets[" + std::to_string(i) + "]");
    for (size_t r = 0; r < rows.rows.size(); ++r) {
      facet->Add({columns, r, rows.distances.empty() ? 0.0f : rows.distances[r]});
    }
    out.push_back(facet->Finish());
  }
  return out;
}

void ProjectRows(const std::vector<size_t>& wanted, ResultSet* rows) {
  if (wanted == rows->fields) return;
  std::vector<size_t> from;
  from.reserve(wanted.size());
  for (size_t f : wanted) {
    from.push_back(static_cast<size_t>(std::find(rows->fields.begin(), rows->fields.end(), f) -
                                       rows->fields.begin()));
  }
  // A field named twice is copied, not moved twice.
  std::vector<bool> last_use(from.size(), true);
  for (size_t i = 0; i < from.size(); ++i) {
    for (size_t j = i + 1; j < from.size(); ++j) {
      if (from[j] == from[i]) last_use[i] = false;
    }
  }
  for (auto& row : rows->rows) {
    std::vector<Value> projected;
    projected.reserve(from.size());
    for (size_t i = 0; i < from.size(); ++i) {
      projected.push_back(last_use[i] ? std::move(row[from[i]]) : row[from[i]]);
    }
    row = std::move(projected);
  }
  rows->fields = wanted;
}

Result<std::vector<size_t>> ResolveResponse(const TableSchema& schema,
                                            const std::vector<std::string>& names) {
  std::vector<size_t> fields;
  if (names.empty()) {
    for (size_t i = 0; i < schema.fields.size(); ++i) fields.push_back(i);
    return fields;
  }
  for (const auto& name : names) {
    auto index = schema.FieldIndex(name);
    if (!index) return Status::InvalidArgument("unknown field " + Quoted(name) + " in response");
    fields.push_back(*index);
  }
  return fields;
}

Result<size_t> HybridCandidates(const HybridRequest& request) {
  if (request.queries.empty()) return Status::InvalidArgument("queries must not be empty");
  if (request.limit == 0 || request.limit > kMaxResultRows) {
    return Status::InvalidArgument("limit must be between 1 and " + std::to_string(kMaxResultRows));
  }
  if (!std::isfinite(request.rrf_k) || request.rrf_k < 0) {
    return Status::InvalidArgument("fusion k must be a number of at least 0");
  }
  for (size_t q = 0; q < request.queries.size(); ++q) {
    const double weight = request.queries[q].weight;
    if (!std::isfinite(weight) || weight < 0) {
      return Status::InvalidArgument("queries[" + std::to_string(q) +
                                     "].weight must be at least 0");
    }
  }
  return request.candidates != 0 ? request.candidates
                                 : std::min(kMaxResultRows, request.limit * 10);
}

SearchRequest HybridQuerySearch(const HybridRequest& request, size_t q, size_t candidates,
                                const std::string& key_field) {
  const HybridRequest::Query& query = request.queries[q];
  SearchRequest search;
  search.field = query.field;
  search.vector = query.vector;
  search.sparse_vector = query.sparse_vector;
  search.limit = candidates;
  search.filter = request.filter;
  search.response = {key_field};
  search.with_distance = true;
  search.read = request.read;
  return search;
}

std::vector<std::pair<PrimaryKey, double>> Fuse(const HybridRequest& request,
                                                const std::vector<Ranking>& rankings) {
  // Each query ranks its own candidates; scores add up per primary key.
  std::map<PrimaryKey, double> scores;
  for (size_t q = 0; q < rankings.size(); ++q) {
    const Ranking& ranked = rankings[q];
    const double weight = request.queries[q].weight;
    const size_t n = ranked.keys.size();
    if (n == 0) continue;
    // Similarity = -distance: the list's best is its first, its worst its last.
    const double best = -ranked.distances.front(), worst = -ranked.distances.back();
    for (size_t r = 0; r < n; ++r) {
      double contribution;
      if (request.fusion == HybridRequest::Fusion::kRrf) {
        contribution = weight / (request.rrf_k + static_cast<double>(r + 1));
      } else {
        const double similarity = -ranked.distances[r];
        const double normalized = best == worst ? 1.0 : (similarity - worst) / (best - worst);
        contribution = weight * normalized;
      }
      scores[ranked.keys[r]] += contribution;
    }
  }
  std::vector<std::pair<PrimaryKey, double>> ranking(scores.begin(), scores.end());
  std::sort(ranking.begin(), ranking.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  });
  return ranking;
}

}  // namespace quiver
