#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "catalog/slot_map.h"
#include "engine/shard.h"
#include "engine/shard_client.h"
#include "engine/write_clock.h"

namespace quiver {

// A table: a router over its shards (engine/shard.h). Each row lives in the
// shard that owns its primary key's hash slot (catalog/slot_map.h); a write
// goes to the shards its rows or keys belong to, a read asks every shard and
// merges their partial results (engine/merge.h). Every write is stamped
// with the table's clock, so a get returns rows in insertion order across
// shards. One shard is the default; a table of S shards hosts all of them in
// this process (Open), or reaches them through ShardClients (Remote: a
// cluster's dispatcher, whose shards live on nodes), with the same merge.
//
// A write to several shards is one record per shard: each is durable and
// applied on its own, so a crash in the middle keeps the parts that were
// acknowledged by their shards (the call itself then failed); a retried
// upsert is idempotent. Thread-safe, as Shard is.
class Table final : public Collection {
 public:
  // Opens (creating when new) every shard of the table in `dir`: the one
  // shard of a one-shard table is `dir` itself, shard i of several is
  // `dir`/shards/i.
  static Result<std::unique_ptr<Table>> Open(FileSystem* fs, const std::string& dir,
                                             const TableSchema& schema, const TableOptions& options,
                                             SlotMap slots = SlotMap::Even(1));
  // A table whose shards are elsewhere: one client per shard of `slots`.
  // It only routes and merges (the maintenance calls below do nothing).
  static Result<std::unique_ptr<Table>> Remote(TableSchema schema, SlotMap slots,
                                               std::vector<std::shared_ptr<ShardClient>> clients);

  const TableSchema& schema() const override { return schema_; }
  const SlotMap& slots() const { return slots_; }
  size_t shard_count() const { return clients_.size(); }
  // Shard i of a table opened here.
  Shard& shard(size_t i) const { return *shards_[i]; }
  // How this table reaches shard i.
  ShardClient& client(size_t i) const { return *clients_[i]; }

  Result<InsertCounts> Insert(const RecordBatch& batch, bool upsert) override;
  Result<DeleteCounts> Delete(std::span<const PrimaryKey> keys) override;
  Result<DeleteCounts> DeleteWhere(std::string_view filter) override;

  Result<ResultSet> Search(const SearchRequest& request) const override;
  Result<ResultSet> HybridSearch(const HybridRequest& request) const override;
  Result<ResultSet> Get(const GetRequest& request) const override;

  Result<TableStats> Stats() const;
  // Live rows of a table opened here (its shards cannot fail to answer).
  size_t RowCount() const;
  // OK, or why writes are refused (the first shard that refuses them).
  Status Health() const;

  // Maintenance, shard by shard (each shard's rules in Shard). A failure of
  // one shard does not stop the others; the first is returned.
  Status Seal();
  Status MaybeSeal();
  Status Compact(bool force = false);
  // Builds one missing index of some shard (taking the shards in turn).
  Result<bool> BuildNextIndex(const std::atomic<bool>* stop = nullptr);
  Status BuildAllIndexes();
  size_t PendingIndexes() const;

 private:
  Table(TableSchema schema, SlotMap slots, std::vector<std::unique_ptr<Shard>> shards,
        std::vector<std::shared_ptr<ShardClient>> clients);
  // Each key's shard: keys grouped by shard, in their given order.
  std::vector<std::vector<PrimaryKey>> KeysByShard(std::span<const PrimaryKey> keys) const;
  Result<ResultSet> GetByKeys(const GetRequest& request) const;
  // `read` of every shard, at once; the parts in shard order, or the first error.
  Result<std::vector<ResultSet>> OnEveryShard(
      const std::function<Result<ResultSet>(const ShardClient&)>& read) const;
  // Runs `step` on every shard; the first error, after all ran.
  template <class Step>
  Status EachShard(Step step);

  const TableSchema schema_;
  std::vector<std::unique_ptr<Shard>> shards_;         // opened here; none for a remote table
  std::vector<std::shared_ptr<ShardClient>> clients_;  // every shard, by index
  const SlotMap slots_;
  WriteClock clock_;
  std::atomic<size_t> next_build_{0};  // the shard BuildNextIndex tries first
};

}  // namespace quiver
