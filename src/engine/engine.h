#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "common/mutex.h"
#include "engine/collection.h"
#include "engine/table.h"
#include "io/file_system.h"

namespace quiver {

// Catalog limits: a create beyond them is refused (400) and changes nothing.
inline constexpr size_t kMaxDatabases = 1024;
inline constexpr size_t kMaxTablesPerDatabase = 1024;

struct EngineOptions {
  std::string data_dir;
  TableOptions table;
  // A background thread seals and compacts tables this often; zero turns it
  // off (tests then call SealAll / MaintainOnce themselves).
  std::chrono::milliseconds maintenance_interval{200};
  // Index rebuilder threads (run at lower priority); zero builds indexes
  // only in Rebuild's caller.
  size_t index_threads = 1;
};

// The standalone engine: the catalog of databases and tables and every open
// table, all under one data directory (layout in docs/FORMATS.md). Catalog
// changes are serialised and durable before they return; data operations go
// to the Table found with FindTable. Thread-safe.
class Engine final : public DatabaseService {
 public:
  // Locks the data directory, loads the catalog, removes stale temporary and
  // orphaned files, and opens every loaded database (replaying its logs).
  static Result<std::unique_ptr<Engine>> Open(std::unique_ptr<FileSystem> fs,
                                              EngineOptions options);
  // Stops background maintenance; acknowledged writes are already durable.
  ~Engine() override;

  // Creates the database, or reopens it when it exists; returns true if created.
  Result<bool> LoadDatabase(const std::string& name, const LoadOptions& options) override;
  // Closes the database; its files stay and a later load reopens it.
  Status UnloadDatabase(const std::string& name) override;
  // Closes the database and deletes its files.
  Status DropDatabase(const std::string& name) override;
  // The loaded databases' names, in name order.
  std::vector<std::string> ListDatabases() const override;

  // A table of `shards` shards (hash slots spread evenly over them).
  // A standalone server keeps one copy: `replicas` is 0 or 1.
  Status CreateTable(const std::string& db, TableSchema schema, int64_t shards,
                     int64_t replicas) override;
  Status CreateTable(const std::string& db, TableSchema schema, int64_t shards) {
    return CreateTable(db, std::move(schema), shards, 0);
  }
  Status CreateTable(const std::string& db, TableSchema schema) {
    return CreateTable(db, std::move(schema), 1, 0);
  }
  Status DropTable(const std::string& db, const std::string& table) override;
  Result<std::vector<std::string>> ListTables(const std::string& db) const override;
  Result<TableInfo> DescribeTable(const std::string& db, const std::string& table) const override;
  Result<std::vector<TableStatistics>> Statistics(const std::string& db) const override;
  // Every open table of every loaded database (metrics).
  std::vector<TableStatistics> AllStatistics() const override;
  // The open table; it stays valid for the caller even if dropped meanwhile.
  Result<std::shared_ptr<Table>> FindTable(const std::string& db, const std::string& table) const;
  Result<std::shared_ptr<Collection>> FindCollection(const std::string& db,
                                                     const std::string& table) const override {
    QV_ASSIGN_OR_RETURN(auto found, FindTable(db, table));
    return std::shared_ptr<Collection>(std::move(found));
  }

  // Seals every table's growing segment.
  Status SealAll();
  // Seals every table, then returns once every index is built (POST
  // /api/rebuild); an index build that failed is the error.
  Status Rebuild() override;
  // One round of background work: seal what is due, compact what needs it.
  void MaintainOnce();

 private:
  struct OpenDatabase {
    std::map<std::string, std::shared_ptr<Table>> tables;
  };

  Engine(std::unique_ptr<FileSystem> fs, EngineOptions options);
  Status Start();
  Status RemoveOrphans() REQUIRES(mu_);
  CatalogState CatalogSnapshot() const EXCLUDES(mu_);
  // Persists `next` (outside mu_), then installs it (under mu_).
  Status InstallCatalog(CatalogState next) REQUIRES(admin_mu_) EXCLUDES(mu_);
  Result<std::shared_ptr<Table>> OpenTable(const DatabaseEntry& db, const TableEntry& table);
  Result<OpenDatabase> OpenDatabaseFiles(const DatabaseEntry& db);
  std::string DatabaseDir(uint64_t db_id) const;
  std::string TableDir(uint64_t db_id, uint64_t table_id) const;
  Result<const OpenDatabase*> FindOpen(const std::string& db) const REQUIRES_SHARED(mu_);
  std::vector<std::shared_ptr<Table>> AllTables() const EXCLUDES(mu_);
  void MaintenanceLoop();
  // Logs a maintenance task's failure once (and when it changes or clears).
  void ReportMaintenance(const Table& table, const std::string& what, const Status& status);
  void IndexLoop();

  std::unique_ptr<FileSystem> fs_;
  const EngineOptions options_;
  std::unique_ptr<FileLock> dir_lock_;
  std::unique_ptr<MetaStore> meta_;

  // Lock order: admin_mu_, mu_, then a table's locks (engine/table.h);
  // stop_mu_ is never held with another lock.
  Mutex admin_mu_ ACQUIRED_BEFORE(mu_);  // one catalog change at a time, I/O included
  mutable RwLock mu_;
  std::unique_ptr<Catalog> catalog_ PT_GUARDED_BY(mu_);
  std::map<std::string, OpenDatabase> open_ GUARDED_BY(mu_);  // loaded databases by name

  Mutex stop_mu_;
  CondVar stop_cv_;  // with stop_mu_: stopping_ turned true
  bool stopping_ GUARDED_BY(stop_mu_) = false;
  std::thread maintenance_;
  std::atomic<bool> stop_builds_{false};  // cancels running index builds
  CondVar index_cv_;                      // with stop_mu_: work may be waiting
  CondVar built_cv_;                      // with stop_mu_: an index build ended
  std::vector<std::thread> indexers_;
  // The last error of each maintenance task ("sealing", "compacting") per
  // table (keyed by address; used only by the thread running MaintainOnce),
  // so a lasting failure is logged once, then again only when it changes.
  std::map<std::pair<const Table*, std::string>, std::string> maintenance_errors_;
};

}  // namespace quiver
