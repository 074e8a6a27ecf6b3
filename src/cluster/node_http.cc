#include "cluster/node_http.h"

#include <fmt/format.h>

#include <charconv>
#include <string_view>

namespace quiver::cluster {

nlohmann::json ReplicasJson(const std::vector<ReplicaReport>& replicas) {
  nlohmann::json out = nlohmann::json::array();
  for (const ReplicaReport& r : replicas) {
    out.push_back({{"database", r.id.database},
                   {"table", r.id.table},
                   {"shard", r.id.shard},
                   {"state", r.ready ? "ready" : "catching-up"},
                   // a leader whose lease may have passed is stepping down
                   {"role", !r.shared   ? "replica"
                            : r.leading ? "leader"
                            : r.fenced  ? "fenced"
                                        : "follower"},
                   {"manifestRevision", r.manifest_revision},
                   {"indexBuilds", r.stats.index_builds},
                   {"appliedLsn", r.stats.applied_lsn},
                   {"checkpointLsn", r.stats.checkpoint_lsn},
                   {"sealedSegments", r.stats.sealed_segments},
                   {"rows", r.stats.live_rows}});
  }
  return out;
}

std::string MetricsText(const NodeCounters& counters, const std::vector<ReplicaReport>& replicas) {
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, value);
  };
  counter("quiver_node_leaderships_won_total", "Shard leaderships this node won.",
          counters.leaderships);
  counter("quiver_node_step_downs_total",
          "Shard leaderships this node gave up (lease or leader key lost, replica unhealthy).",
          counters.step_downs);
  counter("quiver_node_maintenance_failures_total",
          "Seals and compactions that failed (object store errors among them); retried.",
          counters.maintenance_failures);
  counter("quiver_node_replica_reloads_total",
          "Replicas found to differ from their log (its servers disagreed after a failure) and "
          "loaded again from their checkpoint and log.",
          counters.reloads);
  out +=
      "# HELP quiver_replica_applied_lsn The last log record a replica applied.\n"
      "# TYPE quiver_replica_applied_lsn gauge\n";
  std::string leaders =
      "# HELP quiver_replica_leader 1 while a replica leads its shard.\n"
      "# TYPE quiver_replica_leader gauge\n";
  std::string ready =
      "# HELP quiver_replica_ready 1 once a replica has caught up with its log.\n"
      "# TYPE quiver_replica_ready gauge\n";
  for (const ReplicaReport& r : replicas) {
    const std::string labels = fmt::format("{{database=\"{}\",table=\"{}\",shard=\"{}\"}}",
                                           r.id.database, r.id.table, r.id.shard);
    out += fmt::format("quiver_replica_applied_lsn{} {}\n", labels, r.stats.applied_lsn);
    leaders += fmt::format("quiver_replica_leader{} {}\n", labels, r.leading ? 1 : 0);
    ready += fmt::format("quiver_replica_ready{} {}\n", labels, r.ready ? 1 : 0);
  }
  return out + leaders + ready;
}

Result<std::string> BindNodeHttp(httplib::Server* server, const std::string& address,
                                 const NodeHttpHandlers& handlers) {
  server->Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("alive", "text/plain");
  });
  server->Get("/ready", [ready = handlers.ready](const httplib::Request&, httplib::Response& res) {
    const bool is = ready();
    res.status = is ? 200 : 503;
    res.set_content(is ? "ready" : "not ready", "text/plain");
  });
  server->Get("/replicas", [handlers](const httplib::Request&, httplib::Response& res) {
    res.set_content(ReplicasJson(handlers.replicas()).dump(), "application/json");
  });
  server->Get("/metrics", [handlers](const httplib::Request&, httplib::Response& res) {
    res.set_content(MetricsText(handlers.counters(), handlers.replicas()),
                    "text/plain; version=0.0.4");
  });
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    const std::string_view digits = std::string_view(address).substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size()) port = -1;
  }
  if (port < 0 || port > 65535)
    return Status::InvalidArgument("--http must be host:port, not '" + address + "'");
  const std::string host = address.substr(0, colon);
  const int bound =
      port == 0 ? server->bind_to_any_port(host) : (server->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return Status::Unavailable("cannot listen for HTTP on " + address);
  return "http://" + host + ":" + std::to_string(bound);
}

}  // namespace quiver::cluster
