#pragma once

// A real S3 endpoint on this host: Ceph RGW (Debian's ceph 16) as
// shared/notes/one-host-rgw.md describes it: one monitor, one BlueStore OSD
// on a sparse file and one radosgw, plain processes on 127.0.0.1 with all
// their state in one directory; about 2-4 s from nothing to an answer. The
// local cluster launcher and the tests start it through this one sequence.

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "cluster/local_process.h"
#include "common/status.h"

namespace quiver {

struct CephRgwOptions {
  std::string state_dir;  // ceph.conf, the monmap, the daemons' data (created)
  std::string log_dir;    // ceph-mon.log, ceph-osd.log, rgw.log (their output) and Ceph's own logs
  // On 127.0.0.1, both below 32768 (PortPicker): radosgw crashes when its
  // port is taken, the monitor exits.
  int mon_port = 0, rgw_port = 0;
  std::string user = "quiver";  // the S3 user created, with these keys
  std::string access_key, secret_key;
  bool new_session = true;                         // the daemons outlive the caller (the launcher)
  bool die_with_parent = false;                    // the daemons die with the caller (tests)
  std::chrono::seconds timeout{60};                // for each step
  const std::atomic<bool>* interrupted = nullptr;  // when set, give up at the next wait
};

// The daemons in the order they start: ceph-mon, ceph-osd, rgw. Their
// command lines restart the cluster as it is, on the same ports. Stop them
// in the reverse order, one at a time (SIGTERM to radosgw and the OSD at
// once can hang radosgw).
struct CephRgwDaemon {
  std::string name;  // "ceph-mon", "ceph-osd", "rgw"
  SpawnedProcess process;
  std::string log;  // its output
};

// Makes a new Ceph cluster in state_dir (a fresh FSID, a monitor, an OSD),
// starts its three daemons, waits until radosgw answers at
// http://127.0.0.1:rgw_port and creates the user. On failure it stops what it
// started; kUnavailable when a daemon exited at start (its port was likely
// taken: try again on other ports with an empty state_dir).
Result<std::vector<CephRgwDaemon>> CreateCephRgw(const CephRgwOptions& options);

// Stops the daemons one at a time in the reverse order of `daemons`.
void StopCephRgw(const std::vector<CephRgwDaemon>& daemons, std::chrono::milliseconds grace);

}  // namespace quiver
