#include "cluster/cluster_view.h"

#include <fmt/format.h>
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

std::string ClusterMetricsText(const DispatcherCounters& counters, const nlohmann::json& state) {
  std::string out;
  auto one = [&](const char* name, const char* type, const char* help, uint64_t value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
  };
  one("quiver_cluster_coordinator", "gauge", "1 while this dispatcher holds the coordinator role.",
      counters.coordinator ? 1 : 0);
  one("quiver_cluster_replicas_placed_total", "counter",
      "Replicas this dispatcher placed on a new node as the coordinator (after nodes died).",
      counters.replicas_placed);
  one("quiver_cluster_failovers_total", "counter",
      "Reads and write outcomes another replica answered after one failed.", counters.failovers);
  one("quiver_cluster_live_nodes", "gauge", "Nodes whose lease is alive.",
      state.value("nodes", nlohmann::json::array()).size());
  std::string leaders =
      "# HELP quiver_cluster_shard_leaders Replicas of a shard that report leading it (1 when "
      "led; 0 during a failover).\n# TYPE quiver_cluster_shard_leaders gauge\n";
  std::string ready =
      "# HELP quiver_cluster_replica_ready 1 once a replica caught up and serves reads.\n"
      "# TYPE quiver_cluster_replica_ready gauge\n";
  std::string lag =
      "# HELP quiver_cluster_replica_lag Log records a replica has not applied yet.\n"
      "# TYPE quiver_cluster_replica_lag gauge\n";
  for (const auto& table : state.value("tables", nlohmann::json::array())) {
    for (const auto& shard : table.value("shards", nlohmann::json::array())) {
      const std::string labels =
          fmt::format("database=\"{}\",table=\"{}\",shard=\"{}\"", table.value("db", ""),
                      table.value("table", ""), shard.value("shard", 0u));
      int leading = 0;
      for (const auto& replica : shard.value("replicas", nlohmann::json::array())) {
        leading += replica.value("role", "") == "leader" ? 1 : 0;
        const std::string node = fmt::format("{},node=\"{}\"", labels, replica.value("node", ""));
        ready += fmt::format("quiver_cluster_replica_ready{{{}}} {}\n", node,
                             replica.value("state", "") == "ready" ? 1 : 0);
        if (replica.contains("lag"))
          lag += fmt::format("quiver_cluster_replica_lag{{{}}} {}\n", node,
                             replica["lag"].get<uint64_t>());
      }
      leaders += fmt::format("quiver_cluster_shard_leaders{{{}}} {}\n", labels, leading);
    }
  }
  return out + leaders + ready + lag;
}

}  // namespace quiver::cluster
