#pragma once

// A real S3 endpoint for tests: Ceph RGW (Debian's ceph 16) on 127.0.0.1,
// started by the sequence the local cluster launcher uses too
// (cluster/ceph_rgw.h, after shared/notes/one-host-rgw.md): one monitor, one
// BlueStore OSD on a sparse file and one radosgw, children of the test with
// all their state in one scratch directory, on ports below 32768. Started on
// first use (3 to 5 s); stopped by PID when the test process exits: radosgw,
// then the OSD, then the monitor. Should the test process die first, each
// daemon gets SIGKILL (PR_SET_PDEATHSIG).

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cluster/ceph_rgw.h"
#include "cluster/local_process.h"
#include "test_util.h"

namespace quiver::testing {

class RgwServer {
 public:
  static RgwServer& Get() {
    static RgwServer server;
    return server;
  }

  // Empty once the server answers; else why it could not start.
  const std::string& error() const { return error_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(rgw_port_); }
  // The credentials of the user the server is started with.
  std::string access_key() const { return "QUIVERTESTACCESSKEY1"; }
  std::string secret_key() const { return "quiver-test-secret-key-not-for-production"; }
  // From the first command to the first answer, the user created.
  std::chrono::milliseconds startup_time() const { return startup_time_; }

  ~RgwServer() { StopCephRgw(daemons_, std::chrono::seconds(20)); }

 private:
  using Clock = std::chrono::steady_clock;

  RgwServer() {
    const auto start = Clock::now();
    PortPicker ports;
    // A port taken between the probe and the daemon's bind makes radosgw
    // crash or the monitor exit: then again, from scratch, on new ports.
    for (int attempt = 1; attempt <= 3; ++attempt) {
      CephRgwOptions options;
      options.state_dir = dir_.path() + "/" + std::to_string(attempt);
      options.log_dir = options.state_dir + "/log";
      auto mon = ports.Next(), rgw = ports.Next();
      if (!mon.ok() || !rgw.ok()) {
        error_ = "no free port";
        return;
      }
      options.mon_port = *mon;
      options.rgw_port = rgw_port_ = *rgw;
      options.user = "quiver-test";
      options.access_key = access_key();
      options.secret_key = secret_key();
      options.new_session = true;
      options.die_with_parent = true;
      std::filesystem::create_directories(options.log_dir);
      auto daemons = CreateCephRgw(options);
      if (daemons.ok()) {
        daemons_ = std::move(daemons).value();
        error_.clear();
        break;
      }
      error_ = "cannot start Ceph RGW: " + daemons.status().message();
      if (daemons.status().code() == StatusCode::kNotFound) {
        error_ += " (make deps installs ceph-mon ceph-osd radosgw ceph-common)";
      }
      if (daemons.status().code() != StatusCode::kUnavailable) break;
    }
    startup_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    if (error_.empty()) {
      std::fprintf(stderr, "[rgw] Ceph RGW answers at %s after %lld ms\n", endpoint().c_str(),
                   static_cast<long long>(startup_time_.count()));
    }
  }

  TempDir dir_;  // the daemons' state; removed after they stopped
  std::vector<CephRgwDaemon> daemons_;
  int rgw_port_ = 0;
  std::string error_;
  std::chrono::milliseconds startup_time_{0};
};

}  // namespace quiver::testing
