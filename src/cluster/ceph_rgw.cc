#include "cluster/ceph_rgw.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cluster/local_services.h"

namespace quiver {
namespace {

using Clock = std::chrono::steady_clock;

std::string NewUuid() {
  std::string uuid;
  std::ifstream("/proc/sys/kernel/random/uuid") >> uuid;
  return uuid;
}

// shared/notes/one-host-rgw.md says what each tuning line is for.
std::string CephConfig(const CephRgwOptions& o, const std::string& fsid) {
  const std::string& s = o.state_dir;
  std::ostringstream out;
  out << "[global]\nfsid = " << fsid << "\nmon_host = v2:127.0.0.1:" << o.mon_port << "\n"
      << "public_addr = 127.0.0.1\ncluster_addr = 127.0.0.1\n"
      << "auth_cluster_required = none\nauth_service_required = none\n"
      << "auth_client_required = none\nms_mon_client_mode = crc\n"
      << "run_dir = " << s << "/run\nadmin_socket = " << s << "/run/$cluster-$name.asok\n"
      << "log_file = " << o.log_dir << "/$cluster-$name.log\n"
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
      // radosgw stops after its lifecycle thread, which sleeps 5 s between tries.
      << "rgw_enable_lc_threads = false\n"
      << "rgw_frontends = beast endpoint=127.0.0.1:" << o.rgw_port << "\n";
  return out.str();
}

// One creation: the steps of the note, the daemons kept in `daemons` as they start.
class Creation {
 public:
  explicit Creation(const CephRgwOptions& options) : o_(options) {}

  Status Run(std::vector<CephRgwDaemon>& daemons) {
    const std::string& s = o_.state_dir;
    for (const char* sub : {"run", "mon", "osd/ceph-0", "rgw"}) {
      std::error_code error;
      std::filesystem::create_directories(s + "/" + sub, error);
      if (error) return Status::IOError("cannot create " + s + "/" + sub + ": " + error.message());
    }
    const std::string fsid = NewUuid(), osd_uuid = NewUuid();
    std::ofstream conf(s + "/ceph.conf");
    conf << CephConfig(o_, fsid);
    if (!conf.flush()) return Status::IOError("cannot write " + s + "/ceph.conf");
    QV_RETURN_IF_ERROR(Step({"monmaptool", "--create", "--fsid", fsid, "--addv", "a",
                             "[v2:127.0.0.1:" + std::to_string(o_.mon_port) + "]", s + "/monmap"},
                            "monmaptool"));
    QV_RETURN_IF_ERROR(Step(
        WithConf({"ceph-mon"}, {"--id", "a", "--mkfs", "--monmap", s + "/monmap"}), "mon-mkfs"));
    QV_RETURN_IF_ERROR(Daemon("ceph-mon", WithConf({"ceph-mon", "-f"}, {"--id", "a"}), daemons));
    // The OSD's file system is made while the monitor registers the OSD.
    auto mkfs = SpawnProcess(Options(
        WithConf({"ceph-osd"}, {"--id", "0", "--mkfs", "--osd-uuid", osd_uuid}), "osd-mkfs"));
    if (!mkfs.ok()) return mkfs.status();
    Status registered =
        Step(WithConf({"ceph"}, {"--connect-timeout", "30", "osd", "new", osd_uuid}), "osd-new");
    Status made = Finish(mkfs->pid, "ceph-osd --mkfs", LogOf("osd-mkfs"));
    QV_RETURN_IF_ERROR(DaemonsAlive(daemons));
    QV_RETURN_IF_ERROR(registered);
    QV_RETURN_IF_ERROR(made);
    QV_RETURN_IF_ERROR(Daemon("ceph-osd", WithConf({"ceph-osd", "-f"}, {"--id", "0"}), daemons));
    QV_RETURN_IF_ERROR(Daemon("rgw", WithConf({"radosgw", "-f"}, {"--id", "rgw.a"}), daemons));
    QV_RETURN_IF_ERROR(AwaitAnswer(daemons));
    return Step(
        WithConf({"radosgw-admin"}, {"--id", "admin", "user", "create", "--uid=" + o_.user,
                                     "--display-name=" + o_.user, "--access-key=" + o_.access_key,
                                     "--secret-key=" + o_.secret_key}),
        "user-create");
  }

 private:
  std::vector<std::string> WithConf(std::vector<std::string> args,
                                    const std::vector<std::string>& more) const {
    args.insert(args.end(), {"-c", o_.state_dir + "/ceph.conf", "--cluster", "ceph"});
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  std::string LogOf(const std::string& name) const { return o_.log_dir + "/" + name + ".log"; }
  SpawnOptions Options(std::vector<std::string> argv, const std::string& name) const {
    return {.argv = std::move(argv),
            .log = LogOf(name),
            .cwd = o_.state_dir,
            .new_session = o_.new_session,
            .die_with_parent = o_.die_with_parent};
  }
  Status Step(std::vector<std::string> argv, const std::string& name) const {
    return RunToEnd(Options(std::move(argv), name), o_.timeout);
  }
  Status Finish(pid_t pid, const std::string& what, const std::string& log) const {
    const auto give_up = Clock::now() + o_.timeout;
    while (true) {
      if (auto status = ReapIfExited(pid)) {
        if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return Status::OK();
        return Status::Internal(what + " failed (" + DescribeExit(*status) + "):\n" +
                                TailOfFile(log));
      }
      if (Clock::now() > give_up) {
        (void)StopProcesses({{.pid = pid}}, std::chrono::milliseconds(0));
        return Status::Internal(what + " did not finish:\n" + TailOfFile(log));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  Status Daemon(const std::string& name, std::vector<std::string> argv,
                std::vector<CephRgwDaemon>& daemons) const {
    QV_ASSIGN_OR_RETURN(SpawnedProcess process, SpawnProcess(Options(std::move(argv), name)));
    daemons.push_back({name, std::move(process), LogOf(name)});
    return Status::OK();
  }
  // kUnavailable naming the first daemon that exited.
  Status DaemonsAlive(const std::vector<CephRgwDaemon>& daemons) const {
    for (const auto& d : daemons) {
      if (auto status = ReapIfExited(d.process.pid)) {
        const std::string own_log = o_.log_dir + (d.name == "rgw"        ? "/ceph-client.rgw.a.log"
                                                  : d.name == "ceph-osd" ? "/ceph-osd.0.log"
                                                                         : "/ceph-mon.a.log");
        return Status::Unavailable(d.name + " exited at start (" + DescribeExit(*status) + "):\n" +
                                   TailOfFile(d.log) + TailOfFile(own_log, 1500));
      }
    }
    return Status::OK();
  }
  // radosgw answers an anonymous GET / once it has created its pools.
  Status AwaitAnswer(const std::vector<CephRgwDaemon>& daemons) const {
    const std::string url = "http://127.0.0.1:" + std::to_string(o_.rgw_port);
    const auto give_up = Clock::now() + o_.timeout;
    while (true) {
      Status answer = CheckHttp(url, "/");
      if (answer.ok()) return answer;
      QV_RETURN_IF_ERROR(DaemonsAlive(daemons));
      if (o_.interrupted != nullptr && o_.interrupted->load()) {
        return Status::Unavailable("interrupted");
      }
      if (Clock::now() > give_up) {
        return Status::Internal("radosgw did not answer within " +
                                std::to_string(o_.timeout.count()) + " s: " + answer.message());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  const CephRgwOptions& o_;
};

}  // namespace

Result<std::vector<CephRgwDaemon>> CreateCephRgw(const CephRgwOptions& options) {
  std::vector<CephRgwDaemon> daemons;
  Status created = Creation(options).Run(daemons);
  if (created.ok()) return daemons;
  StopCephRgw(daemons, std::chrono::seconds(20));
  return created;
}

void StopCephRgw(const std::vector<CephRgwDaemon>& daemons, std::chrono::milliseconds grace) {
  for (auto d = daemons.rbegin(); d != daemons.rend(); ++d) {
    (void)StopProcesses({d->process}, grace);
  }
}

}  // namespace quiver
