#pragma once

// The front end's ports: what a server (REST today, gRPC tomorrow) may ask
// of the databases and their tables, and the values it gets back. The
// standalone engine implements them in-process (Engine, Table); a
// dispatcher in a cluster implements them over the network. Nothing here
// knows of logs, segments or indexes.

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/lsn.h"
#include "common/status.h"
#include "engine/query.h"
#include "schema/column.h"
#include "schema/schema.h"

namespace quiver {

// What a write did, and the LSN of its log record: once a read sees that
// LSN applied, it sees the write (a session token for read-your-writes).
struct InsertCounts {
  uint64_t inserted = 0;
  uint64_t skipped = 0;
  Lsn lsn = 0;  // a shard's record
  // A table's write: the LSN of each shard's record, by shard, for the
  // shards it wrote to.
  std::vector<std::pair<uint32_t, Lsn>> shard_lsns;
};

struct DeleteCounts {
  uint64_t deleted = 0;
  Lsn lsn = 0;                                       // 0 when nothing was logged (no keys)
  std::vector<std::pair<uint32_t, Lsn>> shard_lsns;  // as in InsertCounts
};

// One vector field's index state across a table's sealed segments.
struct FieldIndexStats {
  std::string field;
  IndexType type = IndexType::kFlat;
  size_t indexed_rows = 0;  // live rows in segments whose index is built
  size_t total_rows = 0;    // live rows of the table
  size_t building = 0;      // builds running now
  size_t pending = 0;       // segments waiting for a build (including running ones)
  std::string error;        // the last failed build, if any
};

struct ShardStats {
  size_t live_rows = 0;
  size_t growing_rows = 0;  // not yet sealed (including a segment being sealed)
  size_t sealed_segments = 0;
  size_t sealed_rows = 0;  // live rows in sealed segments
  Lsn checkpoint_lsn = 0;
  Lsn applied_lsn = 0;
  std::vector<FieldIndexStats> indexes;   // vector fields, in schema order
  uint64_t wal_syncs = 0, wal_bytes = 0;  // since the table was opened
  uint64_t index_builds = 0;              // finished since the table was opened
  double index_build_seconds = 0;
};

// A table's statistics: sums over its shards, and each shard's own.
struct TableStats : ShardStats {
  std::vector<ShardStats> shards;
};

struct LoadOptions {
  std::string client_path;
  int64_t vector_scale = 0;
  bool wal_enabled = true;
};

struct TableInfo {
  TableSchema schema;
  TableStats stats;
  Status health;  // why writes are refused, or OK
};

struct TableStatistics {
  std::string name;
  TableStats stats;
  Status health;
  std::string database;  // set by AllStatistics
};

// One table's data. Thread-safe; a write returns once it is durable, and
// every read that starts after it sees it.
class Collection {
 public:
  virtual ~Collection() = default;

  virtual const TableSchema& schema() const = 0;
  // Inserts the batch (all or nothing when it is bad); with `upsert` an
  // existing key's row is replaced, else the record is skipped.
  virtual Result<InsertCounts> Insert(const RecordBatch& batch, bool upsert) = 0;
  virtual Result<DeleteCounts> Delete(std::span<const PrimaryKey> keys) = 0;
  virtual Result<DeleteCounts> DeleteWhere(std::string_view filter) = 0;
  virtual Result<ResultSet> Search(const SearchRequest& request) const = 0;
  virtual Result<ResultSet> HybridSearch(const HybridRequest& request) const = 0;
  virtual Result<ResultSet> Get(const GetRequest& request) const = 0;
};

// The databases and their tables: the catalog a front end manages, and the
// tables it finds by name. Thread-safe.
class DatabaseService {
 public:
  virtual ~DatabaseService() = default;

  // Creates the database, or reopens it when it exists; true if created.
  virtual Result<bool> LoadDatabase(const std::string& name, const LoadOptions& options) = 0;
  // Closes the database; its data stays and a later load reopens it.
  virtual Status UnloadDatabase(const std::string& name) = 0;
  // Closes the database and deletes its data.
  virtual Status DropDatabase(const std::string& name) = 0;
  // The loaded databases' names, in name order.
  virtual std::vector<std::string> ListDatabases() const = 0;

  // A table of `shards` shards (1 to kMaxShards, catalog/slot_map.h), each
  // with `replicas` copies (0: the server's default; a standalone server
  // keeps one).
  virtual Status CreateTable(const std::string& db, TableSchema schema, int64_t shards,
                             int64_t replicas) = 0;
  virtual Status DropTable(const std::string& db, const std::string& table) = 0;
  // Table names in creation order.
  virtual Result<std::vector<std::string>> ListTables(const std::string& db) const = 0;
  virtual Result<TableInfo> DescribeTable(const std::string& db,
                                          const std::string& table) const = 0;
  virtual Result<std::vector<TableStatistics>> Statistics(const std::string& db) const = 0;
  // Every open table of every loaded database (metrics).
  virtual std::vector<TableStatistics> AllStatistics() const = 0;
  // The table; it stays valid for the caller even if dropped meanwhile.
  virtual Result<std::shared_ptr<Collection>> FindCollection(const std::string& db,
                                                             const std::string& table) const = 0;
  // Seals everything and returns once every index is built; a failed build
  // is the error.
  virtual Status Rebuild() = 0;
  // A cluster's nodes, tables, shards and replicas as a JSON object
  // (GET /api/cluster, docs/CLUSTER.md); a standalone server has none.
  virtual Result<std::string> DescribeCluster() const {
    return Status::NotFound("this server is standalone: it has no cluster to describe");
  }
  // More of GET /metrics (Prometheus text): a dispatcher's cluster figures.
  virtual std::string ClusterMetrics() const { return {}; }
};

}  // namespace quiver
