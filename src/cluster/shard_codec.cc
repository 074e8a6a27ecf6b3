#include "cluster/shard_codec.h"

#include <cstring>

namespace quiver::cluster {
namespace {

template <class T>
std::string BytesOf(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

template <class T>
Result<std::vector<T>> VectorOf(const std::string& bytes, const char* what) {
  if (bytes.size() % sizeof(T) != 0) {
    return Status::InvalidArgument(std::string(what) + ": " + std::to_string(bytes.size()) +
                                   " bytes are not whole elements");
  }
  std::vector<T> out(bytes.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

void ToProto(const SparseVector& in, proto::SparseVector* out) {
  out->set_indices(BytesOf(in.indices));
  out->set_values(BytesOf(in.values));
}

Result<SparseVector> FromProto(const proto::SparseVector& in) {
  SparseVector out;
  QV_ASSIGN_OR_RETURN(out.indices, VectorOf<uint32_t>(in.indices(), "sparse indices"));
  QV_ASSIGN_OR_RETURN(out.values, VectorOf<float>(in.values(), "sparse values"));
  if (out.indices.size() != out.values.size())
    return Status::InvalidArgument("a sparse vector needs as many values as indices");
  return out;
}

void ToProto(const Value& in, proto::Value* out) {
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          out->set_null(true);
        } else if constexpr (std::is_same_v<T, bool>) {
          out->set_bool_value(v);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          out->set_int_value(v);
        } else if constexpr (std::is_same_v<T, double>) {
          out->set_double_value(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          out->set_string_value(v);
        } else if constexpr (std::is_same_v<T, std::vector<float>>) {
          out->set_float_vector(BytesOf(v));
        } else if constexpr (std::is_same_v<T, std::vector<uint8_t>>) {
          out->set_byte_vector(BytesOf(v));
        } else {
          ToProto(v, out->mutable_sparse());
        }
      },
      in);
}

Result<Value> FromProto(const proto::Value& in) {
  switch (in.kind_case()) {
    case proto::Value::kNull:
      return Value{};
    case proto::Value::kBoolValue:
      return Value{in.bool_value()};
    case proto::Value::kIntValue:
      return Value{static_cast<int64_t>(in.int_value())};
    case proto::Value::kDoubleValue:
      return Value{in.double_value()};
    case proto::Value::kStringValue:
      return Value{in.string_value()};
    case proto::Value::kFloatVector: {
      QV_ASSIGN_OR_RETURN(auto v, VectorOf<float>(in.float_vector(), "vector"));
      return Value{std::move(v)};
    }
    case proto::Value::kByteVector: {
      QV_ASSIGN_OR_RETURN(auto v, VectorOf<uint8_t>(in.byte_vector(), "binary vector"));
      return Value{std::move(v)};
    }
    case proto::Value::kSparse: {
      QV_ASSIGN_OR_RETURN(auto v, FromProto(in.sparse()));
      return Value{std::move(v)};
    }
    case proto::Value::KIND_NOT_SET:
      break;
  }
  return Status::InvalidArgument("a value of no kind");
}

void ToProto(const std::vector<Value>& in, proto::Row* out) {
  for (const Value& v : in) ToProto(v, out->add_values());
}

template <class Repeated>
Result<std::vector<Value>> ValuesOf(const Repeated& in) {
  std::vector<Value> out;
  out.reserve(in.size());
  for (const auto& v : in) {
    QV_ASSIGN_OR_RETURN(Value value, FromProto(v));
    out.push_back(std::move(value));
  }
  return out;
}

void ToProto(const PrimaryKey& in, proto::PrimaryKey* out) {
  if (const auto* i = std::get_if<int64_t>(&in)) {
    out->set_int_key(*i);
  } else {
    out->set_string_key(std::get<std::string>(in));
  }
}

Result<PrimaryKey> FromProto(const proto::PrimaryKey& in) {
  if (in.kind_case() == proto::PrimaryKey::kIntKey) return PrimaryKey{int64_t{in.int_key()}};
  if (in.kind_case() == proto::PrimaryKey::kStringKey) return PrimaryKey{in.string_key()};
  return Status::InvalidArgument("a primary key of no kind");
}

void ToProto(const std::vector<FacetRequest>& in,
             google::protobuf::RepeatedPtrField<proto::FacetRequest>* out) {
  for (const FacetRequest& f : in) {
    auto* facet = out->Add();
    for (const auto& g : f.group) facet->add_group(g);
    for (const auto& a : f.aggregate) facet->add_aggregate(a);
  }
}

std::vector<FacetRequest> FacetsOf(
    const google::protobuf::RepeatedPtrField<proto::FacetRequest>& in) {
  std::vector<FacetRequest> out;
  for (const auto& f : in)
    out.push_back(
        {{f.group().begin(), f.group().end()}, {f.aggregate().begin(), f.aggregate().end()}});
  return out;
}

template <class Repeated>
std::vector<std::string> StringsOf(const Repeated& in) {
  return {in.begin(), in.end()};
}

}  // namespace

void ToProto(const SearchRequest& in, proto::SearchRequest* out) {
  out->set_field(in.field);
  out->set_vector(BytesOf(in.vector));
  out->set_limit(in.limit);
  out->set_filter(in.filter);
  for (const auto& r : in.response) out->add_response(r);
  out->set_with_distance(in.with_distance);
  ToProto(in.facets, out->mutable_facets());
  if (in.sparse_vector) {
    ToProto(*in.sparse_vector, out->mutable_sparse_vector());
  }
  out->set_ef(in.ef);
  out->set_nprobe(in.nprobe);
}

Result<SearchRequest> FromProto(const proto::SearchRequest& in) {
  SearchRequest out;
  out.field = in.field();
  QV_ASSIGN_OR_RETURN(out.vector, VectorOf<float>(in.vector(), "query vector"));
  out.limit = in.limit();
  out.filter = in.filter();
  out.response = StringsOf(in.response());
  out.with_distance = in.with_distance();
  out.facets = FacetsOf(in.facets());
  if (in.has_sparse_vector()) {
    QV_ASSIGN_OR_RETURN(SparseVector sparse, FromProto(in.sparse_vector()));
    out.sparse_vector = std::move(sparse);
  }
  out.ef = in.ef();
  out.nprobe = in.nprobe();
  return out;
}

void ToProto(const HybridRequest& in, proto::HybridRequest* out) {
  for (const auto& q : in.queries) {
    auto* query = out->add_queries();
    query->set_field(q.field);
    query->set_vector(BytesOf(q.vector));
    if (q.sparse_vector) {
      ToProto(*q.sparse_vector, query->mutable_sparse_vector());
    }
    query->set_weight(q.weight);
  }
  out->set_weighted(in.fusion == HybridRequest::Fusion::kWeighted);
  out->set_rrf_k(in.rrf_k);
  out->set_candidates(in.candidates);
  out->set_limit(in.limit);
  out->set_filter(in.filter);
  for (const auto& r : in.response) out->add_response(r);
  out->set_with_score(in.with_score);
}

Result<HybridRequest> FromProto(const proto::HybridRequest& in) {
  HybridRequest out;
  for (const auto& q : in.queries()) {
    HybridRequest::Query query;
    query.field = q.field();
    QV_ASSIGN_OR_RETURN(query.vector, VectorOf<float>(q.vector(), "query vector"));
    if (q.has_sparse_vector()) {
      QV_ASSIGN_OR_RETURN(SparseVector sparse, FromProto(q.sparse_vector()));
      query.sparse_vector = std::move(sparse);
    }
    query.weight = q.weight();
    out.queries.push_back(std::move(query));
  }
  out.fusion = in.weighted() ? HybridRequest::Fusion::kWeighted : HybridRequest::Fusion::kRrf;
  out.rrf_k = in.rrf_k();
  out.candidates = in.candidates();
  out.limit = in.limit();
  out.filter = in.filter();
  out.response = StringsOf(in.response());
  out.with_score = in.with_score();
  return out;
}

void ToProto(const GetRequest& in, proto::GetRequest* out) {
  if (in.keys) {
    out->set_has_keys(true);
    for (const auto& k : *in.keys) ToProto(k, out->add_keys());
  }
  out->set_filter(in.filter);
  out->set_skip(in.skip);
  if (in.limit) {
    out->set_has_limit(true);
    out->set_limit(*in.limit);
  }
  for (const auto& r : in.response) out->add_response(r);
  ToProto(in.facets, out->mutable_facets());
  out->set_partial_facets(in.partial_facets);
  out->set_for_merge(in.for_merge);
}

Result<GetRequest> FromProto(const proto::GetRequest& in) {
  GetRequest out;
  if (in.has_keys()) {
    std::vector<PrimaryKey> keys;
    keys.reserve(in.keys_size());
    for (const auto& k : in.keys()) {
      QV_ASSIGN_OR_RETURN(PrimaryKey key, FromProto(k));
      keys.push_back(std::move(key));
    }
    out.keys = std::move(keys);
  }
  out.filter = in.filter();
  out.skip = in.skip();
  if (in.has_limit()) out.limit = in.limit();
  out.response = StringsOf(in.response());
  out.facets = FacetsOf(in.facets());
  out.partial_facets = in.partial_facets();
  out.for_merge = in.for_merge();
  return out;
}

void ToProto(const ResultSet& in, proto::ResultSet* out) {
  for (size_t f : in.fields) out->add_fields(static_cast<uint32_t>(f));
  for (const auto& row : in.rows) ToProto(row, out->add_rows());
  out->mutable_distances()->Add(in.distances.begin(), in.distances.end());
  out->mutable_scores()->Add(in.scores.begin(), in.scores.end());
  for (const FacetResult& facet : in.facets) {
    auto* f = out->add_facets();
    for (const auto& n : facet.names) f->add_names(n);
    for (const auto& row : facet.rows) ToProto(row, f->add_rows());
  }
  for (const auto& k : in.keys) ToProto(k, out->add_keys());
  out->mutable_stamps()->Add(in.stamps.begin(), in.stamps.end());
  for (const Facet& facet : in.partial_facets) {
    auto* partial = out->add_partial_facets();
    for (const auto& group : facet.Export().groups) {
      auto* g = partial->add_groups();
      for (const Value& v : group.key) ToProto(v, g->add_key());
      g->set_first(group.first);
      g->mutable_counts()->Add(group.counts.begin(), group.counts.end());
      for (const Value& v : group.values) ToProto(v, g->add_values());
    }
  }
}

Result<ResultSet> FromProto(const proto::ResultSet& in, const TableSchema& schema,
                            const std::vector<FacetRequest>& facets) {
  ResultSet out;
  out.fields.assign(in.fields().begin(), in.fields().end());
  for (size_t f : out.fields) {
    if (f >= schema.fields.size()) return Status::InvalidArgument("a result field out of range");
  }
  out.rows.reserve(in.rows_size());
  for (const auto& row : in.rows()) {
    QV_ASSIGN_OR_RETURN(auto values, ValuesOf(row.values()));
    out.rows.push_back(std::move(values));
  }
  out.distances.assign(in.distances().begin(), in.distances().end());
  out.scores.assign(in.scores().begin(), in.scores().end());
  for (const auto& f : in.facets()) {
    FacetResult facet;
    facet.names = StringsOf(f.names());
    for (const auto& row : f.rows()) {
      QV_ASSIGN_OR_RETURN(auto values, ValuesOf(row.values()));
      facet.rows.push_back(std::move(values));
    }
    out.facets.push_back(std::move(facet));
  }
  out.keys.reserve(in.keys_size());
  for (const auto& k : in.keys()) {
    QV_ASSIGN_OR_RETURN(PrimaryKey key, FromProto(k));
    out.keys.push_back(std::move(key));
  }
  out.stamps.assign(in.stamps().begin(), in.stamps().end());
  // Whoever merges indexes these by row: each is per row, or absent.
  const size_t rows = out.rows.size();
  for (size_t n : {out.distances.size(), out.scores.size(), out.keys.size(), out.stamps.size()}) {
    if (n != 0 && n != rows)
      return Status::InvalidArgument("a result whose columns differ in length");
  }
  for (const auto& row : out.rows) {
    if (row.size() != out.fields.size())
      return Status::InvalidArgument("a result row of another width than its fields");
  }
  if (in.partial_facets_size() > 0 &&
      static_cast<size_t>(in.partial_facets_size()) != facets.size())
    return Status::InvalidArgument("partial facet states for another request");
  for (int i = 0; i < in.partial_facets_size(); ++i) {
    QV_ASSIGN_OR_RETURN(Facet facet, Facet::Parse(facets[i], schema, FilterScope::kRows));
    Facet::Partial partial;
    for (const auto& g : in.partial_facets(i).groups()) {
      Facet::Partial::Group group;
      QV_ASSIGN_OR_RETURN(group.key, ValuesOf(g.key()));
      group.first = g.first();
      group.counts.assign(g.counts().begin(), g.counts().end());
      QV_ASSIGN_OR_RETURN(group.values, ValuesOf(g.values()));
      partial.groups.push_back(std::move(group));
    }
    QV_RETURN_IF_ERROR(facet.MergePartial(partial));
    out.partial_facets.push_back(std::move(facet));
  }
  return out;
}

void ToProto(const ShardStats& in, proto::ShardStats* out) {
  out->set_live_rows(in.live_rows);
  out->set_growing_rows(in.growing_rows);
  out->set_sealed_segments(in.sealed_segments);
  out->set_sealed_rows(in.sealed_rows);
  out->set_checkpoint_lsn(in.checkpoint_lsn);
  out->set_applied_lsn(in.applied_lsn);
  for (const FieldIndexStats& index : in.indexes) {
    auto* i = out->add_indexes();
    i->set_field(index.field);
    i->set_type(static_cast<uint32_t>(index.type));
    i->set_indexed_rows(index.indexed_rows);
    i->set_total_rows(index.total_rows);
    i->set_building(index.building);
    i->set_pending(index.pending);
    i->set_error(index.error);
  }
  out->set_wal_syncs(in.wal_syncs);
  out->set_wal_bytes(in.wal_bytes);
  out->set_index_builds(in.index_builds);
  out->set_index_build_seconds(in.index_build_seconds);
}

ShardStats FromProto(const proto::ShardStats& in) {
  ShardStats out;
  out.live_rows = in.live_rows();
  out.growing_rows = in.growing_rows();
  out.sealed_segments = in.sealed_segments();
  out.sealed_rows = in.sealed_rows();
  out.checkpoint_lsn = in.checkpoint_lsn();
  out.applied_lsn = in.applied_lsn();
  for (const auto& i : in.indexes()) {
    out.indexes.push_back({i.field(), static_cast<IndexType>(i.type()), i.indexed_rows(),
                           i.total_rows(), i.building(), i.pending(), i.error()});
  }
  out.wal_syncs = in.wal_syncs();
  out.wal_bytes = in.wal_bytes();
  out.index_builds = in.index_builds();
  out.index_build_seconds = in.index_build_seconds();
  return out;
}

grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kPayloadTooLarge:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case StatusCode::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case StatusCode::kAlreadyExists:
    case StatusCode::kConflict:
      code = grpc::StatusCode::ALREADY_EXISTS;
      break;
    case StatusCode::kUnavailable:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    case StatusCode::kUnauthenticated:
      code = grpc::StatusCode::UNAUTHENTICATED;
      break;
    case StatusCode::kPermissionDenied:
      code = grpc::StatusCode::PERMISSION_DENIED;
      break;
    case StatusCode::kResourceExhausted:
    case StatusCode::kNoSpace:
      code = grpc::StatusCode::RESOURCE_EXHAUSTED;
      break;
    default:
      break;
  }
  // Our own code rides in the details, so the other side restores it exactly.
  return grpc::Status(code, status.message(), std::to_string(static_cast<int>(status.code())));
}

Status FromGrpc(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return Status::OK();
  const std::string& details = status.error_details();
  if (!details.empty()) {
    const int code = std::atoi(details.c_str());
    if (code > 0 && code <= static_cast<int>(StatusCode::kConflict)) {
      return Status(static_cast<StatusCode>(code), status.error_message());
    }
  }
  const std::string message = what + ": " + status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:
      return Status::Unavailable(message);
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(message);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(message);
    default:
      return Status::Internal(message);
  }
}

}  // namespace quiver::cluster
