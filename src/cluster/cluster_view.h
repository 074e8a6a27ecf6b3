#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "catalog/catalog.h"
#include "cluster/layout.h"
#include "common/lsn.h"

namespace quiver::cluster {

// The cluster as GET /api/cluster shows it (docs/API.md): the live nodes,
// and each table's shards with their slots, their stream's last LSN
// (`last_lsn`; left out when unknown) and their replicas as the nodes
// hosting them report them (each node's /replicas, asked with short
// timeouts; "state": "unknown" for a node that does not answer).
nlohmann::json DescribeClusterState(
    const CatalogState& catalog, const std::map<std::string, NodeInfo>& live_nodes,
    const std::map<uint64_t, Placement>& placements,
    const std::function<std::optional<Lsn>(uint64_t table_id, uint32_t shard)>& last_lsn);

// A dispatcher's part of GET /metrics (Prometheus text): its counters, and
// from `state` (DescribeClusterState) the live nodes, each shard's replicas
// claiming the lead and each replica's readiness and lag behind its log.
struct DispatcherCounters {
  bool coordinator = false;
  uint64_t replicas_placed = 0;  // as the coordinator
  uint64_t failovers = 0;        // calls another replica answered after one failed
};
std::string ClusterMetricsText(const DispatcherCounters& counters, const nlohmann::json& state);

}  // namespace quiver::cluster
