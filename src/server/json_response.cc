#include "server/json_response.h"

#include <charconv>

namespace quiver {
namespace {

// The double whose shortest decimal form is the float's shortest form, so
// 0.1f prints as 0.1 rather than 0.10000000149011612.
double FloatForJson(float f) {
  char buf[32];
  auto end = std::to_chars(buf, buf + sizeof buf, f).ptr;
  double d = 0;
  std::from_chars(buf, end, d);
  return d;
}

Json EncodeSparse(const SparseVector& v) {
  Json values = Json::array();
  for (float x : v.values) values.push_back(FloatForJson(x));
  return {{"indices", v.indices}, {"values", std::move(values)}};
}

Json EncodeValue(const Field& field, const Value& value) {
  return std::visit(
      [&](const auto& v) -> Json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<T, double>) {
          return field.type == DataType::kFloat ? FloatForJson(static_cast<float>(v)) : v;
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (field.type == DataType::kJson)
            return Json::parse(v, nullptr, /*allow_exceptions=*/false);
          return v;
        } else if constexpr (std::is_same_v<T, std::vector<float>>) {
          Json array = Json::array();
          for (float x : v) array.push_back(FloatForJson(x));
          return array;
        } else if constexpr (std::is_same_v<T, SparseVector>) {
          return EncodeSparse(v);
        } else {
          return v;
        }
      },
      value);
}

Json EncodeScalar(const Value& value) {
  return std::visit(
      [](const auto& v) -> Json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<T, std::vector<float>>) {
          return Json(v);
        } else if constexpr (std::is_same_v<T, SparseVector>) {
          return EncodeSparse(v);
        } else {
          return v;
        }
      },
      value);
}

Json EncodeFacets(const std::vector<FacetResult>& facets) {
  Json out = Json::array();
  for (const FacetResult& facet : facets) {
    Json rows = Json::array();
    for (const auto& row : facet.rows) {
      Json object = Json::object();
      for (size_t i = 0; i < row.size(); ++i) object[facet.names[i]] = EncodeScalar(row[i]);
      rows.push_back(std::move(object));
    }
    out.push_back(std::move(rows));
  }
  return out;
}

}  // namespace

Json EncodeQueryResult(const TableSchema& schema, const ResultSet& result, bool response_given) {
  if (result.facets.empty()) return EncodeResultSet(schema, result);
  if (!response_given) return EncodeFacets(result.facets);
  return {{"records", EncodeResultSet(schema, result)}, {"facets", EncodeFacets(result.facets)}};
}

Json EncodeResultSet(const TableSchema& schema, const ResultSet& result) {
  Json records = Json::array();
  for (size_t r = 0; r < result.rows.size(); ++r) {
    Json record = Json::object();
    for (size_t i = 0; i < result.fields.size(); ++i) {
      const Field& field = schema.fields[result.fields[i]];
      record[field.name] = EncodeValue(field, result.rows[r][i]);
    }
    if (r < result.distances.size()) record["@distance"] = FloatForJson(result.distances[r]);
    if (r < result.scores.size()) record["@score"] = result.scores[r];
    records.push_back(std::move(record));
  }
  return records;
}

Json EncodeTableInfo(const TableInfo& info) {
  Json fields = Json::array();
  for (const Field& f : info.schema.fields) {
    Json field = {{"name", f.name}, {"dataType", DataTypeName(f.type)}};
    if (f.primary_key) field["primaryKey"] = true;
    if (IsVectorType(f.type)) {
      field["dimensions"] = f.dimensions;
      field["metricType"] = MetricName(f.metric);
      const IndexSpec& index = f.index;
      Json spec = {{"type", IndexTypeName(index.type)}};
      if (index.type == IndexType::kHnsw || index.type == IndexType::kHnswSq8) {
        spec["M"] = index.m;
        spec["efConstruction"] = index.ef_construction;
        spec["ef"] = index.ef;
      } else if (index.type == IndexType::kIvfFlat) {
        spec["nlist"] = index.nlist;
        spec["nprobe"] = index.nprobe;
      }
      field["index"] = std::move(spec);
    }
    fields.push_back(std::move(field));
  }
  Json out = {{"name", info.schema.name},
              {"fields", std::move(fields)},
              {"rowCount", info.stats.live_rows}};
  AddStorageFields(info.stats, info.health, &out);
  return out;
}

void AddStorageFields(const TableStats& stats, const Status& health, Json* out) {
  (*out)["sealedSegments"] = stats.sealed_segments;
  (*out)["sealedRecords"] = stats.sealed_rows;
  (*out)["unsealedRecords"] = stats.growing_rows;
  (*out)["checkpointLsn"] = stats.checkpoint_lsn;
  (*out)["lastLsn"] = stats.applied_lsn;
  (*out)["writable"] = health.ok();
  if (!health.ok()) (*out)["error"] = health.message();
  Json indexes = Json::array();
  for (const FieldIndexStats& f : stats.indexes) {
    Json index = {{"field", f.field},
                  {"type", IndexTypeName(f.type)},
                  {"indexedRecords", f.indexed_rows},
                  {"totalRecords", f.total_rows},
                  {"buildsRunning", f.building},
                  {"segmentsPending", f.pending}};
    if (!f.error.empty()) index["error"] = f.error;
    indexes.push_back(std::move(index));
  }
  (*out)["indexes"] = std::move(indexes);
  // Each shard's rows and LSNs (the table's numbers above are their sums).
  Json shards = Json::array();
  for (size_t i = 0; i < stats.shards.size(); ++i) {
    const ShardStats& shard = stats.shards[i];
    shards.push_back({{"shard", i},
                      {"records", shard.live_rows},
                      {"sealedRecords", shard.sealed_rows},
                      {"unsealedRecords", shard.growing_rows},
                      {"sealedSegments", shard.sealed_segments},
                      {"checkpointLsn", shard.checkpoint_lsn},
                      {"lastLsn", shard.applied_lsn}});
  }
  (*out)["shards"] = std::move(shards);
}

Json EncodeShardLsns(const std::vector<std::pair<uint32_t, Lsn>>& lsns) {
  Json out = Json::object();
  for (const auto& [shard, lsn] : lsns) out[std::to_string(shard)] = lsn;
  return out;
}

}  // namespace quiver
