#include "cluster/dispatcher.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "catalog/catalog.h"
#include "cluster/cluster_view.h"
#include "cluster/coordinator.h"
#include "cluster/etcd_meta_store.h"
#include "cluster/grpc_channel.h"
#include "cluster/layout.h"
#include "cluster/nats_log.h"
#include "common/log.h"
#include "common/mutex.h"
#include "common/names.h"
#include "engine/table.h"

namespace quiver::cluster {
namespace {

using namespace std::chrono_literals;

// Catalog limits, as standalone (engine/engine.h).
constexpr size_t kMaxDatabases = 1024;
constexpr size_t kMaxTablesPerDatabase = 1024;

Status DatabaseNotFound(const std::string& db) {
  return Status::NotFound("database '" + db + "' is not loaded");
}

Status TableNotFound(const std::string& db, const std::string& table) {
  return Status::NotFound("table '" + table + "' does not exist in database '" + db + "'");
}

class Dispatcher final : public ClusterService {
 public:
  explicit Dispatcher(DispatcherOptions options) : options_(std::move(options)) {}

  ~Dispatcher() override {
    stopping_ = true;
    if (watcher_.joinable()) watcher_.join();
    coordinator_.reset();  // gives the role up at once
  }

  Status Init() {
    meta_ = NewEtcdMetaStore({options_.etcd, EtcdPrefix(options_.cluster), options_.deadline});
    QV_ASSIGN_OR_RETURN(nats_, ConnectNats({options_.nats, options_.id, options_.deadline}));
    coordinator_ = std::make_unique<Coordinator>(meta_.get(), options_.id, options_.lease_ttl);
    watcher_ = std::thread([this] { Watch(); });
    return Status::OK();
  }

  bool Ready() const override { return ready_; }
  bool IsCoordinator() const override { return coordinator_ && coordinator_->IsCoordinator(); }

  // --- Databases -----------------------------------------------------------

  Result<bool> LoadDatabase(const std::string& name, const LoadOptions& options) override {
    QV_RETURN_IF_ERROR(ValidateName("database", name));
    bool created = false;
    QV_RETURN_IF_ERROR(Mutate([&](CatalogState* state) -> Status {
      DatabaseEntry* entry = state->FindDatabase(name);
      created = entry == nullptr;
      if (!created) {
        entry->loaded = true;
        return Status::OK();
      }
      if (state->databases.size() >= kMaxDatabases) {
        return Status::InvalidArgument("the cluster has " +
                                       std::to_string(state->databases.size()) +
                                       " databases, the most allowed; drop one first");
      }
      DatabaseEntry db;
      db.id = state->next_id++;
      db.name = name;
      db.client_path = options.client_path;
      db.vector_scale = options.vector_scale;
      db.wal_requested = options.wal_enabled;
      state->databases.push_back(std::move(db));
      return Status::OK();
    }));
    return created;
  }

  Status UnloadDatabase(const std::string& name) override {
    return Mutate([&](CatalogState* state) -> Status {
      DatabaseEntry* entry = state->FindDatabase(name);
      if (entry == nullptr || !entry->loaded) return DatabaseNotFound(name);
      entry->loaded = false;
      return Status::OK();
    });
  }

  Status DropDatabase(const std::string& name) override {
    std::vector<TableEntry> dropped;
    QV_RETURN_IF_ERROR(Mutate([&](CatalogState* state) -> Status {
      auto it = std::find_if(state->databases.begin(), state->databases.end(),
                             [&](const DatabaseEntry& db) { return db.name == name; });
      if (it == state->databases.end())
        return Status::NotFound("database '" + name + "' does not exist");
      dropped = it->tables;
      state->databases.erase(it);
      return Status::OK();
    }));
    for (const TableEntry& table : dropped) Forget(table);
    return Status::OK();
  }

  std::vector<std::string> ListDatabases() const override {
    MutexLock lock(&mu_);
    std::vector<std::string> names;
    for (const auto& db : catalog_.databases) {
      if (db.loaded) names.push_back(db.name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // --- Tables --------------------------------------------------------------

  Status CreateTable(const std::string& db, TableSchema schema, int64_t shards,
                     int64_t replicas) override {
    QV_RETURN_IF_ERROR(ValidateAndNormalize(&schema));
    if (shards < 1 || shards > kMaxShards) {
      return Status::InvalidArgument("shards must be between 1 and " + std::to_string(kMaxShards) +
                                     ", not " + std::to_string(shards));
    }
    const std::vector<std::string> nodes = LiveNodes();
    // The default fits the cluster; an explicit count must.
    if (replicas == 0)
      replicas = std::min<int64_t>(options_.replicas, std::max<size_t>(nodes.size(), 1));
    if (replicas < 1 || replicas > static_cast<int64_t>(std::max<size_t>(nodes.size(), 1))) {
      return Status::InvalidArgument("replicas must be between 1 and the cluster's " +
                                     std::to_string(nodes.size()) + " live nodes, not " +
                                     std::to_string(replicas));
    }
    if (nodes.empty()) return Status::Unavailable("the cluster has no live node to place it on");
    if (!CheckNewTable(CatalogSnapshot(), db, schema.name).ok()) {
      // Maybe only this dispatcher's copy is behind (a drop elsewhere).
      QV_RETURN_IF_ERROR(ReadAgain());
      QV_RETURN_IF_ERROR(CheckNewTable(CatalogSnapshot(), db, schema.name));
    }
    // An id of its own first (ids are never reused), so its streams and
    // placement exist before the catalog names the table.
    uint64_t id = 0;
    QV_RETURN_IF_ERROR(Mutate([&](CatalogState* state) -> Status {
      QV_RETURN_IF_ERROR(CheckNewTable(*state, db, schema.name));
      id = state->next_id++;
      return Status::OK();
    }));
    for (uint32_t s = 0; s < static_cast<uint32_t>(shards); ++s) {
      QV_RETURN_IF_ERROR(OpenNatsLog(nats_, {StreamName(options_.cluster, id, s), StreamReplicas()})
                             .status()
                             .WithContext("creating the stream of shard " + std::to_string(s)));
    }
    const Placement placement =
        Place(id, static_cast<uint32_t>(shards), static_cast<uint32_t>(replicas), nodes);
    QV_RETURN_IF_ERROR(meta_->Put(PlacementKey(id), EncodePlacement(placement)).status());
    {
      MutexLock lock(&mu_);  // this dispatcher serves the table at once
      placements_[id] = placement;
    }
    return Mutate([&](CatalogState* state) -> Status {
      QV_RETURN_IF_ERROR(CheckNewTable(*state, db, schema.name));
      state->FindDatabase(db)->tables.push_back(
          {id, schema, SlotMap::Even(static_cast<uint32_t>(shards))});
      return Status::OK();
    });
  }

  Status DropTable(const std::string& db, const std::string& table) override {
    TableEntry dropped;
    QV_RETURN_IF_ERROR(Mutate([&](CatalogState* state) -> Status {
      DatabaseEntry* entry = state->FindDatabase(db);
      if (entry == nullptr || !entry->loaded) return DatabaseNotFound(db);
      auto it = std::find_if(entry->tables.begin(), entry->tables.end(),
                             [&](const TableEntry& t) { return t.schema.name == table; });
      if (it == entry->tables.end()) return TableNotFound(db, table);
      dropped = *it;
      entry->tables.erase(it);
      return Status::OK();
    }));
    Forget(dropped);
    return Status::OK();
  }

  Result<std::vector<std::string>> ListTables(const std::string& db) const override {
    {
      MutexLock lock(&mu_);
      const DatabaseEntry* entry = catalog_.FindDatabase(db);
      if (entry == nullptr || !entry->loaded) {
        lock.Unlock();
        (void)ReadAgain();  // another dispatcher's new database?
      }
    }
    MutexLock lock(&mu_);
    const DatabaseEntry* entry = catalog_.FindDatabase(db);
    if (entry == nullptr || !entry->loaded) return DatabaseNotFound(db);
    std::vector<std::string> names;
    for (const auto& t : entry->tables) names.push_back(t.schema.name);
    return names;
  }

  Result<TableInfo> DescribeTable(const std::string& db, const std::string& table) const override {
    QV_ASSIGN_OR_RETURN(auto found, FindTable(db, table));
    QV_ASSIGN_OR_RETURN(TableStats stats, found->Stats());
    return TableInfo{found->schema(), std::move(stats), found->Health()};
  }

  Result<std::vector<TableStatistics>> Statistics(const std::string& db) const override {
    QV_ASSIGN_OR_RETURN(auto names, ListTables(db));
    std::vector<TableStatistics> out;
    for (const auto& name : names) {
      auto table = FindTable(db, name);
      if (!table.ok()) continue;  // dropped meanwhile
      QV_ASSIGN_OR_RETURN(TableStats stats, (*table)->Stats());
      out.push_back({name, std::move(stats), (*table)->Health()});
    }
    return out;
  }

  std::vector<TableStatistics> AllStatistics() const override {
    std::vector<TableStatistics> out;
    for (const auto& db : ListDatabases()) {
      auto stats = Statistics(db);
      if (!stats.ok()) continue;
      for (auto& s : *stats) {
        s.database = db;
        out.push_back(std::move(s));
      }
    }
    return out;
  }

  Result<std::shared_ptr<Collection>> FindCollection(const std::string& db,
                                                     const std::string& table) const override {
    QV_ASSIGN_OR_RETURN(auto found, FindTable(db, table));
    return std::shared_ptr<Collection>(std::move(found));
  }

  // Every replica of every table seals and builds its missing indexes.
  Status Rebuild() override {
    for (const auto& db : ListDatabases()) {
      QV_ASSIGN_OR_RETURN(auto names, ListTables(db));
      for (const auto& name : names) {
        auto table = FindTable(db, name);
        if (!table.ok()) continue;  // dropped meanwhile
        for (size_t s = 0; s < (*table)->shard_count(); ++s) {
          auto* remote = dynamic_cast<RemoteShard*>(&(*table)->client(s));
          if (remote != nullptr) QV_RETURN_IF_ERROR(remote->Rebuild());
        }
      }
    }
    return Status::OK();
  }

  Result<std::string> DescribeCluster() const override {
    nlohmann::json state = ClusterState();
    // The dispatcher that answers, and whether it holds the coordinator role.
    state["dispatcher"] = {{"id", options_.id}, {"coordinator", IsCoordinator()}};
    return state.dump();
  }

  std::string ClusterMetrics() const override {
    return ClusterMetricsText(
        {IsCoordinator(), coordinator_ ? coordinator_->ReplicasPlaced() : 0, failovers_->load()},
        ClusterState());
  }

 private:
  nlohmann::json ClusterState() const {
    CatalogState catalog;
    std::map<std::string, NodeInfo> nodes;
    std::map<uint64_t, Placement> placements;
    {
      MutexLock lock(&mu_);
      catalog = catalog_;
      nodes = nodes_;
      placements = placements_;
    }
    nlohmann::json state = DescribeClusterState(
        catalog, nodes, placements,
        [this](uint64_t table_id, uint32_t shard) -> std::optional<Lsn> {
          auto log = OpenNatsLog(nats_, Existing(StreamName(options_.cluster, table_id, shard)));
          if (!log.ok()) return std::nullopt;
          return (*log)->LastLsn();
        });
    return state;
  }

  int StreamReplicas() const {
    if (options_.stream_replicas > 0) return options_.stream_replicas;
    const int servers =
        1 + static_cast<int>(std::count(options_.nats.begin(), options_.nats.end(), ','));
    return std::min(servers, 3);
  }

  // A stream its table's creator made (a dropped table's is not made again).
  static NatsLogOptions Existing(const std::string& stream) {
    NatsLogOptions options{stream};
    options.create = false;
    return options;
  }

  static Status CheckNewTable(const CatalogState& state, const std::string& db,
                              const std::string& name) {
    const DatabaseEntry* entry = state.FindDatabase(db);
    if (entry == nullptr || !entry->loaded) return DatabaseNotFound(db);
    for (const auto& t : entry->tables) {
      if (t.schema.name == name) {
        return Status::AlreadyExists("table '" + name + "' already exists in database '" + db +
                                     "'");
      }
    }
    if (entry->tables.size() >= kMaxTablesPerDatabase) {
      return Status::InvalidArgument("database '" + db + "' has " +
                                     std::to_string(entry->tables.size()) +
                                     " tables, the most allowed; drop one first");
    }
    return Status::OK();
  }

  CatalogState CatalogSnapshot() const {
    MutexLock lock(&mu_);
    return catalog_;
  }

  std::vector<std::string> LiveNodes() const {
    MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const auto& [id, node] : nodes_) out.push_back(id);
    return out;
  }

  // Reads the catalog, changes it with `change`, and writes it back if no
  // one else changed it meanwhile (else again, from what they wrote).
  template <class Change>
  Status Mutate(Change change) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      QV_ASSIGN_OR_RETURN(auto stored, meta_->Get(kCatalogKey));
      CatalogState state;
      Revision revision = 0;
      if (stored) {
        QV_ASSIGN_OR_RETURN(state, DecodeCatalog(stored->value));
        revision = stored->mod_revision;
      }
      QV_RETURN_IF_ERROR(change(&state));
      auto written = meta_->CompareAndPut(kCatalogKey, EncodeCatalog(state), revision);
      if (written.ok()) {
        Install(std::move(state), *written);
        return Status::OK();
      }
      if (written.status().code() != StatusCode::kConflict) return written.status();
    }
    return Status::Unavailable("the catalog changed under every attempt to change it; try again");
  }

  void Install(CatalogState state, Revision revision) const {
    MutexLock lock(&mu_);
    if (revision <= catalog_revision_) return;
    catalog_ = std::move(state);
    catalog_revision_ = revision;
    tables_.clear();
  }

  // After a table left the catalog: its placement and streams go.
  void Forget(const TableEntry& table) {
    (void)meta_->Delete(PlacementKey(table.id));
    for (uint32_t s = 0; s < table.slots.shards(); ++s) {
      Status deleted = DeleteNatsStream(*nats_, StreamName(options_.cluster, table.id, s));
      if (!deleted.ok())
        log::Get("cluster").warn("dispatcher {}: {}", options_.id, deleted.ToString());
    }
  }

  // The table; on a miss the catalog and placement are read from etcd once
  // more, so a table another dispatcher just created is found at once.
  Result<std::shared_ptr<Table>> FindTable(const std::string& db, const std::string& name) const {
    auto found = FindCachedTable(db, name);
    if (found.ok() || (found.status().code() != StatusCode::kNotFound &&
                       found.status().code() != StatusCode::kUnavailable)) {
      return found;
    }
    if (!ReadAgain().ok()) return found;
    return FindCachedTable(db, name);
  }

  // Reads the catalog and every placement from etcd now (the watch brings
  // the same a moment later).
  Status ReadAgain() const {
    QV_ASSIGN_OR_RETURN(auto stored, meta_->Get(kCatalogKey));
    if (stored) {
      QV_ASSIGN_OR_RETURN(CatalogState state, DecodeCatalog(stored->value));
      Install(std::move(state), stored->mod_revision);
    }
    QV_ASSIGN_OR_RETURN(KeyListing placements, meta_->List(kPlacementPrefix));
    MutexLock lock(&mu_);
    for (const KeyValue& kv : placements.kvs) {
      const auto id = PlacementTableId(kv.key);
      auto placement = DecodePlacement(kv.value);
      if (id && placement.ok() && !placements_.contains(*id)) {
        placements_[*id] = std::move(*placement);
      }
    }
    return Status::OK();
  }

  Result<std::shared_ptr<Table>> FindCachedTable(const std::string& db,
                                                 const std::string& name) const {
    MutexLock lock(&mu_);
    const DatabaseEntry* entry = catalog_.FindDatabase(db);
    if (entry == nullptr || !entry->loaded) return DatabaseNotFound(db);
    const TableEntry* table = nullptr;
    for (const auto& t : entry->tables) {
      if (t.schema.name == name) table = &t;
    }
    if (table == nullptr) return TableNotFound(db, name);
    if (auto cached = tables_.find(table->id); cached != tables_.end()) return cached->second;
    auto placement = placements_.find(table->id);
    if (placement == placements_.end())
      return Status::Unavailable("table '" + name + "' is not placed on any node yet");
    std::vector<std::shared_ptr<ShardClient>> clients;
    for (uint32_t s = 0; s < table->slots.shards(); ++s) {
      const std::string stream = StreamName(options_.cluster, table->id, s);
      auto log = logs_.find(stream);
      if (log == logs_.end()) {
        QV_ASSIGN_OR_RETURN(auto opened, OpenNatsLog(nats_, Existing(stream)));
        log = logs_.emplace(stream, std::shared_ptr<Log>(std::move(opened))).first;
      }
      std::vector<std::shared_ptr<grpc::Channel>> channels;
      if (s < placement->second.shards.size()) {
        for (const auto& node : placement->second.shards[s]) {
          auto info = nodes_.find(node);
          if (info == nodes_.end()) continue;  // dead: the coordinator places it again
          auto channel = channels_.find(info->second.grpc);
          if (channel == channels_.end()) {
            channel =
                channels_
                    .emplace(info->second.grpc, NewPeerChannel(info->second.grpc, /*probe=*/true))
                    .first;
          }
          channels.push_back(channel->second);
        }
      }
      clients.push_back(std::make_shared<RemoteShard>(
          table->schema, ShardId{db, name, s, table->id}, log->second, channels,
          RemoteShardOptions{options_.request_deadline, options_.bounded_staleness, failovers_}));
    }
    QV_ASSIGN_OR_RETURN(auto remote,
                        Table::Remote(table->schema, table->slots, std::move(clients)));
    std::shared_ptr<Table> shared = std::move(remote);
    tables_[table->id] = shared;
    return shared;
  }

  // Follows the catalog, the nodes and the placements; runs for the
  // coordinator role and, while holding it, places replicas.
  void Watch() {
    ResumingWatch catalog(meta_.get(), kCatalogKey);
    ResumingWatch nodes(meta_.get(), kNodesPrefix);
    ResumingWatch placements(meta_.get(), kPlacementPrefix);
    bool known[3] = {false, false, false};
    log::Repeats repeats;
    while (!stopping_) {
      bool changed = false;
      int i = 0;
      for (auto* watch : {&catalog, &nodes, &placements}) {
        auto events = watch->Next(50ms);
        if (repeats.NewFailure(events.status()))
          log::Get("cluster").warn("dispatcher {}: {}", options_.id, events.status().ToString());
        if (!events.ok()) {
          std::this_thread::sleep_for(100ms);
        } else {
          known[i] = true;
          changed = changed || !events->empty();
        }
        ++i;
      }
      if (changed) Refresh(catalog.keys(), nodes.keys(), placements.keys());
      if (known[0] && known[1] && known[2]) ready_ = true;
      coordinator_->Tick(changed, ready_, [this] {
        MutexLock lock(&mu_);
        return Coordinator::View{catalog_, nodes_, placements_};
      });
    }
  }

  void Refresh(const std::map<std::string, KeyValue>& catalog,
               const std::map<std::string, KeyValue>& nodes,
               const std::map<std::string, KeyValue>& placements) {
    std::map<std::string, NodeInfo> live;
    for (const auto& [key, kv] : nodes) {
      const std::string id = key.substr(std::string(kNodesPrefix).size());
      auto node = DecodeNode(id, kv.value);
      if (node.ok()) live[id] = std::move(*node);
    }
    std::map<uint64_t, Placement> placed;
    for (const auto& [key, kv] : placements) {
      const auto id = PlacementTableId(key);
      auto placement = DecodePlacement(kv.value);
      if (id && placement.ok()) placed[*id] = std::move(*placement);
    }
    auto it = catalog.find(kCatalogKey);
    MutexLock lock(&mu_);
    if (it != catalog.end() && it->second.mod_revision > catalog_revision_) {
      auto decoded = DecodeCatalog(it->second.value);
      if (decoded.ok()) {
        catalog_ = std::move(*decoded);
        catalog_revision_ = it->second.mod_revision;
      } else {
        log::Get("cluster").error("dispatcher {}: the catalog: {}", options_.id,
                                  decoded.status().ToString());
      }
    }
    nodes_ = std::move(live);
    placements_ = std::move(placed);
    tables_.clear();  // rebuilt with the replicas where they are now
  }

  const DispatcherOptions options_;
  std::unique_ptr<MetaStore> meta_;
  std::shared_ptr<NatsClient> nats_;
  std::thread watcher_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ready_{false};
  std::unique_ptr<Coordinator> coordinator_;  // driven by the watcher thread
  const std::shared_ptr<std::atomic<uint64_t>> failovers_ =
      std::make_shared<std::atomic<uint64_t>>(0);

  mutable Mutex mu_;
  // Mutable: a read that misses refreshes them (ReadAgain).
  mutable CatalogState catalog_ GUARDED_BY(mu_);
  mutable Revision catalog_revision_ GUARDED_BY(mu_) = 0;
  std::map<std::string, NodeInfo> nodes_ GUARDED_BY(mu_);
  mutable std::map<uint64_t, Placement> placements_ GUARDED_BY(mu_);
  // Built on first use, dropped whenever the catalog, nodes or placements change.
  mutable std::map<uint64_t, std::shared_ptr<Table>> tables_ GUARDED_BY(mu_);
  mutable std::map<std::string, std::shared_ptr<Log>> logs_ GUARDED_BY(mu_);
  mutable std::map<std::string, std::shared_ptr<grpc::Channel>> channels_ GUARDED_BY(mu_);
};

}  // namespace

Result<std::unique_ptr<ClusterService>> ClusterService::Start(DispatcherOptions options) {
  if (options.id.empty()) return Status::InvalidArgument("a dispatcher needs an id (--id)");
  auto dispatcher = std::make_unique<Dispatcher>(std::move(options));
  QV_RETURN_IF_ERROR(dispatcher->Init());
  return std::unique_ptr<ClusterService>(std::move(dispatcher));
}

}  // namespace quiver::cluster
