// Shard: the read path (vector search and get), across every segment.

#include <algorithm>
#include <cmath>
#include <set>

#include "common/text.h"
#include "engine/merge.h"
#include "engine/shard.h"
#include "engine/top_k.h"
#include "engine/vector_searcher.h"
#include "expr/filter.h"
#include "kernels/kernels.h"
#include "metric/metric.h"

namespace quiver {
namespace {

Status CheckLimit(size_t limit) {
  if (limit == 0 || limit > kMaxResultRows) {
    return Status::InvalidArgument("limit must be between 1 and " + std::to_string(kMaxResultRows));
  }
  return Status::OK();
}

// No filter when the text is empty.
Result<std::optional<Filter>> ParseOptionalFilter(const std::string& text,
                                                  const TableSchema& schema, FilterScope scope) {
  if (text.empty()) return std::optional<Filter>();
  QV_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(text, schema, scope));
  return std::optional<Filter>(std::move(filter));
}

std::vector<Value> Project(const Segment& segment, const std::vector<size_t>& fields, size_t row) {
  std::vector<Value> values;
  values.reserve(fields.size());
  const auto columns = segment.columns();
  for (size_t f : fields) values.push_back(columns[f].GetValue(row));
  return values;
}

struct Candidate {
  float distance;
  PrimaryKey key;
  const Segment* segment;
  uint32_t row;
};

Result<std::vector<Facet>> ParseFacets(const std::vector<FacetRequest>& requests,
                                       const TableSchema& schema, FilterScope scope) {
  std::vector<Facet> facets;
  for (size_t i = 0; i < requests.size(); ++i) {
    auto facet = Facet::Parse(requests[i], schema, scope);
    if (!facet.ok()) return facet.status().WithContext("facets[" + std::to_string(i) + "]");
    facets.push_back(std::move(facet).value());
  }
  return facets;
}

}  // namespace

Result<ResultSet> Shard::Search(const SearchRequest& request) const {
  return SearchIn(*Pin(), request);
}

Result<ResultSet> Shard::SearchIn(const ShardVersion& version, const SearchRequest& request) const {
  size_t field_index;
  if (request.field.empty()) {
    auto vector_fields = schema_.VectorFieldIndexes();
    if (vector_fields.size() != 1) {
      return Status::InvalidArgument("the table has " + std::to_string(vector_fields.size()) +
                                     " vector fields: name one with queryField");
    }
    field_index = vector_fields[0];
  } else {
    auto index = schema_.FieldIndex(request.field);
    if (!index) return Status::InvalidArgument("unknown queryField " + Quoted(request.field));
    if (!IsVectorType(schema_.fields[*index].type)) {
      return Status::InvalidArgument("queryField " + Quoted(request.field) +
                                     " is not a vector field");
    }
    field_index = *index;
  }
  const Field& field = schema_.fields[field_index];
  const bool sparse = field.type == DataType::kSparseVectorFloat;
  if (sparse != request.sparse_vector.has_value()) {
    return Status::InvalidArgument(
        "queryField '" + field.name + "' is " + (sparse ? "a sparse" : "a dense") +
        " vector field: the queryVector must be " +
        (sparse ? "{\"indices\": [...], \"values\": [...]}" : "an array"));
  }
  if (sparse) {
    for (float x : request.sparse_vector->values) {
      if (!std::isfinite(x)) return Status::InvalidArgument("queryVector holds NaN or infinity");
    }
  } else if (request.vector.size() != field.dimensions) {
    return Status::InvalidArgument("queryVector has " + std::to_string(request.vector.size()) +
                                   " dimensions, field '" + field.name + "' has " +
                                   std::to_string(field.dimensions));
  }
  for (float x : request.vector) {
    if (!std::isfinite(x)) return Status::InvalidArgument("queryVector holds NaN or infinity");
  }
  const bool binary = field.type == DataType::kVectorBinary;
  std::vector<uint64_t> packed_query;
  if (binary) {
    auto packed = PackBits(request.vector);
    if (!packed.ok()) return packed.status().WithContext("queryVector");
    packed_query = std::move(packed).value();
  }
  QV_RETURN_IF_ERROR(CheckLimit(request.limit));
  QV_ASSIGN_OR_RETURN(auto filter,
                      ParseOptionalFilter(request.filter, schema_, FilterScope::kVectorQuery));
  QV_ASSIGN_OR_RETURN(auto fields, quiver::ResolveResponse(schema_, request.response));
  QV_ASSIGN_OR_RETURN(auto facets, ParseFacets(request.facets, schema_, FilterScope::kVectorQuery));

  std::vector<Candidate> candidates;
  std::vector<uint8_t> allowed, passed;
  for (const SegmentView& view : version.segments) {
    const Segment* segment = view.segment.get();
    const auto columns = segment->columns();
    const size_t rows = view.rows;
    if (rows == 0) continue;
    // The filter is applied first (except an @distance filter, which needs
    // the distance and is asked per candidate).
    // No bitmap at all when every row may be returned (no filter, no deletes).
    allowed.clear();
    const bool every_row = !filter && !segment->deletes().AnyDeletedAt(version.lsn);
    size_t allowed_rows = rows;
    if (!every_row) allowed_rows = segment->deletes().AppendLiveFlags(rows, version.lsn, &allowed);
    std::function<bool(uint32_t, float)> accept;
    SearchFilter search_filter{allowed, nullptr};
    if (filter && filter->UsesDistance()) {
      accept = [&](uint32_t row, float d) { return filter->Matches({columns, row, d}); };
      search_filter.accept = &accept;
    } else if (filter) {
      filter->EvaluateBatch(columns, rows, &passed);
      allowed_rows = 0;
      for (size_t row = 0; row < rows; ++row) {
        allowed[row] &= passed[row];
        allowed_rows += allowed[row];
      }
    }
    const Column& pk = columns[pk_index_];
    const Column& vectors = columns[field_index];
    const TieBreak by_key = [&pk](uint32_t a, uint32_t b) { return KeyAt(pk, a) < KeyAt(pk, b); };
    std::vector<Neighbor> neighbors;
    const index::VectorIndex* vector_index =
        view.indexes.size() > field_index ? view.indexes[field_index].get() : nullptr;
    if (vector_index != nullptr && search_filter.accept == nullptr) {
      // The index proposes candidates; their distances are computed again
      // exactly, so every segment ranks by the same numbers (and HNSW_SQ8's
      // candidates are re-ranked).
      index::IndexQuery query;
      query.k = request.limit;
      query.ef = request.ef != 0 ? request.ef : field.index.ef;
      query.nprobe = request.nprobe != 0 ? request.nprobe : field.index.nprobe;
      query.tie = &by_key;
      if (allowed_rows < rows) {
        query.allowed = allowed;
        query.allowed_count = allowed_rows;
      }
      const auto found = vector_index->Search({request.vector.data(), packed_query.data()}, query);
      index::TopK top(request.limit, &by_key);
      for (const index::ScoredRow& r : found) {
        const float d = binary ? BinaryDistance(field.metric, vectors.GetBits(r.row).data(),
                                                packed_query.data(), packed_query.size())
                               : Distance(field.metric, request.vector.data(),
                                          vectors.GetVector(r.row).data(), field.dimensions);
        top.Push(d, r.row);
      }
      neighbors = top.Take();
    } else if (sparse) {  // DOT_PRODUCT: distance = -dot
      const SparseVector& q = *request.sparse_vector;
      neighbors = TopK(rows, request.limit, search_filter, by_key, [&](size_t row) {
        return SparseDistance(q.indices, q.values, vectors.GetSparseIndices(row),
                              vectors.GetSparseValues(row));
      });
    } else {
      ExactSearcher searcher =
          binary ? ExactSearcher(vectors.BitsData(), rows, vectors.words(), field.metric)
                 : ExactSearcher(vectors.VectorData(), rows, field.dimensions, field.metric);
      neighbors = searcher.Search(request.vector, request.limit, search_filter, by_key);
    }
    for (const Neighbor& n : neighbors)
      candidates.push_back({n.distance, KeyAt(pk, n.row), segment, n.row});
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.distance != b.distance) return a.distance < b.distance;
    return a.key < b.key;
  });
  if (candidates.size() > request.limit) candidates.resize(request.limit);
  ResultSet result;
  result.fields = std::move(fields);
  for (const Candidate& c : candidates) {
    result.rows.push_back(Project(*c.segment, result.fields, c.row));
    result.keys.push_back(c.key);
    result.stamps.push_back(c.segment->stamp(c.row));
    if (request.with_distance) result.distances.push_back(c.distance);
    for (Facet& facet : facets) facet.Add({c.segment->columns(), c.row, c.distance});
  }
  for (const Facet& facet : facets) result.facets.push_back(facet.Finish());
  return result;
}

Result<ResultSet> Shard::Get(const GetRequest& request) const {
  // A get's limit only bounds the page: any positive one (as in Epsilla).
  if (request.limit && *request.limit == 0)
    return Status::InvalidArgument("limit must be positive");
  if (request.keys) QV_RETURN_IF_ERROR(CheckKeyTypes(*request.keys));
  QV_ASSIGN_OR_RETURN(auto filter,
                      ParseOptionalFilter(request.filter, schema_, FilterScope::kRows));
  QV_ASSIGN_OR_RETURN(auto fields, quiver::ResolveResponse(schema_, request.response));
  QV_ASSIGN_OR_RETURN(auto facets, ParseFacets(request.facets, schema_, FilterScope::kRows));

  const auto version = Pin();
  auto matches = [&](const Segment& segment, size_t row) {
    return !filter || filter->Matches({segment.columns(), row, 0});
  };
  std::vector<Location> rows;
  if (request.keys) {
    std::set<std::pair<const Segment*, size_t>> seen;
    for (const auto& key : *request.keys) {
      Location at = FindIn(*version, key);
      if (at.segment != nullptr && seen.insert({at.segment, at.row}).second &&
          matches(*at.segment, at.row)) {
        rows.push_back(at);
      }
    }
  } else {
    // Rows come in insertion order: by write stamp. Segments are read in
    // order of their oldest stamp; a segment whose rows are out of stamp
    // order (a growing chunk that concurrent writers appended to) has its
    // matches sorted. A page stops once it holds `wanted` rows all older
    // than the next segment's oldest: usually after the first segments,
    // as when every segment's range follows the one before.
    std::vector<size_t> order(version->segments.size());
    std::vector<Segment::StampRange> ranges(order.size());
    for (size_t v = 0; v < order.size(); ++v) {
      order[v] = v;
      if (version->segments[v].rows > 0) ranges[v] = version->segments[v].segment->stamp_range();
    }
    // Facets see every matching row, so only a plain page may stop early.
    const size_t wanted =
        request.limit && facets.empty() ? SaturatingAdd(request.skip, *request.limit) : SIZE_MAX;
    // The usual case: every segment in stamp order, each range after the
    // one before. The rows are then read in place, in segment order.
    bool ordered = true;
    uint64_t newest = 0;
    for (size_t v = 0; v < order.size() && ordered; ++v) {
      if (version->segments[v].rows == 0) continue;
      ordered = ranges[v].sorted && ranges[v].min >= newest;
      newest = std::max(newest, ranges[v].max);
    }
    if (ordered) {
      std::vector<uint8_t> live, passed;
      for (const SegmentView& view : version->segments) {
        if (rows.size() >= wanted) break;
        const Segment* segment = view.segment.get();
        live.clear();
        segment->deletes().AppendLiveFlags(view.rows, version->lsn, &live);
        if (filter) filter->EvaluateBatch(segment->columns(), view.rows, &passed);
        for (size_t row = 0; row < view.rows && rows.size() < wanted; ++row) {
          if (live[row] && (!filter || passed[row])) rows.push_back({segment, row});
        }
      }
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return ranges[a].min < ranges[b].min; });
    struct Match {
      uint64_t stamp;
      uint64_t seq;  // reading order: ties (rows from before stamps) keep it
      Location at;
    };
    auto older = [](const Match& a, const Match& b) {
      return a.stamp != b.stamp ? a.stamp < b.stamp : a.seq < b.seq;
    };
    // In stamp order at the top of each round, and never more than wanted.
    std::vector<Match> matches;
    uint64_t next_seq = 0;
    std::vector<uint8_t> live, passed;
    for (size_t v : order) {
      if (ordered) break;  // read above
      const SegmentView& view = version->segments[v];
      if (view.rows == 0) continue;
      // The page is full and every row of this segment (and of the later
      // ones, which start later) is newer than its last row.
      if (matches.size() >= wanted && matches.back().stamp < ranges[v].min) break;
      // Its rows follow the rows so far in order: they can be appended, and
      // once the page is full the rest cannot enter it.
      const bool follows =
          ranges[v].sorted && (matches.empty() || ranges[v].min >= matches.back().stamp);
      const Segment* segment = view.segment.get();
      live.clear();
      segment->deletes().AppendLiveFlags(view.rows, version->lsn, &live);
      if (filter) filter->EvaluateBatch(segment->columns(), view.rows, &passed);
      for (size_t row = 0; row < view.rows; ++row) {
        if (!live[row] || (filter && !passed[row])) continue;
        matches.push_back({segment->stamp(row), next_seq++, {segment, row}});
        if (follows && matches.size() == wanted) break;
      }
      if (!follows) {
        std::stable_sort(matches.begin(), matches.end(), older);
        if (matches.size() > wanted) matches.resize(wanted);
      }
    }
    if (!ordered) {
      if (matches.size() > wanted) matches.resize(wanted);
      rows.reserve(matches.size());
      for (const Match& m : matches) rows.push_back(m.at);
    }
  }
  ResultSet result;
  result.fields = std::move(fields);
  const size_t begin = std::min(request.skip, rows.size());
  const size_t end =
      request.limit ? std::min(rows.size(), SaturatingAdd(begin, *request.limit)) : rows.size();
  for (size_t i = begin; i < end; ++i) {
    const Segment& segment = *rows[i].segment;
    result.rows.push_back(Project(segment, result.fields, rows[i].row));
    if (request.for_merge) {
      result.keys.push_back(KeyAt(segment.columns()[pk_index_], rows[i].row));
      result.stamps.push_back(segment.stamp(rows[i].row));
    }
  }
  for (Facet& facet : facets) {
    for (const Location& at : rows) {
      if (request.partial_facets) {
        facet.Add({at.segment->columns(), at.row, 0}, at.segment->stamp(at.row));
      } else {
        facet.Add({at.segment->columns(), at.row, 0});
      }
    }
    if (request.partial_facets) {
      result.partial_facets.push_back(std::move(facet));
    } else {
      result.facets.push_back(facet.Finish());
    }
  }
  return result;
}

}  // namespace quiver
