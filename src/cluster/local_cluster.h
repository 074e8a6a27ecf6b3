#pragma once

// A whole Quiver cluster as processes on this host, all on 127.0.0.1:
// `quiver cluster up | status | down` (docs/CLUSTER.md, "Running a cluster
// locally"). Everything lives in one directory DIR: cluster.json (what was
// started, written atomically), logs/<name>.log, and each service's data.
//
// The processes are detached (a session of their own, stdin /dev/null, output
// to their log) so they outlive `up`; `status` and `down` know them by the PID
// and command line recorded in cluster.json, and trust a PID only while
// /proc/<pid>/cmdline still matches. `up` on a directory whose cluster was
// stopped starts the same processes again (same ports, same data).
//
// Not thread-safe; `up` and `down` on one directory exclude each other
// (DIR/LOCK).

#include <atomic>
#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cluster/cluster_record.h"
#include "common/status.h"

namespace quiver {

struct LocalClusterOptions {
  std::string dir;  // created when missing
  // Unset: 3 nodes, 2 dispatchers, 3 NATS servers and "dir" for a new
  // cluster, what is recorded for a restart (a set value must match it).
  std::optional<int> nodes, dispatchers, nats;
  std::optional<std::string> object_store;  // "dir" or "rgw"
  // The binaries (a path, or a name looked up on PATH). Empty quiver_binary:
  // this process's own (/proc/self/exe), which runs `quiver node` and
  // `quiver dispatcher`.
  std::string quiver_binary, etcd_binary = "etcd", nats_binary = "nats-server";
  // How long each process (or the NATS cluster, or RGW) may take to be ready.
  std::chrono::seconds ready_timeout{60};
  const std::atomic<bool>* interrupted = nullptr;  // set (by a signal): give up, stop all
};

// Starts etcd, the NATS servers, the object store, the nodes and the
// dispatchers, in that order, each waited for until it is ready, and returns
// what was started (also in DIR/cluster.json). Progress lines go to
// `progress`. When a process exits or is not ready in time, everything it
// started is stopped again and the error names the process with the end of
// its log. kAlreadyExists when DIR's cluster runs already.
Result<ClusterRecord> StartLocalCluster(const LocalClusterOptions& options, std::ostream& progress);

// DIR/cluster.json; kNotFound when DIR holds no cluster.
Result<ClusterRecord> ReadLocalCluster(const std::string& dir);

// Whether each recorded process still runs (its PID with its command line).
std::vector<bool> ProcessesAlive(const ClusterRecord& record);

// Stops DIR's processes by PID: dispatchers, nodes, the object store (radosgw,
// the OSD, the monitor, one at a time), NATS, etcd; each group gets SIGTERM,
// then SIGKILL after `grace`. Processes already gone are fine. kNotFound
// when DIR holds no cluster. The data stays: `up` starts it again.
Status StopLocalCluster(const std::string& dir, std::chrono::milliseconds grace,
                        std::ostream& progress);

}  // namespace quiver
