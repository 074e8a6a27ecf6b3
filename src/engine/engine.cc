#include "engine/engine.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <set>

#include "common/crash_point.h"
#include "common/log.h"
#include "common/names.h"

namespace quiver {
namespace {

bool ParseId(std::string_view name, uint64_t* id) {
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), *id);
  return ec == std::errc() && ptr == name.data() + name.size();
}

Status DatabaseNotFound(const std::string& db) {
  return Status::NotFound("database '" + db + "' is not loaded");
}

}  // namespace

Engine::Engine(std::unique_ptr<FileSystem> fs, EngineOptions options)
    : fs_(std::move(fs)), options_(std::move(options)) {}

Result<std::unique_ptr<Engine>> Engine::Open(std::unique_ptr<FileSystem> fs,
                                             EngineOptions options) {
  std::unique_ptr<Engine> engine(new Engine(std::move(fs), std::move(options)));
  QV_RETURN_IF_ERROR(engine->Start());
  if (engine->options_.maintenance_interval.count() > 0) {
    engine->maintenance_ = std::thread([e = engine.get()] { e->MaintenanceLoop(); });
  }
  for (size_t i = 0; i < engine->options_.index_threads; ++i)
    engine->indexers_.emplace_back([e = engine.get()] { e->IndexLoop(); });
  return engine;
}

Engine::~Engine() {
  {
    MutexLock lock(&stop_mu_);
    stopping_ = true;
  }
  stop_builds_ = true;
  stop_cv_.SignalAll();
  index_cv_.SignalAll();
  built_cv_.SignalAll();
  if (maintenance_.joinable()) maintenance_.join();
  for (auto& t : indexers_) t.join();
}

// The index rebuilder: builds missing indexes table after table, one per
// thread at a time, at a lower CPU priority than queries and writes.
void Engine::IndexLoop() {
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10) != 0)
    log::Get("engine").debug("index rebuilder: could not lower its priority");
  MutexLock lock(&stop_mu_);
  while (!stopping_) {
    lock.Unlock();
    bool worked = false;
    for (const auto& table : AllTables()) {
      if (stop_builds_) break;
      auto built = table->BuildNextIndex(&stop_builds_);
      if (!built.ok() && !stop_builds_)
        log::Get("engine").warn("index rebuilder: {}", built.status().ToString());
      worked = worked || !built.ok() || *built;
    }
    lock.Lock();
    built_cv_.SignalAll();
    if (!worked) index_cv_.WaitFor(&stop_mu_, std::chrono::milliseconds(500));
  }
}

Status Engine::Rebuild() {
  QV_RETURN_IF_ERROR(SealAll());
  if (indexers_.empty()) {
    for (const auto& table : AllTables()) QV_RETURN_IF_ERROR(table->BuildAllIndexes());
  } else {
    MutexLock lock(&stop_mu_);
    index_cv_.SignalAll();
    while (!stopping_) {
      lock.Unlock();
      size_t pending = 0;
      for (const auto& table : AllTables()) pending += table->PendingIndexes();
      lock.Lock();
      if (pending == 0) break;
      built_cv_.WaitFor(&stop_mu_, std::chrono::milliseconds(100));
    }
    if (stopping_) return Status::Unavailable("the server is stopping");
  }
  for (const auto& table : AllTables()) {
    QV_ASSIGN_OR_RETURN(TableStats stats, table->Stats());
    for (const FieldIndexStats& field : stats.indexes) {
      if (!field.error.empty()) {
        return Status::Internal("table '" + table->schema().name + "' field '" + field.field +
                                "': " + field.error);
      }
    }
  }
  return Status::OK();
}

void Engine::MaintenanceLoop() {
  MutexLock lock(&stop_mu_);
  while (true) {
    const auto deadline = std::chrono::steady_clock::now() + options_.maintenance_interval;
    for (auto now = std::chrono::steady_clock::now(); !stopping_ && now < deadline;
         now = std::chrono::steady_clock::now()) {
      stop_cv_.WaitFor(&stop_mu_, deadline - now);
    }
    if (stopping_) return;
    lock.Unlock();
    MaintainOnce();
    lock.Lock();
  }
}

std::vector<std::shared_ptr<Table>> Engine::AllTables() const {
  ReaderLock lock(&mu_);
  std::vector<std::shared_ptr<Table>> tables;
  for (const auto& [name, db] : open_) {
    for (const auto& [table_name, table] : db.tables) tables.push_back(table);
  }
  return tables;
}

void Engine::MaintainOnce() {
  const auto tables = AllTables();
  std::erase_if(maintenance_errors_, [&](const auto& entry) {
    return std::none_of(tables.begin(), tables.end(),
                        [&](const auto& t) { return t.get() == entry.first.first; });
  });
  for (const auto& table : tables) {
    ReportMaintenance(*table, "sealing", table->MaybeSeal());
    ReportMaintenance(*table, "compacting", table->Compact());
  }
  index_cv_.SignalAll();  // sealed or compacted segments want indexes
}

void Engine::ReportMaintenance(const Table& table, const std::string& what, const Status& status) {
  const auto key = std::make_pair(&table, what);
  auto last = maintenance_errors_.find(key);
  if (status.ok()) {
    if (last == maintenance_errors_.end()) return;
    log::Get("engine").info("maintenance: {} table {} works again", what, table.schema().name);
    maintenance_errors_.erase(last);
    return;
  }
  const std::string message = status.ToString();
  if (last != maintenance_errors_.end() && last->second == message) return;  // logged already
  log::Get("engine").warn("maintenance: {} table {} failed: {} (logged again only if it changes)",
                          what, table.schema().name, message);
  maintenance_errors_[key] = message;
}

Status Engine::SealAll() {
  for (const auto& table : AllTables()) QV_RETURN_IF_ERROR(table->Seal());
  index_cv_.SignalAll();
  return Status::OK();
}

std::string Engine::DatabaseDir(uint64_t db_id) const {
  return JoinPath(JoinPath(options_.data_dir, "dbs"), std::to_string(db_id));
}

std::string Engine::TableDir(uint64_t db_id, uint64_t table_id) const {
  return JoinPath(DatabaseDir(db_id), std::to_string(table_id));
}

Status Engine::Start() {
  WriterLock lock(&mu_);  // nothing else runs yet; this satisfies the analysis
  QV_RETURN_IF_ERROR(fs_->CreateDirs(JoinPath(options_.data_dir, "dbs")));
  QV_ASSIGN_OR_RETURN(dir_lock_, fs_->Lock(JoinPath(options_.data_dir, "LOCK")));
  PausePoint("engine.before_recovery");
  const std::string meta_dir = JoinPath(options_.data_dir, "meta");
  QV_RETURN_IF_ERROR(fs_->CreateDirs(meta_dir));
  QV_ASSIGN_OR_RETURN(auto meta_files, fs_->ListDir(meta_dir));
  for (const auto& name : meta_files) {
    if (name.ends_with(kTempSuffix)) {
      log::Get("engine").info("removing stale temporary file {}", JoinPath(meta_dir, name));
      QV_RETURN_IF_ERROR(fs_->RemoveFile(JoinPath(meta_dir, name)));
    }
  }
  meta_ = NewLocalMetaStore(fs_.get(), meta_dir);
  QV_ASSIGN_OR_RETURN(Catalog catalog, Catalog::Load(meta_.get()));
  catalog_ = std::make_unique<Catalog>(std::move(catalog));
  QV_RETURN_IF_ERROR(RemoveOrphans());
  for (const auto& db : catalog_->state().databases) {
    if (!db.loaded) continue;
    QV_ASSIGN_OR_RETURN(OpenDatabase open, OpenDatabaseFiles(db));
    open_.emplace(db.name, std::move(open));
  }
  log::Get("engine").info("engine: {} database(s) open from {}", open_.size(), options_.data_dir);
  return Status::OK();
}

// Directories left by a create or drop that crashed before its catalog
// commit (create) or after it (drop) belong to no catalog entry.
Status Engine::RemoveOrphans() {
  const std::string dbs_dir = JoinPath(options_.data_dir, "dbs");
  std::map<uint64_t, std::set<uint64_t>> known;
  for (const auto& db : catalog_->state().databases) {
    auto& tables = known[db.id];
    for (const auto& t : db.tables) tables.insert(t.id);
  }
  QV_ASSIGN_OR_RETURN(auto db_dirs, fs_->ListDir(dbs_dir));
  for (const auto& name : db_dirs) {
    uint64_t id;
    const std::string path = JoinPath(dbs_dir, name);
    if (!ParseId(name, &id) || !known.contains(id)) {
      log::Get("engine").info("removing orphaned database directory {}", path);
      QV_RETURN_IF_ERROR(fs_->RemoveAll(path));
      continue;
    }
    QV_ASSIGN_OR_RETURN(auto table_dirs, fs_->ListDir(path));
    for (const auto& tname : table_dirs) {
      uint64_t tid;
      if (!ParseId(tname, &tid) || !known[id].contains(tid)) {
        log::Get("engine").info("removing orphaned table directory {}", JoinPath(path, tname));
        QV_RETURN_IF_ERROR(fs_->RemoveAll(JoinPath(path, tname)));
      }
    }
  }
  return Status::OK();
}

Result<std::shared_ptr<Table>> Engine::OpenTable(const DatabaseEntry& db, const TableEntry& table) {
  TableOptions options = options_.table;
  if (options.object_store != nullptr) {
    // Each table's objects under its own prefix, named by ids like its directory.
    options.object_prefix = JoinPath(
        options.object_prefix, "dbs/" + std::to_string(db.id) + "/" + std::to_string(table.id));
  }
  auto opened =
      Table::Open(fs_.get(), TableDir(db.id, table.id), table.schema, options, table.slots);
  if (!opened.ok()) {
    return opened.status().WithContext("opening table '" + table.schema.name + "' of database '" +
                                       db.name + "'");
  }
  return std::shared_ptr<Table>(std::move(opened).value());
}

Result<Engine::OpenDatabase> Engine::OpenDatabaseFiles(const DatabaseEntry& db) {
  OpenDatabase open;
  QV_RETURN_IF_ERROR(fs_->CreateDirs(DatabaseDir(db.id)));
  for (const auto& table : db.tables) {
    QV_ASSIGN_OR_RETURN(auto opened, OpenTable(db, table));
    open.tables.emplace(table.schema.name, std::move(opened));
  }
  return open;
}

// Catalog changes: admin_mu_ keeps them one at a time, so the state read at
// the start is still current when the new one is installed; their file I/O
// (opening tables, replaying logs, the catalog write, removing directories)
// happens outside mu_, which is held only to read the state and to install
// the new one, so requests to other databases never wait for it.

CatalogState Engine::CatalogSnapshot() const {
  ReaderLock lock(&mu_);
  return catalog_->state();
}

Status Engine::InstallCatalog(CatalogState next) {
  Revision expected;
  {
    ReaderLock lock(&mu_);
    expected = catalog_->revision();
  }
  QV_ASSIGN_OR_RETURN(Revision revision, Catalog::Persist(meta_.get(), next, expected));
  WriterLock lock(&mu_);
  catalog_->Install(std::move(next), revision);
  return Status::OK();
}

Result<bool> Engine::LoadDatabase(const std::string& name, const LoadOptions& options) {
  QV_RETURN_IF_ERROR(ValidateName("database", name));
  MutexLock admin(&admin_mu_);
  {
    ReaderLock lock(&mu_);
    if (open_.contains(name)) return false;
  }
  CatalogState next = CatalogSnapshot();
  DatabaseEntry* entry = next.FindDatabase(name);
  const bool created = entry == nullptr;
  if (created && next.databases.size() >= kMaxDatabases) {
    return Status::InvalidArgument("the server has " + std::to_string(next.databases.size()) +
                                   " databases, the most allowed; drop one first");
  }
  if (created) {
    DatabaseEntry db;
    db.id = next.next_id++;
    db.name = name;
    db.client_path = options.client_path;
    db.vector_scale = options.vector_scale;
    db.wal_requested = options.wal_enabled;
    next.databases.push_back(std::move(db));
    entry = &next.databases.back();
    QV_RETURN_IF_ERROR(fs_->CreateDirs(DatabaseDir(entry->id)));
  }
  entry->loaded = true;
  QV_ASSIGN_OR_RETURN(OpenDatabase open, OpenDatabaseFiles(*entry));
  QV_RETURN_IF_ERROR(InstallCatalog(std::move(next)));
  WriterLock lock(&mu_);
  open_.emplace(name, std::move(open));
  return created;
}

Status Engine::UnloadDatabase(const std::string& name) {
  MutexLock admin(&admin_mu_);
  {
    ReaderLock lock(&mu_);
    if (!open_.contains(name)) return DatabaseNotFound(name);
  }
  CatalogState next = CatalogSnapshot();
  next.FindDatabase(name)->loaded = false;
  QV_RETURN_IF_ERROR(InstallCatalog(std::move(next)));
  OpenDatabase closing;  // its tables close outside the lock, once unreferenced
  {
    WriterLock lock(&mu_);
    auto it = open_.find(name);
    closing = std::move(it->second);
    open_.erase(it);
  }
  return Status::OK();
}

Status Engine::DropDatabase(const std::string& name) {
  MutexLock admin(&admin_mu_);
  CatalogState next = CatalogSnapshot();
  auto it = std::find_if(next.databases.begin(), next.databases.end(),
                         [&](const DatabaseEntry& db) { return db.name == name; });
  if (it == next.databases.end()) return Status::NotFound("database '" + name + "' does not exist");
  const uint64_t id = it->id;
  next.databases.erase(it);
  QV_RETURN_IF_ERROR(InstallCatalog(std::move(next)));
  OpenDatabase closing;
  {
    WriterLock lock(&mu_);
    if (auto open = open_.find(name); open != open_.end()) {
      closing = std::move(open->second);
      open_.erase(open);
    }
  }
  closing.tables.clear();
  // After the commit the directory is an orphan: a crash here is repaired at startup.
  return fs_->RemoveAll(DatabaseDir(id));
}

Status Engine::CreateTable(const std::string& db, TableSchema schema, int64_t shards,
                           int64_t replicas) {
  QV_RETURN_IF_ERROR(ValidateAndNormalize(&schema));
  if (replicas < 0 || replicas > 1) {
    return Status::InvalidArgument("replicas must be 1 on a standalone server, not " +
                                   std::to_string(replicas) + " (run a cluster for more)");
  }
  if (shards < 1 || shards > kMaxShards) {
    return Status::InvalidArgument("shards must be between 1 and " + std::to_string(kMaxShards) +
                                   ", not " + std::to_string(shards));
  }
  MutexLock admin(&admin_mu_);
  {
    ReaderLock lock(&mu_);
    auto open_it = open_.find(db);
    if (open_it == open_.end()) return DatabaseNotFound(db);
    if (open_it->second.tables.contains(schema.name)) {
      return Status::AlreadyExists("table '" + schema.name + "' already exists in database '" + db +
                                   "'");
    }
    if (open_it->second.tables.size() >= kMaxTablesPerDatabase) {
      return Status::InvalidArgument("database '" + db + "' has " +
                                     std::to_string(open_it->second.tables.size()) +
                                     " tables, the most allowed; drop one first");
    }
  }
  CatalogState next = CatalogSnapshot();
  DatabaseEntry* entry = next.FindDatabase(db);
  TableEntry table{next.next_id++, schema, SlotMap::Even(static_cast<uint32_t>(shards))};
  // The directory exists before the catalog names it; a crash in between
  // leaves an orphan that startup removes.
  QV_ASSIGN_OR_RETURN(auto opened, OpenTable(*entry, table));
  entry->tables.push_back(table);
  QV_RETURN_IF_ERROR(InstallCatalog(std::move(next)));
  WriterLock lock(&mu_);
  open_[db].tables.emplace(schema.name, std::move(opened));
  return Status::OK();
}

Status Engine::DropTable(const std::string& db, const std::string& table) {
  MutexLock admin(&admin_mu_);
  {
    ReaderLock lock(&mu_);
    auto open_it = open_.find(db);
    if (open_it == open_.end()) return DatabaseNotFound(db);
    if (!open_it->second.tables.contains(table)) {
      return Status::NotFound("table '" + table + "' does not exist in database '" + db + "'");
    }
  }
  CatalogState next = CatalogSnapshot();
  DatabaseEntry* entry = next.FindDatabase(db);
  auto it = std::find_if(entry->tables.begin(), entry->tables.end(),
                         [&](const TableEntry& t) { return t.schema.name == table; });
  const uint64_t table_id = it->id;
  entry->tables.erase(it);
  const uint64_t db_id = entry->id;
  QV_RETURN_IF_ERROR(InstallCatalog(std::move(next)));
  std::shared_ptr<Table> closing;
  {
    WriterLock lock(&mu_);
    auto& tables = open_[db].tables;
    closing = std::move(tables[table]);
    tables.erase(table);
  }
  closing.reset();
  return fs_->RemoveAll(TableDir(db_id, table_id));
}

Result<const Engine::OpenDatabase*> Engine::FindOpen(const std::string& db) const {
  auto it = open_.find(db);
  if (it == open_.end()) return DatabaseNotFound(db);
  return &it->second;
}

std::vector<std::string> Engine::ListDatabases() const {
  ReaderLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, unused] : open_) names.push_back(name);
  return names;
}

Result<std::vector<std::string>> Engine::ListTables(const std::string& db) const {
  ReaderLock lock(&mu_);
  QV_ASSIGN_OR_RETURN(const OpenDatabase* open, FindOpen(db));
  std::vector<std::string> names;
  // Creation order, as the catalog records it.
  for (const auto& t : catalog_->state().FindDatabase(db)->tables) names.push_back(t.schema.name);
  (void)open;
  return names;
}

Result<std::shared_ptr<Table>> Engine::FindTable(const std::string& db,
                                                 const std::string& table) const {
  ReaderLock lock(&mu_);
  QV_ASSIGN_OR_RETURN(const OpenDatabase* open, FindOpen(db));
  auto it = open->tables.find(table);
  if (it == open->tables.end()) {
    return Status::NotFound("table '" + table + "' does not exist in database '" + db + "'");
  }
  return it->second;
}

Result<TableInfo> Engine::DescribeTable(const std::string& db, const std::string& table) const {
  QV_ASSIGN_OR_RETURN(auto t, FindTable(db, table));
  QV_ASSIGN_OR_RETURN(TableStats stats, t->Stats());
  return TableInfo{t->schema(), std::move(stats), t->Health()};
}

Result<std::vector<TableStatistics>> Engine::Statistics(const std::string& db) const {
  QV_ASSIGN_OR_RETURN(auto names, ListTables(db));
  std::vector<TableStatistics> stats;
  for (const auto& name : names) {
    auto table = FindTable(db, name);
    if (!table.ok()) continue;  // dropped meanwhile
    QV_ASSIGN_OR_RETURN(TableStats part, (*table)->Stats());
    stats.push_back({name, std::move(part), (*table)->Health()});
  }
  return stats;
}

std::vector<TableStatistics> Engine::AllStatistics() const {
  std::vector<std::pair<std::string, std::shared_ptr<Table>>> tables;
  {
    ReaderLock lock(&mu_);
    for (const auto& [db, open] : open_) {
      for (const auto& [name, table] : open.tables) tables.emplace_back(db, table);
    }
  }
  std::vector<TableStatistics> out;
  out.reserve(tables.size());
  for (const auto& [db, table] : tables) {
    auto stats = table->Stats();
    if (stats.ok()) out.push_back({table->schema().name, std::move(*stats), table->Health(), db});
  }
  return out;
}

}  // namespace quiver
