#include "cluster/cluster_view.h"

#include <httplib.h>

namespace quiver::cluster {

nlohmann::json DescribeClusterState(
    const CatalogState& catalog, const std::map<std::string, NodeInfo>& live_nodes,
    const std::map<uint64_t, Placement>& placements,
    const std::function<std::optional<Lsn>(uint64_t table_id, uint32_t shard)>& last_lsn) {
  nlohmann::json nodes = nlohmann::json::array();
  // Each live node's replicas, as it reports them.
  std::map<std::string, nlohmann::json> reported;
  for (const auto& [id, node] : live_nodes) {
    nodes.push_back({{"id", id}, {"url", node.http}, {"grpc", node.grpc}, {"alive", true}});
    const auto at = node.http.find("://");
    httplib::Client client(node.http.substr(at == std::string::npos ? 0 : at + 3));
    client.set_connection_timeout(1);
    client.set_read_timeout(2);
    if (auto res = client.Get("/replicas"); res && res->status == 200) {
      try {
        auto replicas = nlohmann::json::parse(res->body);
        if (replicas.is_array()) reported[id] = std::move(replicas);
      } catch (const std::exception&) {
      }
    }
  }
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& db : catalog.databases) {
    for (const auto& table : db.tables) {
      nlohmann::json shards = nlohmann::json::array();
      const auto placement = placements.find(table.id);
      for (uint32_t s = 0; s < table.slots.shards(); ++s) {
        nlohmann::json replicas = nlohmann::json::array();
        if (placement != placements.end() && s < placement->second.shards.size()) {
          for (const auto& node : placement->second.shards[s]) {
            nlohmann::json replica = {{"node", node}, {"role", "replica"}, {"state", "unknown"}};
            for (const auto& r : reported[node]) {
              if (!r.is_object()) continue;
              if (r.value("database", "") == db.name && r.value("table", "") == table.schema.name &&
                  r.value("shard", 0u) == s) {
                replica.update(r);
                replica.erase("database");
                replica.erase("table");
                replica.erase("shard");
              }
            }
            replica["node"] = node;
            replicas.push_back(std::move(replica));
          }
        }
        uint32_t slots = 0;
        for (uint32_t owner : table.slots.owner) slots += owner == s ? 1 : 0;
        nlohmann::json shard = {{"shard", s}, {"slots", slots}, {"replicas", std::move(replicas)}};
        if (auto lsn = last_lsn(table.id, s)) {
          shard["lastLsn"] = *lsn;
          // How far each replica is behind the log.
          for (auto& replica : shard["replicas"]) {
            if (replica.contains("appliedLsn")) {
              const Lsn applied = replica["appliedLsn"].get<Lsn>();
              replica["lag"] = applied < *lsn ? *lsn - applied : 0;
            }
          }
        }
        for (const auto& replica : shard["replicas"]) {
          // What the leader committed last.
          if (replica.value("role", "") == "leader" && replica.contains("checkpointLsn"))
            shard["checkpointLsn"] = replica["checkpointLsn"];
        }
        shards.push_back(std::move(shard));
      }
      tables.push_back({{"db", db.name},
                        {"table", table.schema.name},
                        {"slotMapVersion", table.slots.version},
                        {"shards", std::move(shards)}});
    }
  }
  return nlohmann::json{{"nodes", std::move(nodes)}, {"tables", std::move(tables)}};
}

}  // namespace quiver::cluster
