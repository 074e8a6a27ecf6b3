#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/status.h"
#include "engine/collection.h"
#include "engine/query.h"
#include "schema/column.h"

namespace quiver {

class Shard;

// What a table (engine/table.h) asks of one of its shards. Standalone, the
// shard is in the process (LocalShardClient); in a cluster a dispatcher's
// table reaches it through the shard's log (writes) and a node that hosts a
// replica of it (reads), over gRPC. Either way the table routes and merges
// the same way. Thread-safe.
class ShardClient {
 public:
  virtual ~ShardClient() = default;
  // `stamp`: the first row's write stamp (row r gets stamp + r, or stamp +
  // offsets[r] when given).
  virtual Result<InsertCounts> Insert(const RecordBatch& batch, bool upsert, uint64_t stamp,
                                      std::span<const uint32_t> offsets) = 0;
  virtual Result<DeleteCounts> Delete(std::span<const PrimaryKey> keys) = 0;
  virtual Result<DeleteCounts> DeleteWhere(std::string_view filter) = 0;
  virtual Result<ResultSet> Search(const SearchRequest& request) const = 0;
  virtual Result<ResultSet> HybridSearch(const HybridRequest& request) const = 0;
  virtual Result<ResultSet> Get(const GetRequest& request) const = 0;
  virtual Result<ShardStats> Stats() const = 0;
  // OK, or why the shard refuses writes.
  virtual Status Health() const = 0;
  // The newest write stamp the shard has seen (the table's clock starts above it).
  virtual uint64_t LastStamp() const = 0;
};

// A shard in this process.
class LocalShardClient final : public ShardClient {
 public:
  explicit LocalShardClient(Shard* shard) : shard_(shard) {}
  Result<InsertCounts> Insert(const RecordBatch& batch, bool upsert, uint64_t stamp,
                              std::span<const uint32_t> offsets) override;
  Result<DeleteCounts> Delete(std::span<const PrimaryKey> keys) override;
  Result<DeleteCounts> DeleteWhere(std::string_view filter) override;
  Result<ResultSet> Search(const SearchRequest& request) const override;
  Result<ResultSet> HybridSearch(const HybridRequest& request) const override;
  Result<ResultSet> Get(const GetRequest& request) const override;
  Result<ShardStats> Stats() const override;
  Status Health() const override;
  uint64_t LastStamp() const override;

 private:
  Shard* const shard_;
};

}  // namespace quiver
