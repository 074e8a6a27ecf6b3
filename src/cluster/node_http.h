#pragma once

#include <httplib.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cluster/shard_service.h"
#include "common/status.h"
#include "engine/shard.h"

namespace quiver::cluster {

// What a node tells of one of its replicas (a snapshot).
struct ReplicaReport {
  ShardId id;
  bool ready = false;    // caught up with its log: it serves reads
  bool shared = false;   // its shard has a leader and followers
  bool leading = false;  // it leads, and the node's lease is valid
  bool fenced = false;   // it led, but the node's lease may have passed: stepping down
  Revision manifest_revision = 0;
  ShardStats stats;
};

// The node's failover counters.
struct NodeCounters {
  uint64_t leaderships = 0, step_downs = 0, maintenance_failures = 0;
  uint64_t reloads = 0;  // replicas that diverged from their log, loaded again
};

// /replicas: one object per replica (state, role, LSNs, rows).
nlohmann::json ReplicasJson(const std::vector<ReplicaReport>& replicas);
// /metrics: Prometheus text of the counters and each replica's state.
std::string MetricsText(const NodeCounters& counters, const std::vector<ReplicaReport>& replicas);

// The node's HTTP side, called for each request.
struct NodeHttpHandlers {
  std::function<bool()> ready;
  std::function<std::vector<ReplicaReport>()> replicas;
  std::function<NodeCounters()> counters;
};

// Routes /health, /ready, /replicas and /metrics on `server` and binds it to
// `address` (host:port, port 0: any); the URL it answers on.
Result<std::string> BindNodeHttp(httplib::Server* server, const std::string& address,
                                 const NodeHttpHandlers& handlers);

}  // namespace quiver::cluster
