#pragma once

// Requests, results and statistics of a shard as protobuf messages
// (proto/shard.proto), both ways, and Status <-> grpc::Status with the
// exact code preserved, so a dispatcher answers a cluster's errors as a
// standalone server does.

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "cluster/proto/shard.pb.h"
#include "common/status.h"
#include "engine/collection.h"
#include "engine/query.h"
#include "schema/schema.h"

namespace quiver::cluster {

void ToProto(const SearchRequest& in, proto::SearchRequest* out);
void ToProto(const HybridRequest& in, proto::HybridRequest* out);
void ToProto(const GetRequest& in, proto::GetRequest* out);
void ToProto(const ResultSet& in, proto::ResultSet* out);
void ToProto(const ShardStats& in, proto::ShardStats* out);

// kInvalidArgument when a message does not decode (a vector's bytes that
// are not whole floats, a value of no kind).
Result<SearchRequest> FromProto(const proto::SearchRequest& in);
Result<HybridRequest> FromProto(const proto::HybridRequest& in);
Result<GetRequest> FromProto(const proto::GetRequest& in);
// Partial facet states come back as Facets parsed from `facets` (the
// request's) against `schema`, so the caller merges them as a local
// shard's.
Result<ResultSet> FromProto(const proto::ResultSet& in, const TableSchema& schema,
                            const std::vector<FacetRequest>& facets);
ShardStats FromProto(const proto::ShardStats& in);

grpc::Status ToGrpc(const Status& status);
// `what`: the call, named in errors of the transport itself.
Status FromGrpc(const grpc::Status& status, const std::string& what);

}  // namespace quiver::cluster
