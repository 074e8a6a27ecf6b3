#include "cluster/local_cluster.h"

#include <fmt/format.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "cluster/ceph_rgw.h"
#include "cluster/local_process.h"
#include "cluster/local_services.h"
#include "cluster/nats_config.h"
#include "io/file_system.h"

namespace quiver {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kClusterName[] = "quiver";  // the nodes' and dispatchers' --cluster
constexpr char kBucket[] = "quiver";
// The keys of the local RGW's one user, fixed: its port is on 127.0.0.1 only.
constexpr char kAccessKey[] = "QUIVERLOCALACCESSKEY";
constexpr char kSecretKey[] = "quiver-local-cluster-secret-key";
// The order `down` stops the roles in: what uses a service before it.
constexpr std::array<const char*, 7> kStopOrder = {"dispatcher", "node", "rgw", "ceph-osd",
                                                   "ceph-mon",   "nats", "etcd"};
// What a new cluster makes in DIR besides logs/ and cluster.json.
constexpr std::array<const char*, 5> kStateDirs = {"etcd", "nats", "rgw", "nodes", "objects"};

std::string RecordPath(const std::string& dir) {
  return dir + "/cluster.json";
}

std::string UtcNow() {
  const time_t now = time(nullptr);
  tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string SecondsSince(Clock::time_point start) {
  return fmt::format("{:.1f} s", std::chrono::duration<double>(Clock::now() - start).count());
}

Status WriteRecord(const ClusterRecord& record) {
  return NewPosixFileSystem()->WriteFileAtomic(RecordPath(record.dir), EncodeClusterRecord(record));
}

Status MakeDir(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return Status::IOError("cannot create " + path + ": " + error.message());
  return Status::OK();
}

SpawnedProcess AsSpawned(const ProcessRecord& p) {
  return {.pid = p.pid, .argv = p.argv};
}

std::string ThisBinary() {
  std::error_code error;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string() : path.string();
}

S3Options BucketOptions(const ClusterRecord& r) {
  S3Options options;
  options.endpoint = r.s3_endpoint;
  options.bucket = r.s3_bucket;
  options.access_key = r.s3_access_key;
  options.secret_key = r.s3_secret_key;
  return options;
}

// One `up`: starts the processes of `record_` (a new cluster: planned here
// first), waits for each, and on failure stops what it started.
class Launcher {
 public:
  Launcher(const LocalClusterOptions& options, std::ostream& progress, ClusterRecord record,
           bool fresh)
      : options_(options), progress_(progress), record_(std::move(record)), fresh_(fresh) {}

  Status Run() {
    Status started = StartAll();
    if (started.ok()) return started;
    if (!started_.empty()) {
      progress_ << "quiver cluster: stopping the " << started_.size()
                << " process(es) started, as one failed\n";
      StopStarted();
    }
    if (fresh_) {
      // Nothing to restart: remove what this attempt made (the logs stay).
      std::error_code ignored;
      std::filesystem::remove(RecordPath(record_.dir), ignored);
      for (const char* sub : kStateDirs)
        std::filesystem::remove_all(record_.dir + "/" + sub, ignored);
    } else {
      (void)WriteRecord(record_);
    }
    return started;
  }

  const ClusterRecord& record() const { return record_; }

 private:
  Status StartAll() {
    const auto start = Clock::now();
    // etcd and NATS start while the object store does; waited for after.
    QV_RETURN_IF_ERROR(fresh_ ? PlanEtcd() : Status::OK());
    QV_RETURN_IF_ERROR(SpawnRole("etcd"));
    QV_RETURN_IF_ERROR(fresh_ ? PlanNats() : Status::OK());
    QV_RETURN_IF_ERROR(SpawnRole("nats"));
    QV_RETURN_IF_ERROR(StartObjectStore());
    const ProcessRecord& etcd = record_.processes[Indices("etcd").at(0)];
    QV_RETURN_IF_ERROR(Await("etcd", etcd, [&] { return CheckEtcd(record_.etcd); }));
    QV_RETURN_IF_ERROR(AwaitNats());
    QV_RETURN_IF_ERROR(fresh_ ? PlanNodes() : Status::OK());
    QV_RETURN_IF_ERROR(SpawnRole("node"));
    for (size_t i : Indices("node")) {
      const ProcessRecord& node = record_.processes[i];
      QV_RETURN_IF_ERROR(Await(node.name, node, [&] { return CheckHttp(node.url, "/ready"); }));
    }
    QV_RETURN_IF_ERROR(fresh_ ? PlanDispatchers() : Status::OK());
    QV_RETURN_IF_ERROR(SpawnRole("dispatcher"));
    for (size_t i : Indices("dispatcher")) {
      const ProcessRecord& d = record_.processes[i];
      QV_RETURN_IF_ERROR(Await(d.name, d, [&] { return CheckHttp(d.url, "/ready"); }));
    }
    record_.complete = true;
    QV_RETURN_IF_ERROR(WriteRecord(record_));
    progress_ << "quiver cluster: ready after " << SecondsSince(start) << "\n";
    return Status::OK();
  }

  std::vector<size_t> Indices(std::string_view role) const {
    std::vector<size_t> out;
    for (size_t i = 0; i < record_.processes.size(); ++i) {
      if (record_.processes[i].role == role) out.push_back(i);
    }
    return out;
  }

  ProcessRecord& Add(std::string name, std::string role) {
    ProcessRecord& p = record_.processes.emplace_back();
    p.name = std::move(name);
    p.role = std::move(role);
    p.log = record_.dir + "/logs/" + p.name + ".log";
    return p;
  }

  Result<int> Port() { return ports_.Next(); }

  Status PlanEtcd() {
    QV_ASSIGN_OR_RETURN(int client, Port());
    QV_ASSIGN_OR_RETURN(int peer, Port());
    ProcessRecord& etcd = Add("etcd", "etcd");
    etcd.ports = {{"client", client}, {"peer", peer}};
    etcd.url = "http://127.0.0.1:" + std::to_string(client);
    etcd.argv = EtcdArgs(options_.etcd_binary, kClusterName, record_.dir + "/etcd", client, peer);
    record_.etcd = "127.0.0.1:" + std::to_string(client);
    return Status::OK();
  }

  Status PlanNats() {
    const std::string binary = FindExecutable(options_.nats_binary);
    if (binary.empty()) {
      return Status::NotFound("cannot start '" + options_.nats_binary +
                              "': no such executable (make deps installs nats-server)");
    }
    auto version = NatsServerVersion(binary, record_.dir + "/logs/nats-version.log");
    if (!version.ok()) return version.status().WithContext(binary + " --version");
    std::vector<int> client(record_.nats), cluster(record_.nats);
    for (int i = 0; i < record_.nats; ++i) {
      QV_ASSIGN_OR_RETURN(client[i], Port());
      if (record_.nats > 1) {
        QV_ASSIGN_OR_RETURN(cluster[i], Port());
      }
    }
    QV_RETURN_IF_ERROR(MakeDir(record_.dir + "/nats"));
    std::vector<std::string> urls;
    for (int i = 0; i < record_.nats; ++i) {
      NatsServerConfig config;
      config.name = "nats-" + std::to_string(i + 1);
      config.port = client[i];
      config.store_dir = record_.dir + "/nats/" + config.name;
      config.cluster_port = cluster[i];
      for (int j = 0; j < record_.nats && record_.nats > 1; ++j) {
        if (j != i) config.routes.push_back("nats-route://127.0.0.1:" + std::to_string(cluster[j]));
      }
      config.version_major = version->first;
      config.version_minor = version->second;
      const std::string path = record_.dir + "/nats/" + config.name + ".conf";
      QV_RETURN_IF_ERROR(NewPosixFileSystem()->WriteFileAtomic(path, RenderNatsConfig(config)));
      ProcessRecord& nats = Add(config.name, "nats");
      nats.ports = {{"client", client[i]}};
      if (cluster[i] > 0) nats.ports["cluster"] = cluster[i];
      nats.url = "nats://127.0.0.1:" + std::to_string(client[i]);
      nats.argv = {binary, "-c", path};
      urls.push_back(nats.url);
    }
    record_.nats_servers = fmt::format("{}", fmt::join(urls, ","));
    return Status::OK();
  }

  Status AwaitNats() {
    for (size_t i : Indices("nats")) {
      const ProcessRecord& nats = record_.processes[i];
      QV_RETURN_IF_ERROR(Await(nats.name, nats, [&] { return CheckNatsConnects(nats.url); }));
    }
    // Three servers elect a JetStream meta leader first: a stream of the
    // replicas a shard will have is the proof.
    const int replicas = std::min(3, record_.nats);
    return Await(fmt::format("JetStream (a stream of {} replica(s))", replicas),
                 record_.processes[Indices("nats").at(0)],
                 [&] { return CheckJetStream(record_.nats_servers, replicas); });
  }

  Status StartObjectStore() {
    if (record_.object_store_kind == "dir") {
      record_.object_store = "dir:" + record_.dir + "/objects";
      return MakeDir(record_.dir + "/objects");
    }
    QV_RETURN_IF_ERROR(fresh_ ? CreateRgw() : SpawnRole("ceph-mon"));
    if (!fresh_) {
      QV_RETURN_IF_ERROR(SpawnRole("ceph-osd"));
      QV_RETURN_IF_ERROR(SpawnRole("rgw"));
    }
    // Ready when a signed PUT works: the user, the bucket and the pools exist.
    const ProcessRecord& rgw = record_.processes[Indices("rgw").at(0)];
    const S3Options s3 = BucketOptions(record_);
    return Await("rgw", rgw, [&] {
      QV_RETURN_IF_ERROR(CheckHttp(rgw.url, "/"));
      QV_RETURN_IF_ERROR(CreateBucket(s3));
      return CheckS3Put(s3);
    });
  }

  // A new Ceph cluster; on other ports when a daemon died at start.
  Status CreateRgw() {
    const auto start = Clock::now();
    for (int attempt = 1;; ++attempt) {
      CephRgwOptions ceph;
      ceph.state_dir = record_.dir + "/rgw";
      ceph.log_dir = record_.dir + "/logs";
      QV_ASSIGN_OR_RETURN(ceph.mon_port, Port());
      QV_ASSIGN_OR_RETURN(ceph.rgw_port, Port());
      ceph.access_key = kAccessKey;
      ceph.secret_key = kSecretKey;
      ceph.timeout = options_.ready_timeout;
      ceph.interrupted = options_.interrupted;
      std::error_code ignored;
      std::filesystem::remove_all(ceph.state_dir, ignored);
      auto daemons = CreateCephRgw(ceph);
      if (daemons.ok()) {
        for (const CephRgwDaemon& d : *daemons) {
          ProcessRecord& p = Add(d.name, d.name);
          p.pid = d.process.pid;
          p.argv = d.process.argv;
          p.started_at = UtcNow();
          started_.push_back(p.name);
        }
        record_.processes[Indices("ceph-mon").at(0)].ports = {{"mon", ceph.mon_port}};
        ProcessRecord& rgw = record_.processes[Indices("rgw").at(0)];
        rgw.ports = {{"http", ceph.rgw_port}};
        rgw.url = "http://127.0.0.1:" + std::to_string(ceph.rgw_port);
        record_.s3_endpoint = rgw.url;
        record_.s3_bucket = kBucket;
        record_.s3_access_key = kAccessKey;
        record_.s3_secret_key = kSecretKey;
        record_.object_store = "s3:" + rgw.url + "/" + kBucket;
        progress_ << "quiver cluster: Ceph RGW created (" << SecondsSince(start) << ")\n";
        return WriteRecord(record_);
      }
      const Status& error = daemons.status();
      if (error.code() == StatusCode::kNotFound) {
        return error.WithContext(
            "the rgw object store needs ceph-mon, ceph-osd, radosgw and ceph-common (make deps "
            "installs them)");
      }
      if (error.code() != StatusCode::kUnavailable || attempt == 3 || Interrupted()) {
        return error.WithContext("Ceph RGW");
      }
      progress_ << "quiver cluster: " << error.message().substr(0, error.message().find('\n'))
                << "; again on other ports\n";
    }
  }

  Status PlanNodes() {
    for (int i = 1; i <= record_.nodes; ++i) {
      QV_ASSIGN_OR_RETURN(int grpc, Port());
      QV_ASSIGN_OR_RETURN(int http, Port());
      ProcessRecord& node = Add("node-" + std::to_string(i), "node");
      const std::string data = record_.dir + "/nodes/" + node.name;
      QV_RETURN_IF_ERROR(MakeDir(data));
      node.ports = {{"grpc", grpc}, {"http", http}};
      node.url = "http://127.0.0.1:" + std::to_string(http);
      node.argv = {quiver_binary_,   "node",
                   "--id",           node.name,
                   "--cluster",      kClusterName,
                   "--etcd",         record_.etcd,
                   "--nats",         record_.nats_servers,
                   "--object-store", record_.object_store,
                   "--data",         data,
                   "--grpc",         "127.0.0.1:" + std::to_string(grpc),
                   "--http",         "127.0.0.1:" + std::to_string(http)};
      if (record_.object_store_kind == "rgw") {
        node.env = {{"QUIVER_S3_ACCESS_KEY", record_.s3_access_key},
                    {"QUIVER_S3_SECRET_KEY", record_.s3_secret_key}};
      }
    }
    return Status::OK();
  }

  Status PlanDispatchers() {
    for (int i = 1; i <= record_.dispatchers; ++i) {
      QV_ASSIGN_OR_RETURN(int port, Port());
      ProcessRecord& d = Add("dispatcher-" + std::to_string(i), "dispatcher");
      d.ports = {{"http", port}};
      d.url = "http://127.0.0.1:" + std::to_string(port);
      d.argv = {quiver_binary_, "dispatcher",         "--id",   d.name,
                "--cluster",    kClusterName,         "--etcd", record_.etcd,
                "--nats",       record_.nats_servers, "--host", "127.0.0.1",
                "--port",       std::to_string(port)};
    }
    return Status::OK();
  }

  // Starts every process of `role`; each is recorded in cluster.json at once.
  Status SpawnRole(std::string_view role) {
    for (size_t i : Indices(role)) {
      ProcessRecord& p = record_.processes[i];
      // A line that starts each run in the log (an `up` after a `down` appends).
      std::ofstream(p.log, std::ios::app)
          << fmt::format("--- quiver cluster up, {}: {}\n", UtcNow(), fmt::join(p.argv, " "));
      auto spawned = SpawnProcess(
          {.argv = p.argv, .log = p.log, .env = p.env, .cwd = record_.dir, .new_session = true});
      if (!spawned.ok()) return spawned.status().WithContext(p.name);
      p.pid = spawned->pid;
      p.argv = spawned->argv;
      p.started_at = UtcNow();
      started_.push_back(p.name);
      QV_RETURN_IF_ERROR(WriteRecord(record_));
    }
    return Status::OK();
  }

  bool Interrupted() const {
    return options_.interrupted != nullptr && options_.interrupted->load();
  }

  // Until `check` passes; fails when it has not within the ready timeout, or
  // at once when any process started exits.
  Status Await(const std::string& what, const ProcessRecord& logged,
               const std::function<Status()>& check) {
    const auto start = Clock::now();
    const auto give_up = start + options_.ready_timeout;
    while (true) {
      QV_RETURN_IF_ERROR(NoneExited());
      Status ready = check();
      if (ready.ok()) {
        progress_ << "quiver cluster: " << what << " ready (" << SecondsSince(start) << ")\n";
        return ready;
      }
      if (Interrupted()) return Status::Unavailable("interrupted while waiting for " + what);
      if (Clock::now() > give_up) {
        return Status::Unavailable(fmt::format(
            "{} (pid {}) was not ready within {} s ({}); the end of {}:\n{}", what, logged.pid,
            options_.ready_timeout.count(), ready.message(), logged.log, TailOfFile(logged.log)));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }

  Status NoneExited() {
    for (const std::string& name : started_) {
      for (ProcessRecord& p : record_.processes) {
        if (p.name != name) continue;
        if (auto status = ReapIfExited(p.pid)) {
          return Status::Unavailable(fmt::format(
              "{} (pid {}) exited ({}) before the cluster was ready; the end of {}:\n{}", p.name,
              p.pid, DescribeExit(*status), p.log, TailOfFile(p.log)));
        }
      }
    }
    return Status::OK();
  }

  // By PID alone: these are this process's children, whose PIDs cannot be
  // reused before they are reaped (and a wrapper may have exec'd another
  // command line).
  void StopStarted() {
    for (const char* role : kStopOrder) {
      std::vector<SpawnedProcess> group;
      for (const ProcessRecord& p : record_.processes) {
        const bool ours = std::find(started_.begin(), started_.end(), p.name) != started_.end();
        if (ours && p.role == role) group.push_back({.pid = p.pid});
      }
      (void)StopProcesses(group, std::chrono::seconds(10));
    }
  }

  const LocalClusterOptions& options_;
  std::ostream& progress_;
  ClusterRecord record_;
  const bool fresh_;
  const std::string quiver_binary_ =
      options_.quiver_binary.empty() ? ThisBinary() : options_.quiver_binary;
  PortPicker ports_;
  std::vector<std::string> started_;  // names of the processes this `up` started
};

Status CheckLayout(const char* flag, const std::optional<int>& asked, int recorded,
                   const std::string& dir) {
  if (!asked || *asked == recorded) return Status::OK();
  return Status::InvalidArgument(fmt::format(
      "{} holds a cluster started with {} {}; {} {} differs (remove {} or pick another directory "
      "for another cluster)",
      dir, flag, recorded, flag, *asked, dir));
}

Result<ClusterRecord> NewRecord(const LocalClusterOptions& o, const std::string& dir) {
  ClusterRecord r;
  r.dir = dir;
  r.nodes = o.nodes.value_or(3);
  r.dispatchers = o.dispatchers.value_or(2);
  r.nats = o.nats.value_or(3);
  r.object_store_kind = o.object_store.value_or("dir");
  if (r.nodes < 0 || r.dispatchers < 0 || r.nats < 1 || r.nodes > 64 || r.dispatchers > 64 ||
      r.nats > 9) {
    return Status::InvalidArgument("need 0-64 nodes, 0-64 dispatchers and 1-9 NATS servers");
  }
  if (r.object_store_kind != "dir" && r.object_store_kind != "rgw") {
    return Status::InvalidArgument("--object-store is dir or rgw, not " + r.object_store_kind);
  }
  for (const char* sub : kStateDirs) {
    if (std::filesystem::exists(dir + "/" + sub)) {
      return Status::InvalidArgument(dir + "/" + sub + " exists but " + RecordPath(dir) +
                                     " does not: pick an empty or new directory");
    }
  }
  return r;
}

std::string AbsoluteDir(const std::string& dir) {
  std::string path = std::filesystem::absolute(dir).lexically_normal().string();
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

Result<ClusterRecord> ReadLocalCluster(const std::string& dir) {
  const std::string path = RecordPath(AbsoluteDir(dir));
  auto text = NewPosixFileSystem()->ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound || !std::filesystem::exists(path)) {
      return Status::NotFound("no cluster in " + dir + " (no " + path + ")");
    }
    return text.status();
  }
  auto record = DecodeClusterRecord(*text);
  if (!record.ok()) return record.status().WithContext(path);
  return record;
}

std::vector<bool> ProcessesAlive(const ClusterRecord& record) {
  std::vector<bool> alive;
  for (const auto& p : record.processes) alive.push_back(ProcessRunning(p.pid, p.argv));
  return alive;
}

Result<ClusterRecord> StartLocalCluster(const LocalClusterOptions& options,
                                        std::ostream& progress) {
  if (options.dir.empty()) return Status::InvalidArgument("no directory given");
  const std::string dir = AbsoluteDir(options.dir);
  QV_RETURN_IF_ERROR(MakeDir(dir + "/logs"));
  auto fs = NewPosixFileSystem();
  auto lock = fs->Lock(dir + "/LOCK");
  if (!lock.ok()) {
    return lock.status().WithContext("another `quiver cluster up` or `down` works on " + dir);
  }
  ClusterRecord record;
  const bool fresh = !std::filesystem::exists(RecordPath(dir));
  if (fresh) {
    QV_ASSIGN_OR_RETURN(record, NewRecord(options, dir));
  } else {
    QV_ASSIGN_OR_RETURN(record, ReadLocalCluster(dir));
    if (record.dir != dir) {
      return Status::InvalidArgument(RecordPath(dir) + " is of a cluster in " + record.dir +
                                     ", not here");
    }
    const std::vector<bool> alive = ProcessesAlive(record);
    for (size_t i = 0; i < alive.size(); ++i) {
      if (alive[i]) {
        return Status::AlreadyExists(fmt::format(
            "the cluster in {} runs already ({} has pid {}): see `quiver cluster status --dir {}`, "
            "stop it with `quiver cluster down --dir {}`",
            dir, record.processes[i].name, record.processes[i].pid, dir, dir));
      }
    }
    if (!record.complete) {
      return Status::InvalidArgument(dir + " holds a cluster whose start did not finish: remove " +
                                     dir + " or pick another directory");
    }
    QV_RETURN_IF_ERROR(CheckLayout("--nodes", options.nodes, record.nodes, dir));
    QV_RETURN_IF_ERROR(CheckLayout("--dispatchers", options.dispatchers, record.dispatchers, dir));
    QV_RETURN_IF_ERROR(CheckLayout("--nats", options.nats, record.nats, dir));
    if (options.object_store && *options.object_store != record.object_store_kind) {
      return Status::InvalidArgument(dir + " holds a cluster with --object-store " +
                                     record.object_store_kind);
    }
    progress << "quiver cluster: starting the stopped cluster in " << dir << " again\n";
  }
  Launcher launcher(options, progress, std::move(record), fresh);
  QV_RETURN_IF_ERROR(launcher.Run());
  return launcher.record();
}

Status StopLocalCluster(const std::string& dir, std::chrono::milliseconds grace,
                        std::ostream& progress) {
  QV_ASSIGN_OR_RETURN(ClusterRecord record, ReadLocalCluster(dir));
  auto lock = NewPosixFileSystem()->Lock(record.dir + "/LOCK");
  if (!lock.ok()) {
    return lock.status().WithContext("another `quiver cluster up` or `down` works on " + dir);
  }
  Status stopped;
  bool any = false;
  for (const char* role : kStopOrder) {
    std::vector<SpawnedProcess> group;
    std::string names;
    for (const ProcessRecord& p : record.processes) {
      if (p.role != role || !ProcessRunning(p.pid, p.argv)) continue;
      group.push_back(AsSpawned(p));
      names += fmt::format(" {} (pid {})", p.name, p.pid);
    }
    if (group.empty()) continue;
    progress << "quiver cluster: stopping" << names << "\n";
    Status status = StopProcesses(group, grace);
    if (!status.ok() && stopped.ok()) stopped = status;
    any = true;
  }
  if (!any) progress << "quiver cluster: nothing runs in " << record.dir << "\n";
  return stopped;
}

}  // namespace quiver
