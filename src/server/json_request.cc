#include "server/json_request.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

#include "common/names.h"
#include "common/text.h"

namespace quiver {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

Status Invalid(std::string message) {
  return InvalidRequest(std::move(message));
}

// Appends one JSON value to a column of the field's type.
Status AppendValue(const Field& field, element value, Column* column, const std::string& where) {
  if (value.type() == element_type::NULL_VALUE) {
    column->AppendNull();
    return Status::OK();
  }
  switch (field.type) {
    case DataType::kBool: {
      bool b;
      if (value.get_bool().get(b) != simdjson::SUCCESS) {
        return Invalid(where + " must be a boolean, not " + JsonTypeName(value.type()));
      }
      column->AppendInt(b ? 1 : 0);
      return Status::OK();
    }
    case DataType::kTinyInt:
    case DataType::kSmallInt:
    case DataType::kInt:
    case DataType::kBigInt: {
      QV_ASSIGN_OR_RETURN(int64_t v, JsonInteger(value, where));
      column->AppendInt(v);
      return Status::OK();
    }
    case DataType::kFloat:
    case DataType::kDouble: {
      double d;
      if (value.get_double().get(d) != simdjson::SUCCESS) {
        return Invalid(where + " must be a number, not " + JsonTypeName(value.type()));
      }
      column->AppendDouble(d);
      return Status::OK();
    }
    case DataType::kString: {
      std::string_view s;
      if (value.get_string().get(s) != simdjson::SUCCESS) {
        return Invalid(where + " must be a string, not " + JsonTypeName(value.type()));
      }
      column->AppendString(s);
      return Status::OK();
    }
    case DataType::kJson:
      column->AppendString(simdjson::minify(value));
      return Status::OK();
    case DataType::kVectorFloat:
    case DataType::kVectorDouble: {
      QV_ASSIGN_OR_RETURN(auto vec, DecodeVector(value, where));
      if (vec.size() != field.dimensions) {
        return Invalid(where + " has " + std::to_string(vec.size()) + " dimensions, expected " +
                       std::to_string(field.dimensions));
      }
      column->AppendVector(vec);
      return Status::OK();
    }
    case DataType::kSparseVectorFloat: {
      QV_ASSIGN_OR_RETURN(SparseVector sparse, DecodeSparse(value, where));
      column->AppendSparse(sparse.indices, sparse.values);
      return Status::OK();
    }
    case DataType::kVectorBinary: {
      QV_ASSIGN_OR_RETURN(auto vec, DecodeVector(value, where));
      if (vec.size() != field.dimensions) {
        return Invalid(where + " has " + std::to_string(vec.size()) + " bits, expected " +
                       std::to_string(field.dimensions));
      }
      auto words = PackBits(vec);
      if (!words.ok()) return words.status().WithContext(where);
      column->AppendBits(*words);
      return Status::OK();
    }
  }
  return Status::Internal("unhandled data type");
}

Result<PrimaryKey> DecodeKey(element value, size_t i) {
  const std::string what = "primaryKeys[" + std::to_string(i) + "]";
  std::string_view s;
  if (value.get_string().get(s) == simdjson::SUCCESS) return PrimaryKey(std::string(s));
  QV_ASSIGN_OR_RETURN(int64_t v, JsonInteger(value, what));
  return PrimaryKey(v);
}

Result<size_t> DecodeLimit(const JsonBody& body, std::string_view key) {
  QV_ASSIGN_OR_RETURN(auto limit, body.OptionalInt(key));
  if (!limit) return Invalid(std::string(key) + " is missing");
  if (*limit <= 0 || static_cast<uint64_t>(*limit) > kMaxResultRows) {
    return Invalid(std::string(key) + " must be between 1 and " + std::to_string(kMaxResultRows) +
                   ", got " + std::to_string(*limit));
  }
  return static_cast<size_t>(*limit);
}

// "facets": [{"group": ["expr", ...], "aggregate": ["COUNT(*)", ...]}, ...]
Result<std::vector<FacetRequest>> DecodeFacets(const JsonBody& body) {
  std::vector<FacetRequest> facets;
  auto value = body.Get("facets");
  if (!value) return facets;
  simdjson::dom::array array;
  if (value->get_array().get(array) != simdjson::SUCCESS) return Invalid("facets must be an array");
  size_t i = 0;
  for (element item : array) {
    const std::string where = "facets[" + std::to_string(i++) + "]";
    simdjson::dom::object obj;
    if (item.get_object().get(obj) != simdjson::SUCCESS)
      return Invalid(where + " must be an object");
    FacetRequest facet;
    for (auto [key, list] : obj) {
      std::vector<std::string>* target = key == "group"       ? &facet.group
                                         : key == "aggregate" ? &facet.aggregate
                                                              : nullptr;
      if (target == nullptr) {
        static constexpr std::string_view kKeys[] = {"group", "aggregate"};
        return CheckKeys(obj, kKeys, where);
      }
      simdjson::dom::array entries;
      if (list.get_array().get(entries) != simdjson::SUCCESS) {
        return Invalid(where + "." + std::string(key) + " must be an array of strings");
      }
      for (element entry : entries) {
        std::string_view text;
        if (entry.get_string().get(text) != simdjson::SUCCESS) {
          return Invalid(where + "." + std::string(key) + " must be an array of strings");
        }
        target->emplace_back(text);
      }
    }
    facets.push_back(std::move(facet));
  }
  return facets;
}

}  // namespace

namespace {

// "index": "HNSW" or {"type": "HNSW", "M": 16, "efConstruction": 200, "ef": 64,
// "nlist": 0, "nprobe": 16}; absent members keep their defaults.
Status DecodeIndexSpec(element v, const std::string& where, IndexSpec* index) {
  std::string_view s;
  auto set_type = [&](std::string_view name) {
    auto type = ParseIndexType(name);
    if (!type) {
      return Invalid(where + ": unknown index type " + Quoted(name) +
                     " (FLAT, HNSW, HNSW_SQ8 or IVF_FLAT)");
    }
    index->type = *type;
    return Status::OK();
  };
  if (v.get_string().get(s) == simdjson::SUCCESS) return set_type(s);
  simdjson::dom::object obj;
  if (v.get_object().get(obj) != simdjson::SUCCESS)
    return Invalid(where + " must be an index type or an object");
  for (auto [key, value] : obj) {
    const std::string member = where + "." + std::string(key);
    if (key == "type") {
      if (value.get_string().get(s) != simdjson::SUCCESS)
        return Invalid(member + " must be a string");
      QV_RETURN_IF_ERROR(set_type(s));
      continue;
    }
    uint32_t* target = key == "M"                ? &index->m
                       : key == "efConstruction" ? &index->ef_construction
                       : key == "ef"             ? &index->ef
                       : key == "nlist"          ? &index->nlist
                       : key == "nprobe"         ? &index->nprobe
                                                 : nullptr;
    if (target == nullptr) {
      return Invalid(where + ": unknown member " + Quoted(key) +
                     " (type, M, efConstruction, ef, nlist, nprobe)");
    }
    QV_ASSIGN_OR_RETURN(int64_t n, JsonInteger(value, member));
    if (n < 0 || n > UINT32_MAX) return Invalid(member + " is out of range");
    *target = static_cast<uint32_t>(n);
  }
  return Status::OK();
}

}  // namespace

Result<TableSchema> DecodeTableSchema(const JsonBody& body) {
  // Epsilla's "indices" (server-side embedding models), "autoEmbedding" and
  // "returnTableId" are accepted and ignored (docs/API.md).
  static constexpr std::string_view kKeys[] = {
      "name", "fields", "shards", "replicas", "indices", "autoEmbedding", "returnTableId"};
  static constexpr std::string_view kFieldKeys[] = {"name",       "dataType",   "primaryKey",
                                                    "dimensions", "metricType", "index"};
  QV_RETURN_IF_ERROR(body.CheckKeys(kKeys));
  TableSchema schema;
  QV_ASSIGN_OR_RETURN(schema.name, body.RequiredString("name"));
  auto fields = body.Get("fields");
  simdjson::dom::array array;
  if (!fields || fields->get_array().get(array) != simdjson::SUCCESS) {
    return Invalid("fields must be an array of field definitions");
  }
  size_t i = 0;
  for (element item : array) {
    const std::string where = "fields[" + std::to_string(i++) + "]";
    simdjson::dom::object obj;
    if (item.get_object().get(obj) != simdjson::SUCCESS)
      return Invalid(where + " must be an object");
    QV_RETURN_IF_ERROR(CheckKeys(obj, kFieldKeys, where));
    Field field;
    std::string_view s;
    if (obj["name"].get_string().get(s) != simdjson::SUCCESS)
      return Invalid(where + ".name is missing");
    field.name = std::string(s);
    if (obj["dataType"].get_string().get(s) != simdjson::SUCCESS) {
      return Invalid(where + ".dataType is missing");
    }
    auto type = ParseDataType(s);
    if (!type) return Invalid(where + ": unknown dataType " + Quoted(s));
    field.type = *type;
    element v;
    if (obj["primaryKey"].get(v) == simdjson::SUCCESS && v.type() != element_type::NULL_VALUE) {
      if (v.get_bool().get(field.primary_key) != simdjson::SUCCESS) {
        return Invalid(where + ".primaryKey must be a boolean");
      }
    }
    if (obj["dimensions"].get(v) == simdjson::SUCCESS && v.type() != element_type::NULL_VALUE) {
      QV_ASSIGN_OR_RETURN(int64_t dims, JsonInteger(v, where + ".dimensions"));
      const bool sparse = field.type == DataType::kSparseVectorFloat;
      const int64_t max = sparse ? kMaxSparseDimensions : kMaxDimensions;
      if (dims < (sparse ? 0 : 1) || dims > max) {
        return Invalid(where + ".dimensions must be between " + (sparse ? "0" : "1") + " and " +
                       std::to_string(max));
      }
      field.dimensions = static_cast<uint32_t>(dims);
    }
    if (obj["metricType"].get(v) == simdjson::SUCCESS && v.type() != element_type::NULL_VALUE) {
      if (v.get_string().get(s) != simdjson::SUCCESS)
        return Invalid(where + ".metricType must be a string");
      auto metric = ParseMetric(s);
      if (!metric) return Invalid(where + ": unknown metricType " + Quoted(s));
      field.metric = *metric;
    }
    if (obj["index"].get(v) == simdjson::SUCCESS && v.type() != element_type::NULL_VALUE) {
      if (!IsVectorType(field.type)) return Invalid(where + ": only vector fields have an index");
      QV_RETURN_IF_ERROR(DecodeIndexSpec(v, where + ".index", &field.index));
      if (field.type == DataType::kSparseVectorFloat && field.index.type != IndexType::kFlat)
        return Invalid(where + ".index: sparse vectors support FLAT only");
    }
    schema.fields.push_back(std::move(field));
  }
  QV_RETURN_IF_ERROR(ValidateAndNormalize(&schema));
  return schema;
}

Result<RecordBatch> DecodeRecords(const TableSchema& schema, element data) {
  simdjson::dom::array array;
  if (data.get_array().get(array) != simdjson::SUCCESS)
    return Invalid("data must be an array of records");
  if (array.size() > kMaxBatchRows) {
    return Status::PayloadTooLarge("an insert takes at most " + std::to_string(kMaxBatchRows) +
                                   " records, not " + std::to_string(array.size()) +
                                   ": split the batch");
  }
  RecordBatch batch = RecordBatch::ForSchema(schema);
  for (auto& column : batch.columns) column.Reserve(array.size());
  std::vector<uint8_t> seen(schema.fields.size());
  size_t r = 0;
  for (element item : array) {
    const std::string record = "record " + std::to_string(r);
    simdjson::dom::object obj;
    if (item.get_object().get(obj) != simdjson::SUCCESS)
      return Invalid(record + " must be an object");
    std::fill(seen.begin(), seen.end(), 0);
    for (auto [key, value] : obj) {
      auto index = schema.FieldIndex(key);
      if (!index) return Invalid(record + ": unknown field " + Quoted(key));
      if (seen[*index]) return Invalid(record + ": field " + Quoted(key) + " appears twice");
      seen[*index] = 1;
      QV_RETURN_IF_ERROR(AppendValue(schema.fields[*index], value, &batch.columns[*index],
                                     record + ", field " + Quoted(key)));
    }
    for (size_t f = 0; f < seen.size(); ++f) {
      if (!seen[f]) batch.columns[f].AppendNull();
    }
    ++r;
  }
  return batch;
}

Result<std::vector<PrimaryKey>> DecodeKeys(element keys) {
  simdjson::dom::array array;
  if (keys.get_array().get(array) != simdjson::SUCCESS)
    return Invalid("primaryKeys must be an array");
  std::vector<PrimaryKey> out;
  size_t i = 0;
  for (element item : array) {
    QV_ASSIGN_OR_RETURN(PrimaryKey key, DecodeKey(item, i++));
    out.push_back(std::move(key));
  }
  if (out.empty()) return Invalid("primaryKeys must not be empty when given");
  return out;
}

// "consistency": "STRONG" (default) | "SESSION" | "BOUNDED" | "EVENTUAL", and for
// SESSION "session": the "lsn" object of the client's last write reply.
Result<ReadOptions> DecodeReadOptions(const JsonBody& body) {
  ReadOptions read;
  QV_ASSIGN_OR_RETURN(auto level, body.OptionalString("consistency"));
  const std::string name = level.value_or("STRONG");
  if (name == "STRONG") {
    read.level = ReadOptions::Level::kStrong;
  } else if (name == "SESSION") {
    read.level = ReadOptions::Level::kSession;
  } else if (name == "EVENTUAL") {
    read.level = ReadOptions::Level::kEventual;
  } else if (name == "BOUNDED") {
    read.level = ReadOptions::Level::kBounded;
  } else {
    return Invalid("consistency must be STRONG, SESSION, BOUNDED or EVENTUAL, not \"" + name +
                   "\"");
  }
  auto session = body.Get("session");
  if (session && read.level != ReadOptions::Level::kSession) {
    return Invalid("session is for \"consistency\": \"SESSION\"");
  }
  if (read.level == ReadOptions::Level::kSession) {
    simdjson::dom::object obj;
    if (!session || session->get_object().get(obj) != simdjson::SUCCESS) {
      return Invalid("consistency SESSION needs session: the \"lsn\" object of a write's reply");
    }
    for (auto [key, value] : obj) {
      uint32_t shard = 0;
      auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), shard);
      if (ec != std::errc() || end != key.data() + key.size() || shard >= 256) {
        return Invalid("session keys are shard numbers, not \"" + std::string(key) + "\"");
      }
      QV_ASSIGN_OR_RETURN(int64_t lsn, JsonInteger(value, "session[\"" + std::string(key) + "\"]"));
      if (lsn < 0) return Invalid("session LSNs must not be negative");
      read.session[shard] = static_cast<uint64_t>(lsn);
    }
  }
  return read;
}

Result<SearchRequest> DecodeSearchRequest(const JsonBody& body) {
  static constexpr std::string_view kKeys[] = {
      "table",    "queryField",   "queryIndex", "queryVector", "query",  "limit",       "filter",
      "response", "withDistance", "facets",     "ef",          "nprobe", "consistency", "session"};
  QV_RETURN_IF_ERROR(body.CheckKeys(kKeys));
  if (body.Has("query")) {
    return Invalid(
        "query (text to embed) needs server-side embedding, which Quiver does not offer: "
        "send the vector as queryVector");
  }
  SearchRequest request;
  QV_ASSIGN_OR_RETURN(auto field, body.OptionalString("queryField"));
  QV_ASSIGN_OR_RETURN(auto index_name, body.OptionalString("queryIndex"));
  if (field && index_name) return Invalid("give queryField or queryIndex, not both");
  if (!field) field = std::move(index_name);
  request.field = field.value_or("");
  auto vector = body.Get("queryVector");
  if (!vector) return Invalid("queryVector is missing");
  if (vector->type() == simdjson::dom::element_type::OBJECT) {
    QV_ASSIGN_OR_RETURN(request.sparse_vector, DecodeSparse(*vector, "queryVector"));
  } else {
    QV_ASSIGN_OR_RETURN(request.vector, DecodeVector(*vector, "queryVector"));
  }
  QV_ASSIGN_OR_RETURN(request.limit, DecodeLimit(body, "limit"));
  QV_ASSIGN_OR_RETURN(auto filter, body.OptionalString("filter"));
  request.filter = filter.value_or("");
  QV_ASSIGN_OR_RETURN(auto response, body.OptionalStringList("response"));
  request.response = response.value_or(std::vector<std::string>{});
  QV_ASSIGN_OR_RETURN(auto with_distance, body.OptionalBool("withDistance"));
  request.with_distance = with_distance.value_or(false);
  QV_ASSIGN_OR_RETURN(request.facets, DecodeFacets(body));
  for (auto [key, target] : {std::pair{"ef", &request.ef}, std::pair{"nprobe", &request.nprobe}}) {
    QV_ASSIGN_OR_RETURN(auto value, body.OptionalInt(key));
    if (!value) continue;
    if (*value < 1 || *value > kMaxIndexEf) {
      return Invalid(std::string(key) + " must be between 1 and " + std::to_string(kMaxIndexEf));
    }
    *target = static_cast<uint32_t>(*value);
  }
  QV_ASSIGN_OR_RETURN(request.read, DecodeReadOptions(body));
  return request;
}

Result<HybridRequest> DecodeHybridRequest(const JsonBody& body) {
  static constexpr std::string_view kKeys[] = {
      "table",    "queries",   "fusion",       "candidates",  "limit",       "filter",
      "response", "withScore", "withDistance", "queryVector", "consistency", "session"};
  QV_RETURN_IF_ERROR(body.CheckKeys(kKeys));
  HybridRequest request;
  if (body.Has("queryVector")) return Invalid("give queryVector or queries, not both");
  simdjson::dom::array queries;
  auto list = body.Get("queries");
  if (!list || list->get_array().get(queries) != simdjson::SUCCESS) {
    return Invalid("queries must be an array of {field, vector, weight}");
  }
  size_t i = 0;
  for (element item : queries) {
    const std::string where = "queries[" + std::to_string(i++) + "]";
    simdjson::dom::object obj;
    if (item.get_object().get(obj) != simdjson::SUCCESS)
      return Invalid(where + " must be an object");
    HybridRequest::Query query;
    for (auto [key, value] : obj) {
      if (key == "field") {
        std::string_view field;
        if (value.get_string().get(field) != simdjson::SUCCESS)
          return Invalid(where + ".field must be a string");
        query.field = std::string(field);
      } else if (key == "vector") {
        if (value.type() == simdjson::dom::element_type::OBJECT) {
          QV_ASSIGN_OR_RETURN(query.sparse_vector, DecodeSparse(value, where + ".vector"));
        } else {
          QV_ASSIGN_OR_RETURN(query.vector, DecodeVector(value, where + ".vector"));
        }
      } else if (key == "weight") {
        if (value.get_double().get(query.weight) != simdjson::SUCCESS) {
          return Invalid(where + ".weight must be a number");
        }
      } else {
        static constexpr std::string_view kKeys[] = {"field", "vector", "weight"};
        return CheckKeys(obj, kKeys, where);
      }
    }
    if (query.field.empty()) return Invalid(where + ".field is missing");
    if (query.vector.empty() && !query.sparse_vector) return Invalid(where + ".vector is missing");
    request.queries.push_back(std::move(query));
  }
  if (auto fusion = body.Get("fusion")) {
    simdjson::dom::object obj;
    if (fusion->get_object().get(obj) != simdjson::SUCCESS) {
      return Invalid("fusion must be {\"method\": \"rrf\" or \"weighted\", \"k\": 60}");
    }
    for (auto [key, value] : obj) {
      if (key == "method") {
        std::string_view method;
        if (value.get_string().get(method) != simdjson::SUCCESS ||
            (method != "rrf" && method != "weighted")) {
          return Invalid("fusion.method must be \"rrf\" or \"weighted\"");
        }
        request.fusion =
            method == "rrf" ? HybridRequest::Fusion::kRrf : HybridRequest::Fusion::kWeighted;
      } else if (key == "k") {
        if (value.get_double().get(request.rrf_k) != simdjson::SUCCESS)
          return Invalid("fusion.k must be a number");
      } else {
        static constexpr std::string_view kKeys[] = {"method", "k"};
        return CheckKeys(obj, kKeys, "fusion");
      }
    }
  }
  QV_ASSIGN_OR_RETURN(request.limit, DecodeLimit(body, "limit"));
  if (body.Has("candidates")) {
    QV_ASSIGN_OR_RETURN(request.candidates, DecodeLimit(body, "candidates"));
  }
  QV_ASSIGN_OR_RETURN(auto filter, body.OptionalString("filter"));
  request.filter = filter.value_or("");
  QV_ASSIGN_OR_RETURN(auto response, body.OptionalStringList("response"));
  request.response = response.value_or(std::vector<std::string>{});
  QV_ASSIGN_OR_RETURN(auto with_score, body.OptionalBool("withScore"));
  QV_ASSIGN_OR_RETURN(auto with_distance, body.OptionalBool("withDistance"));
  request.with_score = with_score.value_or(false) || with_distance.value_or(false);
  QV_ASSIGN_OR_RETURN(request.read, DecodeReadOptions(body));
  return request;
}

Result<GetRequest> DecodeGetRequest(const JsonBody& body) {
  static constexpr std::string_view kKeys[] = {"table",  "primaryKeys", "filter",
                                               "skip",   "limit",       "response",
                                               "facets", "consistency", "session"};
  QV_RETURN_IF_ERROR(body.CheckKeys(kKeys));
  GetRequest request;
  if (auto keys = body.Get("primaryKeys")) {
    QV_ASSIGN_OR_RETURN(auto decoded, DecodeKeys(*keys));
    request.keys = std::move(decoded);
  }
  QV_ASSIGN_OR_RETURN(auto filter, body.OptionalString("filter"));
  request.filter = filter.value_or("");
  QV_ASSIGN_OR_RETURN(auto skip, body.OptionalInt("skip"));
  if (skip && *skip < 0) return Invalid("skip must not be negative");
  request.skip = static_cast<size_t>(skip.value_or(0));
  // On get a limit is only an upper bound (as in Epsilla): any positive one.
  QV_ASSIGN_OR_RETURN(auto limit, body.OptionalInt("limit"));
  if (limit) {
    if (*limit <= 0) return Invalid("limit must be positive, got " + std::to_string(*limit));
    request.limit = static_cast<size_t>(*limit);
  }
  QV_ASSIGN_OR_RETURN(auto response, body.OptionalStringList("response"));
  request.response = response.value_or(std::vector<std::string>{});
  QV_ASSIGN_OR_RETURN(request.facets, DecodeFacets(body));
  QV_ASSIGN_OR_RETURN(request.read, DecodeReadOptions(body));
  return request;
}

}  // namespace quiver
