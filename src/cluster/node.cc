#include "cluster/node.h"

#include <httplib.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "catalog/catalog.h"
#include "cluster/etcd_meta_store.h"
#include "cluster/grpc_channel.h"
#include "cluster/layout.h"
#include "cluster/log_divergence.h"
#include "cluster/nats_log.h"
#include "cluster/node_http.h"
#include "cluster/node_replica.h"
#include "cluster/shard_service.h"
#include "common/log.h"
#include "common/mutex.h"

namespace quiver::cluster {
namespace {

using namespace std::chrono_literals;

// How often a replica reads its shard's leader key (a dead leader's key
// goes with its node's lease; the first ready replica to see it gone runs).
constexpr auto kLeaderPoll = 300ms;
// How often a replica compares what it applied with what its log holds.
constexpr auto kVerifyEvery = 1s;

class NodeImpl final : public Node {
 public:
  explicit NodeImpl(NodeOptions options) : options_(std::move(options)) {}

  ~NodeImpl() override {
    stopping_ = true;
    if (watcher_.joinable()) watcher_.join();
    if (keeper_.joinable()) keeper_.join();
    if (indexer_.joinable()) indexer_.join();
    if (grpc_) grpc_->Shutdown(std::chrono::system_clock::now() + 1s);
    http_.stop();
    if (http_thread_.joinable()) http_thread_.join();
    std::map<std::pair<uint64_t, uint32_t>, std::unique_ptr<Replica>> replicas;
    {
      MutexLock lock(&mu_);
      replicas.swap(replicas_);
    }
    for (auto& [key, replica] : replicas) Close(*replica);
    if (lease_ != 0) (void)meta_->RevokeLease(lease_);  // gone at once, not after the TTL
  }

  Status Init() {
    fs_ = NewPosixFileSystem();
    QV_RETURN_IF_ERROR(fs_->CreateDirs(options_.data_dir));
    meta_ = NewEtcdMetaStore({options_.etcd, EtcdPrefix(options_.cluster), options_.deadline});
    QV_ASSIGN_OR_RETURN(nats_, ConnectNats({options_.nats, options_.id, options_.deadline}));
    if (!options_.object_store.empty()) {
      QV_ASSIGN_OR_RETURN(objects_, OpenObjectStore(fs_.get(), options_.object_store));
    }

    service_ = NewShardService(&registry_);
    grpc::ServerBuilder builder;
    AcceptPeerProbes(&builder);
    int grpc_port = 0;
    builder.AddListeningPort(options_.grpc_address, grpc::InsecureServerCredentials(), &grpc_port);
    builder.RegisterService(service_.get());
    builder.SetMaxReceiveMessageSize(256 << 20);
    builder.SetMaxSendMessageSize(256 << 20);
    grpc_ = builder.BuildAndStart();
    if (!grpc_ || grpc_port == 0)
      return Status::Unavailable("cannot listen for gRPC on " + options_.grpc_address);
    grpc_address_ = options_.grpc_address.substr(0, options_.grpc_address.rfind(':')) + ":" +
                    std::to_string(grpc_port);

    QV_ASSIGN_OR_RETURN(http_url_,
                        BindNodeHttp(&http_, options_.http_address,
                                     {[this] { return Ready(); }, [this] { return Reports(); },
                                      [this] {
                                        return NodeCounters{leaderships_.load(), step_downs_.load(),
                                                            maintenance_failures_.load(),
                                                            reloads_.load()};
                                      }}));
    http_thread_ = std::thread([this] { http_.listen_after_bind(); });

    QV_RETURN_IF_ERROR(Announce());
    keeper_ = std::thread([this] { KeepAnnounced(); });
    watcher_ = std::thread([this] { Watch(); });
    indexer_ = std::thread([this] { BuildIndexes(); });
    log::Get("cluster").info("node {} serving shards on {}, health on {}", options_.id,
                             grpc_address_, http_url_);
    return Status::OK();
  }

  std::string grpc_address() const override { return grpc_address_; }
  std::string http_url() const override { return http_url_; }

  bool Ready() const override {
    if (!announced_ || !placed_ || !LeaseValid()) return false;
    MutexLock lock(&mu_);
    if (replicas_.size() != wanted_) return false;  // some placed here did not open
    for (const auto& [key, replica] : replicas_) {
      if (!replica->caught_up) return false;
    }
    return true;
  }

 private:
  Status Announce() {
    announced_ = false;  // until the put below succeeds
    {
      // The keys its leaders held went with the old lease: they step down
      // before a new lease makes the node's lease look valid again.
      lease_valid_until_ = 0;
      std::vector<std::shared_ptr<Shard>> shards;
      {
        MutexLock lock(&mu_);
        for (const auto& [key, replica] : replicas_) shards.push_back(replica->shard);
      }
      for (const auto& shard : shards) {
        if (shard->Leading()) {
          shard->StepDown();  // may wait for a seal under way
          step_downs_.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    const auto sent = std::chrono::steady_clock::now();
    QV_ASSIGN_OR_RETURN(lease_, meta_->GrantLease(options_.lease_ttl));
    QV_RETURN_IF_ERROR(
        meta_
            ->Put(NodeKey(options_.id), EncodeNode({options_.id, grpc_address_, http_url_}), lease_)
            .status());
    Renewed(sent);
    announced_ = true;
    return Status::OK();
  }

  // The node's lease is alive at least until a TTL after the last grant or
  // keep-alive that etcd answered was sent (etcd counts from when it
  // received it, later), less a tenth for clocks that drift. Past that,
  // this node's leaders step down on their own, before etcd says so, and
  // it stops reporting itself ready.
  void Renewed(std::chrono::steady_clock::time_point sent) {
    lease_valid_until_ = (sent + options_.lease_ttl * 9 / 10).time_since_epoch().count();
  }
  bool LeaseValid() const {
    return std::chrono::steady_clock::now().time_since_epoch().count() < lease_valid_until_;
  }

  // Keeps the lease alive; announces itself again if it expired (etcd was
  // away longer than the TTL).
  void KeepAnnounced() {
    log::Repeats repeats;
    while (!stopping_) {
      std::this_thread::sleep_for(options_.lease_ttl / 3);
      if (stopping_) break;
      const auto sent = std::chrono::steady_clock::now();
      Status kept = announced_ ? meta_->KeepAlive(lease_) : Announce();
      if (kept.ok()) Renewed(sent);
      if (kept.code() == StatusCode::kNotFound) {
        log::Get("cluster").warn("node {}: its lease expired; announcing it again", options_.id);
        announced_ = false;
        kept = Announce();
      }
      if (repeats.NewFailure(kept))
        log::Get("cluster").warn("node {}: {}", options_.id, kept.ToString());
    }
  }

  // Follows the catalog and the placements; reconciles the replicas after
  // every change.
  void Watch() {
    ResumingWatch catalog(meta_.get(), kCatalogKey);
    ResumingWatch placements(meta_.get(), kPlacementPrefix);
    ResumingWatch manifests(meta_.get(), kManifestPrefix);
    bool catalog_known = false, placements_known = false;
    auto retry_at = std::chrono::steady_clock::now();
    log::Repeats repeats;
    while (!stopping_) {
      bool changed = false;
      for (auto* watch : {&catalog, &placements, &manifests}) {
        auto events = watch->Next(watch == &manifests ? 0ms : 100ms);
        if (repeats.NewFailure(events.status()))
          log::Get("cluster").warn("node {}: {}", options_.id, events.status().ToString());
        if (!events.ok()) {
          std::this_thread::sleep_for(200ms);
          continue;
        }
        if (watch == &catalog) catalog_known = true;
        if (watch == &placements) placements_known = true;
        if (watch == &manifests) {
          if (!events->empty()) NoteManifests(manifests.keys());
          continue;
        }
        changed = changed || !events->empty();
      }
      // A replica that diverged from its log is closed, its files removed,
      // and opened again (from its shard's checkpoint and log).
      const auto diverged = registry_.TakeDiverged();
      // Again after a failure (an open that NATS or etcd refused), once a second.
      const bool retry =
          !diverged.empty() || (incomplete_ && std::chrono::steady_clock::now() >= retry_at);
      if ((changed || retry) && catalog_known && placements_known) {
        incomplete_ = !Reconcile(catalog.keys(), placements.keys(), diverged);
        retry_at = std::chrono::steady_clock::now() + 1s;
      }
      if (catalog_known && placements_known) placed_ = true;
    }
  }

  // Hands each follower the newest manifest of its shard (its applier adopts it).
  void NoteManifests(const std::map<std::string, KeyValue>& manifests) {
    MutexLock lock(&mu_);
    for (const auto& [key, replica] : replicas_) {
      auto it = manifests.find(ManifestKey(key.first, key.second));
      if (it == manifests.end()) continue;
      MutexLock replica_lock(&replica->mu);
      if (!replica->manifest || replica->manifest->mod_revision < it->second.mod_revision)
        replica->manifest = it->second;
    }
  }

  // Opens the replicas placed here, closes the others and opens the
  // `diverged` ones again; false when some could not be opened (tried
  // again later).
  bool Reconcile(const std::map<std::string, KeyValue>& catalog_keys,
                 const std::map<std::string, KeyValue>& placement_keys,
                 const std::map<ShardId, std::string>& diverged) {
    CatalogState catalog;
    if (auto it = catalog_keys.find(kCatalogKey); it != catalog_keys.end()) {
      auto decoded = DecodeCatalog(it->second.value);
      if (!decoded.ok()) {
        log::Get("cluster").error("node {}: the catalog: {}", options_.id,
                                  decoded.status().ToString());
        return false;
      }
      catalog = std::move(*decoded);
    }
    const auto wanted = PlacedOn(options_.id, catalog, placement_keys);
    wanted_ = wanted.size();
    std::vector<std::unique_ptr<Replica>> closing;
    {
      MutexLock lock(&mu_);
      for (auto it = replicas_.begin(); it != replicas_.end();) {
        if (wanted.contains(it->first) && !diverged.contains(it->second->id)) {
          it->second->rank = wanted.at(it->first).rank;
          ++it;
          continue;
        }
        closing.push_back(std::move(it->second));
        it = replicas_.erase(it);
      }
    }
    std::set<uint64_t> tables;  // in the catalog
    for (const DatabaseEntry& db : catalog.databases) {
      for (const TableEntry& table : db.tables) tables.insert(table.id);
    }
    for (auto& replica : closing) {
      if (auto why = diverged.find(replica->id); why != diverged.end()) {
        log::Get("cluster").warn("node {}: reloading replica {}: {}", options_.id,
                                 replica->id.ToString(), why->second);
        reloads_.fetch_add(1, std::memory_order_relaxed);
      } else {
        log::Get("cluster").info("node {}: closing replica {}", options_.id,
                                 replica->id.ToString());
      }
      const bool led = replica->epoch != 0;
      Close(*replica);  // its applier stopped: it registers nothing more
      registry_.Remove(replica->id);
      Discard(*replica);
      // Its shard's objects go when its table is dropped: the catalog may
      // say so after the placement did (two watches).
      if (led && objects_) led_closed_.insert({replica->table_id, replica->id.shard});
    }
    for (auto it = led_closed_.begin(); it != led_closed_.end();) {
      if (tables.contains(it->first)) {
        ++it;
        continue;
      }
      DiscardObjects(it->first, it->second);
      it = led_closed_.erase(it);
    }
    bool complete = true;
    for (const auto& [key, entry] : wanted) {
      {
        MutexLock lock(&mu_);
        if (replicas_.contains(key)) continue;
      }
      auto opened = Open(*entry.db, *entry.table, key.second);
      if (!opened.ok()) {
        complete = false;
        log::Get("cluster").error("node {}: cannot open shard {} of table '{}': {}", options_.id,
                                  key.second, entry.table->schema.name, opened.status().ToString());
        continue;
      }
      MutexLock lock(&mu_);
      (*opened)->rank = entry.rank;
      replicas_[key] = std::move(*opened);
    }
    return complete;
  }

  Result<std::unique_ptr<Replica>> Open(const DatabaseEntry& db, const TableEntry& table,
                                        uint32_t shard) {
    NatsLogOptions stream{StreamName(options_.cluster, table.id, shard)};
    stream.create = false;  // its table's creator made it
    QV_ASSIGN_OR_RETURN(auto log, OpenNatsLog(nats_, stream));
    std::shared_ptr<Log> shared_log = std::move(log);
    const std::string dir = ReplicaDir(table.id, shard);
    QV_RETURN_IF_ERROR(fs_->CreateDirs(dir));
    TableOptions table_options = options_.table;
    if (objects_) {
      // The shard's leader writes its files and manifest; every replica
      // (this one too, until it leads) loads them.
      table_options.object_store = objects_.get();
      table_options.object_prefix = ShardObjectPrefix(table.id, shard);
      table_options.manifest_store = meta_.get();
      table_options.manifest_key = ManifestKey(table.id, shard);
    }
    QV_ASSIGN_OR_RETURN(
        auto opened, Shard::OpenReplica(fs_.get(), dir, table.schema, table_options, shared_log));
    auto replica = std::make_unique<Replica>();
    replica->id = {db.name, table.schema.name, shard, table.id};
    replica->table_id = table.id;
    replica->shard = std::move(opened);
    replica->shared = objects_ != nullptr;
    replica->leader_key = LeaderKey(table.id, shard);
    QV_ASSIGN_OR_RETURN(replica->target, shared_log->FetchLastLsn());
    // It serves reads once caught up (its applier registers it): until then
    // it may lack deletes and writes the log holds.
    Replica* r = replica.get();
    replica->applier = std::thread([this, r] { Apply(r); });
    log::Get("cluster").info("node {}: opened replica {} (stream at LSN {})", options_.id,
                             r->id.ToString(), r->target);
    return replica;
  }

  void Apply(Replica* replica) {
    log::Repeats repeats;
    auto poll_at = std::chrono::steady_clock::now();
    auto maintain_at = poll_at;
    auto verify_at = poll_at + kVerifyEvery;
    std::chrono::milliseconds maintain_pause = 200ms;
    log::Repeats maintenance_repeats;
    // Its key may be gone (or another's) once the node's lease may have
    // expired: it commits nothing more under it (resigned at the next
    // election round). Checked before any maintenance.
    auto step_down_when_lease_passed = [&] {
      if (!replica->shard->Leading() || LeaseValid()) return;
      log::Get("cluster").warn("node {}: replica {} steps down: the node's lease may have expired",
                               options_.id, replica->id.ToString());
      replica->shard->StepDown();
      step_downs_.fetch_add(1, std::memory_order_relaxed);
    };
    while (!replica->stop) {
      step_down_when_lease_passed();
      Status status = replica->shard->CatchUp(100ms);
      step_down_when_lease_passed();  // it may have been stopped while it waited
      if (status.code() == StatusCode::kNotFound && replica->shared) {
        // Trimmed below what it applied: the manifest that covers it.
        auto latest = meta_->Get(ManifestKey(replica->table_id, replica->id.shard));
        status = latest.ok() && *latest ? replica->shard->Adopt(**latest) : latest.status();
      }
      if (status.ok() && replica->shared) status = Follow(*replica);
      if (replica->shared && std::chrono::steady_clock::now() >= poll_at) {
        // Whatever else failed: a leader that cannot go on hands over (a
        // replica whose round failed does not run, though).
        Status elected = Elect(*replica, /*may_run=*/status.ok());
        if (status.ok()) status = elected;
        poll_at = std::chrono::steady_clock::now() + kLeaderPoll;
      }
      // Followers leave these to their leader. A seal or compaction that
      // failed (the object store away) is tried again after a pause that
      // doubles up to 10 s; records go on being applied meanwhile.
      if (status.ok() && std::chrono::steady_clock::now() >= maintain_at) {
        Status maintained = replica->shard->MaybeSeal();
        if (maintained.ok()) maintained = replica->shard->Compact();
        if (maintenance_repeats.NewFailure(maintained))
          log::Get("cluster").error("node {}: replica {}: {} (tried again in {} ms)", options_.id,
                                    replica->id.ToString(), maintained.ToString(),
                                    maintain_pause.count());
        if (maintained.ok()) {
          maintain_pause = 200ms;
        } else {
          maintenance_failures_.fetch_add(1, std::memory_order_relaxed);
          maintain_at = std::chrono::steady_clock::now() + maintain_pause;
          maintain_pause = std::min<std::chrono::milliseconds>(maintain_pause * 2, 10s);
        }
      }
      if (std::chrono::steady_clock::now() >= verify_at) {
        Lsn last = 0;
        auto diverged = Divergence(*replica->shard, &last);
        verify_at = std::chrono::steady_clock::now() + kVerifyEvery;
        // The log went back below what a catching-up replica waits for.
        if (diverged.ok() && !replica->caught_up) replica->target = std::min(replica->target, last);
        if (diverged.ok() && !diverged->empty()) {
          registry_.Diverged(replica->id, *diverged);  // serves nothing more; Watch reloads it
          return;
        }
      }
      if (!replica->caught_up && replica->shard->AwaitLsn(replica->target, 0ms).ok()) {
        replica->caught_up = true;
        registry_.Put(replica->id, replica->shard);
      }
      if (repeats.NewFailure(status))
        log::Get("cluster").error("node {}: replica {}: {}", options_.id, replica->id.ToString(),
                                  status.ToString());
      if (!status.ok()) std::this_thread::sleep_for(200ms);
    }
  }

  // A follower adopts the newest manifest the watch saw.
  static Status Follow(Replica& replica) {
    if (replica.shard->Leading()) return Status::OK();
    std::optional<KeyValue> manifest;
    {
      MutexLock lock(&replica.mu);
      manifest = replica.manifest;
    }
    if (!manifest || manifest->mod_revision <= replica.shard->ManifestRevision())
      return Status::OK();
    return replica.shard->Adopt(*manifest);
  }

  // Reads the shard's leader key: steps down when it is no longer this
  // replica's, and runs for leader when there is none and this replica is
  // caught up (the put that creates the key, leased to this node, decides;
  // its create revision is the new leader's epoch).
  Status Elect(Replica& replica, bool may_run) {
    QV_ASSIGN_OR_RETURN(auto leader, meta_->Get(replica.leader_key));
    const bool mine = replica.epoch != 0 && leader && leader->value == options_.id &&
                      leader->create_revision == replica.epoch;
    // A replica that refuses writes (a record it could not apply) neither
    // leads nor runs: its checkpoints would pass that record.
    const Status health = replica.shard->Health();
    if (replica.shard->Leading()) {
      if (!mine || !health.ok()) {
        log::Get("cluster").warn("node {}: replica {} gives up its leadership (epoch {}): {}",
                                 options_.id, replica.id.ToString(), replica.epoch,
                                 mine ? health.ToString() : "its key is gone");
        replica.shard->StepDown();
        step_downs_.fetch_add(1, std::memory_order_relaxed);
        replica.epoch = 0;
        if (mine) (void)meta_->CompareAndDelete(replica.leader_key, leader->mod_revision);
      }
      return Status::OK();
    }
    if (leader && leader->value == options_.id) {
      // This node's key, but the replica does not lead (a commit was
      // refused, or the key is from before a restart): resign, so that an
      // election runs again.
      replica.epoch = 0;
      auto resigned = meta_->CompareAndDelete(replica.leader_key, leader->mod_revision);
      return resigned.status().code() == StatusCode::kConflict ? Status::OK() : resigned.status();
    }
    if (leader) {
      replica.vacant_since.reset();
      return Status::OK();
    }
    const auto now = std::chrono::steady_clock::now();
    if (!replica.vacant_since) replica.vacant_since = now;
    if (now - *replica.vacant_since < static_cast<int64_t>(replica.rank.load()) * kLeaderPoll)
      return Status::OK();
    if (!may_run || !replica.caught_up || !announced_ || !LeaseValid() || !health.ok())
      return Status::OK();
    auto won = meta_->CompareAndPut(replica.leader_key, options_.id, 0, lease_);
    if (won.status().code() == StatusCode::kConflict) return Status::OK();  // another was first
    QV_RETURN_IF_ERROR(won.status());
    Status led = replica.shard->Lead({replica.leader_key, *won});
    if (!led.ok()) {
      (void)meta_->CompareAndDelete(replica.leader_key, *won);
      return led;
    }
    replica.epoch = *won;
    leaderships_.fetch_add(1, std::memory_order_relaxed);
    log::Get("cluster").info("node {}: leads shard {} (epoch {})", options_.id,
                             replica.id.ToString(), *won);
    return Status::OK();
  }

  void BuildIndexes() {
    while (!stopping_) {
      std::vector<std::shared_ptr<Shard>> shards;
      {
        MutexLock lock(&mu_);
        for (const auto& [key, replica] : replicas_) shards.push_back(replica->shard);
      }
      bool built = false;
      for (const auto& shard : shards) {
        auto one = shard->BuildNextIndex(&stopping_);
        built = built || (one.ok() && *one);
      }
      if (!built) std::this_thread::sleep_for(200ms);
    }
  }

  // A closed replica's local files go: its shard's objects and stream hold
  // everything, for a replica placed elsewhere.
  void Discard(const Replica& replica) {
    Status removed = fs_->RemoveAll(ReplicaDir(replica.table_id, replica.id.shard));
    if (!removed.ok()) {
      log::Get("cluster").warn("node {}: leftovers of replica {}: {}", options_.id,
                               replica.id.ToString(), removed.ToString());
    }
  }

  // A dropped table's shard objects and manifest, removed by the node whose
  // replica led the shard last (no one reads them any more).
  void DiscardObjects(uint64_t table_id, uint32_t shard) {
    Status removed = DeletePrefix(objects_.get(), ShardObjectPrefix(table_id, shard) + "/");
    if (auto gone = meta_->Delete(ManifestKey(table_id, shard)); !gone.ok() && removed.ok())
      removed = gone.status();
    if (!removed.ok()) {
      log::Get("cluster").warn("node {}: leftovers of shard {} of dropped table {}: {}",
                               options_.id, shard, table_id, removed.ToString());
    }
  }

  std::string ReplicaDir(uint64_t table_id, uint32_t shard) const {
    return JoinPath(options_.data_dir, ShardObjectPrefix(table_id, shard));  // the same layout
  }

  void Close(Replica& replica) {
    replica.stop = true;
    if (replica.applier.joinable()) replica.applier.join();
    if (replica.epoch != 0) {
      // Hands the shard over at once rather than when this node's lease ends.
      replica.shard->StepDown();
      (void)meta_->CompareAndDelete(replica.leader_key, replica.epoch);
    }
  }

  std::vector<ReplicaReport> Reports() const {
    std::vector<ReplicaReport> out;
    MutexLock lock(&mu_);
    for (const auto& [key, replica] : replicas_) {
      const bool leading = replica->shard->Leading();
      out.push_back({replica->id, replica->caught_up, replica->shared, leading && LeaseValid(),
                     leading && !LeaseValid(), replica->shard->ManifestRevision(),
                     replica->shard->Stats()});
    }
    return out;
  }

  const NodeOptions options_;
  std::unique_ptr<FileSystem> fs_;
  std::unique_ptr<MetaStore> meta_;
  std::shared_ptr<NatsClient> nats_;
  std::unique_ptr<ObjectStore> objects_;  // null: replicas keep their files locally
  ReplicaRegistry registry_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> grpc_;
  std::string grpc_address_;
  httplib::Server http_;
  std::string http_url_;
  std::thread http_thread_;
  std::atomic<LeaseId> lease_{0};
  std::atomic<uint64_t> maintenance_failures_{0};  // seals and compactions that failed
  std::atomic<uint64_t> reloads_{0};               // replicas reloaded after diverging
  std::atomic<uint64_t> leaderships_{0};           // shard leaderships won
  std::atomic<uint64_t> step_downs_{0};            // ... given up (lease or key lost, unhealthy)
  std::atomic<bool> stopping_{false};
  std::atomic<bool> announced_{false};
  std::atomic<std::chrono::steady_clock::rep> lease_valid_until_{0};
  std::atomic<bool> placed_{false};  // the catalog and placements were read once
  std::atomic<size_t> wanted_{0};    // replicas placed on this node
  bool incomplete_ = false;          // the last Reconcile left some unopened (watcher thread only)
  // Shards whose replica here led when it closed: their objects go when the
  // table is dropped (watcher thread only).
  std::set<std::pair<uint64_t, uint32_t>> led_closed_;
  std::thread keeper_, watcher_, indexer_;
  mutable Mutex mu_;
  std::map<std::pair<uint64_t, uint32_t>, std::unique_ptr<Replica>> replicas_ GUARDED_BY(mu_);
};

}  // namespace

Result<std::unique_ptr<Node>> Node::Start(NodeOptions options) {
  if (options.id.empty()) return Status::InvalidArgument("a node needs an id (--id)");
  auto node = std::make_unique<NodeImpl>(std::move(options));
  QV_RETURN_IF_ERROR(node->Init());
  return std::unique_ptr<Node>(std::move(node));
}

}  // namespace quiver::cluster
