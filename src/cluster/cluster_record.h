#pragma once

// What a local cluster (local_cluster.h) records in DIR/cluster.json:
// enough to check its processes, stop them and start them again.
// docs/CLUSTER.md, "Running a cluster locally", describes the file.

#include <sys/types.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace quiver {

struct ProcessRecord {
  std::string name;  // unique: etcd, nats-1, ceph-mon, ceph-osd, rgw, node-1, dispatcher-1
  std::string role;  // etcd, nats, ceph-mon, ceph-osd, rgw, node, dispatcher
  pid_t pid = 0;     // 0: not started
  std::string url;   // where it answers (empty for ceph-osd, which picks its own ports)
  std::map<std::string, int> ports;  // by use: client, peer, cluster, grpc, http, ...
  std::vector<std::string> argv;     // as exec'd; /proc/<pid>/cmdline must match it
  std::vector<std::pair<std::string, std::string>> env;  // set on top of the launcher's
  std::string log;                                       // stdout and stderr
  std::string started_at;                                // UTC, ISO 8601
};

struct ClusterRecord {
  std::string dir;  // absolute
  int nodes = 0, dispatchers = 0, nats = 0;
  std::string object_store_kind;  // "dir" or "rgw"
  std::string etcd;               // host:port
  std::string nats_servers;       // comma-separated nats:// URLs
  std::string object_store;       // the nodes' --object-store: dir:PATH or s3:URL/BUCKET
  // rgw only: where the bucket is, and the keys nodes get in their environment.
  std::string s3_endpoint, s3_bucket, s3_access_key, s3_secret_key;
  std::vector<ProcessRecord> processes;  // in start order
  // False while the first `cluster up` runs: a cluster that never finished
  // starting is not restarted.
  bool complete = false;

  std::vector<std::string> DispatcherUrls() const;
};

// The JSON of DIR/cluster.json, and back (kCorruption when it does not parse
// or lacks a field).
std::string EncodeClusterRecord(const ClusterRecord& record);
Result<ClusterRecord> DecodeClusterRecord(std::string_view text);

// What `quiver cluster up` and `status` print: one JSON object with the
// dispatchers' URLs, the processes (name, role, pid, url; `alive` too when
// `alive` is given, one per process), etcd, NATS and the object store.
std::string DescribeCluster(const ClusterRecord& record, const std::vector<bool>* alive);

}  // namespace quiver
