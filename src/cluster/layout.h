#pragma once

// Where a cluster keeps things (docs/CLUSTER.md, "State"): its etcd keys,
// all under one MetaStore prefix per cluster, and its stream names.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/meta_store.h"
#include "common/status.h"

namespace quiver::cluster {

// The MetaStore prefix of the cluster named `cluster`.
inline std::string EtcdPrefix(const std::string& cluster) {
  return "quiver/" + cluster + "/";
}

// Keys under that prefix.
inline constexpr char kCatalogKey[] = "catalog";          // the catalog (catalog/catalog.h)
inline constexpr char kNodesPrefix[] = "nodes/";          // nodes/<id>: a live node (leased)
inline constexpr char kPlacementPrefix[] = "placement/";  // placement/<table id>
inline constexpr char kCoordinatorKey[] = "coordinator";  // the elected coordinator (leased)
// leaders/<table id>/<shard>: the node leading the shard (leased to it); the
// key's create revision is the leader's epoch.
inline constexpr char kLeaderPrefix[] = "leaders/";
// manifests/<table id>/<shard>: the shard's manifest, committed by its leader.
inline constexpr char kManifestPrefix[] = "manifests/";

inline std::string NodeKey(const std::string& node) {
  return kNodesPrefix + node;
}
inline std::string PlacementKey(uint64_t table_id) {
  return kPlacementPrefix + std::to_string(table_id);
}

inline std::string LeaderKey(uint64_t table_id, uint32_t shard) {
  return kLeaderPrefix + std::to_string(table_id) + "/" + std::to_string(shard);
}
inline std::string ManifestKey(uint64_t table_id, uint32_t shard) {
  return kManifestPrefix + std::to_string(table_id) + "/" + std::to_string(shard);
}
// Where one shard's sealed segments and indexes live in the object store,
// written by its leader and read by every replica.
inline std::string ShardObjectPrefix(uint64_t table_id, uint32_t shard) {
  return "t" + std::to_string(table_id) + "/s" + std::to_string(shard);
}

// The stream of one shard of a table: named by ids, which are never reused.
inline std::string StreamName(const std::string& cluster, uint64_t table_id, uint32_t shard) {
  return cluster + "_t" + std::to_string(table_id) + "_s" + std::to_string(shard);
}

// A node as it announces itself.
struct NodeInfo {
  std::string id;
  std::string grpc;  // host:port of its shard service
  std::string http;  // http://host:port of /health and /ready
};
std::string EncodeNode(const NodeInfo& node);
Result<NodeInfo> DecodeNode(const std::string& id, const std::string& json);

// Where a table's shard replicas live: for each shard, the nodes hosting a
// replica, in preference order.
struct Placement {
  uint32_t replicas = 1;
  std::vector<std::vector<std::string>> shards;
  bool operator==(const Placement&) const = default;
};
std::string EncodePlacement(const Placement& placement);
Result<Placement> DecodePlacement(const std::string& json);

// Rendezvous (highest random weight) placement: each shard's `replicas`
// nodes are the ones whose hash with (table, shard) is highest, so replicas
// of a shard are on distinct nodes, shards spread evenly, and when a node
// comes or goes only the replicas it held or takes move.
Placement Place(uint64_t table_id, uint32_t shards, uint32_t replicas,
                const std::vector<std::string>& nodes);

// `now` after some nodes died: each shard keeps its replicas on `live`
// nodes, and only its vacancies are filled, from the shard's ranking of the
// live nodes (min(replicas, live) per shard).
Placement FillVacancies(uint64_t table_id, uint32_t shards, const Placement& now,
                        const std::vector<std::string>& live);

// The table id a placement key names (placement/<id>); nullopt for another key.
std::optional<uint64_t> PlacementTableId(std::string_view key);

// The replicas placed on node `node` by the placements under
// kPlacementPrefix (`placement_keys`, by key) of the tables in `catalog`:
// (table id, shard) -> its database and table, and the node's rank among
// the shard's replicas (its place in the placement's list).
struct PlacedReplica {
  const DatabaseEntry* db = nullptr;  // into `catalog`
  const TableEntry* table = nullptr;
  size_t rank = 0;
};
std::map<std::pair<uint64_t, uint32_t>, PlacedReplica> PlacedOn(
    const std::string& node, const CatalogState& catalog,
    const std::map<std::string, KeyValue>& placement_keys);

}  // namespace quiver::cluster
