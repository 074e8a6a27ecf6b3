#pragma once

// A real S3 endpoint for tests: Ceph RGW (Debian's ceph 16) on 127.0.0.1, as
// shared/notes/one-host-rgw.md describes it: one monitor, one BlueStore OSD
// on a sparse file and one radosgw, child processes of the test with all
// their state in one scratch directory, on ports below 32768 (outside the
// kernel's ephemeral range). Started on first use (3 to 5 s); stopped by PID
// when the test process exits: radosgw, then the OSD, then the monitor
// (stopping radosgw and the OSD at once can hang radosgw). Should the test
// process die first, each daemon gets SIGKILL (PR_SET_PDEATHSIG).

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

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

  ~RgwServer() { StopAll(); }

 private:
  using Clock = std::chrono::steady_clock;

  RgwServer() {
    const auto start = Clock::now();
    for (const char* tool :
         {"monmaptool", "ceph-mon", "ceph-osd", "ceph", "radosgw", "radosgw-admin"}) {
      if (FindBinary(tool).empty()) {
        error_ = std::string("cannot start Ceph RGW: '") + tool +
                 "' is not installed (make deps installs ceph-mon ceph-osd radosgw ceph-common)";
        return;
      }
    }
    // A port taken between the probe and the daemon's bind makes radosgw
    // crash or the monitor exit: then again, from scratch, on new ports.
    for (int attempt = 1; attempt <= 3; ++attempt) {
      bool retry = false;
      error_ = Start(attempt, &retry);
      if (error_.empty()) break;
      StopAll();
      if (!retry) break;
    }
    startup_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    if (error_.empty()) {
      std::fprintf(stderr, "[rgw] Ceph RGW answers at %s after %lld ms\n", endpoint().c_str(),
                   static_cast<long long>(startup_time_.count()));
    }
  }

  // Empty once radosgw answers and the user exists; `retry` when a daemon
  // died at start (its port was likely taken).
  std::string Start(int attempt, bool* retry) {
    const std::string s = dir_.path() + "/" + std::to_string(attempt);
    for (const char* sub : {"run", "log", "mon", "osd/ceph-0", "rgw"}) {
      std::filesystem::create_directories(s + "/" + sub);
    }
    mon_port_ = FreePort();
    do rgw_port_ = FreePort();
    while (rgw_port_ == mon_port_);
    const std::string fsid = NewUuid(), osd_uuid = NewUuid();
    const std::string conf = s + "/ceph.conf";
    std::ofstream(conf) << Config(s, fsid);
    const std::vector<std::string> c = {"-c", conf, "--cluster", "ceph"};
    const std::string log = s + "/log/";
    auto with_conf = [&](std::vector<std::string> args, std::vector<std::string> more) {
      args.insert(args.end(), c.begin(), c.end());
      args.insert(args.end(), more.begin(), more.end());
      return args;
    };

    std::string failed = Run({"monmaptool", "--create", "--fsid", fsid, "--addv", "a",
                              "[v2:127.0.0.1:" + std::to_string(mon_port_) + "]", s + "/monmap"},
                             log + "monmaptool.out");
    if (failed.empty()) {
      failed = Run(with_conf({"ceph-mon"}, {"--id", "a", "--mkfs", "--monmap", s + "/monmap"}),
                   log + "mon-mkfs.out");
    }
    if (!failed.empty()) return failed;
    mon_pid_ = Spawn(with_conf({"ceph-mon", "-f"}, {"--id", "a"}), log + "mon.out");
    // The OSD's file system is made while the monitor registers the OSD.
    const pid_t mkfs =
        Spawn(with_conf({"ceph-osd"}, {"--id", "0", "--mkfs", "--osd-uuid", osd_uuid}),
              log + "osd-mkfs.out");
    failed = Run(with_conf({"ceph"}, {"--connect-timeout", "30", "osd", "new", osd_uuid}),
                 log + "osd-new.out");
    const std::string made = Finish(mkfs, "ceph-osd --mkfs", log + "osd-mkfs.out");
    if (!Alive(mon_pid_)) {
      *retry = true;
      return "ceph-mon exited at start:\n" + Tail(log + "mon.out") +
             Tail(s + "/log/ceph-mon.a.log");
    }
    if (!failed.empty()) return failed;
    if (!made.empty()) return made;
    osd_pid_ = Spawn(with_conf({"ceph-osd", "-f"}, {"--id", "0"}), log + "osd.out");
    rgw_pid_ = Spawn(with_conf({"radosgw", "-f"}, {"--id", "rgw.a"}), log + "rgw.out");

    // Ready when an anonymous GET / answers 200: radosgw creates its pools
    // first. Nothing to wait on but the answer, so: ask every 20 ms.
    httplib::Client client("127.0.0.1", rgw_port_);
    client.set_connection_timeout(std::chrono::milliseconds(200));
    client.set_read_timeout(std::chrono::seconds(5));
    const auto give_up = Clock::now() + std::chrono::seconds(60);
    while (true) {
      auto answer = client.Get("/");
      if (answer && answer->status == 200) break;
      for (auto [pid, name] : {std::pair{&rgw_pid_, "radosgw"}, std::pair{&osd_pid_, "ceph-osd"},
                               std::pair{&mon_pid_, "ceph-mon"}}) {
        if (!Alive(*pid)) {
          *retry = true;
          return std::string(name) + " exited at start:\n" + Tail(s + "/log/ceph-client.rgw.a.log");
        }
      }
      if (Clock::now() > give_up) return "radosgw did not answer within 60 s";
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Run(
        with_conf({"radosgw-admin"}, {"--id", "admin", "user", "create", "--uid=quiver-test",
                                      "--display-name=quiver-test", "--access-key=" + access_key(),
                                      "--secret-key=" + secret_key()}),
        log + "user-create.out");
  }

  std::string Config(const std::string& s, const std::string& fsid) const {
    std::ostringstream out;
    out << "[global]\nfsid = " << fsid << "\nmon_host = v2:127.0.0.1:" << mon_port_ << "\n"
        << "public_addr = 127.0.0.1\ncluster_addr = 127.0.0.1\n"
        << "auth_cluster_required = none\nauth_service_required = none\n"
        << "auth_client_required = none\nms_mon_client_mode = crc\n"
        << "run_dir = " << s << "/run\nadmin_socket = " << s << "/run/$cluster-$name.asok\n"
        << "log_file = " << s << "/log/$cluster-$name.log\n"
        << "mon_data = " << s << "/mon/$cluster-$id\nosd_data = " << s << "/osd/$cluster-$id\n"
        << "rgw_data = " << s << "/rgw\n"
        << "mon_allow_pool_size_one = true\nmon_allow_pool_delete = true\n"
        << "mon_warn_on_pool_no_redundancy = false\n"
        << "mon_warn_on_insecure_global_id_reclaim_allowed = false\n"
        << "mon_data_avail_warn = 1\nmon_data_avail_crit = 0\n"
        << "paxos_propose_interval = 0.05\npaxos_min_wait = 0.01\n"
        << "objecter_tick_interval = 0.1\nobjecter_timeout = 1\n"
        << "osd_pool_default_size = 1\nosd_pool_default_min_size = 1\n"
        << "osd_pool_default_pg_num = 8\nosd_pool_default_pgp_num = 8\n"
        << "osd_pool_default_pg_autoscale_mode = off\nosd_crush_chooseleaf_type = 0\n"
        << "osd_op_num_shards = 2\nosd_memory_target = 1073741824\n"
        << "osd_objectstore = bluestore\nbluestore_block_create = true\n"
        << "bluestore_block_size = 10737418240\nbluestore_fsck_on_mkfs = false\n"
        << "bdev_aio_poll_ms = 10\n"
        << "rgw_frontends = beast endpoint=127.0.0.1:" << rgw_port_ << "\n";
    return out.str();
  }

  // Stops each daemon by PID, waiting for each, in the only safe order.
  void StopAll() {
    for (pid_t* pid : {&rgw_pid_, &osd_pid_, &mon_pid_}) {
      if (*pid <= 0) continue;
      kill(*pid, SIGTERM);
      if (!WaitExit(*pid, std::chrono::seconds(20))) {
        kill(*pid, SIGKILL);
        waitpid(*pid, nullptr, 0);
      }
      *pid = 0;
    }
  }

  static std::string FindBinary(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
      const std::string candidate = dir + "/" + name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
  }

  // Starts args[0] (from PATH) in a session of its own, its output appended
  // to `log`; -1 when it cannot be started.
  static pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
    const std::string binary = FindBinary(args[0]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid != 0) return pid;
    // The child: only async-signal-safe calls until exec.
    setsid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(binary.c_str(), argv.data());
    _exit(127);
  }

  // Runs a command to its end (at most `timeout`): empty when it succeeded.
  static std::string Run(const std::vector<std::string>& args, const std::string& log,
                         std::chrono::seconds timeout = std::chrono::seconds(60)) {
    return Finish(Spawn(args, log), args[0], log, timeout);
  }

  static std::string Finish(pid_t pid, const std::string& what, const std::string& log,
                            std::chrono::seconds timeout = std::chrono::seconds(60)) {
    if (pid < 0) return "cannot start " + what;
    const std::optional<int> status = WaitExit(pid, timeout);
    if (!status) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return what + " did not finish within " + std::to_string(timeout.count()) + " s:\n" +
             Tail(log);
    }
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return {};
    return what + " failed (status " + std::to_string(*status) + "):\n" + Tail(log);
  }

  // The wait status once `pid` (a child) exits, or nothing after `timeout`.
  static std::optional<int> WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
    // (glibc 2.36's <sys/pidfd.h> does not declare pidfd_open for C++.)
    const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (fd >= 0) {
      pollfd exited{fd, POLLIN, 0};
      poll(&exited, 1, static_cast<int>(timeout.count()));
      close(fd);
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    return std::nullopt;
  }

  // False once the child exited (then reaped, its PID set to 0).
  static bool Alive(pid_t& pid) {
    if (pid <= 0) return false;
    if (waitpid(pid, nullptr, WNOHANG) == 0) return true;
    pid = 0;
    return false;
  }

  // A port below 32768 that nobody listens on now (the daemons bind it a
  // moment later: Start notices when another process was faster).
  static int FreePort() {
    static std::mt19937 random(std::random_device{}());
    std::uniform_int_distribution<int> ports(20000, 31999);
    for (int tries = 0; tries < 1000; ++tries) {
      const int port = ports(random);
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(port));
      const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      close(fd);
      if (free) return port;
    }
    return 0;
  }

  static std::string NewUuid() {
    std::string uuid;
    std::ifstream("/proc/sys/kernel/random/uuid") >> uuid;
    return uuid;
  }

  // The end of a log file, for an error message.
  static std::string Tail(const std::string& path) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
  }

  TempDir dir_;  // the daemons' state; removed after they stopped
  pid_t mon_pid_ = 0, osd_pid_ = 0, rgw_pid_ = 0;
  int mon_port_ = 0, rgw_port_ = 0;
  std::string error_;
  std::chrono::milliseconds startup_time_{0};
};

}  // namespace quiver::testing
